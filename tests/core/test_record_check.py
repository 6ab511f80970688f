"""The compiled pre-check (flx.records.precheck) judges every record exactly as the jsonschema
validator does: a record it passes but jsonschema refuses would be imported unchecked."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate
from flx.records.precheck import compile_check
from flx.records.validate import _fast_check, _validator, validate_record

DATA = generate(6, seed=11, prefix="RC")
RECORDS = {"order": DATA.orders, "shipment": DATA.shipments, "vendor_bill": DATA.vendor_bills}
CHECK = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                 suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

values = st.recursive(
    st.none() | st.booleans() | st.integers(-10, 2_000_000)
    | st.sampled_from([0, 1, -1, 10**12, 10**12 + 1, 1_000_000, 1_000_001])
    | st.floats(allow_nan=False, allow_infinity=False, width=32)
    | st.decimals(allow_nan=False, allow_infinity=False, places=5, min_value=-10**13,
                  max_value=10**13)
    | st.sampled_from(["", "x", "19.99", "19.999", "19.9900", "-1.00", "1e3", "ORD-1\n",
                       "USD", "usd", "internal", "external", "2026-11-20T14:03:00Z",
                       "2026-13-01T00:00:00Z", "1000000000000.00", "1000000000000.01",
                       "999999999999.9999", " 5", "L1", "A" * 300])
    | st.text(max_size=6),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["id", "sku", "quantity", "type", "vendor", "items", "cost", "x"]),
        inner, max_size=3),
    max_leaves=6)


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(value, dict):
        for key, item in value.items():
            out += paths(item, (*prefix, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += paths(item, (*prefix, index))
    return out


def judged_alike(kind: str, record: Any) -> None:
    check = _fast_check(kind)
    assert check is not None
    valid = not any(True for _ in _validator(kind).iter_errors(record))
    assert check(record) is valid, (kind, record)


@pytest.mark.parametrize("kind", list(RECORDS))
def test_generated_records_pass_both(kind: str) -> None:
    for record in RECORDS[kind]:
        judged_alike(kind, record)
        assert validate_record(kind, record, finite=True) == validate_record(kind, record)


@CHECK
@given(data=st.data(), kind=st.sampled_from(list(RECORDS)))
def test_a_changed_or_removed_field_is_judged_alike(data: st.DataObject, kind: str) -> None:
    record = copy.deepcopy(data.draw(st.sampled_from(RECORDS[kind])))
    for _ in range(data.draw(st.integers(1, 3))):
        path = data.draw(st.sampled_from(paths(record) or [("id",)]))
        target = record
        for key in path[:-1]:
            target = target[key]
        if data.draw(st.booleans()) and isinstance(target, dict):
            target.pop(path[-1], None)
        elif isinstance(target, dict | list):
            target[path[-1]] = data.draw(values)
    judged_alike(kind, record)
    fast = validate_record(kind, record, finite=True)
    assert fast == validate_record(kind, record)  # same problems, same words


@CHECK
@given(record=values, kind=st.sampled_from(list(RECORDS)))
def test_arbitrary_values_are_judged_alike(record: Any, kind: str) -> None:
    judged_alike(kind, record)


def test_money_edge_cases_are_judged_alike() -> None:
    order = copy.deepcopy(RECORDS["order"][0])
    for value in ["0", "0.00", "1.5", "19.9900", "19.991", "1000000000000", "1000000000000.00",
                  "1000000000000.001", "01.50", "1.", ".5", "1e2", 5, -5, 10**12, 10**12 + 1,
                  1.25, 1.255, Decimal("1E+2"), Decimal("-0.00"), Decimal("12.3400"), True]:
        order["tax_total"] = value
        judged_alike("order", order)


def test_a_schema_with_a_keyword_it_does_not_know_gets_no_fast_check() -> None:
    rules = {"is_integer": lambda c, v: isinstance(v, int), "is_number": lambda c, v: True,
             "pattern": lambda p: None, "is_datetime": lambda v: True,
             "money_problem": lambda *a, **k: None}
    assert compile_check({"type": "object", "minProperties": 1}, **rules) is None
    assert compile_check({"enum": [1, True]}, **rules) is None
    assert compile_check({"type": "object", "required": ["id"]}, **rules) is not None
