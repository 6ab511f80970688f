"""Record schemas and validation: what a user sees when a record is wrong."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from flx.errors import RecordValidationError
from flx.records.validate import (
    MAX_QUANTITY,
    Problem,
    content_hash,
    load_schema,
    routing_gaps,
    to_decimal,
    validate_record,
)

ROOT = Path(__file__).resolve().parents[2]

ORDER: dict[str, Any] = {  # the example of design.md section 3
    "id": "ORD-1001", "number": "1001", "channel": "shopify", "source": "main-store",
    "status": "open", "placed_at": "2026-11-20T14:03:00Z", "currency": "USD",
    "customer": {"netsuite_id": None, "email": "jane@example.com", "first_name": "Jane",
                 "last_name": "Doe", "company": None, "phone": "+1 555 0100"},
    "shipping_address": {"name": "Jane Doe", "address1": "1 Main St", "address2": None,
                         "city": "Austin", "region": "TX", "postal_code": "78701",
                         "country": "US", "phone": None},
    "billing_address": {"name": "Jane Doe", "country": "US"},
    "lines": [{"id": "L1", "sku": "FLX-SKU123", "title": "Widget", "quantity": 3,
               "unit_price": "19.99", "weight": 1.2}],
    "shipping": {"method": "Ground", "amount": "5.00"}, "tax_total": "3.20",
    "discount_total": "0",
    "fulfillment_requests": [
        {"id": "FR-1", "type": "internal", "warehouse": "MAIN",
         "items": [{"order_line_id": "L1", "sku": "VA-SKU123", "quantity": 1, "cost": "8.00"}]},
        {"id": "FR-2", "type": "external", "vendor": {"id": "V-A", "name": "Vendor A"},
         "items": [{"order_line_id": "L1", "sku": "FLX-SKU123", "quantity": 2, "cost": "9.00"}]},
    ],
    "custom_fields": {"gift_message": "Happy birthday"},
}
SHIPMENT = {"id": "SH-1", "order_id": "ORD-1001", "fulfillment_request_id": "FR-1",
            "shipped_at": "2026-11-21T09:30:00-05:00", "carrier": "UPS", "method": "Ground",
            "tracking_numbers": ["1Z999"], "items": [{"sku": "VA-SKU123", "quantity": 1}]}
BILL = {"id": "VB-1", "order_id": "ORD-1001", "fulfillment_request_id": "FR-2", "number": "INV-9",
        "invoiced_at": "2026-11-22T00:00:00Z",
        "items": [{"sku": "FLX-SKU123", "quantity": 2, "cost": "9.00"}],
        "shipping": "4.50", "tax": 0}


def changed(record: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A deep copy of record with the value at a dotted path ("lines.0.quantity") replaced."""
    data = copy.deepcopy(record)
    *parents, last = [int(p) if p.isdigit() else p for p in path.split(".")]
    node: Any = data
    for part in parents:
        node = node[part]
    if value is _DELETE:
        del node[last]
    else:
        node[last] = value
    return data


_DELETE = object()


def only_problem(kind: str, record: dict[str, Any]) -> Problem:
    problems = validate_record(kind, record)
    assert len(problems) == 1, problems
    return problems[0]


def test_the_design_examples_are_valid() -> None:
    assert validate_record("order", ORDER) == []
    assert validate_record("shipment", SHIPMENT) == []
    assert validate_record("vendor_bill", BILL) == []


def test_unknown_extra_fields_are_allowed() -> None:
    record = {**ORDER, "loyalty_tier": "gold", "lines": [{**ORDER["lines"][0], "color": "red"}]}
    assert validate_record("order", record) == []


def test_minimal_records_are_valid() -> None:
    assert validate_record("order", {"id": "A", "lines": [{"id": "1", "sku": "S",
                                                           "quantity": 1}]}) == []
    assert validate_record("shipment", {"id": "S", "order_id": "A",
                                        "items": [{"sku": "S", "quantity": 1}]}) == []


@pytest.mark.parametrize("kind, record, field, path", [
    ("order", ORDER, "lines", "$.lines"),
    ("order", ORDER, "lines.0.sku", "$.lines[0].sku"),
    ("order", ORDER, "fulfillment_requests.0.items.0.order_line_id",
     "$.fulfillment_requests[0].items[0].order_line_id"),
    ("shipment", SHIPMENT, "order_id", "$.order_id"),
    ("vendor_bill", BILL, "fulfillment_request_id", "$.fulfillment_request_id"),
    ("vendor_bill", BILL, "number", "$.number"),
])
def test_missing_required_fields_are_named(kind: str, record: dict[str, Any], field: str,
                                           path: str) -> None:
    problem = only_problem(kind, changed(record, field, _DELETE))
    name = path.rsplit(".", 1)[-1]
    assert (problem.path, problem.message, problem.code) == (path, f"{name} is required",
                                                             "required")


