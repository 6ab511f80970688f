"""The compiled pre-check must judge payloads exactly as jsonschema does, or not at all."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from flx.render.fastcheck import compile_check

ROOT = Path(__file__).resolve().parents[2]
PAYLOAD_SCHEMAS = {p.name.split(".")[0]: json.loads(p.read_text())
                   for p in (ROOT / "plugins/netsuite/schemas").glob("*.schema.json")
                   if p.name not in ("connection.schema.json", "mapping.schema.json")}


def golden_payloads() -> list[tuple[str, dict[str, Any]]]:
    out = []
    for path in sorted((ROOT / "tests/fixtures/golden").glob("*/*.json")):
        for item in json.loads(path.read_text(), parse_float=Decimal):
            if item.get("method") == "POST" and item.get("name") in PAYLOAD_SCHEMAS:
                out.append((item["name"], item["body"]))
    return out


def mutations(payload: dict[str, Any]) -> list[dict[str, Any]]:
    """The payload broken in the ways a template or a record breaks it."""
    out = []
    for key in list(payload):
        dropped = copy.deepcopy(payload)
        del dropped[key]
        out.append(dropped)
        for bad in ("", None, -1, Decimal("-0.5"), True, [], {"id": ""}):
            changed = copy.deepcopy(payload)
            changed[key] = bad
            out.append(changed)
    lines = (payload.get("item") or {}).get("items") or []
    for i, line in enumerate(lines):
        for key in line:
            for bad in (0, -1, "", None, Decimal("1e400")):
                changed = copy.deepcopy(payload)
                changed["item"]["items"][i][key] = bad
                out.append(changed)
    return out


def test_every_payload_schema_gets_the_compiled_check() -> None:
    assert PAYLOAD_SCHEMAS and all(compile_check(s) is not None
                                   for s in PAYLOAD_SCHEMAS.values())


@pytest.mark.parametrize("record_type, payload", golden_payloads(),
                         ids=lambda v: v if isinstance(v, str) else "")
def test_the_check_agrees_with_jsonschema(record_type: str, payload: dict[str, Any]) -> None:
    schema = PAYLOAD_SCHEMAS[record_type]
    check = compile_check(schema)
    assert check is not None
    full = jsonschema.Draft202012Validator(schema)
    assert check(payload) and full.is_valid(payload)
    cases = mutations(payload)
    assert any(not full.is_valid(case) for case in cases)  # the mutations do break things
    for case in cases:
        assert check(case) == full.is_valid(case), json.dumps(case, default=str)[:400]


def test_schemas_that_mean_something_else_in_draft_7_are_left_to_jsonschema() -> None:
    assert compile_check({"$defs": {"a": {"type": "string"}},
                          "properties": {"x": {"$ref": "#/$defs/a"}}}) is None
    assert compile_check({"type": "array", "items": [{"type": "string"}]}) is None
    assert compile_check({"type": "array", "prefixItems": [{"type": "string"}]}) is None
    assert compile_check({"type": "string", "format": "email"}) is None


def test_the_check_never_fills_defaults_into_the_payload() -> None:
    check = compile_check({"type": "object", "properties": {"memo": {"default": "x"}}})
    assert check is not None
    payload: dict[str, Any] = {}
    assert check(payload) and payload == {}
