"""Golden Vendor Bill payloads (`flx render send-vendor-bills`), compared with the files in
tests/fixtures/golden/bills/. The first two are the reference page's partial-invoicing
examples. Regenerate with FLX_UPDATE_GOLDEN=1 (see test_shipments_golden.py)."""

from __future__ import annotations

from typing import Any

from .conftest import Workspace
from .test_bills_flow import dropship_order, make_bill
from .test_shipments_flow import send_orders
from .test_shipments_golden import assert_golden, render


def render_bill(ws: Workspace, bill: dict[str, Any]) -> list[dict[str, Any]]:
    code, output = ws.import_records(vendor_bills=[bill])
    assert code == 0, output
    return render(ws, "send-vendor-bills", bill["id"])


def item_lines(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return payloads[0]["body"]["item"]["items"]


def test_reference_examples_first_bill_then_second_bill(workspace: Workspace) -> None:
    send_orders(workspace, dropship_order("ORD-8101"))
    first = render_bill(workspace, make_bill(
        "VB-8101-1", "ORD-8101", "INV-5001", [("VB-SKU500", 1)]))
    # The reference page's first payload, exactly.
    assert item_lines(first) == [{"orderLine": 1, "quantity": 1}, {"orderLine": 2, "quantity": 0}]
    assert first[0]["path"] == "/services/rest/record/v1/purchaseOrder/802/!transform/vendorBill"
    assert_golden("bills", "reference_first_bill", first)
    assert workspace.records("vendorBill") == []  # rendering sends nothing

    assert workspace.run("send-vendor-bills")["counts"]["sent"] == 1
    second = render_bill(workspace, make_bill(
        "VB-8101-2", "ORD-8101", "INV-5002", [("VB-SKU501", 1)]))
    # The reference page's second payload, exactly.
    assert item_lines(second) == [{"orderLine": 2, "quantity": 1}]
    assert_golden("bills", "reference_second_bill", second)


def test_replace_lines_lists_only_the_invoiced_lines(workspace: Workspace) -> None:
    workspace.profile["options"]["bill_strategy"] = "replace_lines"
    send_orders(workspace, dropship_order("ORD-8102"))
    payloads = render_bill(workspace, make_bill(
        "VB-8102", "ORD-8102", "INV-7001", [("VB-SKU501", 1)]))
    assert payloads[0]["path"].endswith("/purchaseOrder/802/!transform/vendorBill?replace=item")
    assert item_lines(payloads) == [{"orderLine": 2, "quantity": 1}]
    assert_golden("bills", "replace_lines", payloads)


def test_invoiced_costs_shipping_and_tax_expense_lines(workspace: Workspace) -> None:
    workspace.profile["options"]["bill_tax"] = {"mode": "expense", "account": "59"}
    send_orders(workspace, dropship_order("ORD-8103", [
        ("VB-SKU500", 2, "22.00"), ("VB-SKU501", 3, "6.00")]))
    payloads = render_bill(workspace, make_bill(
        "VB-8103", "ORD-8103", "INV-7002",
        [("VB-SKU500", 2, "21.75"), ("VB-SKU501", 1, "6.00")],
        shipping="7.40", tax="1.25", due_at="2026-12-24T00:00:00Z"))
    assert item_lines(payloads) == [{"orderLine": 1, "quantity": 2, "rate": 21.75},
                                    {"orderLine": 2, "quantity": 1, "rate": 6.00}]
    assert payloads[0]["body"]["expense"] == {"items": [
        {"account": {"id": "58"}, "amount": 7.40, "memo": "Shipping on invoice INV-7002"},
        {"account": {"id": "59"}, "amount": 1.25, "memo": "Tax on invoice INV-7002"}]}
    assert_golden("bills", "costs_and_shipping", payloads)