def test_fractional_and_negative_quantities() -> None:
    half = only_problem("order", changed(ORDER, "lines.0.quantity", Decimal("1.5")))
    assert str(half) == "$.lines[0].quantity: quantity must be a whole number of units, got 1.5"
    negative = only_problem("shipment", changed(SHIPMENT, "items.0.quantity", -2))
    assert negative.message == "quantity cannot be negative, got -2"
    zero = only_problem("shipment", changed(SHIPMENT, "items.0.quantity", 0))
    assert zero.message == "quantity must be at least 1, got 0"
    quoted = only_problem("shipment", changed(SHIPMENT, "items.0.quantity", "2"))
    assert "write the number without quotes" in quoted.message


def test_a_whole_number_written_with_a_decimal_point_is_accepted() -> None:
    assert validate_record("shipment", changed(SHIPMENT, "items.0.quantity", Decimal("1.0"))) == []


def test_a_vendor_bill_may_list_an_item_with_quantity_zero() -> None:
    # partial billing: listed, not billed on this invoice
    record = changed(BILL, "items", [{"sku": "A", "quantity": 0}, {"sku": "B", "quantity": 1}])
    assert validate_record("vendor_bill", record) == []
    assert only_problem("order", changed(ORDER, "lines.0.quantity", 0)).code == "quantity"


def test_a_bill_that_bills_nothing_is_refused() -> None:
    # Every item at quantity 0: nothing to put on a Vendor Bill; the send would fail later.
    record = changed(BILL, "items", [{"sku": "A", "quantity": 0}, {"sku": "B", "quantity": 0}])
    problem = only_problem("vendor_bill", record)
    assert (problem.path, problem.code) == ("$.items", "nothing_to_bill")
    assert problem.message.startswith("nothing to bill: every item has quantity 0")


@pytest.mark.parametrize("path, value, message", [
    ("lines.0.quantity", Decimal("1E+400"), "quantity must be at most 1,000,000, got 1E+400"),
    ("lines.0.quantity", 1_000_001, "quantity must be at most 1,000,000, got 1000001"),
    ("total", "1000000000000.01",
     "total must be at most 1,000,000,000,000, got '1000000000000.01'"),
    ("lines.0.unit_price", 10**13, "unit_price must be at most 1,000,000,000,000"),
    ("lines.0.weight", Decimal("1E+9"), "weight must be at most 1,000,000, got 1E+9"),
    ("lines.0.quantity", Decimal("Infinity"), "quantity must be a finite number, got Infinity"),
    ("tax_total", Decimal("NaN"), "tax_total must be a finite number, got NaN"),
    ("lines.0.weight", float("nan"), "weight must be a finite number, got nan"),
    ("custom_fields.gift_message", Decimal("-Infinity"),
     "gift_message must be a finite number, got -Infinity"),
])
def test_huge_and_non_finite_numbers_are_refused_by_path(path: str, value: Any,
                                                         message: str) -> None:
    problem = only_problem("order", changed(ORDER, path, value))
    assert problem.path == "$." + path.replace(".0.", "[0].")
    assert problem.message.startswith(message)


def test_the_upper_bounds_themselves_are_accepted() -> None:
    assert load_schema("order")["$defs"]["positive_quantity"]["maximum"] == MAX_QUANTITY
    record = changed(changed(ORDER, "total", "1000000000000.00"), "lines.0.quantity", 3)
    assert validate_record("order", record) == []
    assert validate_record("vendor_bill", changed(BILL, "items.0.quantity", 1_000_000)) == []


@pytest.mark.parametrize("value, message", [
    ("abc", "must be a decimal amount such as 19.99"),
    ("$5.00", "must be a decimal amount such as 19.99"),
    ("1,234.50", "no currency sign, thousands separator or exponent"),
    (Decimal("1E+3"), "must be a decimal amount such as 19.99"),
    (1e-05, "must be a decimal amount such as 19.99"),
    ("-3.20", "cannot be negative, got '-3.20'"),
    ("3.201", "has more than 2 decimal places, got '3.201' (round it to the cent)"),
    (Decimal("3.201"), "has more than 2 decimal places, got 3.201"),
    (True, "must be a decimal amount such as 19.99, got true"),
])
def test_money_must_be_a_plain_decimal(value: Any, message: str) -> None:
    problem = only_problem("order", changed(ORDER, "tax_total", value))
    assert problem.path == "$.tax_total" and problem.code == "money"
    assert problem.message.startswith("tax_total ")
    assert message in problem.message


