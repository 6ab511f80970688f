"""Every reference problem of an order in one failure: an unknown SKU, an unmapped warehouse
and an unmapped vendor are reported together (each with its line or request and its fix), so
one round of fixes clears them instead of one problem per run. Nothing is written for the
order, not even its customer."""

from __future__ import annotations

from typing import Any

from .conftest import Workspace
from .test_orders_support import (
    exploded_order,
    external,
    internal,
    internal_order,
    json_output,
    line,
    order,
    person,
)


def _failed_row(ws: Workspace, bad: dict[str, Any]) -> dict[str, Any]:
    rows = ws.import_and_run("send-orders", 3, orders=[bad])
    row = rows[bad["id"]]
    assert row["status"] == "failed", row
    return row


def _three_problems() -> dict[str, Any]:
    """The exploded order with an unknown PO-level SKU and an unknown warehouse on its
    internal request, and an unmapped vendor on its dropship request."""
    bad = exploded_order("ORD-701")
    bad["fulfillment_requests"][0]["warehouse"] = "NORTH"
    bad["fulfillment_requests"][0]["items"][0]["sku"] = "VA-GHOST"
    bad["fulfillment_requests"][1]["vendor"] = {"id": "V-NEW", "name": "New Vendor Inc"}
    return bad


def test_unknown_sku_warehouse_and_vendor_come_in_one_failure(workspace: Workspace) -> None:
    row = _failed_row(workspace, _three_problems())
    assert row["error_class"] == "reference"
    assert row["message"] == (
        "order ORD-701 has 3 problems: "
        "(1) line L1 (FR-ORD-701-1): SKU 'VA-GHOST' has no NetSuite item (searched "
        "item.itemid); "
        "(2) warehouse 'NORTH' of fulfillment request FR-ORD-701-1 has no NetSuite location; "
        "(3) vendor 'V-NEW' (New Vendor Inc) of fulfillment request FR-ORD-701-2 has no "
        "NetSuite vendor id, so no Purchase Order can be made")
    hint = row["hint"]
    assert hint.startswith("(1) create the item in NetSuite with itemid = 'VA-GHOST'")
    assert '(2) add "NORTH": "<location internal id>" under tables.locations' in hint
    assert '(3) add "V-NEW": "<vendor internal id>" under tables.vendors' in hint
    assert workspace.records("salesOrder") == [] and workspace.records("purchaseOrder") == []

    # The preview names the same three.
    code, output = workspace.flx("render", "send-orders", "--connection", "ns", "--id",
                                 "ORD-701")
    assert code != 0 and "has 3 problems" in output and "V-NEW" in output

    # One round of fixes (the SKU at the source, the two tables), and the order goes.
    fixed = _three_problems()
    fixed["fulfillment_requests"][0]["items"][0]["sku"] = "VA-SKU123"
    workspace.profile["tables"]["locations"]["NORTH"] = "2"
    workspace.profile["tables"]["vendors"]["V-NEW"] = "201"
    rows = workspace.import_and_run("send-orders", 0, orders=[fixed])
    assert rows["ORD-701"]["status"] == "sent", rows


def test_the_customer_policy_and_the_discount_item_are_reported_with_the_lines(
        workspace: Workspace) -> None:
    workspace.profile["customer"]["on_missing"] = "fail"
    bad = internal_order("ORD-702", discount_total="1.00",
                         customer=person("Zed", "Unknown", "zed@example.com"))
    bad["lines"][0]["sku"] = "NOPE-1"
    workspace.profile["sku_level"] = "order"
    row = _failed_row(workspace, bad)
    assert row["error_class"] == "reference"
    message = row["message"]
    assert message.startswith("order ORD-702 has 3 problems: (1) line L1 (FR-ORD-702-1): "
                              "SKU 'NOPE-1' has no NetSuite item")
    assert "(2) has an order discount of 1.00 (discount_total) but the profile names no " \
           "discount item" in message
    assert "(3) no NetSuite customer found by id, email, name (zed@example.com)" in message
    assert "(2) set options.discount_item" in row["hint"]
    assert '(3) give the order a customer.netsuite_id' in row["hint"]
    assert len(workspace.records("customer")) == 3  # the seeded three: nothing created


def test_a_data_problem_with_a_reference_problem_fails_as_data(workspace: Workspace) -> None:
    """The order must be imported again anyway (its discount is wrong): class data, which a
    re-import retries by itself; the unknown SKU is named too, so the re-import can fix it."""
    bad = internal_order("ORD-703")
    bad["lines"][0]["discount"] = "30.00"  # more than 2 x 12.50
    bad["lines"][1]["sku"] = "NOPE-2"
    workspace.profile["sku_level"] = "order"
    row = _failed_row(workspace, bad)
    assert row["error_class"] == "data"
    assert "(1) line L1: the discount 30.00 is more than the line's amount 25.00" in \
        row["message"]
    assert "(2) line L2 (FR-ORD-703-1): SKU 'NOPE-2' has no NetSuite item" in row["message"]
    assert row["hint"].startswith("(1) correct lines[0].discount")


def test_a_problem_shared_by_two_lines_is_named_once(workspace: Workspace) -> None:
    two_lines = order("ORD-704", [line("L1", "SKU001", 1, "5.00"),
                                  line("L2", "VA-SKU123", 1, "6.00")],
                      [internal("FR-704", "NORTH", ("L1", "SKU001", 1, "1.00"),
                                ("L2", "VA-SKU123", 1, "1.00"))])
    row = _failed_row(workspace, two_lines)
    assert row["message"] == ("order ORD-704: warehouse 'NORTH' of fulfillment request FR-704 "
                              "has no NetSuite location")  # one problem: its own words


def test_a_stock_item_sent_to_an_unmapped_vendor_names_both(workspace: Workspace) -> None:
    stock_only = order("ORD-705", [line("L1", "VA-SKU123", 1, "19.99")],
                       [external("FR-705", "V-NEW", "New", ("L1", "VA-SKU123", 1, "8.00"))])
    row = _failed_row(workspace, stock_only)
    assert "has 2 problems" in row["message"]
    assert "vendor 'V-NEW' (New)" in row["message"]
    assert "not a Drop Ship Item" in row["message"]


def test_the_dry_run_reports_every_problem_too(workspace: Workspace) -> None:
    workspace.import_records(orders=[_three_problems()])
    report = workspace.run("send-orders", "--dry-run")
    (row,) = report["rows"]
    assert row["status"] == "failed" and "has 3 problems" in row["message"], row
    code, output = workspace.flx("errors", "--json")
    assert code == 0 and json_output(output)["errors"] == [], output  # a dry run stores nothing
