"""Vendor bills on accounts that differ where netsuite-rest.md §10.8 is UNCERTAIN: billing a
drop-ship PO before it is received or marked shipped (options.bill_timing), and bill lines
sent with quantity 0 (options.bill_strategy), each reading through the emulator's switches."""

from __future__ import annotations

from typing import Any

import pytest

from flx_netsuite.emulator import Emulator
from flx_netsuite.emulator.behaviour import Behaviour

from .conftest import Workspace
from .test_bills_flow import make_bill
from .test_orders_support import exploded_order
from .test_shipments_flow import make_shipment


def _account(ws: Workspace, order: dict[str, Any], **switches: Any) -> None:
    ws.emulator = Emulator(behaviour=Behaviour(**switches))
    rows = ws.import_and_run("send-orders", 0, orders=[order])
    assert rows[order["id"]]["status"] == "sent"


def _bill(order_id: str, quantity: int) -> dict[str, Any]:
    return make_bill("VB-1", order_id, "INV-1", [("FLX-SKU123", quantity)],
                     fr_id=f"FR-{order_id}-2")


def test_an_account_refusing_bills_before_receipt_says_so_by_default(
        workspace: Workspace) -> None:
    _account(workspace, exploded_order("ORD-B1"), bill_before_receipt=False)
    rows = workspace.import_and_run("send-vendor-bills", 3, vendor_bills=[_bill("ORD-B1", 2)])
    assert "You can not bill more than has been received (0)" in rows["VB-1"]["message"]
    assert workspace.records("vendorBill") == []


def test_bill_timing_after_shipment_waits_for_the_vendors_parcel(workspace: Workspace) -> None:
    _account(workspace, exploded_order("ORD-B2"), bill_before_receipt=False)
    workspace.profile["options"]["bill_timing"] = "after_shipment"
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[_bill("ORD-B2", 2)])
    row = rows["VB-1"]
    assert row["status"] == "waiting"
    assert row["message"] == (
        "Purchase Order PO1001 is not yet received or marked shipped for what this bill bills "
        '(line 1: 0 of 2 received); with options.bill_timing = "after_shipment" the bill waits '
        "for its shipment")
    parcel = make_shipment("SH-B2", "ORD-B2", [("FLX-SKU123", 2)], tracking=["1ZB2"],
                           fulfillment_request_id="FR-ORD-B2-2")
    workspace.import_and_run("send-shipments", 0, shipments=[parcel])
    report = workspace.run("send-vendor-bills")
    assert workspace.rows(report)["VB-1"]["status"] == "sent"
    (bill,) = workspace.records("vendorBill")
    assert [ln["quantity"] for ln in bill["item"]["items"]] == [2]


def _two_line_po(order_id: str) -> dict[str, Any]:
    order = exploded_order(order_id)
    order["lines"].append({"id": "L2", "sku": "FLX-SKU123", "title": "Widget", "quantity": 1,
                           "unit_price": "19.99"})
    order["fulfillment_requests"][1]["items"].append(
        {"order_line_id": "L2", "sku": "FLX-SKU123", "quantity": 1, "cost": "9.00"})
    return order


def test_zero_quantity_lines_refused_fail_the_default_strategy(workspace: Workspace) -> None:
    _account(workspace, _two_line_po("ORD-B3"), zero_quantity_bill_lines="refused")
    rows = workspace.import_and_run("send-vendor-bills", 3, vendor_bills=[_bill("ORD-B3", 2)])
    assert "must be greater than 0" in rows["VB-1"]["message"]


@pytest.mark.parametrize("reading", ["kept_off", "refused"])
def test_replace_lines_bills_only_the_invoiced_line_in_both_readings(
        workspace: Workspace, reading: str) -> None:
    _account(workspace, _two_line_po("ORD-B4"), zero_quantity_bill_lines=reading)
    workspace.profile["options"]["bill_strategy"] = "replace_lines"
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[_bill("ORD-B4", 2)])
    assert rows["VB-1"]["status"] == "sent", rows
    (bill,) = workspace.records("vendorBill")
    assert [(ln["orderLine"], ln["quantity"]) for ln in bill["item"]["items"]] == [(1, 2)]
