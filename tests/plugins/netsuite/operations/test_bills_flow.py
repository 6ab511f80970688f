"""send-vendor-bills end to end: the real CLI against the NetSuite emulator. A vendor's invoices
for a dropship fulfillment request become Vendor Bills on the Purchase Order NetSuite made for
it, billed in stages; what the run report says and what NetSuite holds afterwards.

`make_bill` and `dropship_order` build records for the other bill tests too."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from .conftest import Workspace
from .test_shipments_flow import make_order, send_orders

VENDOR_B = {"id": "V-B", "name": "Vendor B"}


def dropship_order(order_id: str, lines: list[tuple[str, int, str]] | None = None,
                   fr_id: str = "FR-VB") -> dict[str, Any]:
    """An order drop-shipped by Vendor B: (sku, quantity, cost) per line. NetSuite makes one
    Purchase Order for it, its lines numbered 1, 2, ..."""
    lines = lines or [("VB-SKU500", 1, "22.00"), ("VB-SKU501", 1, "6.00")]
    return make_order(order_id, [(sku, qty) for sku, qty, _ in lines], requests=[
        {"id": fr_id, "type": "external", "vendor": VENDOR_B,
         "items": [(f"L{i}", sku, qty, cost) for i, (sku, qty, cost) in
                   enumerate(lines, start=1)]}])


def make_bill(bill_id: str, order_id: str, number: str,
              items: list[tuple[str, int] | tuple[str, int, str]], *,
              fr_id: str = "FR-VB", **extra: Any) -> dict[str, Any]:
    """A vendor's invoice: (sku, quantity[, cost]) per item."""
    billed = []
    for item in items:
        entry: dict[str, Any] = {"sku": item[0], "quantity": item[1]}
        if len(item) > 2:
            entry["cost"] = item[2]
        billed.append(entry)
    return {"id": bill_id, "order_id": order_id, "fulfillment_request_id": fr_id,
            "number": number, "invoiced_at": "2026-11-25T08:00:00Z", "items": billed, **extra}


def purchase_order(ws: Workspace, order_id: str) -> dict[str, Any]:
    """The dropship PO NetSuite made for the order (its first dropship line's)."""
    so = ws.by_external_id("salesOrder", order_id)
    po_id = next(ln["createdPo"]["id"] for ln in so["item"]["items"] if ln.get("createdPo"))
    return next(p for p in ws.records("purchaseOrder") if p["id"] == po_id)


def billed(po: dict[str, Any]) -> list[tuple[int, str, int, int]]:
    """(line, item, ordered, billed) per PO line."""
    return [(ln["line"], ln["item"]["refName"], ln["quantity"], ln["quantityBilled"])
            for ln in po["item"]["items"]]


def bill_lines(ws: Workspace, bill_id: str) -> list[tuple[int, int, Decimal]]:
    """(orderLine, quantity, rate) of the Vendor Bill made for a flx vendor bill."""
    record = ws.by_external_id("vendorBill", bill_id)
    return [(ln["orderLine"], ln["quantity"], Decimal(str(ln["rate"])))
            for ln in record["item"]["items"]]


def lines_sent(report: dict[str, Any], bill_id: str) -> list[tuple[int, int]]:
    """(orderLine, quantity) of the payload a --dry-run would send."""
    body = {r["record_id"]: r for r in report["rows"]}[bill_id]["payloads"][0]["body"]
    return [(ln["orderLine"], ln["quantity"]) for ln in body["item"]["items"]]


# -- staged billing, as the reference page describes it -----------------------------------------


