"""Jinja2 filters for payload templates (`money`, `decimal`, `date`, `json`,
`default_if_none`) and the JSON encoding they and the plugins share: `dumps` writes a Decimal
as its exact number, `to_decimal` reads any amount without a float detour. core/render/renderer.py
installs FILTERS in its sandbox.
"""

from __future__ import annotations

import datetime as dt
import json
import json.encoder
import math
from collections.abc import Callable, Mapping
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jinja2 import Undefined

__all__ = ["FILTERS", "FilterValueError", "check_defined", "date_filter", "decimal_filter",
           "default_if_none", "dumps", "json_filter", "money_filter", "to_decimal"]

# --- JSON that keeps Decimal exact ------------------------------------------------------------


def dumps(value: Any) -> str:
    """Serialise a payload to compact JSON; a Decimal is written as its exact number literal
    (the stdlib would refuse it, or a float detour could drift by a cent)."""
    kind = type(value)  # one value per `| json` in a template: most are a string or a number
    if kind is str:
        return _string(value)
    if kind is Decimal and value.is_finite():
        return format(value, "f")
    parts: list[str] = []
    _encode(value, parts.append)
    return "".join(parts)


# json's own C string encoder (what json.dumps(s, ensure_ascii=False) uses), without the
# per-call set-up of json.dumps: payload rendering writes thousands of strings per order.
_string: Callable[[str], str] = json.encoder.encode_basestring  # type: ignore[attr-defined]


def _encode(value: Any, out: Callable[[str], Any]) -> None:
    kind = type(value)
    if kind is str:
        out(_string(value))
    elif value is None:
        out("null")
    elif kind is bool:
        out("true" if value else "false")
    elif kind is int:
        out(int.__repr__(value))
    elif kind is float and math.isfinite(value):
        out(float.__repr__(value))  # what json.dumps writes for it
    elif isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a number JSON can carry")
        out(format(value, "f"))
    elif isinstance(value, Undefined):
        str(value)  # StrictUndefined raises the precise "has no attribute" error here
        raise TypeError("cannot write an undefined value as JSON")
    elif isinstance(value, (bool, int, str)):  # subclasses (an IntEnum, a str subclass)
        out(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, float):
        out(json.dumps(value, allow_nan=False))
    elif isinstance(value, Mapping):
        out("{")
        first = True
        for key, item in value.items():
            if not first:
                out(",")
            first = False
            out(_string(str(key)))
            out(":")
            _encode(item, out)
        out("}")
    elif isinstance(value, (list, tuple)):
        out("[")
        for i, item in enumerate(value):
            if i:
                out(",")
            _encode(item, out)
        out("]")
    elif isinstance(value, (dt.date, dt.datetime)):
        out(json.dumps(value.isoformat()))
    else:
        raise TypeError(f"cannot write a {type(value).__name__} as JSON")


# --- filters ------------------------------------------------------------------------------------


class FilterValueError(ValueError):
    """A filter got a value it cannot use; the message is shown to the user as is."""


def check_defined(value: Any) -> None:
    if isinstance(value, Undefined):
        str(value)  # raises UndefinedError naming the missing field


def to_decimal(value: Any, what: str = "decimal") -> Decimal:
    """A money/quantity value as Decimal. Floats go through their shortest repr so that a JSON
    number such as 19.99 stays 19.99 (never 19.989999...)."""
    check_defined(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None:
        raise FilterValueError(
            f"{what}: expected an amount, got {'null' if value is None else value}"
            " (use `| default_if_none(0)` when the field may be empty)")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise FilterValueError(f"{what}: {value!r} is not an amount") from None
    else:
        raise FilterValueError(f"{what}: expected an amount, got a {type(value).__name__}")
    if not result.is_finite():
        raise FilterValueError(f"{what}: {value!r} is not a finite amount")
    return result


def _quantize(value: Decimal, places: int) -> Decimal:
    q = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return q if q != 0 else abs(q)  # never print "-0.00"


def money_filter(value: Any, places: int = 2) -> str:
    """19.989 -> "19.99"; always `places` decimals, half-up rounding, never a float."""
    return format(_quantize(to_decimal(value, "money"), places), "f")


def decimal_filter(value: Any, places: int | None = None) -> Decimal:
    """A Decimal for arithmetic in templates, optionally rounded half-up to `places`."""
    number = to_decimal(value, "decimal")
    return _quantize(number, places) if places is not None else number


def date_filter(value: Any, format: str = "%Y-%m-%d", tz: str | None = None) -> str:
    """RFC 3339 time (or date) -> "YYYY-MM-DD" as written, or in the time zone `tz`."""
    check_defined(value)
    moment: dt.date
    if isinstance(value, (dt.date, dt.datetime)):
        moment = value
    elif isinstance(value, str):
        text = value.strip()
        try:
            moment = (dt.datetime.fromisoformat(text) if len(text) > 10
                      else dt.date.fromisoformat(text))
        except ValueError:
            raise FilterValueError(
                f"date: {value!r} is not an RFC 3339 time such as 2026-11-20T14:03:00Z"
            ) from None
    else:
        raise FilterValueError(f"date: expected an RFC 3339 time, got {value!r}")
    if tz and isinstance(moment, dt.datetime) and moment.tzinfo is not None:
        try:
            moment = moment.astimezone(ZoneInfo(tz))
        except ZoneInfoNotFoundError:
            raise FilterValueError(f"date: unknown time zone {tz!r}") from None
    return moment.strftime(format)


def json_filter(value: Any) -> str:
    """Any value as a JSON literal: strings quoted and escaped, Decimals exact."""
    try:
        return dumps(value)
    except (TypeError, ValueError) as exc:
        raise FilterValueError(f"json: {exc}") from None


def default_if_none(value: Any, default: Any = "") -> Any:
    """Replace null (None) only; a *missing* field still fails loudly (use `default` for that)."""
    return default if value is None else value


FILTERS: dict[str, Callable[..., Any]] = {
    "money": money_filter,
    "decimal": decimal_filter,
    "date": date_filter,
    "json": json_filter,
    "tojson": json_filter,  # Jinja's own tojson HTML-escapes and cannot write Decimal
    "default_if_none": default_if_none,
}
