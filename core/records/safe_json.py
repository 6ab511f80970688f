"""JSON parsing for untrusted record files: bounded nesting and number size, duplicate keys,
and text that is not text (lone surrogates, control characters) found and named by path.

The standard parser does the work at C speed; what it would let through is marked instead of
raised, so that one hostile value refuses its own record and never the file:
- a number with more than MAX_DIGITS digits or an exponent beyond MAX_EXPONENT is read as a
  `TooBig` (1e1000000 is never expanded; a 5,000-digit integer is never converted);
- an object with a key given twice keeps its first value and lists the key in `duplicates`
  (a plain reader silently keeps the last value, so one of them would be lost);
- nesting: `loads` refuses a value nested past the interpreter's limit as a whole, and
  `problems` reports anything deeper than MAX_DEPTH by path.
Cheap checks on the raw text decide whether a parsed value needs the full walk at all
(`Parsed.suspect`), so well-formed files pay almost nothing for these guards.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from json.decoder import scanstring  # type: ignore[attr-defined]  # public, untyped
from typing import Any

from flx.records.messages import Problem

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MAX_EXPONENT", "Parsed", "Reader", "TooBig", "TooDeep",
           "Unparsed", "loads",
           "problems", "safe_text"]

MAX_DEPTH = 64  # an order is 5 levels deep; custom fields get plenty of room
MAX_DIGITS = 100  # digits in one number (integer or mantissa)
MAX_EXPONENT = 400  # |exponent|: every 64-bit float (1.8e308, 5e-324) fits

_NUMBER = re.compile(r"-?(\d*)(?:\.(\d*))?(?:[eE]([+-]?)(\d+))?\Z")
# Escapes or raw characters that may be a control character or a lone surrogate; a match only
# means "walk the value" (a valid surrogate pair matches too, and is then found to be fine).
_SUSPECT_TEXT = re.compile(
    r"\\u(?:00[01]|007[fF]|008|009|[dD][89a-fA-F])|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BAD_CHAR = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ud800-\udfff]")
_BRACKETS = str.maketrans("", "", "".join(chr(c) for c in range(128) if chr(c) not in "[]{}"))
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"', re.S)
_TOKEN = re.compile(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', re.S)
_SPACE = re.compile(r"[ \t\n\r]*")


class TooBig(str):
    """A number too large (or too precise) to be read: kept as the text written."""

    __slots__ = ()


class _Object(dict[str, Any]):
    """An object that had a key more than once (the first value is kept)."""

    duplicates: list[str]


class TooDeep(ValueError):
    """The text nests deeper than the interpreter can parse (far past MAX_DEPTH)."""


class Unparsed:
    """An element of a document's list nested too deep to be parsed (`Reader.by_element`)."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Any
    suspect: bool  # True when `problems(value)` may find something


def loads(text: str, extra_depth: int = 0) -> Parsed:
    """Parse JSON text (raises json.JSONDecodeError for malformed text, TooDeep).
    `extra_depth`: levels around the records (2 in {"orders": [...]})."""
    return Reader().loads(text, extra_depth)


