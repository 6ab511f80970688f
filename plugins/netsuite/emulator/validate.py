"""Generic request-body checks: field names (with NetSuite's PropertyNameValidation modes),
read-only fields, value types, and references. Business rules stay with each record type.

Values come out normalised: quantities as int, money and rates as Decimal, references as
{"id": "<internal id>"} (an {"externalId": ...} reference is resolved), choices as their id,
sublists as a list of line dicts (taken from the body's {"items": [...]})."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from . import schema as S
from .errors import (
    NsError,
    invalid_ref,
    invalid_value,
    nonexistent_field,
    read_only_field,
    user_error,
)

Resolver = Callable[[tuple[str, ...], dict[str, Any]], "str | None"]
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_CENT = Decimal("0.01")
_REF_KEYS = {"id", "externalId", "refName", "links"}


def parse_json(raw: bytes) -> Any:
    """JSON with exact decimals (money is never a float here) and no NaN/Infinity."""
    def refuse(token: str) -> Any:
        raise ValueError(f"{token} is not a valid JSON number")
    try:
        return json.loads(raw or b"null", parse_float=Decimal, parse_constant=refuse)
    except (ValueError, UnicodeDecodeError) as exc:
        raise NsError(400, "INVALID_CONTENT", f"The request body is not valid JSON: {exc}") \
            from None


@dataclass
class Checker:
    record_type: str
    resolve: Resolver
    is_country: Callable[[str], bool]
    strict_names: bool  # X-NetSuite-PropertyNameValidation: Error
    warn_names: bool  # Warning (the default) reports unknown names in a response header
    mode: str  # "create" | "update" | "transform"
    custom_body: frozenset[str] = frozenset()
    custom_column: frozenset[str] = frozenset()
    warnings: list[str] = field(default_factory=list)
    # Fields of a spec ("salesOrder", "salesOrder.item") the account lacks (features off).
    absent: Callable[[str], frozenset[str]] = lambda spec: frozenset()

    def body(self, body: Any) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise user_error("The request body must be a JSON object.")
        custom = self.custom_body if self.record_type in S.TRANSACTIONS else frozenset()
        return self._object(body, self._spec(S.FIELDS[self.record_type], self.record_type),
                            "", custom)

    def _spec(self, spec: dict[str, S.F], name: str) -> dict[str, S.F]:
        gone = self.absent(name)
        return {k: v for k, v in spec.items() if k not in gone} if gone else spec

    # --- structure --------------------------------------------------------------------------

    def _object(self, data: dict[str, Any], spec: dict[str, S.F], prefix: str,
                custom: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, value in data.items():
            path = f"{prefix}{name}"
            if name in custom:
                if value is not None and not isinstance(value, str):
                    raise invalid_value(value, name, path, "text expected")
                out[name] = value
                continue
            spec_field = spec.get(name)
            if spec_field is None:
                self._unknown(name, path)
                continue
            if spec_field.readonly:
                raise read_only_field(name, path)
            if spec_field.kind == S.KEY and self.mode != "update":
                raise read_only_field(name, path)
            out[name] = self._value(name, value, spec_field, path)
        return out

    def _unknown(self, name: str, path: str) -> None:
        if self.strict_names:
            raise nonexistent_field(name, path)
        if self.warn_names:
            self.warnings.append(f"Unknown field name {name}. The field does not exist on "
                                 "this record instance.")

    def _value(self, name: str, value: Any, spec: S.F, path: str) -> Any:
        if value is None:  # explicit null clears a field
            return None
        kind = spec.kind
        if kind == S.SUBLIST:
            return self._sublist(value, spec.sublist, path)
        if kind == S.ADDRESS:
            if not isinstance(value, dict):
                raise invalid_value(value, name, path, "an address object expected")
            return self._object(value, S.ADDRESS_FIELDS, path + ".", frozenset())
        if kind == S.REF:
            return self._ref(name, value, spec.targets, path)
        if kind == S.CHOICE:
            choice = value.get("id") if isinstance(value, dict) else (
                value if spec.bare_string else None)
            if choice not in spec.targets:
                raise invalid_value(json.dumps(value, default=str), name, path,
                                    "expected {\"id\": one of " + "|".join(spec.targets) + "}")
            return choice
        return scalar(name, value, kind, path)

    def _sublist(self, value: Any, sublist: str, path: str) -> list[dict[str, Any]]:
        if not isinstance(value, dict) or not isinstance(value.get("items"), list):
            raise invalid_value(json.dumps(value, default=str)[:60], path, path,
                                'a sublist is {"items": [...]}')
        custom = self.custom_column if sublist.split(".")[1] in ("item", "expense") and \
            self.record_type in S.TRANSACTIONS else frozenset()
        lines = []
        for index, line in enumerate(value["items"]):
            line_path = f"{path}.items[{index}]"
            if not isinstance(line, dict):
                raise invalid_value(line, path, line_path, "a sublist line is an object")
            lines.append(self._object(line, self._spec(S.LINES[sublist], sublist),
                                      line_path + ".", custom))
        return lines

    def _ref(self, name: str, value: Any, targets: tuple[str, ...], path: str) -> Any:
        if not isinstance(value, dict) or not ({"id", "externalId"} & value.keys()):
            raise invalid_value(json.dumps(value, default=str), name, path,
                                'a reference is {"id": "<internal id>"}')
        for key in value.keys() - _REF_KEYS:
            self._unknown(key, f"{path}.{key}")
        if targets == ("country",):
            code = value.get("id")
            if not isinstance(code, str) or not self.is_country(code):
                raise invalid_ref(code, name, path)
            return {"id": code}
        if "id" in value:
            raw = value["id"]
            if isinstance(raw, bool) or not isinstance(raw, (str, int)):
                raise invalid_ref(raw, name, path)
            wanted: dict[str, Any] = {"id": str(raw)}
        else:
            wanted = {"externalId": str(value["externalId"])}
        found = self.resolve(S.expand_targets(targets), wanted)
        if found is None:
            raise invalid_ref(next(iter(wanted.values())), name, path)
        return {"id": found}


def scalar(name: str, value: Any, kind: str, path: str) -> Any:
    """Check one scalar value against its kind and return it normalised."""
    if kind in (S.TEXT, S.EMAIL):
        if not isinstance(value, str):
            raise invalid_value(value, name, path, "text expected")
        if kind == S.EMAIL and value and not _EMAIL.match(value):
            raise user_error(f"Please enter a valid email address (got {value!r}).", path)
        return value
    if kind == S.BOOL:
        if not isinstance(value, bool):
            raise invalid_value(value, name, path, "true or false expected")
        return value
    if kind == S.DATE:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise invalid_value(value, name, path, "a date is YYYY-MM-DD")
        try:
            dt.date.fromisoformat(value)
        except ValueError:
            raise invalid_value(value, name, path, "no such date") from None
        return value
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise invalid_value(json.dumps(value, default=str), name, path,
                            "a JSON number expected")
    number = Decimal(value)
    if kind == S.INT:
        if number != number.to_integral_value():
            raise invalid_value(value, name, path, "a whole number expected")
        return int(number)
    if kind == S.QTY:
        # Stricter choice: whole quantities only (NetSuite allows fractions for some units).
        if number != number.to_integral_value():
            raise invalid_value(value, name, path, "quantities must be whole numbers")
        return int(number)
    if kind == S.MONEY and number != number.quantize(_CENT):
        # Stricter choice: NetSuite would round silently; flx must round to the cent itself.
        raise invalid_value(value, name, path, "an amount has at most 2 decimal places")
    return number
