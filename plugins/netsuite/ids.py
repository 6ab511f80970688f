"""Deterministic NetSuite external IDs built from commerce identifiers.

NetSuite accepts only `[A-Za-z0-9_-]` in an `eid:` URL (netsuite-rest.md §3.4) and treats
external IDs as case-insensitive (Oracle: "the external ID attribute is case insensitive").
Order numbers such as `#1001`, or IDs that differ only in case, must therefore be encoded so
that two different inputs never give two outputs that NetSuite would consider equal.

The encoding of one part, read left to right:

    A-Z a-z 0-9 -     kept as they are, in the current letter case mode
    _XX               one UTF-8 byte of any other character (`#` -> `_23`, `_` -> `_5F`)
    _X                toggle the letter case mode (each part starts in UPPER mode)
    __                separator between parts (a part never contains it: inside a part every
                      `_` is followed by a hex digit or `X`)

Letters are emitted as typed, but their case is also recorded by the mode, so the output
decodes to exactly one input even after NetSuite lower-cases it: `parse_external_id` proves
it, and the tests check it with hypothesis. Examples: `ORD-1001` -> `ORD-1001`,
`#1001` -> `_231001`, `shopify` -> `_Xshopify`, ("SO", "#1001") -> `SO___231001`.

An encoding longer than MAX_LENGTH keeps whole tokens of its start and ends with `_Y` plus
32 hex digits of its SHA-256: still deterministic, distinct from every short encoding (no short
one contains `_Y`), and distinct from other long ones unless SHA-256 collides.
Prefixes such as `flx-` are the caller's business.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from typing import Any

MAX_LENGTH = 200
_HASH_HEX = 32
_LITERAL = re.compile(r"[0-9\-]")
_SAFE = re.compile(r"^[A-Za-z0-9_-]+$")
_HEX = "0123456789ABCDEFabcdef"
_LOCATION_RE = re.compile(r"/record/v1/([^/?#]+)/([0-9]+)/?(?:[?#].*)?$", re.IGNORECASE)


def external_id(*parts: str | int) -> str:
    """Encode one or more identifiers into a NetSuite-safe external ID."""
    if not parts:
        raise ValueError("external_id needs at least one part")
    encoded = []
    for part in parts:
        if isinstance(part, bool) or not isinstance(part, str | int):
            raise TypeError(f"external_id parts must be text, not {type(part).__name__}")
        text = str(part)
        if not text:
            raise ValueError("external_id parts must not be empty")
        encoded.append(_encode_part(text))
    full = "__".join(encoded)
    if len(full) <= MAX_LENGTH:
        return full
    digest = hashlib.sha256(full.encode()).hexdigest()[:_HASH_HEX].upper()
    keep = MAX_LENGTH - 2 - _HASH_HEX
    return _whole_tokens(full, keep) + "_Y" + digest


def is_valid_external_id(value: str) -> bool:
    """True when `value` can be used in an `eid:` URL."""
    return bool(_SAFE.match(value))


def parse_external_id(value: str) -> tuple[str, ...]:
    """The parts an external_id() output came from; case-insensitive, as NetSuite is.

    Raises ValueError for text external_id() cannot produce, and for hashed long forms."""
    parts: list[str] = []
    raw = bytearray()
    upper = True
    i = 0
    while i < len(value):
        ch = value[i]
        if ch != "_":
            if not (ch.isascii() and (ch.isalpha() or _LITERAL.match(ch))):
                raise ValueError(f"{ch!r} cannot appear in an external ID")
            raw += (ch.upper() if upper else ch.lower()).encode() if ch.isalpha() else ch.encode()
            i += 1
            continue
        nxt = value[i + 1:i + 2]
        if nxt == "_":
            parts.append(_finish_part(raw))
            raw, upper = bytearray(), True
            i += 2
        elif nxt in ("X", "x"):
            upper = not upper
            i += 2
        elif nxt in ("Y", "y"):
            raise ValueError("a shortened (hashed) external ID cannot be decoded")
        elif len(nxt) == 1 and nxt in _HEX and value[i + 2:i + 3] and value[i + 2] in _HEX:
            raw.append(int(value[i + 1:i + 3], 16))
            i += 3
        else:
            raise ValueError(f"bad escape at position {i} of {value!r}")
    parts.append(_finish_part(raw))
    return tuple(parts)


def id_from_location(location: str, record_type: str) -> str | None:
    """The id at the end of `Location: .../record/v1/<type>/<id>`; NetSuite writes the type
    in lower case, so it is compared case-insensitively."""
    match = _LOCATION_RE.search(location or "")
    if match and match.group(1).lower() == record_type.lower():
        return match.group(2)
    return None


def record_id(record: Mapping[str, Any]) -> str | None:
    value = record.get("id")
    if value is not None and str(value).isdigit():
        return str(value)
    for link in record.get("links") or []:
        if isinstance(link, dict) and link.get("rel") == "self":
            tail = str(link.get("href", "")).rstrip("/").rsplit("/", 1)[-1]
            if tail.isdigit():
                return tail
    return None


def _encode_part(text: str) -> str:
    out: list[str] = []
    upper = True
    for ch in text:
        if ch.isascii() and ch.isalpha():
            if ch.isupper() != upper:
                out.append("_X")
                upper = not upper
            out.append(ch)
        elif ch.isascii() and _LITERAL.match(ch):
            out.append(ch)
        else:
            out.extend(f"_{b:02X}" for b in ch.encode("utf-8", "surrogatepass"))
    return "".join(out)


def _whole_tokens(encoded: str, limit: int) -> str:
    """The longest prefix of `encoded` (at most `limit` chars) that does not cut a token."""
    i = 0
    while i < len(encoded):
        if encoded[i] != "_":
            step = 1
        elif encoded[i + 1] in "_X":
            step = 2
        else:
            step = 3
        if i + step > limit:
            break
        i += step
    return encoded[:i]


def _finish_part(raw: bytearray) -> str:
    if not raw:
        raise ValueError("empty part in external ID")
    return raw.decode("utf-8", "surrogatepass")
