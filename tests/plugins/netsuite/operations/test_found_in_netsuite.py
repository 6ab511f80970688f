"""Shipments and vendor bills NetSuite already holds, though this flx store does not know it:
a fresh or restored store on the same account, a second connection to it, or `flx retry` of
a record whose answer was lost. The Sales Order's (or PO's) quantities already count such a
record as done, so the local over-quantity check refuses it; before failing it with "fix your
source data", flx looks it up by its external id (one GET, on that failure path only) and
records it instead. A normal shipment or bill still costs two requests."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from flx_netsuite.emulator import EmulatorTransport

from .conftest import Workspace
from .test_bills_flow import dropship_order, make_bill
from .test_shipments_flow import fulfilled, make_order, make_shipment, sales_order, send_orders


def fresh_store(ws: Workspace) -> None:
    """A new (or restored-from-an-old-backup) flx store on the same NetSuite account."""
    db = Path(ws.path) / "flx.db"
    assert db.exists()
    db.rename(db.with_name("flx-old.db"))


def orders_and_shipments() -> tuple[list[dict], list[dict]]:
    orders = [make_order("ORD-7801", [("SKU001", 2), ("SKU002", 1)])]
    shipments = [
        make_shipment("SHP-7801-1", "ORD-7801", [("SKU001", 2)], tracking=["A-1"]),
        make_shipment("SHP-7801-2", "ORD-7801", [("SKU002", 1)], tracking=["A-2"])]
    return orders, shipments


def test_a_fresh_store_links_the_fulfillments_netsuite_already_has(
        workspace: Workspace) -> None:
    orders, shipments = orders_and_shipments()
    send_orders(workspace, *orders)
    workspace.import_records(shipments=shipments)
    first = workspace.run("send-shipments")
    assert first["counts"]["sent"] == 2
    assert first["requests"] == 2 * 2  # the Sales Order read and the transform, each
    made = {s["id"]: workspace.by_external_id("itemFulfillment", s["id"]) for s in shipments}

    fresh_store(workspace)
    send_orders(workspace, *orders)  # linked to the Sales Order flx made before
    workspace.import_records(shipments=shipments)

    # Previewed first: nothing would be sent, and it does not say "fix your source data".
    code, output = workspace.flx("render", "send-shipments", "--connection", "ns",
                                 "--id", "SHP-7801-1")
    assert code == 0, output
    assert '"action": "link"' in output and made["SHP-7801-1"]["id"] in output
    preview = workspace.rows(workspace.run("send-shipments", "--dry-run"))
    assert {r["status"] for r in preview.values()} == {"dry_run"}
    assert all("already in NetSuite" in r["message"] for r in preview.values())

    report = workspace.run("send-shipments")
    assert report["exit_code"] == 0, report["rows"]
    rows = workspace.rows(report)
    for shipment in shipments:
        row = rows[shipment["id"]]
        record = made[shipment["id"]]
        assert row["status"] == "linked", row
        assert "asks for" not in row["message"] and row.get("error_class") is None
        assert (f"Item Fulfillment {record['tranId']} is already in NetSuite with external id "
                f"{shipment['id']}") in row["message"]
        assert "linked, nothing sent" in row["message"]
        assert row["remote_ids"]["item_fulfillment"] == record["id"]
    # Per shipment: the Sales Order read and, on this failure path only, the look-up.
    assert report["requests"] == 2 * 2
    assert len(workspace.records("itemFulfillment")) == 2
    assert fulfilled(sales_order(workspace, "ORD-7801")) == [("SKU001", 2, 2), ("SKU002", 1, 1)]
    assert workspace.run("send-shipments")["rows"] == []  # done: not offered again


def test_a_fresh_store_links_the_vendor_bills_netsuite_already_has(
        workspace: Workspace) -> None:
    order = dropship_order("ORD-7802")
    bills = [make_bill("VB-7802-1", "ORD-7802", "INV-7802-1", [("VB-SKU500", 1)]),
             make_bill("VB-7802-2", "ORD-7802", "INV-7802-2", [("VB-SKU501", 1)])]
    send_orders(workspace, order)
    workspace.import_records(vendor_bills=bills)
    first = workspace.run("send-vendor-bills")
    assert first["counts"]["sent"] == 2
    assert first["requests"] == 2 * 2 + 1  # PO read and transform each; one batch query
    made = {b["id"]: workspace.by_external_id("vendorBill", b["id"])["id"] for b in bills}

    fresh_store(workspace)
    send_orders(workspace, order)
    workspace.import_records(vendor_bills=bills)
    report = workspace.run("send-vendor-bills")
    assert report["exit_code"] == 0, report["rows"]
    rows = workspace.rows(report)
    for bill in bills:
        row = rows[bill["id"]]
        assert row["status"] == "linked", row
        assert "asks for" not in row["message"]
        assert (f"Vendor Bill {bill['number']} ({made[bill['id']]}) is already in NetSuite "
                f"with external id {bill['id']}") in row["message"]
        assert row["remote_ids"]["vendor_bill"] == made[bill["id"]]
    assert len(workspace.records("vendorBill")) == 2


def test_genuine_over_shipping_on_a_fresh_store_still_fails_with_the_quantities(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7803", [("SKU001", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7803", "ORD-7803", [("SKU001", 3)], tracking=["O-1"])])
    report = workspace.run("send-shipments")
    row = workspace.rows(report)["SHP-7803"]
    assert row["status"] == "failed" and row["error_class"] == "data", row
    assert "asks for 3 but only 1 remain open" in row["message"]
    assert "correct the quantities" in row["hint"]
    assert report["requests"] == 2  # the Sales Order read, and the look-up that found none
    assert workspace.records("itemFulfillment") == []


class AnswerLost(httpx.BaseTransport):
    """The transform for `record_id` reaches NetSuite, but its answer is lost and so is every
    look-up of that record by external id (the network drops that connection each time);
    the other records of the run go through."""

    def __init__(self, ws: Workspace, marker: str, record_id: str) -> None:
        self.inner = EmulatorTransport(ws.emulator)
        self.marker = marker
        self.record_id = record_id

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if f"eid:{self.record_id}" in request.url.path:
            raise httpx.ConnectError("network unreachable", request=request)
        response = self.inner.handle_request(request)
        if (request.method == "POST" and self.marker in request.url.path
                and self.record_id.encode() in request.content):
            raise httpx.ReadTimeout("no answer", request=request)
        return response


@pytest.mark.parametrize("operation", ["send-shipments", "send-vendor-bills"])
def test_flx_retry_of_a_record_whose_answer_was_lost_records_it_once(
        workspace: Workspace, fast_retries: None, operation: str) -> None:
    if operation == "send-shipments":
        send_orders(workspace, make_order("ORD-7804", [("SKU001", 1)]),
                    make_order("ORD-7805", [("SKU001", 1)]))
        workspace.import_records(shipments=[
            make_shipment("REC-7804", "ORD-7804", [("SKU001", 1)], tracking=["L-1"]),
            make_shipment("REC-7805", "ORD-7805", [("SKU001", 1)], tracking=["L-2"])])
        record_type, marker = "itemFulfillment", "!transform/itemFulfillment"
    else:
        send_orders(workspace, dropship_order("ORD-7804"), dropship_order("ORD-7805"))
        workspace.import_records(vendor_bills=[
            make_bill("REC-7804", "ORD-7804", "INV-7804", [("VB-SKU500", 1)]),
            make_bill("REC-7805", "ORD-7805", "INV-7805", [("VB-SKU500", 1)])])
        record_type, marker = "vendorBill", "!transform/vendorBill"

    lost = workspace.run(operation, transport=AnswerLost(workspace, marker, "REC-7804"))
    rows = workspace.rows(lost)
    assert rows["REC-7805"]["status"] == "sent", rows
    assert rows["REC-7804"]["status"] == "failed", rows
    assert rows["REC-7804"]["error_class"] == "network", rows
    made = workspace.by_external_id(record_type, "REC-7804")  # NetSuite has it; flx did not hear

    # The user re-queues it: `flx retry` sets it to pending, so no earlier attempt is looked
    # up before the payload is built, and the open quantities (which count it) refuse it.
    code, output = workspace.flx("retry", "REC-7804")
    assert code == 0, output
    report = workspace.run(operation)
    assert report["exit_code"] == 0, report["rows"]
    row = workspace.rows(report)["REC-7804"]
    assert row["status"] == "sent", row
    assert "asks for" not in row["message"]
    assert "already in NetSuite with external id REC-7804 (an earlier attempt created it)" \
        in row["message"]
    assert made["id"] in row["remote_ids"].values()
    assert len(workspace.records(record_type)) == 2
    assert workspace.run(operation)["rows"] == []