class Reader:
    """`loads` for many texts in a row (one thread): the decoder is built once."""

    def __init__(self) -> None:
        self.flagged = False
        self.decoder = json.JSONDecoder(parse_float=self._real, parse_int=self._integer,
                                        parse_constant=self._constant,
                                        object_pairs_hook=self._pairs)

    def loads(self, text: str, extra_depth: int = 0) -> Parsed:
        self.flagged = False
        try:
            value = self.decoder.decode(text)
        except RecursionError:
            raise TooDeep(f"a value is nested far more than {MAX_DEPTH} levels deep") from None
        suspect = self.flagged or _odd_text(text) or _deeper_than(text, MAX_DEPTH + extra_depth)
        return Parsed(value, suspect)

    def by_element(self, text: str) -> Parsed:
        """A document `{"key": [...], ...}` that `loads` refused as too deep, read element by
        element: each element of a top-level list is parsed alone, and one nested too deep
        becomes an `Unparsed`, so that only its record is refused. Raises TooDeep when the
        document is not an object, and json.JSONDecodeError when it is malformed."""
        pos = _skip_space(text, 0)
        if not text.startswith("{", pos):
            raise TooDeep(f"a value is nested far more than {MAX_DEPTH} levels deep")
        document: _Object = _Object()
        document.duplicates = []
        pos = _skip_space(text, pos + 1)
        while not text.startswith("}", pos):
            if not text.startswith('"', pos):
                raise json.JSONDecodeError("Expecting property name enclosed in double quotes",
                                           text, pos)
            key, pos = scanstring(text, pos + 1)
            pos = _skip_space(text, pos)
            if not text.startswith(":", pos):
                raise json.JSONDecodeError("Expecting ':' delimiter", text, pos)
            pos = _skip_space(text, pos + 1)
            value, pos = (self._elements if text.startswith("[", pos) else self._value)(
                text, pos)
            if key in document:
                document.duplicates.append(key)
            else:
                document[key] = value
            pos = _after_item(text, pos, "}")
        if _skip_space(text, pos + 1) != len(text):
            raise json.JSONDecodeError("Extra data", text, pos + 1)
        return Parsed(document, True)

    def _elements(self, text: str, pos: int) -> tuple[list[Any], int]:
        items: list[Any] = []
        pos = _skip_space(text, pos + 1)
        while not text.startswith("]", pos):
            value, pos = self._value(text, pos)
            items.append(value)
            pos = _after_item(text, pos, "]")
        return items, pos + 1

    def _value(self, text: str, pos: int) -> tuple[Any, int]:
        try:
            return self.decoder.raw_decode(text, pos)
        except RecursionError:
            return Unparsed(), _past_value(text, pos)

    def _integer(self, text: str) -> Any:
        return int(text) if len(text) <= MAX_DIGITS else self._big(text)

    def _real(self, text: str) -> Any:
        # A float when it prints back as written (what the store keeps anyway, see
        # records.normalize), else a Decimal: exact, and quicker to hash and store.
        if len(text) < 18 and "e" not in text and "E" not in text:
            number = float(text)
            if repr(number) == text and not number.is_integer():
                return number
            return Decimal(text)
        return self._big(text)

    def _big(self, text: str) -> Any:
        match = _NUMBER.match(text)
        digits = len(match.group(1)) + len(match.group(2) or "") if match else len(text)
        exponent = match.group(4) if match else None
        if digits > MAX_DIGITS or (exponent is not None and (
                len(exponent) > 4 or int(exponent) > MAX_EXPONENT)):
            self.flagged = True
            return TooBig(text)
        return int(text) if match and match.group(2) is None and exponent is None \
            else Decimal(text)

    def _pairs(self, items: list[tuple[str, Any]]) -> dict[str, Any]:
        result = dict(items)
        if len(result) == len(items):
            return result
        self.flagged = True
        first: _Object = _Object()
        first.duplicates = []
        for key, value in items:
            if key in first:
                if key not in first.duplicates:
                    first.duplicates.append(key)
            else:
                first[key] = value
        return first

    def _constant(self, name: str) -> Decimal:
        # NaN / Infinity are not JSON, but some exporters write them: read them as what they
        # say, so that validation names the field (records._non_finite).
        self.flagged = True
        return Decimal(name)


def _skip_space(text: str, pos: int) -> int:
    match = _SPACE.match(text, pos)
    return match.end() if match else pos


def _after_item(text: str, pos: int, close: str) -> int:
    """Past the comma after an item (at the next item), or at the closing bracket."""
    pos = _skip_space(text, pos)
    if text.startswith(",", pos):
        return _skip_space(text, pos + 1)
    if text.startswith(close, pos):
        return pos
    raise json.JSONDecodeError(f"Expecting ',' delimiter or '{close}'", text, pos)


def _past_value(text: str, pos: int) -> int:
    """The end of the array or object at `pos`, found by counting brackets outside strings
    (for values too deep to parse; slow, but only ever run on hostile input)."""
    depth = 0
    for match in _TOKEN.finditer(text, pos):
        token = match.group()
        if token in "[{":
            depth += 1
        elif token in "]}":
            depth -= 1
            if depth == 0:
                return match.end()
    raise json.JSONDecodeError("Unterminated value", text, pos)


