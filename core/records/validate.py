"""Input records: schema validation with plain-words messages, the checks a schema cannot
express, content hashes, and the money/routing helpers other modules share.

Schemas live in the `schemas` package (schemas/<kind>.schema.json, draft 2020-12) and are
compiled once. Two small extensions ride on standard JSON Schema (other tools ignore them):
`x-decimal-places: N` checks a money value is a plain non-negative decimal with at most N
places, and `x-format-hint` / `x-because` give words for pattern and conditional messages.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Iterator, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from flx.errors import RecordValidationError
from flx.records.messages import Problem, show, translate
from flx.records.precheck import compile_check

__all__ = [
    "Problem", "validate_record", "content_hash", "canonical_json", "normalize", "to_decimal",
    "routing_gaps", "load_schema", "money_problem", "MAX_QUANTITY",
]

# The schemas' upper bound on quantities (amounts: 1,000,000,000,000): far above any real
# order, low enough that arithmetic stays exact and quick. Past it is a data error at import.
MAX_QUANTITY = 1_000_000

# \Z, not $: Python's $ also matches before a final newline ("19.99\n").
_PLAIN_DECIMAL = re.compile(r"[0-9]+(\.[0-9]+)?\Z")
_SIGNED_DECIMAL = re.compile(r"[+-]?[0-9]+(\.[0-9]+)?\Z")
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})\Z")


# --- schemas -------------------------------------------------------------------------------


def load_schema(kind: str) -> dict[str, Any]:
    """The JSON Schema flx ships for a record kind (order, shipment, vendor_bill)."""
    if not re.fullmatch(r"[a-z][a-z_]*", kind):
        raise ValueError(f"unknown record kind {kind!r}")
    try:
        text = resources.files("flx.schemas").joinpath(f"{kind}.schema.json").read_text("utf-8")
    except FileNotFoundError:
        raise ValueError(f"unknown record kind {kind!r}: flx ships no schema for it (a "
                         "plugin's kind comes with its operation's record_schema)") from None
    data: dict[str, Any] = json.loads(text)
    return data


def _is_integer(checker: Any, instance: Any) -> bool:
    # JSON numbers are parsed as Decimal by the importer; 3.0 counts as a whole number.
    if isinstance(instance, bool):
        return False
    if isinstance(instance, int):
        return True
    if isinstance(instance, float):
        return instance.is_integer()
    if isinstance(instance, Decimal):
        return instance.is_finite() and instance == instance.to_integral_value()
    return False


def _decimal_places(validator: Any, places: int, instance: Any,
                    schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    if instance is None or isinstance(instance, bool):
        return  # `type` reports these
    if isinstance(instance, str | int | float | Decimal):
        maximum = schema.get("maximum")
        message = money_problem(instance, places,
                                maximum=None if maximum is None else Decimal(str(maximum)))
        if message:
            yield ValidationError(message)


def _pattern(validator: Any, pattern: str, instance: Any,
             schema: Mapping[str, Any]) -> Iterator[ValidationError]:
    # JSON Schema patterns are ECMA-262, where a final $ is the end of the text; in Python it
    # also matches before a trailing newline, which would let "ORD-1\n" pass as an id.
    if isinstance(instance, str):
        compiled = _compiled(pattern)
        if not compiled.search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")


@cache
def _compiled(pattern: str) -> re.Pattern[str]:
    if pattern.endswith("$") and not pattern.endswith("\\$"):
        pattern = pattern[:-1] + r"\Z"
    return re.compile(pattern)


_format_checker = FormatChecker(formats=())


@_format_checker.checks("date-time", raises=ValueError)
def _is_datetime(value: object) -> bool:
    if not isinstance(value, str):
        return True
    if not _RFC3339.match(value):
        return False
    datetime.fromisoformat(value.upper().replace("Z", "+00:00"))  # range checks (month 13...)
    return True


def _is_number(checker: Any, instance: Any) -> bool:
    # NaN and infinities are not numbers a record can carry (they are reported by path).
    if isinstance(instance, bool) or not isinstance(instance, int | float | Decimal):
        return False
    return not isinstance(instance, float | Decimal) or _finite(instance)


def _finite(value: float | Decimal) -> bool:
    return value.is_finite() if isinstance(value, Decimal) else value not in (
        float("inf"), float("-inf")) and value == value


_Validator = validators.extend(
    Draft202012Validator,
    validators={"x-decimal-places": _decimal_places, "pattern": _pattern},
    type_checker=Draft202012Validator.TYPE_CHECKER.redefine_many(
        {"integer": _is_integer, "number": _is_number}),
)


@cache
def _validator(kind: str, schema_text: str | None = None) -> Any:
    schema = load_schema(kind) if schema_text is None else json.loads(schema_text)
    Draft202012Validator.check_schema(schema)
    # Local $refs inlined: same meaning, a third faster on 100k-record imports.
    return _Validator(_inline_refs(schema, schema.get("$defs", {})),
                      format_checker=_format_checker)


@cache
def _fast_check(kind: str, schema_text: str | None = None) -> Any:
    """The yes/no pre-check of flx.records.precheck, built on this module's own rules."""
    return compile_check(_validator(kind, schema_text).schema, is_integer=_is_integer,
                         is_number=_is_number, pattern=_compiled, is_datetime=_is_datetime,
                         money_problem=money_problem)