@pytest.mark.parametrize("value", ["3.20", "3.200", 3.2, Decimal("3.20"), 3, "0", None])
def test_money_forms_that_are_accepted(value: Any) -> None:
    assert validate_record("order", changed(ORDER, "tax_total", value)) == []


def test_unit_amounts_allow_four_decimal_places() -> None:
    assert validate_record("order", changed(ORDER, "lines.0.unit_price", "19.9875")) == []
    path = "fulfillment_requests.1.items.0.cost"
    assert validate_record("order", changed(ORDER, path, Decimal("8.1234"))) == []
    problem = only_problem("order", changed(ORDER, path, "8.12345"))
    assert problem.message == "cost has more than 4 decimal places, got '8.12345'"


@pytest.mark.parametrize("value", ["yesterday", "2026-11-20", "2026-11-20 14:03:00Z",
                                   "2026-13-01T00:00:00Z", "2026-11-20T14:03:00"])
def test_times_must_be_rfc3339_with_a_zone(value: str) -> None:
    problem = only_problem("order", changed(ORDER, "placed_at", value))
    assert problem.code == "datetime"
    assert problem.message.startswith("placed_at must be an RFC 3339 date-time")


def test_duplicate_ids_and_unknown_lines() -> None:
    record = changed(ORDER, "lines", [*ORDER["lines"], {"id": "L1", "sku": "X", "quantity": 1}])
    record["fulfillment_requests"][1]["items"].append({"order_line_id": "L9", "quantity": 1})
    record["fulfillment_requests"].append(copy.deepcopy(record["fulfillment_requests"][0]))
    messages = {(p.path, p.message) for p in validate_record("order", record)}
    assert messages == {
        ("$.lines[1].id", "duplicate line id 'L1' (already used at $.lines[0])"),
        ("$.fulfillment_requests[2].id",
         "duplicate fulfillment request id 'FR-1' (already used at $.fulfillment_requests[0])"),
        ("$.fulfillment_requests[1].items[1].order_line_id",
         "no order line has id 'L9' (the order's line ids: L1)"),
    }


def test_routing_more_units_than_ordered_is_refused() -> None:
    problem = only_problem("order", changed(ORDER, "fulfillment_requests.1.items.0.quantity", 5))
    assert problem.path == "$.lines[0].quantity"
    assert problem.message == ("line L1: 6 units are routed to fulfillment requests but only 3 "
                               "were ordered")


def test_an_external_request_must_name_its_vendor() -> None:
    problem = only_problem("order", changed(ORDER, "fulfillment_requests.1.vendor", _DELETE))
    assert problem.path == "$.fulfillment_requests[1].vendor"
    assert problem.message == ("vendor is required: an external (dropship) fulfillment request "
                               "must name its vendor")
    internal = changed(ORDER, "fulfillment_requests.1.type", "internal")
    assert validate_record("order", changed(internal, "fulfillment_requests.1.vendor",
                                            _DELETE)) == []


def test_type_and_format_messages_say_what_to_write() -> None:
    assert only_problem("order", changed(ORDER, "id", 1001)).message == (
        "id must be text, got the number 1001 (put it in quotes)")
    assert only_problem("order", changed(ORDER, "id", " ORD-1")).message == (
        "id must be text without leading or trailing spaces, got ' ORD-1'")
    assert only_problem("order", changed(ORDER, "shipping_address.country", "USA")).message == (
        "country must be a two-letter ISO 3166 country code such as US, got 'USA'")
    assert only_problem("order", changed(ORDER, "fulfillment_requests.0.type", "dropship")
                        ).message == "type must be one of 'internal', 'external'; got 'dropship'"
    assert only_problem("order", changed(ORDER, "lines", [])).message == (
        "lines must list at least one entry")
    assert only_problem("order", changed(ORDER, "customer", "jane")).message == (
        "customer must be an object (a {...} with fields) (or null), got 'jane'")
    assert validate_record("order", ["not", "an", "object"]) == [
        Problem("$", "a record must be a JSON object, got a list", "type")]


def test_every_problem_of_a_record_is_reported_at_once() -> None:
    record = changed(ORDER, "lines.0.quantity", -1)
    record = changed(record, "tax_total", "x")
    record = changed(record, "placed_at", "soon")
    assert {p.path for p in validate_record("order", record)} == {
        "$.lines[0].quantity", "$.tax_total", "$.placed_at"}


# --- helpers -----------------------------------------------------------------------------------


def test_content_hash_is_canonical() -> None:
    same = json.loads(json.dumps(ORDER, sort_keys=True))
    assert content_hash(same) == content_hash(ORDER)
    assert content_hash(changed(ORDER, "tax_total", "3.21")) != content_hash(ORDER)
    assert content_hash({"a": Decimal("19.99")}) == content_hash({"a": 19.99})
    assert re.fullmatch(r"[0-9a-f]{64}", content_hash(ORDER))


