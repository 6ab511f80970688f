"""The failures users meet with send-orders (the reference page's troubleshooting list), each
checked for a message that says what is wrong and a hint that names the fix. A failed order
never stops the others, and nothing half-made is left behind unless said so."""

from __future__ import annotations

from typing import Any

import pytest

from tests.plugins.netsuite.emulator.helpers import NS

from .conftest import Workspace
from .test_orders_support import (
    dropship_order,
    exploded_order,
    external,
    internal_order,
    json_output,
    line,
    order,
    person,
)


def _failed(ws: Workspace, *orders: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Import and run; the rows of the report (the run must end with failures: exit 3)."""
    return ws.import_and_run("send-orders", 3, orders=list(orders))


def _errors(ws: Workspace) -> dict[str, dict[str, Any]]:
    code, output = ws.flx("errors", "--json")
    assert code == 0, output
    return {row["record_id"]: row for row in json_output(output)["errors"]}


def test_customer_not_found_and_creation_off(workspace: Workspace) -> None:
    workspace.profile["customer"]["on_missing"] = "fail"
    rows = _failed(workspace, internal_order("ORD-200", customer=person(
        "Zed", "Unknown", "zed@example.com")), internal_order("ORD-201"))
    row = rows["ORD-200"]
    assert row["status"] == "failed" and row["error_class"] == "reference"
    assert "zed@example.com" in row["message"]
    assert "customer.on_missing = 'fail'" in row["message"]
    assert "customer.netsuite_id" in row["hint"] and 'on_missing = "create"' in row["hint"]
    assert rows["ORD-201"]["status"] == "sent"  # Jane exists: the other order goes on
    assert [so["externalId"] for so in workspace.records("salesOrder")] == ["ORD-201"]
    assert len(workspace.records("customer")) == 3  # the seeded three: nothing created


def test_default_customer_policy_uses_the_profiles_customer(workspace: Workspace) -> None:
    workspace.profile["customer"].update(on_missing="default", default_customer_id="108")
    code, _ = workspace.import_records(orders=[internal_order("ORD-202", customer=person(
        "Zed", "Unknown", "zed@example.com"))])
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    assert workspace.rows(report)["ORD-202"]["remote_ids"]["customer_match"] == "default"
    assert workspace.by_external_id("salesOrder", "ORD-202")["entity"]["id"] == "108"


@pytest.mark.parametrize("sku_level, sku", [("order", "NOPE-1"), ("po", "VA-NOPE")])
def test_unknown_sku_names_the_sku_and_the_field_searched(
        workspace: Workspace, sku_level: str, sku: str) -> None:
    workspace.profile["sku_level"] = sku_level
    bad = exploded_order("ORD-203")
    if sku_level == "order":
        bad["lines"][0]["sku"] = sku
    else:
        bad["fulfillment_requests"][0]["items"][0]["sku"] = sku
    row = _failed(workspace, bad)["ORD-203"]
    assert f"SKU '{sku}' has no NetSuite item (searched item.itemid)" in row["message"]
    assert "line L1" in row["message"]
    assert "sku_level" in row["hint"] and "item_lookup_field" in row["hint"]
    assert workspace.records("salesOrder") == []
    # The preview says the same instead of printing a payload.
    code, output = workspace.flx("render", "send-orders", "--connection", "ns", "--id", "ORD-203")
    assert code != 0 and f"SKU '{sku}' has no NetSuite item" in output


def test_unmapped_vendor_names_the_vendor_and_the_table(workspace: Workspace) -> None:
    bad = exploded_order("ORD-204")
    bad["fulfillment_requests"][1]["vendor"] = {"id": "V-NEW", "name": "New Vendor Inc"}
    row = _failed(workspace, bad)["ORD-204"]
    assert "'V-NEW' (New Vendor Inc)" in row["message"]
    assert "no Purchase Order" in row["message"]
    assert '"V-NEW": "<vendor internal id>"' in row["hint"] and "tables.vendors" in row["hint"]
    assert workspace.records("salesOrder") == []


def test_item_that_is_not_drop_ship_is_refused_before_anything_is_sent(
        workspace: Workspace) -> None:
    stock_only = order("ORD-205", [line("L1", "VA-SKU123", 1, "19.99")],
                       [external("FR-205", "V-A", "Vendor A", ("L1", "VA-SKU123", 1, "8.00"))])
    row = _failed(workspace, stock_only)["ORD-205"]
    assert "VA-SKU123" in row["message"] and "not a Drop Ship Item" in row["message"]
    assert "Drop Ship Item" in row["hint"] and "explicit_po" in row["hint"]
    assert workspace.records("salesOrder") == []


def test_so_without_po_says_pending_approval_then_retry_links_after_approval(
        workspace: Workspace) -> None:
    workspace.profile["options"]["order_status"] = "A"
    row = _failed(workspace, dropship_order("ORD-206"))["ORD-206"]
    so = workspace.by_external_id("salesOrder", "ORD-206")
    assert so["status"]["refName"] == "Pending Approval"
    assert f"Sales Order {so['id']} exists but has no Purchase Order" in row["message"]
    assert "FR-ORD-206-1" in row["message"] and "Pending Approval" in row["message"]
    assert "flx retry ORD-206" in row["hint"]
    assert workspace.records("purchaseOrder") == []

    # The user approves the order in NetSuite (which creates the PO), then retries.
    ns = NS(workspace.emulator)
    try:
        approved = ns.patch(f"salesOrder/{so['id']}", {"orderStatus": {"id": "B"}})
        assert approved.status_code == 204, approved.text
    finally:
        ns.close()
    (po,) = workspace.records("purchaseOrder")
    code, output = workspace.flx("retry", "ORD-206")
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    row = workspace.rows(report)["ORD-206"]
    assert row["status"] == "sent"
    assert row["remote_ids"]["sales_order"] == so["id"]
    assert row["remote_ids"]["purchase_orders"] == {"FR-ORD-206-1": po["id"]}
    assert len(workspace.records("salesOrder")) == 1  # no second Sales Order


def test_vendor_of_another_subsidiary_names_the_vendor_table(workspace: Workspace) -> None:
    """Vendor C belongs to another subsidiary (OneWorld): NetSuite refuses the dropship line,
    and the error points at the line's vendor and the table that chose it."""
    other_subsidiary = order("ORD-212", [line("L1", "VC-SKU900", 1, "99.00")],
                             [external("FR-212", "V-C", "Vendor C", ("L1", "VC-SKU900", 1,
                                                                     "40.00"))])
    row = _failed(workspace, other_subsidiary)["ORD-212"]
    assert row["message"].startswith("NetSuite refused the Sales Order for order ORD-212: ")
    assert "(at item.items[0].poVendor)" in row["message"]
    assert "tables.vendors" in row["hint"]
    assert workspace.records("salesOrder") == [] and workspace.records("purchaseOrder") == []


CUSTOMER_FIELDS = [
    # (profile key, refused value, NetSuite field in errorPath)
    ("category", "99", "category"),
    ("custom_form", "68", "customForm"),  # a Sales Order form, not a customer form
    ("entity_status", "6", "entityStatus"),  # a LEAD status, not a customer one
    ("subsidiary", "42", "subsidiary"),
]


@pytest.mark.parametrize("key, value, field", CUSTOMER_FIELDS)
def test_netsuite_refusing_a_customer_id_names_the_profile_setting(
        workspace: Workspace, key: str, value: str, field: str) -> None:
    workspace.profile["customer"]["fields"] = {"subsidiary": "1", key: value}
    row = _failed(workspace, internal_order("ORD-207", customer=person(
        "Nia", "New", "nia@example.com")))["ORD-207"]
    assert row["error_class"] == "rejected"
    assert row["message"].startswith("NetSuite refused the new customer for order ORD-207: ")
    assert f"Invalid Field Value {value}" in row["message"]  # NetSuite's own detail
    assert f"(at {field})" in row["message"]
    assert f"customer.fields.{key}" in row["hint"] and repr(value) in row["hint"]

    error = _errors(workspace)["ORD-207"]
    assert (error["code"], error["path"]) == ("INVALID_KEY_OR_REF", field)
    assert workspace.records("salesOrder") == []  # the order waits for its customer


def test_missing_subsidiary_on_new_customers_says_which_setting_to_add(
        workspace: Workspace) -> None:
    workspace.profile["customer"]["fields"] = {}
    row = _failed(workspace, internal_order("ORD-208", customer=person(
        "Nia", "New", "nia@example.com")))["ORD-208"]
    assert "Please enter value(s) for: Subsidiary" in row["message"]
    assert '"subsidiary": "<internal id>"' in row["hint"] and "customer.fields" in row["hint"]


@pytest.mark.parametrize("field, value", [("subsidiary", "2"), ("customForm", "112")])
def test_netsuite_refusing_a_header_id_names_the_header_setting(
        workspace: Workspace, field: str, value: str) -> None:
    """Subsidiary 2 is not Jane's; form 112 is a customer form, not a Sales Order form."""
    workspace.profile["header"][field] = value
    row = _failed(workspace, internal_order("ORD-209"))["ORD-209"]
    assert row["message"].startswith("NetSuite refused the Sales Order for order ORD-209: ")
    assert f"(at {field})" in row["message"]
    assert f"header.{field}" in row["hint"] and repr(value) in row["hint"]
    assert workspace.records("salesOrder") == []


def test_unknown_custom_field_names_the_custom_fields_setting(workspace: Workspace) -> None:
    workspace.profile["custom_fields"]["body"]["custbody_not_in_account"] = "{{ order.number }}"
    row = _failed(workspace, internal_order("ORD-210"))["ORD-210"]
    assert "custbody_not_in_account" in row["message"]
    assert "custom_fields.body.custbody_not_in_account" in row["hint"]


def test_discount_without_discount_item(workspace: Workspace) -> None:
    row = _failed(workspace, internal_order("ORD-211", discount_total="3.00"))["ORD-211"]
    assert "discount of 3.00" in row["message"] and "no discount item" in row["message"]
    assert "options.discount_item" in row["hint"]
    assert workspace.records("salesOrder") == []


def test_cancelled_and_unrouted_orders_wait_with_their_reason(workspace: Workspace) -> None:
    cancelled = internal_order("ORD-214", status="cancelled")
    partly = exploded_order("ORD-213")
    partly["fulfillment_requests"].pop()  # FLX-SKU123 x3 ordered, only 1 routed so far
    code, output = workspace.import_records(orders=[cancelled, partly])
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    rows = workspace.rows(report)
    assert rows["ORD-214"]["status"] == rows["ORD-213"]["status"] == "waiting"
    assert rows["ORD-213"]["message"] == "line L1: 1 of 3 routed"

    code, output = workspace.flx("status", "--json")
    assert code == 0, output
    (orders,) = [s for s in json_output(output)["sync"] if s["operation"] == "send-orders"]
    assert orders["counts"] == {"waiting": 2}
    reasons = {w["reason"] for w in orders["waiting"]}
    assert reasons == {"order is cancelled", "a line is not fully routed"}
    errors = _errors(workspace)
    assert errors["ORD-214"]["message"] == "order ORD-214 is cancelled"
    assert errors["ORD-213"]["message"] == "line L1: 1 of 3 routed"
    assert workspace.records("salesOrder") == []

    # Routing completes: the order goes at the next run, without `flx retry`.
    code, output = workspace.import_records(orders=[exploded_order("ORD-213")])
    assert code == 0, output
    report = workspace.run("send-orders")
    assert workspace.rows(report)["ORD-213"]["status"] == "sent"
