"""Sales orders and purchase orders: line numbering, pricing to the cent, approval, and the
drop-ship purchase orders generated on approval, linked both ways."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flx_netsuite.emulator import Emulator

from .helpers import NS, error, sales_order

DROP = {"id": "DropShip"}
STOCK = {"item": {"id": "503"}, "quantity": 1, "location": {"id": "1"}}


def so_of(emu: Emulator, so_id: str) -> dict[str, Any]:
    record = emu.record("salesOrder", so_id)
    assert record is not None
    return record


def lines_of(record: dict[str, Any]) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = record["item"]["items"]
    return items


def test_sales_order_needs_a_customer_and_lines(ns: NS) -> None:
    no_entity = ns.post("salesOrder", {"item": {"items": [STOCK]}})
    assert error(no_entity)["detail"] == "Please enter value(s) for: Customer"
    no_lines = ns.post("salesOrder", sales_order())
    assert error(no_lines)["detail"] == ("You must enter at least one line item for this "
                                         "transaction.")


def test_lines_are_numbered_1_4_7_with_fulfilment_counters(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order(STOCK, STOCK, STOCK))
    lines = lines_of(so_of(emu, so_id))
    assert [line["line"] for line in lines] == [1, 4, 7]
    assert all(line["quantityFulfilled"] == 0 and line["isClosed"] is False for line in lines)


def test_amount_is_quantity_times_rate_to_the_cent(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order(
        {**STOCK, "quantity": 3, "rate": 19.99}, {**STOCK, "rate": 0.333},
        {**STOCK, "amount": 10.00, "quantity": 4}, {"item": {"id": "504"}, "quantity": 2},
        shippingCost=5.00))
    so = so_of(emu, so_id)
    amounts = [line["amount"] for line in lines_of(so)]
    assert amounts == [Decimal("59.97"), Decimal("0.33"), Decimal("10.00"), Decimal("49.00")]
    assert lines_of(so)[2]["rate"] == Decimal("2.5")  # rate derived from amount
    assert so["total"] == Decimal("124.30")


def test_amount_that_disagrees_with_the_rate_is_refused(ns: NS) -> None:
    response = ns.post("salesOrder", sales_order({**STOCK, "quantity": 3, "rate": 19.99,
                                                  "amount": 59.98}))
    assert error(response)["o:errorPath"] == "item.items[0].amount"


@pytest.mark.parametrize("quantity", [0, -1, 1.5, "2"])
def test_quantity_must_be_a_positive_whole_number(ns: NS, quantity: object) -> None:
    response = ns.post("salesOrder", sales_order({**STOCK, "quantity": quantity}))
    assert response.status_code == 400
    assert error(response)["o:errorPath"] == "item.items[0].quantity"


def test_negative_rate_only_on_a_discount_item(ns: NS, emu: Emulator) -> None:
    bad = ns.post("salesOrder", sales_order({**STOCK, "rate": -1}))
    assert error(bad)["o:errorPath"] == "item.items[0].rate"
    so_id = ns.create("salesOrder", sales_order({**STOCK, "rate": 10},
                                                {"item": {"id": "701"}, "rate": -2.5}))
    assert so_of(emu, so_id)["total"] == Decimal("7.50")


def test_order_waits_for_approval_by_default(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "501"}, "quantity": 2}))
    so = so_of(emu, so_id)
    assert so["status"]["id"] == "A"
    assert "createdPo" not in lines_of(so)[0]
    assert emu.records("purchaseOrder") == []


def test_approved_order_generates_one_dropship_po_per_vendor(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order(
        {"item": {"id": "501"}, "quantity": 3, "rate": 19.99, "createPo": DROP},
        {**STOCK, "quantity": 1},
        {"item": {"id": "507"}, "quantity": 1, "createPo": DROP, "poRate": 11.50},
        {"item": {"id": "603"}, "quantity": 2, "createPo": DROP,
         "poVendor": {"id": "201"}, "poRate": 14},
        orderStatus={"id": "B"}, externalId="ORD-1001"))
    so = so_of(emu, so_id)
    assert so["status"] == {"id": "B", "refName": "Pending Fulfillment"}
    pos = {po["entity"]["id"]: po for po in emu.records("purchaseOrder")}
    assert set(pos) == {"201", "202"}
    lines = lines_of(so)
    assert lines[0]["createdPo"]["id"] == pos["201"]["id"]
    assert lines[2]["createdPo"]["id"] == pos["202"]["id"]
    assert lines[3]["createdPo"]["id"] == pos["201"]["id"]
    assert "createdPo" not in lines[1]
    vendor_a = pos["201"]
    assert vendor_a["createdFrom"]["id"] == so_id
    assert vendor_a["shipTo"]["id"] == "107"
    assert vendor_a["shippingAddress"]["city"] == "Austin"
    assert [(line["item"]["id"], line["quantity"], line["rate"], line["amount"])
            for line in lines_of(vendor_a)] == [
        ("501", 3, Decimal("9.00"), Decimal("27.00")),  # item cost when no poRate
        ("603", 2, Decimal("14"), Decimal("28.00"))]
    assert [line["line"] for line in lines_of(vendor_a)] == [1, 2]
    assert lines_of(pos["202"])[0]["rate"] == Decimal("11.50")


def test_drop_ship_item_with_a_preferred_vendor_defaults_to_drop_ship(ns: NS,
                                                                      emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order(
        {"item": {"id": "501"}, "quantity": 1},
        {"item": {"id": "501"}, "quantity": 1, "createPo": None, "location": {"id": "1"}},
        orderStatus="B"))
    lines = lines_of(so_of(emu, so_id))
    assert lines[0]["createPo"]["id"] == "DropShip" and "createdPo" in lines[0]
    assert "createPo" not in lines[1] and "createdPo" not in lines[1]


def test_create_po_on_a_stock_item_is_refused(ns: NS) -> None:
    response = ns.post("salesOrder", sales_order(STOCK, {**STOCK, "createPo": DROP},
                                                 orderStatus={"id": "B"}))
    assert response.status_code == 400
    assert error(response)["o:errorPath"] == "item.items[1].createPo"
    assert error(response)["o:errorCode"] == "USER_ERROR"


def test_create_po_must_be_the_object_form(ns: NS) -> None:
    response = ns.post("salesOrder", sales_order({"item": {"id": "501"}, "quantity": 1,
                                                  "createPo": "DropShip"}))
    assert error(response)["o:errorPath"] == "item.items[0].createPo"


def test_drop_ship_line_without_any_vendor_is_refused(ns: NS) -> None:
    response = ns.post("salesOrder", sales_order(
        {"item": {"id": "510"}, "quantity": 1, "createPo": DROP}, orderStatus={"id": "B"}))
    assert error(response)["o:errorPath"] == "item.items[0].poVendor"


def test_vendor_of_another_subsidiary_cannot_get_the_po(ns: NS) -> None:
    response = ns.post("salesOrder", sales_order(
        {"item": {"id": "501"}, "quantity": 1, "createPo": DROP, "poVendor": {"id": "203"}},
        orderStatus={"id": "B"}))
    assert error(response)["o:errorPath"] == "item.items[0].poVendor"


def test_subsidiary_and_location_must_fit_the_customer(ns: NS) -> None:
    sub = ns.post("salesOrder", sales_order(STOCK, subsidiary={"id": "2"}))
    assert error(sub)["o:errorCode"] == "INVALID_KEY_OR_REF"
    loc = ns.post("salesOrder", sales_order({**STOCK, "location": {"id": "3"}}))
    assert error(loc)["o:errorPath"] == "item.items[0].location"


def test_approving_later_generates_the_po(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "501"}, "quantity": 2}))
    assert ns.patch(f"salesOrder/{so_id}", {"orderStatus": {"id": "B"}}).status_code == 204
    so = so_of(emu, so_id)
    assert so["status"]["id"] == "B"
    (po,) = emu.records("purchaseOrder")
    assert lines_of(so)[0]["createdPo"]["id"] == po["id"]
    back = ns.patch(f"salesOrder/{so_id}", {"orderStatus": {"id": "A"}})
    assert error(back)["o:errorPath"] == "orderStatus"


def test_patch_lines_update_append_and_replace(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order({**STOCK, "rate": 5}, {**STOCK, "rate": 6}))
    ns.patch(f"salesOrder/{so_id}", {"item": {"items": [{"line": 4, "quantity": 3},
                                                        {**STOCK, "rate": 7}]}})
    lines = lines_of(so_of(emu, so_id))
    assert [(line["line"], line["quantity"], line["amount"]) for line in lines] == [
        (1, 1, Decimal("5.00")), (4, 3, Decimal("18.00")), (7, 1, Decimal("7.00"))]
    ns.patch(f"salesOrder/{so_id}", {"item": {"items": [{"line": 7}]}},
             params={"replace": "item"})
    assert [line["line"] for line in lines_of(so_of(emu, so_id))] == [7]
    missing = ns.patch(f"salesOrder/{so_id}", {"item": {"items": [{"line": 2}]}})
    assert error(missing)["o:errorPath"] == "item.items[0].line"


def test_lines_with_a_po_cannot_change_quantity(ns: NS) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "501"}, "quantity": 2},
                                                orderStatus={"id": "B"}))
    response = ns.patch(f"salesOrder/{so_id}", {"item": {"items": [{"line": 1,
                                                                    "quantity": 5}]}})
    assert error(response)["o:errorPath"] == "item.items[0].quantity"


def test_explicit_purchase_order(ns: NS, emu: Emulator) -> None:
    no_vendor = ns.post("purchaseOrder", {"item": {"items": [{"item": {"id": "503"},
                                                              "quantity": 1}]}})
    assert error(no_vendor)["detail"] == "Please enter value(s) for: Vendor"
    customer_as_vendor = ns.post("purchaseOrder", {"entity": {"id": "107"}, "item": {
        "items": [{"item": {"id": "503"}, "quantity": 1}]}})
    assert error(customer_as_vendor)["o:errorPath"] == "entity"
    po_id = ns.create("purchaseOrder", {"entity": {"id": "202"}, "externalId": "PO-X",
                                        "item": {"items": [
                                            {"item": {"id": "507"}, "quantity": 2},
                                            {"item": {"id": "508"}, "quantity": 1,
                                             "rate": 17}]}})
    po = emu.record("purchaseOrder", po_id)
    assert po is not None
    assert [(line["line"], line["rate"], line["quantityBilled"], line["quantityReceived"])
            for line in lines_of(po)] == [(1, Decimal("12.00"), 0, 0), (2, Decimal("17"), 0, 0)]
    assert po["total"] == Decimal("41.00")
    assert "createdFrom" not in po