@pytest.mark.parametrize("value, expected", [
    ("19.99", Decimal("19.99")), (19.99, Decimal("19.99")), (0.1, Decimal("0.1")),
    (3, Decimal(3)), (Decimal("8.125"), Decimal("8.125")), (" -2.50 ", Decimal("-2.50")),
])
def test_to_decimal_is_exact(value: Any, expected: Decimal) -> None:
    result = to_decimal(value)
    assert result == expected and str(result) == str(expected)


@pytest.mark.parametrize("value", ["abc", "1,000", None, True, float("nan"), [1]])
def test_to_decimal_refuses_what_is_not_an_amount(value: Any) -> None:
    with pytest.raises(RecordValidationError):
        to_decimal(value)


def test_routing_gaps() -> None:
    assert routing_gaps(ORDER) == []
    two_lines = changed(ORDER, "lines", [*ORDER["lines"],
                                         {"id": "L2", "sku": "B", "quantity": 3}])
    two_lines["fulfillment_requests"][0]["items"].append({"order_line_id": "L2", "quantity": 1})
    assert routing_gaps(two_lines) == ["line L2: 1 of 3 routed"]
    assert routing_gaps(changed(ORDER, "fulfillment_requests", [])) == [
        "no fulfillment requests yet: no line is routed"]
    assert routing_gaps(changed(ORDER, "fulfillment_requests", _DELETE)) != []


# --- schemas and their documentation ----------------------------------------------------------


def _properties(schema: Any, prefix: str = "") -> list[tuple[str, dict[str, Any]]]:
    """(dotted name, subschema) of every property, following local $refs."""
    out = []
    if not isinstance(schema, dict):
        return out
    for name, sub in (schema.get("properties") or {}).items():
        out.append((prefix + name, sub))
        target = sub
        if "$ref" in sub:
            continue  # $defs are walked separately
        out += _properties(target, prefix + name + ".")
        out += _properties(target.get("items"), prefix + name + "[].")
    return out


@pytest.mark.parametrize("kind", ["order", "shipment", "vendor_bill", "import"])
def test_schemas_are_valid_and_every_field_is_described(kind: str) -> None:
    text = resources.files("flx.schemas").joinpath(f"{kind}.schema.json").read_text("utf-8")
    schema = json.loads(text)
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    subschemas = [schema, *schema.get("$defs", {}).values()]
    for sub in list(subschemas):
        subschemas += [s for _, s in _properties(sub)]
    for sub in subschemas:
        for name, prop in _properties(sub):
            assert prop.get("description"), f"{kind}: {name} has no description"
    if kind != "import":
        assert load_schema(kind) == schema


def _field_names(schema: dict[str, Any], defs: dict[str, Any], prefix: str = "") -> set[str]:
    """Dotted names of every field ("lines[].quantity"); an object defined in $defs is named
    by its definition ("address.city") and documented once."""
    names: set[str] = set()
    for name, sub in (schema.get("properties") or {}).items():
        names.add(prefix + name)
        ref = sub.get("$ref", "")
        if ref.startswith("#/$defs/"):
            definition = ref.removeprefix("#/$defs/")
            names |= _field_names(defs[definition], defs, definition + ".")
            continue
        names |= _field_names(sub, defs, prefix + name + ".")
        if isinstance(sub.get("items"), dict):
            names |= _field_names(sub["items"], defs, prefix + name + "[].")
    return names


@pytest.mark.parametrize("kind, heading", [
    ("order", "Order"), ("shipment", "Shipment"), ("vendor_bill", "Vendor bill")])
def test_docs_describe_every_schema_field(kind: str, heading: str) -> None:
    doc = (ROOT / "docs" / "records.md").read_text("utf-8")
    sections = {part.split("\n", 1)[0].strip(): part for part in doc.split("\n## ")[1:]}
    section = next(text for title, text in sections.items() if title.startswith(heading))
    schema = load_schema(kind)
    missing = sorted(n for n in _field_names(schema, schema.get("$defs", {}))
                     if f"`{n}`" not in section)
    assert missing == [], f"fields of {kind} missing from docs/records.md"


@pytest.mark.parametrize("field, value, code", [
    ("id", "ORD-1\n", "format"), ("tax_total", "3.20\n", "money"),
    ("placed_at", "2026-11-20T14:03:00Z\n", "datetime"),
    ("shipping_address.country", "US\n", "format"),
])
def test_a_trailing_newline_is_not_ignored(field: str, value: str, code: str) -> None:
    assert only_problem("order", changed(ORDER, field, value)).code == code
