"""send-shipments: two partial shipments of one order update its sale, one at a time, with a
note listing both; a human edit in between (stale SyncToken) is re-read and applied again."""

from __future__ import annotations

from .conftest import Workspace, order


def shipment(sid: str, order_id: str, sku: str, qty: int, tracking: str,
             day: str) -> dict:
    return {"id": sid, "order_id": order_id, "shipped_at": f"2026-11-{day}T16:00:00Z",
            "carrier": "UPS", "method": "Ground", "tracking_numbers": [tracking],
            "items": [{"sku": sku, "quantity": qty}]}


def sent_order(workspace: Workspace) -> dict:
    workspace.import_records(orders=[order("5001", ("SKU001", 2, "9.95"),
                                           ("SKU002", 1, "24.50"))])
    assert workspace.run("send-orders")["by_id"]["ORD-5001"]["status"] == "sent"
    [receipt] = workspace.objects("SalesReceipt")
    return receipt


def test_two_partial_shipments_in_one_run_update_the_sale_in_turn(workspace: Workspace) -> None:
    sent_order(workspace)
    workspace.import_records(shipments=[
        shipment("SHP-1", "ORD-5001", "SKU001", 2, "1Z001", "21"),
        shipment("SHP-2", "ORD-5001", "SKU002", 1, "1Z002", "23")])
    report = workspace.run("send-shipments")
    assert {r["status"] for r in report["rows"]} == {"sent"}, report
    [receipt] = workspace.objects("SalesReceipt")
    assert receipt["ShipDate"] == "2026-11-23" and receipt["TrackingNum"] == "1Z002"
    assert receipt["ShipMethodRef"] == {"value": "UPS Ground"}
    note = receipt["PrivateNote"]
    assert note.startswith("flx:order:ORD-5001") and "1Z001" in note and "1Z002" in note
    assert receipt["Line"][0]["SalesItemLineDetail"]["Qty"] == 2  # sparse: lines untouched
    writes = len(workspace.emulator.writes())
    workspace.run("send-shipments")
    assert len(workspace.emulator.writes()) == writes


def test_an_edit_in_quickbooks_between_shipments_is_re_read(workspace: Workspace) -> None:
    receipt = sent_order(workspace)
    workspace.import_records(shipments=[shipment("SHP-1", "ORD-5001", "SKU001", 2, "1Z1", "21")])
    assert workspace.run("send-shipments")["by_id"]["SHP-1"]["status"] == "sent"
    books = workspace.emulator.company(next(iter(workspace.emulator.companies)))
    current = books.read("SalesReceipt", receipt["Id"])
    books.update("SalesReceipt", {"Id": receipt["Id"], "SyncToken": current["SyncToken"],
                                  "sparse": True, "CustomerMemo": {"value": "Thanks!"}})
    workspace.import_records(shipments=[shipment("SHP-2", "ORD-5001", "SKU002", 1, "1Z2", "22")])
    row = workspace.run("send-shipments")["by_id"]["SHP-2"]
    assert row["status"] == "sent", row
    final = books.read("SalesReceipt", receipt["Id"])
    assert final["CustomerMemo"] == {"value": "Thanks!"} and "1Z1" in final["PrivateNote"]
    assert "1Z2" in final["PrivateNote"]


def test_a_lost_answer_is_applied_once(workspace: Workspace) -> None:
    receipt = sent_order(workspace)
    workspace.emulator.behaviour.requestid = "ignore"
    workspace.emulator.faults.inject("drop_after", path_contains="/salesreceipt")
    workspace.import_records(shipments=[shipment("SHP-1", "ORD-5001", "SKU001", 2, "1Z1", "21")])
    row = workspace.run("send-shipments")["by_id"]["SHP-1"]
    assert row["status"] == "sent", row
    books = workspace.emulator.company(next(iter(workspace.emulator.companies)))
    note = books.read("SalesReceipt", receipt["Id"])["PrivateNote"]
    assert note.count("1Z1") == 1
