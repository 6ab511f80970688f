"""Reading one Flxpoint object field by field: text, ids, amounts, units, times and lists,
each failure a `FlxpointMappingError` naming the object, the field and the fix."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from flx import MappingError

TWO, FOUR = Decimal("0.01"), Decimal("0.0001")
MAX_ID = 255


class FlxpointMappingError(MappingError):
    """One Flxpoint object that does not map; the message names it and the field."""


class Reader:
    """Reads one Flxpoint object; every failure names the object and the field."""

    def __init__(self, what: str, obj: Any, record_id: str | None = None) -> None:
        if not isinstance(obj, Mapping):
            raise FlxpointMappingError(f"Flxpoint {what} is {type(obj).__name__}, not an "
                                       "object", hint="report this answer of Flxpoint's API",
                                       record_id=record_id)
        self.what, self.obj, self.record_id = what, obj, record_id

    def fail(self, path: str, problem: str, fix: str) -> FlxpointMappingError:
        return FlxpointMappingError(f"Flxpoint {self.what}: {path} {problem}", hint=fix,
                                    record_id=self.record_id, path=path)

    def raw(self, paths: str | list[str]) -> tuple[str, Any]:
        """The first path that holds a non-null value, and that value."""
        options = paths.split("|") if isinstance(paths, str) else paths
        for path in options:
            value: Any = self.obj
            for part in path.split("."):
                value = value.get(part) if isinstance(value, Mapping) else None
            if value is not None:
                return path, value
        return (options[0] if options else ""), None

    def text(self, paths: str | list[str], *, required: bool = False,
             limit: int = 1000) -> str | None:
        path, value = self.raw(paths)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise self.fail(path or str(paths), "is missing",
                                "fill it in Flxpoint, or point the profile's `fields` at "
                                "where this account keeps it")
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | Decimal):
            raise self.fail(path, f"is {type(value).__name__}, not text",
                            "point the profile's `fields` at a text value")
        text = str(value).strip()
        if len(text) > limit:
            raise self.fail(path, f"is longer than {limit} characters",
                            "shorten it in Flxpoint")
        return text

    def ident(self, paths: str | list[str]) -> str:
        text = self.text(paths, required=True, limit=MAX_ID)
        assert text is not None
        if not text.isprintable():
            path, _ = self.raw(paths)
            raise self.fail(path, f"is {text!r}, which holds a line break or control "
                            "character", "correct the id in Flxpoint")
        return text

    def money(self, paths: str | list[str], places: Decimal = TWO) -> str | None:
        path, value = self.raw(paths)
        if value is None:
            return None
        number = decimal(value)
        if number is None or number < 0:
            raise self.fail(path, f"is {value!r}, not an amount of 0 or more",
                            "correct the amount in Flxpoint")
        if number > Decimal("1e12"):
            raise self.fail(path, "is above a trillion", "correct the amount in Flxpoint")
        # Flxpoint sends JSON numbers; flx keeps 2 (amounts) or 4 (unit prices) places.
        return str(number.quantize(places, rounding=ROUND_HALF_UP))

    def units(self, paths: str | list[str], *, required: bool = True) -> int | None:
        path, value = self.raw(paths)
        if value is None:
            if required:
                raise self.fail(path, "is missing", "set the quantity in Flxpoint")
            return None
        number = decimal(value)
        if number is None or number != number.to_integral_value() or not 0 <= number <= 10**6:
            raise self.fail(path, f"is {value!r}, not a whole number of units (0 to 1,000,000)",
                            "correct the quantity in Flxpoint")
        return int(number)

    def time(self, paths: str | list[str]) -> str | None:
        path, value = self.raw(paths)
        if value is None:
            return None
        parsed = parse_time(value)
        if parsed is None:
            raise self.fail(path, f"is {value!r}, not a date-time",
                            "correct the date in Flxpoint")
        return parsed

    def rows(self, paths: str | list[str]) -> tuple[str, list[Any]]:
        path, value = self.raw(paths)
        if value is None:
            return path, []
        if not isinstance(value, list):
            raise self.fail(path, f"is {type(value).__name__}, not a list",
                            "point the profile's `fields` at the list")
        return path, value


def as_int(text: str | None) -> int | None:
    """A Flxpoint id given as text, as the integer its look-up tables use."""
    return int(text) if text and text.isascii() and text.isdigit() else None


def decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | Decimal | float | str):
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def parse_time(value: Any) -> str | None:
    if not isinstance(value, str) or not 10 <= len(value) <= 40:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if len(value.strip()) <= 10:  # a date alone
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # the profile's naive_times_are (UTC only)
    if not 1900 <= parsed.year <= 9999:
        return None
    return parsed.isoformat().replace("+00:00", "Z")


def compact(record: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in record.items() if v is not None and v != {} and v != []}