def _odd_text(text: str) -> bool:
    """Whether the text may hold a control character or a lone surrogate (quick: ASCII text
    without DEL or \\u escapes holds neither, since the strict parser refuses raw control
    characters inside strings)."""
    if text.isascii() and "\\u" not in text and "\x7f" not in text:
        return False
    return _SUSPECT_TEXT.search(text) is not None


def _deeper_than(text: str, limit: int) -> bool:
    """Whether the text may nest more than `limit` levels; quick, and exact when it is not
    obvious: innermost pairs are peeled off one level at a time."""
    if text.count("[") + text.count("{") <= limit:
        return False
    shape = (_STRING.sub("", text) if '"' in text else text).translate(_BRACKETS)
    for _ in range(limit):
        peeled = shape.replace("[]", "").replace("{}", "")
        if peeled == shape:
            return False
        shape = peeled
        if not shape:
            return False
    return bool(shape)


def problems(value: Any, path: str = "$") -> list[Problem]:
    """What makes a parsed value unsafe to keep, each named by its JSON path."""
    return list(_walk(value, path, 0))


def _walk(value: Any, path: str, depth: int) -> Iterator[Problem]:
    if isinstance(value, dict | list) and depth >= MAX_DEPTH:
        yield Problem(path, f"nested more than {MAX_DEPTH} levels deep: flatten this value "
                            "(or leave it out)", "too_deep")
        return
    if isinstance(value, Unparsed):
        yield Problem(path, f"nested far more than {MAX_DEPTH} levels deep: flatten it (or "
                            "leave it out)", "too_deep")
    elif isinstance(value, TooBig):
        yield Problem(path, f"{_name(path)} is too large a number to read ({_short(value)}): "
                            f"at most {MAX_DIGITS} digits and an exponent within "
                            f"±{MAX_EXPONENT}; write it as text in quotes if it is an "
                            "identifier", "number_too_large")
    elif isinstance(value, str):
        yield from _text(value, path, f"{_name(path)} holds")
    elif isinstance(value, dict):
        for key in getattr(value, "duplicates", ()):
            yield Problem(_child(path, key), f"the key {safe_text(key)!r} is given more than "
                          "once in one object: give each key once (a JSON reader would keep "
                          "only one of the values)", "duplicate_key")
        for key, item in value.items():
            child = _child(path, key)
            yield from _text(key, child, "the key holds")
            yield from _walk(item, child, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _walk(item, f"{path}[{index}]", depth + 1)


def _text(value: str, path: str, what: str) -> Iterator[Problem]:
    bad = _BAD_CHAR.search(value)
    if bad is None:
        return
    char = bad.group()
    if "\ud800" <= char <= "\udfff":
        yield Problem(path, f"{what} an unpaired UTF-16 surrogate (\\u{ord(char):04x} at "
                            f"character {bad.start() + 1}), which is not text: the exporter "
                            "wrote half a character; fix its encoding or remove it",
                      "invalid_text")
    else:
        yield Problem(path, f"{what} the control character U+{ord(char):04X} at character "
                            f"{bad.start() + 1}, which accounting systems refuse: remove it (tab "
                            "and line breaks are allowed)", "control_character")


def safe_text(text: str) -> str:
    """`text` with lone surrogates and control characters (except tab and line breaks)
    written as escapes, safe to print and to store."""
    if _BAD_CHAR.search(text) is None:
        return text
    return _BAD_CHAR.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _short(text: str) -> str:
    return text if len(text) <= 24 else f"{text[:12]}...{text[-8:]} ({len(text):,} characters)"


def _name(path: str) -> str:
    last = re.split(r"[.\[]", path)[-1].rstrip("]")
    return last.strip('"') if last and last != "$" else "the value"


def _child(path: str, key: str) -> str:
    # As flx.records.messages writes paths: escaped, so a hostile key prints safely.
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else \
        f"{path}[{json.dumps(key)}]"