def _inline_refs(node: Any, defs: Mapping[str, Any]) -> Any:
    if isinstance(node, list):
        return [_inline_refs(v, defs) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _inline_refs(v, defs) for k, v in node.items() if k != "$defs"}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/") and ref[8:] in defs:
        del out["$ref"]
        out = {**_inline_refs(defs[ref[8:]], defs), **out}
    return out


# --- validation ----------------------------------------------------------------------------


def validate_record(kind: str, record: Any, *, finite: bool = False,
                    schema: str | None = None) -> list[Problem]:
    """Every problem with `record` as a `kind` (order, shipment, vendor_bill); [] when valid.
    `finite`: the caller knows the record holds no NaN or infinity (the importer's parser
    says so), which lets a valid record skip the slower paths. `schema`: the kind's JSON
    Schema as JSON text (a plugin's kind); None: the one flx ships for `kind`."""
    if not isinstance(record, dict):
        return [Problem("$", f"a record must be a JSON object, got {show(record)}", "type")]
    check = _fast_check(kind, schema) if finite else None
    if check is not None and check(record):
        return _kind_checks(kind, record)
    problems = list(_non_finite(record, "$"))
    said = {p.path for p in problems}  # one problem per non-finite value is enough
    seen: set[tuple[str, str]] = set()
    for error in _validator(kind, schema).iter_errors(record):
        for problem in translate(error):
            if (problem.path, problem.message) not in seen and problem.path not in said:
                seen.add((problem.path, problem.message))
                problems.append(problem)
    return problems + _kind_checks(kind, record)


def _kind_checks(kind: str, record: dict[str, Any]) -> list[Problem]:
    if kind == "order":
        return _order_checks(record)
    if kind == "vendor_bill":
        return _bill_checks(record)
    return []


