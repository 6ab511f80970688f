"""Purchase order -> vendor bill: both partial-billing strategies, the unlisted-line default,
over-billing, expenses, totals to the cent, and PO status."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flx_netsuite.emulator import Emulator

from .helpers import NS, error, sales_order


@pytest.fixture
def order(ns: NS, emu: Emulator) -> tuple[str, str]:
    """An approved order whose two drop-ship lines made one PO to Vendor A:
    PO line 1 = 3 x FLX-SKU123 at 9.00, PO line 2 = 2 x VA-SVC-100 at 15.00."""
    so_id = ns.create("salesOrder", sales_order(
        {"item": {"id": "501"}, "quantity": 3, "createPo": {"id": "DropShip"}},
        {"item": {"id": "603"}, "quantity": 2, "createPo": {"id": "DropShip"}},
        orderStatus={"id": "B"}))
    (po,) = emu.records("purchaseOrder")
    return so_id, po["id"]


def bill(ns: NS, po_id: str, body: dict[str, Any], **params: str) -> Any:
    return ns.post(f"purchaseOrder/{po_id}/!transform/vendorBill", body, params=params)


def po_billed(emu: Emulator, po_id: str) -> tuple[list[int], str]:
    po = emu.record("purchaseOrder", po_id)
    assert po is not None
    return [line["quantityBilled"] for line in po["item"]["items"]], po["status"]["refName"]


def created(emu: Emulator, response: Any) -> dict[str, Any]:
    assert response.status_code == 204, response.text
    record = emu.record("vendorBill", response.headers["location"].rsplit("/", 1)[1])
    assert record is not None
    return record


def test_partial_bill_listing_every_line_with_zero(ns: NS, emu: Emulator,
                                                   order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {"tranId": "INV-1", "externalId": "VB-1", "item": {
        "items": [{"orderLine": 1, "quantity": 2}, {"orderLine": 2, "quantity": 0}]}}))
    assert [(line["orderLine"], line["quantity"], line["amount"])
            for line in vb["item"]["items"]] == [(1, 2, Decimal("18.00"))]
    assert vb["item"]["items"][0]["orderDoc"]["id"] == po_id
    assert (vb["total"], vb["tranId"], vb["entity"]["id"]) == (Decimal("18.00"), "INV-1", "201")
    assert po_billed(emu, po_id) == ([2, 0], "Partially Billed")


def test_partial_bill_with_replace_lists_only_billed_lines(ns: NS, emu: Emulator,
                                                           order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {"item": {"items": [{"orderLine": 2, "quantity": 1}]}},
                           replace="item"))
    assert [line["orderLine"] for line in vb["item"]["items"]] == [2]
    assert po_billed(emu, po_id) == ([0, 1], "Partially Billed")


def test_unlisted_lines_are_billed_in_full_without_replace(ns: NS, emu: Emulator,
                                                           order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {"item": {"items": [{"orderLine": 2, "quantity": 1}]}}))
    assert [(line["orderLine"], line["quantity"]) for line in vb["item"]["items"]] == [
        (1, 3), (2, 1)]
    assert vb["total"] == Decimal("42.00")


def test_over_billing_is_refused(ns: NS, emu: Emulator, order: tuple[str, str]) -> None:
    _, po_id = order
    created(emu, bill(ns, po_id, {"item": {"items": [{"orderLine": 1, "quantity": 2}]}},
                      replace="item"))
    over = bill(ns, po_id, {"item": {"items": [{"orderLine": 1, "quantity": 2}]}},
                replace="item")
    assert over.status_code == 400
    assert error(over)["o:errorPath"] == "item.items[0].quantity"
    assert "remaining quantity (1)" in error(over)["detail"]
    assert po_billed(emu, po_id) == ([2, 0], "Partially Billed")


def test_expenses_rate_override_and_total(ns: NS, emu: Emulator,
                                          order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {
        "item": {"items": [{"orderLine": 1, "quantity": 3, "rate": 8.335},
                           {"orderLine": 2, "quantity": 2}]},
        "expense": {"items": [{"account": {"id": "58"}, "amount": 5.00, "memo": "Shipping"},
                              {"account": {"id": "59"}, "amount": 1.07, "memo": "Tax"}]}}))
    assert [line["amount"] for line in vb["item"]["items"]] == [Decimal("25.01"),
                                                                Decimal("30.00")]
    assert vb["total"] == Decimal("61.08")
    assert [line["line"] for line in vb["expense"]["items"]] == [1, 2]


def test_expense_lines_are_checked(ns: NS, order: tuple[str, str]) -> None:
    _, po_id = order
    no_account = bill(ns, po_id, {"expense": {"items": [{"amount": 5}]}}, replace="item")
    assert error(no_account)["o:errorPath"] == "expense.items[0].account"
    bad_account = bill(ns, po_id, {"expense": {"items": [{"account": {"id": "999"},
                                                          "amount": 5}]}})
    assert error(bad_account)["o:errorCode"] == "INVALID_KEY_OR_REF"


def test_fully_billed_po_and_the_order_is_untouched(ns: NS, emu: Emulator,
                                                    order: tuple[str, str]) -> None:
    so_id, po_id = order
    before = emu.record("salesOrder", so_id)
    created(emu, bill(ns, po_id, {}))
    assert po_billed(emu, po_id) == ([3, 2], "Fully Billed")
    assert emu.record("salesOrder", so_id) == before
    nothing = bill(ns, po_id, {})
    assert "at least one line item" in error(nothing)["detail"]


def test_bill_external_id_is_unique(ns: NS, emu: Emulator, order: tuple[str, str]) -> None:
    _, po_id = order
    body = {"externalId": "VB-7", "item": {"items": [{"orderLine": 1, "quantity": 1}]}}
    created(emu, bill(ns, po_id, body, replace="item"))
    assert error(bill(ns, po_id, body, replace="item"))["o:errorPath"] == "externalId"


def test_deleting_a_bill_gives_the_quantity_back(ns: NS, emu: Emulator,
                                                 order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {}))
    assert ns.request("DELETE", f"vendorBill/{vb['id']}").status_code == 204
    assert po_billed(emu, po_id) == ([0, 0], "Pending Receipt")


def test_bill_lines_must_point_at_po_lines(ns: NS, order: tuple[str, str]) -> None:
    _, po_id = order
    unknown = bill(ns, po_id, {"item": {"items": [{"orderLine": 4, "quantity": 1}]}})
    assert error(unknown)["o:errorPath"] == "item.items[0].orderLine"
    other_doc = bill(ns, po_id, {"item": {"items": [{"orderLine": 1, "quantity": 1,
                                                     "orderDoc": {"id": "999"}}]}})
    assert error(other_doc)["o:errorPath"] == "item.items[0].orderDoc"


# -- item lines that are on no PO line (a vendor's shipping or handling charge) -----------------


def test_an_item_line_without_order_line_adds_to_the_bill_not_to_the_po(
        ns: NS, emu: Emulator, order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {"item": {"items": [
        {"orderLine": 1, "quantity": 3}, {"orderLine": 2, "quantity": 2},
        {"item": {"id": "602"}, "quantity": 1, "rate": 5.00,
         "description": "Shipping on invoice INV-1"}]}}))
    charge = vb["item"]["items"][2]
    assert (charge["line"], charge["item"]["id"], charge["quantity"], charge["amount"],
            charge["description"]) == (3, "602", 1, Decimal("5.00"), "Shipping on invoice INV-1")
    assert "orderLine" not in charge and "orderDoc" not in charge
    assert vb["total"] == Decimal("62.00")  # 27.00 + 30.00 + 5.00
    assert po_billed(emu, po_id) == ([3, 2], "Fully Billed")  # by the PO lines alone
    # Deleting the bill gives back only what the PO lines billed.
    assert ns.request("DELETE", f"vendorBill/{vb['id']}").status_code == 204
    assert po_billed(emu, po_id) == ([0, 0], "Pending Receipt")


def test_an_item_line_is_kept_with_replace(ns: NS, emu: Emulator,
                                           order: tuple[str, str]) -> None:
    _, po_id = order
    vb = created(emu, bill(ns, po_id, {"item": {"items": [
        {"orderLine": 2, "quantity": 1},
        {"item": {"id": "602"}, "quantity": 2, "rate": 1.25}]}}, replace="item"))
    assert [(line.get("orderLine"), line["item"]["id"], line["amount"])
            for line in vb["item"]["items"]] == [(2, "603", Decimal("15.00")),
                                                 (None, "602", Decimal("2.50"))]
    assert vb["total"] == Decimal("17.50")
    assert po_billed(emu, po_id) == ([0, 1], "Partially Billed")


def test_an_item_line_needs_a_known_item_a_quantity_and_a_rate(
        ns: NS, emu: Emulator, order: tuple[str, str]) -> None:
    _, po_id = order
    first = {"orderLine": 1, "quantity": 1}
    unknown = bill(ns, po_id, {"item": {"items": [
        first, {"item": {"id": "999"}, "quantity": 1, "rate": 5}]}}, replace="item")
    assert unknown.status_code == 400
    assert (error(unknown)["o:errorCode"], error(unknown)["o:errorPath"]) == (
        "INVALID_KEY_OR_REF", "item.items[1].item")
    no_rate = bill(ns, po_id, {"item": {"items": [
        first, {"item": {"id": "602"}, "quantity": 1}]}}, replace="item")
    assert error(no_rate)["o:errorPath"] == "item.items[1].rate"
    no_quantity = bill(ns, po_id, {"item": {"items": [
        {"item": {"id": "602"}, "rate": 5}, first]}}, replace="item")
    assert error(no_quantity)["o:errorPath"] == "item.items[0].quantity"
    zero = bill(ns, po_id, {"item": {"items": [
        first, {"item": {"id": "602"}, "quantity": 0, "rate": 5}]}}, replace="item")
    assert error(zero)["o:errorPath"] == "item.items[1].quantity"
    # Neither orderLine nor item: still refused.
    neither = bill(ns, po_id, {"item": {"items": [first, {"quantity": 1, "rate": 5}]}},
                   replace="item")
    assert neither.status_code == 400
    assert error(neither)["o:errorPath"] == "item.items[1].orderLine"
    assert emu.records("vendorBill") == []
    assert po_billed(emu, po_id) == ([0, 0], "Pending Receipt")
