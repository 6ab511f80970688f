"""Two fulfillment requests of one order to the same vendor share NetSuite's drop-ship
Purchase Order, so a vendor's invoice number billed for one of them is a duplicate for the
other, in a later run as in the same run. The Purchase Order decides: explicit_po mode makes
one PO per request, and there each request's bill is its own."""

from __future__ import annotations

from typing import Any

from .conftest import Workspace
from .test_bills_duplicates import vendor_bill_of
from .test_bills_flow import make_bill
from .test_shipments_flow import make_order, send_orders

VENDOR_A = {"id": "V-A", "name": "Vendor A"}


def two_requests_one_vendor(order_id: str) -> dict[str, Any]:
    return make_order(order_id, [("VB-SKU500", 1), ("VB-SKU501", 1)], requests=[
        {"id": "FR-1", "type": "external", "vendor": VENDOR_A,
         "items": [("L1", "VB-SKU500", 1, "22.00")]},
        {"id": "FR-2", "type": "external", "vendor": VENDOR_A,
         "items": [("L2", "VB-SKU501", 1, "6.00")]}])


def test_the_same_invoice_for_two_requests_on_one_po_in_two_runs_bills_once(
        workspace: Workspace) -> None:
    send_orders(workspace, two_requests_one_vendor("ORD-E"))
    pos = workspace.rows(workspace.run("send-orders", "--only", "ORD-E", "--force"))[
        "ORD-E"]["remote_ids"]["purchase_orders"]
    assert pos["FR-1"] == pos["FR-2"]  # NetSuite makes one PO per vendor

    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-E1", "ORD-E", "INV-E", [("VB-SKU500", 1)], fr_id="FR-1")])
    assert rows["VB-E1"]["status"] == "sent"

    rows = workspace.import_and_run("send-vendor-bills", 3, vendor_bills=[
        make_bill("VB-E2", "ORD-E", "INV-E", [("VB-SKU501", 1)], fr_id="FR-2")])
    row = rows["VB-E2"]
    assert row["status"] == "failed" and row["error_class"] == "duplicate", row
    assert (f"invoice INV-E of vendor Vendor A (V-A) is already billed as Vendor Bill "
            f"{vendor_bill_of(workspace, 'VB-E1')} (VB-E1)") in row["message"]
    assert [b["tranId"] for b in workspace.records("vendorBill")] == ["INV-E"]


def test_in_explicit_po_mode_each_request_has_its_own_po_and_both_are_billed(
        workspace: Workspace) -> None:
    workspace.profile["options"]["dropship_mode"] = "explicit_po"
    send_orders(workspace, two_requests_one_vendor("ORD-F"))
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-F1", "ORD-F", "INV-F", [("VB-SKU500", 1)], fr_id="FR-1")])
    assert rows["VB-F1"]["status"] == "sent"
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-F2", "ORD-F", "INV-F", [("VB-SKU501", 1)], fr_id="FR-2")])
    assert rows["VB-F2"]["status"] == "sent", rows
    bills = workspace.records("vendorBill")
    assert len({b["createdFrom"]["id"] for b in bills}) == 2  # one bill per Purchase Order