def _non_finite(value: Any, path: str) -> Iterator[Problem]:
    """NaN / Infinity anywhere in the record (the importer reads them so that the problem
    can name its place): no accounting system takes them, and arithmetic on them fails."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _non_finite(item, _child(path, str(key)))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _non_finite(item, f"{path}[{i}]")
    elif isinstance(value, float | Decimal) and not _finite(value):
        name = path.rsplit(".", 1)[-1] if "." in path else "the value"
        yield Problem(path, f"{name} must be a finite number, got {show(value)}", "not_finite")


def _child(path: str, key: str) -> str:
    return f"{path}.{key}" if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", key) else \
        f"{path}[{json.dumps(key)}]"


def _bill_checks(bill: dict[str, Any]) -> list[Problem]:
    """A bill whose every item has quantity 0 bills nothing: the accounting system would
    refuse an empty bill at send time, so it is refused here, where it can be corrected."""
    items = [i for i in _list(bill.get("items")) if isinstance(i, dict)]
    quantities = [i.get("quantity") for i in items]
    if items and all(_is_integer(None, q) and q == 0 for q in quantities):
        return [Problem("$.items", "nothing to bill: every item has quantity 0 (list the "
                        "units this invoice bills, or do not import it)", "nothing_to_bill")]
    return []


def _units(value: Any) -> int | None:
    """A quantity as int, only when it is a whole number within bounds (a 1E+999999 written
    in a file must not become a million-digit int)."""
    if type(value) is int:  # the common case, quickly
        return value if 0 <= value <= MAX_QUANTITY else None
    if _is_integer(None, value) and 0 <= value <= MAX_QUANTITY:
        return int(value)
    return None


def _order_checks(order: dict[str, Any]) -> list[Problem]:
    """What the order schema cannot say: unique ids, known line references, no over-routing."""
    problems: list[Problem] = []
    lines = _list(order.get("lines"))
    problems += _duplicates("lines", lines, "line")
    problems += _duplicates("fulfillment_requests", _list(order.get("fulfillment_requests")),
                            "fulfillment request")
    ids = [ln["id"] for ln in lines if isinstance(ln, dict) and isinstance(ln.get("id"), str)]
    line_ids = dict.fromkeys(ids)  # in order, and quick to look up
    # routing by a duplicated id means nothing
    ambiguous = {i for i in ids if ids.count(i) > 1} if len(line_ids) < len(ids) else set()
    routed: dict[str, int] = {}
    for i, fr in enumerate(_list(order.get("fulfillment_requests"))):
        if not isinstance(fr, dict):
            continue
        for j, item in enumerate(_list(fr.get("items"))):
            if not isinstance(item, dict) or not isinstance(item.get("order_line_id"), str):
                continue
            ref = item["order_line_id"]
            if not line_ids:
                continue  # no usable lines: already reported, one message is enough
            if ref not in line_ids:
                known = ", ".join(line_ids) or "none"
                problems.append(Problem(
                    f"$.fulfillment_requests[{i}].items[{j}].order_line_id",
                    f"no order line has id {ref!r} (the order's line ids: {known})",
                    "unknown_line"))
            elif (units := _units(item.get("quantity"))) is not None:
                routed[ref] = routed.get(ref, 0) + units
    for i, line in enumerate(_list(order.get("lines"))):
        ordered_units = _units(line.get("quantity")) if isinstance(line, dict) else None
        if ordered_units is None:
            continue
        ordered, sent = ordered_units, routed.get(str(line.get("id")), 0)
        if ordered >= 1 and sent > ordered and line.get("id") not in ambiguous:
            problems.append(Problem(
                f"$.lines[{i}].quantity",
                f"line {line.get('id')}: {sent} units are routed to fulfillment requests but "
                f"only {ordered} were ordered", "over_routed"))
    return problems


def _duplicates(field: str, items: list[Any], what: str) -> list[Problem]:
    first: dict[str, int] = {}
    problems = []
    for i, item in enumerate(items):
        key = item.get("id") if isinstance(item, dict) else None
        if not isinstance(key, str):
            continue
        if key in first:
            problems.append(Problem(
                f"$.{field}[{i}].id",
                f"duplicate {what} id {key!r} (already used at $.{field}[{first[key]}])",
                "duplicate_id"))
        else:
            first[key] = i
    return problems


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


# --- money, hashing, routing ---------------------------------------------------------------


def money_problem(value: str | int | float | Decimal, places: int, *,
                  maximum: Decimal | None = None) -> str | None:
    """Why `value` is not a plain non-negative amount with at most `places` decimals (and at
    most `maximum`), or None. Trailing zeros do not count ("19.990" is 19.99). The message
    omits the field name."""
    shown = show(value)
    plain = (f"must be a decimal amount such as 19.99 (digits and one dot; no currency sign, "
             f"thousands separator or exponent), got {shown}")
    if isinstance(value, str):
        if not _PLAIN_DECIMAL.match(value):
            negative = _SIGNED_DECIMAL.match(value.strip()) and value.strip().startswith("-")
            return f"cannot be negative, got {shown}" if negative else plain
        number = Decimal(value)
    elif isinstance(value, float):
        text = repr(value)
        if "e" in text or "n" in text:  # 1e-05, inf, nan
            return plain
        number = Decimal(text)
    elif isinstance(value, Decimal):
        if not value.is_finite() or value.as_tuple().exponent > 0:  # type: ignore[operator]
            return plain
        number = value
    else:
        number = Decimal(value)
    if number < 0:
        return f"cannot be negative, got {shown}"
    if maximum is not None and number > maximum:
        return f"must be at most {maximum:,}, got {shown}"
    exponent = number.normalize().as_tuple().exponent
    used = max(0, -exponent) if isinstance(exponent, int) else 0
    if used > places:
        tail = " (round it to the cent)" if places == 2 else ""
        return f"has more than {places} decimal places, got {shown}{tail}"
    return None


def to_decimal(value: Any) -> Decimal:
    """A money or quantity value as Decimal, exactly as written. Floats go through their
    shortest repr, so 19.99 stays 19.99. Raises RecordValidationError for anything else."""
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None:
        raise RecordValidationError(f"expected an amount, got {show(value)}",
                                    hint="give the amount as a decimal such as 19.99")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str) and _SIGNED_DECIMAL.match(value.strip()):
        result = Decimal(value.strip())
    else:
        raise RecordValidationError(f"{show(value)} is not a decimal amount",
                                    hint="give the amount as a decimal such as 19.99")
    if not result.is_finite():
        raise RecordValidationError(f"{show(value)} is not a finite amount")
    return result


def normalize(value: Any) -> Any:
    """A JSON-ready copy: Decimals (as the importer parses JSON numbers) become int when whole,
    float when the float prints back identically, else a decimal string (never a lossy float)."""
    if isinstance(value, dict):
        return {str(k): normalize(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    if isinstance(value, Decimal):
        if not value.is_finite():
            return str(value)
        if value == value.to_integral_value():
            return int(value)
        as_float = float(value)
        try:
            exact = Decimal(repr(as_float)) == value
        except InvalidOperation:
            exact = False
        return as_float if exact else format(value, "f")
    return value


def canonical_json(value: Any) -> str:
    """Sorted keys, no spaces, UTF-8 text: equal records give equal strings. Decimals are
    written as `normalize` stores them, so a record hashes the same before and after storing."""
    return _canonical_encoder().encode(value)


@cache
def _canonical_encoder() -> json.JSONEncoder:
    # Built once: json.dumps with options builds a new encoder per call.
    return json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False,
                            allow_nan=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return normalize(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def content_hash(record: Mapping[str, Any]) -> str:
    """sha256 (hex) of the record's canonical JSON; changes whenever any field changes."""
    return hashlib.sha256(canonical_json(record).encode("utf-8")).hexdigest()


def routing_gaps(order: Mapping[str, Any]) -> list[str]:
    """Why the order is not fully routed, one entry per line ("line L2: 1 of 3 routed"); []
    when every line's quantity is exactly covered by fulfillment request items. An order with
    no fulfillment requests at all is not routed."""
    requests = [fr for fr in _list(order.get("fulfillment_requests")) if isinstance(fr, dict)]
    if not requests:
        return ["no fulfillment requests yet: no line is routed"]
    routed: Counter[str] = Counter()
    for fr in requests:
        for item in _list(fr.get("items")):
            units = _units(item.get("quantity")) if isinstance(item, dict) else None
            if units is not None:
                routed[str(item.get("order_line_id"))] += units
    gaps = []
    for line in _list(order.get("lines")):
        if not isinstance(line, dict):
            continue
        quantity = _units(line.get("quantity")) or 0
        done = routed.get(str(line.get("id")), 0)
        if done != quantity:
            extra = " (more than ordered)" if done > quantity else ""
            gaps.append(f"line {line.get('id')}: {done} of {quantity} routed{extra}")
    return gaps