def test_a_po_billed_in_two_stages_ends_fully_billed_with_two_bills(
        workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7301"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7301-1", "ORD-7301", "INV-5001", [("VB-SKU500", 1, "22.00")])])

    # First bill: every PO line, the one not invoiced yet at quantity 0.
    assert lines_sent(workspace.run("send-vendor-bills", "--dry-run"), "VB-7301-1") == [
        (1, 1), (2, 0)]
    first = workspace.run("send-vendor-bills")
    row = workspace.rows(first)["VB-7301-1"]
    assert first["exit_code"] == 0 and row["status"] == "sent", row
    assert row["warnings"] == []
    po = purchase_order(workspace, "ORD-7301")
    assert po["status"]["refName"] == "Partially Billed"
    assert billed(po) == [(1, "VB-SKU500", 1, 1), (2, "VB-SKU501", 1, 0)]
    assert row["remote_ids"]["purchase_order"] == po["id"]

    # Second bill, later: only the newly invoiced line.
    workspace.import_records(vendor_bills=[
        make_bill("VB-7301-2", "ORD-7301", "INV-5002", [("VB-SKU501", 1, "6.00")])])
    assert lines_sent(workspace.run("send-vendor-bills", "--dry-run"), "VB-7301-2") == [(2, 1)]
    second = workspace.run("send-vendor-bills")
    assert workspace.rows(second)["VB-7301-2"]["status"] == "sent"
    po = purchase_order(workspace, "ORD-7301")
    assert po["status"]["refName"] == "Fully Billed"
    assert billed(po) == [(1, "VB-SKU500", 1, 1), (2, "VB-SKU501", 1, 1)]

    bills = workspace.records("vendorBill")
    assert sorted(b["tranId"] for b in bills) == ["INV-5001", "INV-5002"]
    assert bill_lines(workspace, "VB-7301-1") == [(1, 1, Decimal("22.00"))]
    assert bill_lines(workspace, "VB-7301-2") == [(2, 1, Decimal("6.00"))]
    first_bill = workspace.by_external_id("vendorBill", "VB-7301-1")
    assert Decimal(str(first_bill["total"])) == Decimal("22.00")
    assert first_bill["entity"]["id"] == "202" and first_bill["tranDate"] == "2026-11-25"

    # Nothing is sent or created again.
    before = workspace.emulator.stats()["records"]
    again = workspace.run("send-vendor-bills")
    assert again["rows"] == [] and again["requests"] == 0
    assert workspace.emulator.stats()["records"] == before
    forced = workspace.run("send-vendor-bills", "--only", "VB-7301-1", "--force")
    row = workspace.rows(forced)["VB-7301-1"]
    assert forced["exit_code"] == 0 and row["status"] == "sent", row
    assert "already in NetSuite" in row["message"]
    assert workspace.emulator.stats()["records"] == before


def test_both_stages_in_one_run_go_one_after_the_other(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7302"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7302-1", "ORD-7302", "INV-1", [("VB-SKU500", 1)]),
        make_bill("VB-7302-2", "ORD-7302", "INV-2", [("VB-SKU501", 1)])])
    report = workspace.run("send-vendor-bills")
    assert report["counts"]["sent"] == 2, report["rows"]
    assert bill_lines(workspace, "VB-7302-1") == [(1, 1, Decimal("22.00"))]  # the PO's rate
    assert bill_lines(workspace, "VB-7302-2") == [(2, 1, Decimal("6.00"))]
    assert purchase_order(workspace, "ORD-7302")["status"]["refName"] == "Fully Billed"


# -- over-billing ------------------------------------------------------------------------------


def test_over_billing_fails_that_invoice_with_the_numbers_and_the_others_go_through(
        workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7303", [("VB-SKU500", 2, "22.00")]),
                dropship_order("ORD-7304"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7303-1", "ORD-7303", "INV-A", [("VB-SKU500", 2)]),
        # The same units invoiced again: the line is already fully billed.
        make_bill("VB-7303-2", "ORD-7303", "INV-B", [("VB-SKU500", 1)]),
        # More than was ever ordered, on another order.
        make_bill("VB-7304-1", "ORD-7304", "INV-C", [("VB-SKU500", 3)]),
        make_bill("VB-7304-2", "ORD-7304", "INV-D", [("VB-SKU501", 1)]),
    ])
    report = workspace.run("send-vendor-bills")
    rows = workspace.rows(report)
    assert report["exit_code"] == 3
    assert {rid: r["status"] for rid, r in rows.items()} == {
        "VB-7303-1": "sent", "VB-7303-2": "failed", "VB-7304-1": "failed", "VB-7304-2": "sent"}
    twice = rows["VB-7303-2"]["message"]
    assert "invoice INV-B" in twice and "VB-SKU500 asks for 1" in twice
    assert "only 0 remain unbilled" in twice and "line 1: 0 of 2 unbilled" in twice
    too_many = rows["VB-7304-1"]["message"]
    assert "VB-SKU500 asks for 3 but only 1 remain unbilled" in too_many
    assert "line 1: 1 of 1 unbilled" in too_many
    assert rows["VB-7304-1"]["error_class"] == "data"
    assert sorted(b["tranId"] for b in workspace.records("vendorBill")) == ["INV-A", "INV-D"]
    assert billed(purchase_order(workspace, "ORD-7303")) == [(1, "VB-SKU500", 2, 2)]
    assert billed(purchase_order(workspace, "ORD-7304")) == [
        (1, "VB-SKU500", 1, 0), (2, "VB-SKU501", 1, 1)]


def test_a_sku_not_on_the_purchase_order_names_sku_parity(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7305"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7305", "ORD-7305", "INV-X", [("SKU001", 1)])])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7305"]
    assert row["status"] == "failed"
    assert "SKU 'SKU001' is on no line of Purchase Order" in row["message"]
    assert "SKU parity" in row["hint"]
    assert workspace.records("vendorBill") == []


