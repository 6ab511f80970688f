"""A vendor's invoice bills a Purchase Order once. An invoice number the same vendor already
has on a Vendor Bill of the same PO (sent by flx, sent earlier in the same run, or keyed in
by hand in NetSuite, whose PO flx cannot tell) fails as a duplicate, naming the bill it
duplicates, before anything is read or sent for it; one invoice covering several POs is
not a duplicate. The normal case still costs two requests per bill (plus one query per
batch)."""

from __future__ import annotations

import httpx

from flx_netsuite.auth import TokenAuth
from flx_netsuite.emulator import EmulatorTransport

from .conftest import Workspace
from .test_bills_flow import dropship_order, make_bill
from .test_shipments_flow import make_order, send_orders


def vendor_bill_of(ws: Workspace, bill_id: str) -> str:
    return str(ws.by_external_id("vendorBill", bill_id)["id"])


def test_an_invoice_number_the_vendor_already_billed_fails_as_a_duplicate(
        workspace: Workspace) -> None:
    # The reviewer's case: VB-X3 reuses invoice INV-5001 that VB-1 already billed.
    send_orders(workspace, dropship_order("ORD-7701"))
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-1", "ORD-7701", "INV-5001", [("VB-SKU500", 1, "22.00")])])
    assert rows["VB-1"]["status"] == "sent"
    first = vendor_bill_of(workspace, "VB-1")

    rows = workspace.import_and_run("send-vendor-bills", 3, vendor_bills=[
        make_bill("VB-X3", "ORD-7701", "INV-5001", [("VB-SKU500", 1, "22.00")])])
    row = rows["VB-X3"]
    assert row["status"] == "failed" and row["error_class"] == "duplicate", row
    assert (f"invoice INV-5001 of vendor Vendor B (V-B) is already billed as Vendor Bill "
            f"{first} (VB-1)") in row["message"]
    assert "asks for" not in row["message"]  # not reported as over-billing any more
    assert "correct its invoice number" in row["hint"] and "re-import" in row["hint"]
    assert "`flx resolve VB-X3 --note" in row["hint"]
    assert len(workspace.records("vendorBill")) == 1

    # The fix it names: the same invoice, so it is resolved; it is never offered again.
    code, output = workspace.flx("resolve", "VB-X3", "--note", "duplicate of INV-5001")
    assert code == 0, output
    again = workspace.run("send-vendor-bills")
    assert again["rows"] == [] and again["requests"] == 0


def test_the_duplicate_check_costs_one_query_per_batch_and_sends_nothing(
        workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7702"), dropship_order("ORD-7703"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7702", "ORD-7702", "INV-A", [("VB-SKU500", 1)]),
        make_bill("VB-7703", "ORD-7703", "INV-B", [("VB-SKU500", 1)])])
    report = workspace.run("send-vendor-bills")
    assert report["counts"]["sent"] == 2, report["rows"]
    # Per bill: the PO read and the transform, as before; the batch adds one query.
    assert report["requests"] == 2 * 2 + 1

    workspace.import_records(vendor_bills=[
        make_bill("VB-7703-again", "ORD-7703", "inv-b ", [("VB-SKU501", 1)])])
    report = workspace.run("send-vendor-bills")
    row = workspace.rows(report)["VB-7703-again"]
    assert row["error_class"] == "duplicate", row  # letter case and spaces do not hide it
    assert "(VB-7703)" in row["message"]
    assert report["requests"] == 1  # the query; neither the PO read nor a transform


def test_the_same_invoice_twice_on_one_purchase_order_in_one_run_bills_once(
        workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7704"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7704", "ORD-7704", "INV-7", [("VB-SKU500", 1)]),
        make_bill("VB-7704-b", "ORD-7704", "INV-7", [("VB-SKU501", 1)])])

    preview = workspace.run("send-vendor-bills", "--dry-run")
    rows = workspace.rows(preview)
    assert rows["VB-7704"]["status"] == "dry_run"
    assert rows["VB-7704-b"]["error_class"] == "duplicate"
    assert "VB-7704 (which this run would send first)" in rows["VB-7704-b"]["message"]

    report = workspace.run("send-vendor-bills")
    rows = workspace.rows(report)
    assert rows["VB-7704"]["status"] == "sent"
    assert rows["VB-7704-b"]["error_class"] == "duplicate"
    assert (f"Vendor Bill {vendor_bill_of(workspace, 'VB-7704')} (VB-7704, sent earlier in "
            "this run)") in rows["VB-7704-b"]["message"]
    assert [b["tranId"] for b in workspace.records("vendorBill")] == ["INV-7"]


