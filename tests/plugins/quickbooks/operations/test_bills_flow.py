"""send-vendor-bills: a PO billed in two stages, over-billing refused with the numbers, a
dropped link caught, and re-runs that write nothing."""

from __future__ import annotations

from .conftest import Workspace, dropship, order


def bill(bid: str, number: str, *items: tuple[str, int, str], fr: str = "FR-6001-B") -> dict:
    return {"id": bid, "order_id": "ORD-6001", "fulfillment_request_id": fr, "number": number,
            "invoiced_at": "2026-11-25T08:00:00Z",
            "items": [{"sku": sku, "quantity": qty, "cost": cost} for sku, qty, cost in items]}


def sent_dropship(workspace: Workspace) -> None:
    frs = [dropship("FR-6001-B", "V-B", ("L1", "VB-SKU500", 4, "12.00"),
                    ("L2", "VB-SKU501", 2, "18.50"))]
    workspace.import_records(orders=[order("6001", ("VB-SKU500", 4, "29.00"),
                                           ("VB-SKU501", 2, "44.00"), frs=frs)])
    assert workspace.run("send-orders")["by_id"]["ORD-6001"]["status"] == "sent"


def test_a_po_billed_in_two_stages(workspace: Workspace) -> None:
    sent_dropship(workspace)
    workspace.import_records(vendor_bills=[bill("VB-1", "INV-1", ("VB-SKU500", 3, "12.00"))])
    assert workspace.run("send-vendor-bills")["by_id"]["VB-1"]["status"] == "sent"
    workspace.import_records(vendor_bills=[
        bill("VB-2", "INV-2", ("VB-SKU500", 1, "12.00"), ("VB-SKU501", 2, "18.50"))])
    report = workspace.run("send-vendor-bills")
    assert report["by_id"]["VB-2"]["status"] == "sent", report
    bills = {b["DocNumber"]: b for b in workspace.objects("Bill")}
    [po] = workspace.objects("PurchaseOrder")
    assert po["POStatus"] == "Closed"
    links = [link for line in bills["INV-2"]["Line"] for link in line["LinkedTxn"]]
    assert {link["TxnId"] for link in links} == {po["Id"]} and len(links) == 2
    writes = len(workspace.emulator.writes())
    workspace.run("send-vendor-bills")
    assert len(workspace.emulator.writes()) == writes


def test_over_billing_is_refused_with_the_numbers(workspace: Workspace) -> None:
    sent_dropship(workspace)
    workspace.import_records(vendor_bills=[bill("VB-1", "INV-1", ("VB-SKU500", 3, "12.00"))])
    workspace.run("send-vendor-bills")
    workspace.import_records(vendor_bills=[bill("VB-2", "INV-2", ("VB-SKU500", 2, "12.00"))])
    row = workspace.run("send-vendor-bills")["by_id"]["VB-2"]
    assert row["status"] == "failed", row
    assert "4 ordered and 3 billed already, so 1 is open" in row["message"]
    assert len(workspace.objects("Bill")) == 1


def test_a_link_quickbooks_drops_is_caught_and_the_bill_removed(workspace: Workspace) -> None:
    sent_dropship(workspace)
    [po] = workspace.objects("PurchaseOrder")
    po["POStatus"] = "Closed"  # closed by hand in QuickBooks: QBO drops links to it
    workspace.import_records(vendor_bills=[bill("VB-1", "INV-1", ("VB-SKU500", 1, "12.00"))])
    row = workspace.run("send-vendor-bills")["by_id"]["VB-1"]
    assert row["status"] == "failed" and "dropped its link" in row["message"], row
    assert not workspace.objects("Bill")


def test_an_invoice_number_already_billed_by_hand_is_not_doubled(workspace: Workspace) -> None:
    sent_dropship(workspace)
    [po] = workspace.objects("PurchaseOrder")
    books = workspace.emulator.company(next(iter(workspace.emulator.companies)))
    books.seed("Bill", {"VendorRef": po["VendorRef"], "DocNumber": "INV-9",
                        "Line": [{"DetailType": "AccountBasedExpenseLineDetail", "Amount": 12,
                                  "AccountBasedExpenseLineDetail": {}}]})
    workspace.import_records(vendor_bills=[bill("VB-9", "INV-9", ("VB-SKU500", 1, "12.00"))])
    row = workspace.run("send-vendor-bills")["by_id"]["VB-9"]
    assert row["status"] == "failed" and row["error_class"] == "duplicate", row
    assert len(workspace.objects("Bill")) == 1


def test_a_run_killed_after_the_bill_was_made_never_doubles_it(workspace: Workspace) -> None:
    import pytest

    from flx_quickbooks.emulator import EmulatorTransport

    from .test_orders_faults import KillAfter, Killed

    sent_dropship(workspace)
    workspace.emulator.behaviour.requestid = "ignore"
    workspace.emulator.behaviour.doc_numbers = "off"
    workspace.import_records(vendor_bills=[bill("VB-1", "INV-1", ("VB-SKU500", 4, "12.00"))])
    kill = KillAfter(EmulatorTransport(workspace.emulator), "/bill")
    with pytest.raises(Killed):
        workspace.flx("run", "send-vendor-bills", "--connection", "qb", transport=kill)
    for _ in range(3):
        row = workspace.run("send-vendor-bills")["by_id"].get("VB-1", {})
        if row.get("status") == "sent":
            break
        workspace.flx("retry", "--all")
    assert row["status"] == "sent", row
    assert len(workspace.objects("Bill")) == 1
    workspace.import_records(vendor_bills=[bill("VB-2", "INV-2", ("VB-SKU500", 1, "12.00"))])
    over = workspace.run("send-vendor-bills")["by_id"]["VB-2"]
    assert over["status"] == "failed" and "0 is open" in over["message"], over
