"""send-vendor-bills under faults: never two Vendor Bills for one invoice, and never a PO billed
beyond what the invoices say, whatever breaks (5xx answers, dropped connections before or after
NetSuite applied the write, a crash between NetSuite's answer and flx's bookkeeping)."""

from __future__ import annotations

import pytest

from flx_netsuite.emulator import FaultPlan

from .conftest import Workspace
from .test_bills_flow import billed, dropship_order, make_bill, purchase_order
from .test_shipments_faults import Crash, CrashAfter, external_ids, inject
from .test_shipments_flow import send_orders


def test_a_crash_after_netsuite_created_the_bill_is_recorded_not_resent(
        workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7401"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7401-1", "ORD-7401", "INV-1", [("VB-SKU500", 1)])])
    with pytest.raises(Crash):
        workspace.run("send-vendor-bills", transport=CrashAfter(workspace, "!transform/vendorBill"))
    assert len(workspace.records("vendorBill")) == 1  # NetSuite has it; flx did not hear

    # Meanwhile the vendor's second invoice arrived; both go in the next run.
    workspace.import_records(vendor_bills=[
        make_bill("VB-7401-2", "ORD-7401", "INV-2", [("VB-SKU501", 1)])])
    report = workspace.run("send-vendor-bills")
    rows = workspace.rows(report)
    assert rows["VB-7401-1"]["status"] == "sent", rows
    assert "earlier" in rows["VB-7401-1"]["message"]
    assert rows["VB-7401-2"]["status"] == "sent", rows
    assert external_ids(workspace, "vendorBill") == {"VB-7401-1": 1, "VB-7401-2": 1}
    assert billed(purchase_order(workspace, "ORD-7401")) == [
        (1, "VB-SKU500", 1, 1), (2, "VB-SKU501", 1, 1)]
    assert workspace.run("send-vendor-bills")["rows"] == []


def test_connections_dropped_after_every_write_still_give_one_bill_each(
        workspace: Workspace, fast_retries: None) -> None:
    send_orders(workspace, dropship_order("ORD-7402"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7402-1", "ORD-7402", "INV-1", [("VB-SKU500", 1)]),
        make_bill("VB-7402-2", "ORD-7402", "INV-2", [("VB-SKU501", 1)])])
    inject(workspace, FaultPlan(seed=3, drop_after=1.0))
    report = workspace.run("send-vendor-bills")
    assert report["counts"]["sent"] == 2, report["rows"]
    assert workspace.emulator.stats()["faults"]["drop_after"] >= 2
    assert external_ids(workspace, "vendorBill") == {"VB-7402-1": 1, "VB-7402-2": 1}
    assert purchase_order(workspace, "ORD-7402")["status"]["refName"] == "Fully Billed"


def test_random_faults_over_staged_bills_never_duplicate_or_over_bill(
        workspace: Workspace, fast_retries: None) -> None:
    orders = [dropship_order(f"ORD-75{n:02d}", [("VB-SKU500", 2, "22.00"),
                                                ("VB-SKU501", 1, "6.00")]) for n in range(6)]
    send_orders(workspace, *orders)
    bills = []
    for order in orders:
        oid = order["id"]
        bills += [make_bill(f"{oid}-B1", oid, f"{oid}-INV1", [("VB-SKU500", 1)]),
                  make_bill(f"{oid}-B2", oid, f"{oid}-INV2", [("VB-SKU500", 1)]),
                  make_bill(f"{oid}-B3", oid, f"{oid}-INV3", [("VB-SKU501", 1)],
                            shipping="3.50")]
    workspace.import_records(vendor_bills=bills)
    inject(workspace, FaultPlan(seed=21, error_5xx=0.2, drop_before=0.2, drop_after=0.2))

    statuses = workspace.run_until_sent("send-vendor-bills", [b["id"] for b in bills])
    assert all(statuses.get(b["id"]) == "sent" for b in bills), statuses
    faults = workspace.emulator.stats()["faults"]
    assert all(faults.get(kind, 0) > 0 for kind in ("error_5xx", "drop_before", "drop_after"))

    assert external_ids(workspace, "vendorBill") == {b["id"]: 1 for b in bills}
    assert workspace.emulator.stats()["duplicate_external_ids"] == 0
    for order in orders:
        po = purchase_order(workspace, order["id"])
        assert billed(po) == [(1, "VB-SKU500", 2, 2), (2, "VB-SKU501", 1, 1)]
        assert po["status"]["refName"] == "Fully Billed"