# -- the profile's choices -----------------------------------------------------------------------


def test_replace_lines_strategy_sends_only_the_invoiced_lines(workspace: Workspace) -> None:
    workspace.profile["options"]["bill_strategy"] = "replace_lines"
    send_orders(workspace, dropship_order("ORD-7306"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7306-1", "ORD-7306", "INV-R1", [("VB-SKU500", 1)])])
    preview = workspace.run("send-vendor-bills", "--dry-run")
    payload = workspace.rows(preview)["VB-7306-1"]["payloads"][0]
    assert payload["path"].endswith("/!transform/vendorBill?replace=item")
    assert lines_sent(preview, "VB-7306-1") == [(1, 1)]
    assert workspace.rows(workspace.run("send-vendor-bills"))["VB-7306-1"]["status"] == "sent"
    assert billed(purchase_order(workspace, "ORD-7306")) == [
        (1, "VB-SKU500", 1, 1), (2, "VB-SKU501", 1, 0)]

    workspace.import_records(vendor_bills=[
        make_bill("VB-7306-2", "ORD-7306", "INV-R2", [("VB-SKU501", 1)])])
    assert workspace.rows(workspace.run("send-vendor-bills"))["VB-7306-2"]["status"] == "sent"
    assert bill_lines(workspace, "VB-7306-2") == [(2, 1, Decimal("6.00"))]
    assert purchase_order(workspace, "ORD-7306")["status"]["refName"] == "Fully Billed"


def test_a_cost_that_differs_from_the_po_is_billed_and_flagged(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7307"))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7307", "ORD-7307", "INV-P", [("VB-SKU500", 1, "23.50"), ("VB-SKU501", 1, "6.00")])])
    report = workspace.run("send-vendor-bills")
    row = workspace.rows(report)["VB-7307"]
    assert row["status"] == "sent" and report["exit_code"] == 0
    assert row["warnings"] == [
        "VB-SKU500: invoiced cost 23.50 differs from the PO rate 22.00 on PO line 1; "
        "billed at 23.50"]
    assert bill_lines(workspace, "VB-7307") == [(1, 1, Decimal("23.50")), (2, 1, Decimal("6.00"))]
    record = workspace.by_external_id("vendorBill", "VB-7307")
    assert Decimal(str(record["total"])) == Decimal("29.50")


def test_shipping_goes_to_an_expense_line_and_skipped_tax_is_a_warning(
        workspace: Workspace) -> None:
    # The demo profile: bill_shipping = expense on account 58, bill_tax = skip.
    send_orders(workspace, dropship_order("ORD-7308"))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7308", "ORD-7308", "INV-S", [("VB-SKU500", 1), ("VB-SKU501", 1)],
        shipping="4.95", tax="1.10", total="34.05")])
    report = workspace.run("send-vendor-bills")
    row = workspace.rows(report)["VB-7308"]
    assert row["status"] == "sent", row
    assert row["warnings"] == [
        "tax 1.10 on the invoice was not sent (options.bill_tax.mode = skip)"]
    record = workspace.by_external_id("vendorBill", "VB-7308")
    assert [(e["account"]["id"], Decimal(str(e["amount"]))) for e in record["expense"]["items"]
            ] == [("58", Decimal("4.95"))]
    assert Decimal(str(record["total"])) == Decimal("32.95")  # 22.00 + 6.00 + 4.95

    workspace.profile["options"]["bill_shipping"] = {"mode": "skip"}
    send_orders(workspace, dropship_order("ORD-7318"))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7318", "ORD-7318", "INV-S2", [("VB-SKU500", 1)], shipping="2.00")])
    row = workspace.rows(workspace.run("send-vendor-bills", "--dry-run"))["VB-7318"]
    assert "shipping 2.00 on the invoice was not sent (options.bill_shipping.mode = skip)" in \
        row["warnings"]
    assert "expense" not in row["payloads"][0]["body"]


def test_an_invoice_total_that_does_not_add_up_is_flagged(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-7309"))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7309", "ORD-7309", "INV-T", [("VB-SKU500", 1, "22.00")], shipping="3.00",
        total="30.00", memo="Vendor B invoice, net 30", due_at="2026-12-25T00:00:00Z")])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7309"]
    assert row["status"] == "sent"
    assert row["warnings"] == ["the invoice total 30.00 is not its lines + shipping + tax "
                               "(25.00); the bill follows the lines"]
    record = workspace.by_external_id("vendorBill", "VB-7309")
    assert record["memo"] == "Vendor B invoice, net 30"
    assert record["dueDate"] == "2026-12-25"


# -- waiting -----------------------------------------------------------------------------------


