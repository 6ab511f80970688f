"""Requests per record, the figure that bounds QuickBooks throughput (500 per minute per
company): a warm internal order costs 2 (the look-up by number and the sale), a drop-ship order
with one vendor 3, a shipment 1, a bill 2 (the look-up by number and the bill)."""

from __future__ import annotations

from .conftest import Workspace, dropship, order


def api_calls(workspace: Workspace) -> int:
    return len(workspace.emulator.requests)


def test_requests_per_record(workspace: Workspace) -> None:
    workspace.import_records(orders=[order("1", ("SKU001", 1, "9.95"))])
    workspace.run("send-orders")  # the cold start: items, customer
    before = api_calls(workspace)
    workspace.import_records(orders=[order(str(n), ("SKU001", 1, "9.95"))
                                     for n in range(2, 12)])
    workspace.run("send-orders")
    # per run: the SKUs, the shipping item and the customer (by e-mail); then 2 per order
    assert api_calls(workspace) - before == 3 + 2 * 10
    before = api_calls(workspace)
    frs = [dropship("FR-20-A", "V-A", ("L1", "FLX-SKU123", 1, "9.00"))]
    workspace.import_records(orders=[order("20", ("FLX-SKU123", 1, "19.99"), frs=frs)])
    workspace.run("send-orders")
    assert api_calls(workspace) - before == 4 + 3  # SKUs, shipping, customer, vendor; 3 for it
    before = api_calls(workspace)
    workspace.import_records(shipments=[
        {"id": f"S{n}", "order_id": f"ORD-{n}", "shipped_at": "2026-11-21T00:00:00Z",
         "tracking_numbers": [f"1Z{n}"], "items": [{"sku": "SKU001", "quantity": 1}]}
        for n in range(2, 12)])
    workspace.run("send-shipments")
    assert api_calls(workspace) - before == 10
    before = api_calls(workspace)
    workspace.import_records(vendor_bills=[
        {"id": "VB-20", "order_id": "ORD-20", "fulfillment_request_id": "FR-20-A",
         "number": "INV-20", "items": [{"sku": "FLX-SKU123", "quantity": 1, "cost": "9.00"}]}])
    workspace.run("send-vendor-bills")
    assert api_calls(workspace) - before == 1 + 2  # the SKU; the look-up and the bill
