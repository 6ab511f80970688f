"""Plain-words messages for record problems: a jsonschema error becomes a `Problem` that
names the field, says what is wrong and what to write instead."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from jsonschema import ValidationError

__all__ = ["Problem", "translate", "show", "is_number"]


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a record: where (`$.lines[1].quantity`) and what, in plain words.
    `code` is a short stable key (required, type, money, quantity, duplicate_id, ...)."""

    path: str
    message: str
    code: str = "invalid"

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


_TYPE_WORDS = {
    "string": "text", "number": "a number", "integer": "a whole number",
    "object": "an object (a {...} with fields)", "array": "a list", "boolean": "true or false",
}


def translate(error: ValidationError) -> list[Problem]:
    """One jsonschema error -> plain-words problems naming the field."""
    where = list(error.absolute_path)
    path, name = _json_path(where), _field_name(where)
    schema = error.schema if isinstance(error.schema, dict) else {}
    keyword, value, instance = error.validator, error.validator_value, error.instance
    money = "x-decimal-places" in schema
    if keyword == "required":
        because = schema.get("x-because")
        return [Problem(_json_path([*where, prop]),
                        f"{prop} is required" + (f": {because}" if because else ""), "required")
                for prop in value if isinstance(instance, dict) and prop not in instance]
    if keyword == "x-decimal-places":
        return [Problem(path, f"{name} {error.message}", "money")]
    if keyword == "pattern" and money:
        return []  # the x-decimal-places check says the same thing better
    if keyword == "type":
        return [_type_problem(path, name, schema, instance)]
    if keyword == "minimum":
        quantity = schema.get("type") == "integer"
        if is_number(instance) and instance < 0:
            message = f"{name} cannot be negative, got {show(instance)}"
        else:
            message = f"{name} must be at least {value}, got {show(instance)}"
        return [Problem(path, message, "quantity" if quantity else "range")]
    if keyword == "maximum":
        if money:
            return []  # the x-decimal-places check names the bound, for text amounts too
        quantity = schema.get("type") == "integer"
        return [Problem(path, f"{name} must be at most {value:,}, got {show(instance)}",
                        "quantity" if quantity else "range")]
    if keyword == "minItems":
        count = "one entry" if value == 1 else f"{value} entries"
        return [Problem(path, f"{name} must list at least {count}", "empty")]
    if keyword == "minLength":
        return [Problem(path, f"{name} must not be empty", "empty")]
    if keyword == "maxLength":
        return [Problem(path, f"{name} is too long: at most {value} characters, "
                              f"got {len(instance)}", "too_long")]
    if keyword == "pattern":
        if instance == "":
            return []  # minLength already says "must not be empty"
        hint = schema.get("x-format-hint") or f"text matching {value}"
        return [Problem(path, f"{name} must be {hint}, got {show(instance)}", "format")]
    if keyword in ("enum", "const"):
        allowed = ", ".join(show(v) for v in (value if keyword == "enum" else [value]))
        return [Problem(path, f"{name} must be one of {allowed}; got {show(instance)}", "enum")]
    if keyword == "format":
        return [Problem(path, f"{name} must be an RFC 3339 date-time with a time zone, such as "
                              f"2026-11-20T14:03:00Z; got {show(instance)}", "datetime")]
    return [Problem(path, f"{name}: {error.message}", str(keyword))]


def _type_problem(path: str, name: str, schema: Mapping[str, Any], instance: Any) -> Problem:
    expected = schema.get("type")
    types = [expected] if isinstance(expected, str) else list(expected or [])
    if "x-decimal-places" in schema:
        return Problem(path, f"{name} must be a decimal amount such as 19.99, "
                             f"got {show(instance)}", "money")
    if "integer" in types and is_number(instance):
        units = " of units" if "quantity" in name else ""
        return Problem(path, f"{name} must be a whole number{units}, got {show(instance)}",
                       "quantity" if units else "type")
    if "integer" in types and isinstance(instance, str):
        return Problem(path, f"{name} must be a whole number, got the text {show(instance)} "
                             "(write the number without quotes)", "type")
    if "string" in types and is_number(instance):
        return Problem(path, f"{name} must be text, got the number {show(instance)} "
                             "(put it in quotes)", "type")
    words = " or ".join(_TYPE_WORDS.get(t, t) for t in types if t != "null")
    if "null" in types:
        words += " (or null)"
    return Problem(path, f"{name} must be {words}, got {show(instance)}", "type")


def is_number(value: Any) -> bool:
    return isinstance(value, int | float | Decimal) and not isinstance(value, bool)


def _json_path(parts: list[Any]) -> str:
    out = "$"
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        elif re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(part)):
            out += f".{part}"
        else:
            out += f"[{json.dumps(str(part))}]"
    return out


def _field_name(parts: list[Any]) -> str:
    """`quantity` for $.lines[1].quantity; `tracking_numbers[0]` for an array item."""
    if not parts:
        return "the record"
    last = parts[-1]
    if isinstance(last, int):
        return f"{_field_name(parts[:-1])}[{last}]" if len(parts) > 1 else f"item {last}"
    return str(last)


def show(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return repr(value if len(value) <= 60 else value[:57] + "...")
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__