def test_a_bill_waits_for_its_order_and_for_a_recorded_purchase_order(
        workspace: Workspace) -> None:
    # The order is not in NetSuite yet.
    order = dropship_order("ORD-7310")
    workspace.import_records(orders=[order], vendor_bills=[
        make_bill("VB-7310", "ORD-7310", "INV-W", [("VB-SKU500", 1)])])
    report = workspace.run("send-vendor-bills")
    row = workspace.rows(report)["VB-7310"]
    assert row["status"] == "waiting" and report["requests"] == 0
    assert "order ORD-7310 is not in" in row["message"]

    # An order sent while its request was still internal has no PO for it: the routing was
    # changed after the order went to NetSuite.
    internal = make_order("ORD-7311", [("VB-SKU500", 1)], requests=[
        {"id": "FR-VB", "type": "internal", "warehouse": "MAIN",
         "items": [("L1", "VB-SKU500", 1)]}])
    workspace.import_records(orders=[internal])
    assert workspace.run("send-orders", "--only", "ORD-7311")["exit_code"] == 0
    workspace.import_records(orders=[dropship_order("ORD-7311", [("VB-SKU500", 1, "22.00")])],
                             vendor_bills=[make_bill("VB-7311", "ORD-7311", "INV-W2",
                                                     [("VB-SKU500", 1)])])
    report = workspace.run("send-vendor-bills")
    rows = workspace.rows(report)
    assert rows["VB-7311"]["status"] == "waiting"
    assert rows["VB-7311"]["message"] == (
        "no Purchase Order is recorded for fulfillment request FR-VB of order ORD-7311 yet")
    code, output = workspace.flx("status", "--json")
    bills = next(s for s in json.loads(output)["sync"] if s["operation"] == "send-vendor-bills")
    assert bills["counts"] == {"waiting": 2}
    assert workspace.records("vendorBill") == []

    # Once the first order is sent, its bill goes.
    assert workspace.run("send-orders", "--only", "ORD-7310")["exit_code"] == 0
    report = workspace.run("send-vendor-bills")
    assert workspace.rows(report)["VB-7310"]["status"] == "sent"


def test_a_bill_for_a_warehouse_request_is_not_a_vendor_bill(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7312", [("SKU001", 1)]))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7312", "ORD-7312", "INV-I", [("SKU001", 1)], fr_id="ORD-7312-FR1")])
    report = workspace.run("send-vendor-bills")
    row = workspace.rows(report)["VB-7312"]
    assert row["status"] == "failed" and report["exit_code"] == 3
    assert "not a dropship (external) request" in row["message"]
    assert "fulfillment_request_id" in row["message"] and "re-import" in row["hint"]


def test_the_profiles_vendor_bill_header_and_custom_fields_reach_the_bill(
        workspace: Workspace) -> None:
    workspace.profile["vendor_bill"] = {
        "header": {"account": "111", "memo": "Vendor invoice {{ bill.number }}"},
        "custom_fields": {"body": {"custbody_flx_source": "{{ order.channel }}/vendor"}}}
    send_orders(workspace, dropship_order("ORD-7313"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7313", "ORD-7313", "INV-H", [("VB-SKU500", 1)])])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7313"]
    assert row["status"] == "sent", row
    record = workspace.by_external_id("vendorBill", "VB-7313")
    assert record["account"]["id"] == "111"
    assert record["memo"] == "Vendor invoice INV-H"
    assert record["custbody_flx_source"] == "shopify/vendor"


def test_two_requests_to_one_vendor_share_a_po_and_each_bills_its_own_line(
        workspace: Workspace) -> None:
    # NetSuite makes one PO per vendor: both requests' lines land on it, at their own costs.
    order = make_order("ORD-7314", [("VB-SKU500", 1), ("VB-SKU500", 1)], requests=[
        {"id": "FR-1", "type": "external", "vendor": VENDOR_B,
         "items": [("L1", "VB-SKU500", 1, "20.00")]},
        {"id": "FR-2", "type": "external", "vendor": VENDOR_B,
         "items": [("L2", "VB-SKU500", 1, "22.00")]}])
    send_orders(workspace, order)
    assert len(workspace.records("purchaseOrder")) == 1
    workspace.import_records(vendor_bills=[
        make_bill("VB-7314-2", "ORD-7314", "INV-F2", [("VB-SKU500", 1)], fr_id="FR-2")])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7314-2"]
    assert row["status"] == "sent", row
    assert bill_lines(workspace, "VB-7314-2") == [(2, 1, Decimal("22.00"))]
    assert billed(purchase_order(workspace, "ORD-7314")) == [
        (1, "VB-SKU500", 1, 0), (2, "VB-SKU500", 1, 1)]