def test_one_invoice_covering_two_purchase_orders_bills_both(workspace: Workspace) -> None:
    # A vendor invoices two drop-ship orders at once: one bill record per Purchase Order,
    # same invoice number. Each PO is billed once; neither is a duplicate of the other.
    send_orders(workspace, dropship_order("ORD-7711"), dropship_order("ORD-7712"))
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-7711", "ORD-7711", "INV-77", [("VB-SKU500", 1)]),
        make_bill("VB-7712", "ORD-7712", "INV-77", [("VB-SKU500", 1)])])
    assert {r["status"] for r in rows.values()} == {"sent"}
    bills = workspace.records("vendorBill")
    assert [b["tranId"] for b in bills] == ["INV-77", "INV-77"]
    assert len({b["createdFrom"]["id"] for b in bills}) == 2  # one bill per Purchase Order


def test_a_bill_keyed_in_by_hand_in_netsuite_is_found(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7706"))
    po_id = workspace.rows(workspace.run("send-orders", "--only", "ORD-7706", "--force"))[
        "ORD-7706"]["remote_ids"]["purchase_orders"]["FR-VB"]
    # Someone bills invoice INV-HAND in NetSuite's UI (no external id).
    creds = workspace.emulator.credentials
    auth = TokenAuth(realm=creds.account, consumer_key=creds.consumer_key,
                     consumer_secret=creds.consumer_secret, token_id=creds.token_id,
                     token_secret=creds.token_secret)
    with httpx.Client(base_url="https://1234567-sb1.suitetalk.api.netsuite.com", auth=auth,
                      transport=EmulatorTransport(workspace.emulator)) as client:
        answer = client.post(
            f"/services/rest/record/v1/purchaseOrder/{po_id}/!transform/vendorBill",
            json={"tranId": "INV-HAND", "item": {"items": [{"orderLine": 1, "quantity": 1}]}})
    assert answer.status_code == 204, answer.text
    hand = answer.headers["location"].rsplit("/", 1)[1]
    rows = workspace.import_and_run("send-vendor-bills", 3, vendor_bills=[
        make_bill("VB-7706", "ORD-7706", "INV-HAND", [("VB-SKU501", 1)])])
    row = rows["VB-7706"]
    assert row["error_class"] == "duplicate"
    assert f"Vendor Bill {hand} (entered in NetSuite, not by flx)" in row["message"]


def test_another_vendors_invoice_with_the_same_number_is_not_a_duplicate(
        workspace: Workspace) -> None:
    vendor_a = make_order("ORD-7707", [("FLX-SKU123", 1)], requests=[
        {"id": "FR-VA", "type": "external", "vendor": {"id": "V-A", "name": "Vendor A"},
         "items": [("L1", "FLX-SKU123", 1, "7.00")]}])
    send_orders(workspace, dropship_order("ORD-7708"), vendor_a)
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-7708", "ORD-7708", "INV-1", [("VB-SKU500", 1)]),
        make_bill("VB-7707", "ORD-7707", "INV-1", [("FLX-SKU123", 1)], fr_id="FR-VA")])
    assert {r["status"] for r in rows.values()} == {"sent"}


def test_a_retried_bill_is_not_a_duplicate_of_itself(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7709"))
    rows = workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-7709", "ORD-7709", "INV-9", [("VB-SKU500", 1)])])
    assert rows["VB-7709"]["status"] == "sent"
    forced = workspace.run("send-vendor-bills", "--only", "VB-7709", "--force")
    row = workspace.rows(forced)["VB-7709"]
    assert row["status"] == "sent" and "already in NetSuite" in row["message"], row
    assert len(workspace.records("vendorBill")) == 1


def test_render_says_a_duplicate_would_not_be_sent(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7710"))
    workspace.import_and_run("send-vendor-bills", 0, vendor_bills=[
        make_bill("VB-7710", "ORD-7710", "INV-10", [("VB-SKU500", 1)])])
    workspace.import_records(vendor_bills=[
        make_bill("VB-7710-dup", "ORD-7710", "INV-10", [("VB-SKU501", 1)])])
    code, output = workspace.flx("render", "send-vendor-bills", "--connection", "ns",
                                 "--id", "VB-7710-dup")
    assert code != 0
    assert "invoice INV-10 of vendor Vendor B (V-B) is already billed" in output
