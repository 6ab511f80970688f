"""Sales order -> item fulfillment: partial lines, over-fulfilment, the unlisted-line default,
tracking numbers, drop-ship lines, locations."""

from __future__ import annotations

from typing import Any

import pytest

from flx_netsuite.emulator import Emulator

from .helpers import NS, error, sales_order

MAIN = {"id": "1"}


@pytest.fixture
def so_id(ns: NS) -> str:
    """Approved order: line 1 = 3 x SKU001, line 4 = 2 x SKU002 (both from MAIN),
    line 7 = 2 x FLX-SKU123 drop-shipped by Vendor A."""
    return ns.create("salesOrder", sales_order(
        {"item": {"id": "503"}, "quantity": 3, "location": MAIN},
        {"item": {"id": "504"}, "quantity": 2, "location": MAIN},
        {"item": {"id": "501"}, "quantity": 2, "createPo": {"id": "DropShip"}},
        orderStatus={"id": "B"}, externalId="ORD-1"))


def transform(ns: NS, so_id: str, body: dict[str, Any]) -> Any:
    return ns.post(f"salesOrder/{so_id}/!transform/itemFulfillment", body)


def lines(*entries: dict[str, Any]) -> dict[str, Any]:
    return {"items": list(entries)}


def fulfilled(emu: Emulator, so_id: str) -> dict[int, int]:
    so = emu.record("salesOrder", so_id)
    assert so is not None
    return {line["line"]: line["quantityFulfilled"] for line in so["item"]["items"]}


def status(emu: Emulator, record_type: str, record_id: str) -> str:
    record = emu.record(record_type, record_id)
    assert record is not None
    value: str = record["status"]["id"]
    return value


def test_partial_fulfilment_leaves_lines_open(ns: NS, emu: Emulator, so_id: str) -> None:
    response = transform(ns, so_id, {"externalId": "SHIP-1", "item": lines(
        {"orderLine": 1, "quantity": 2, "location": MAIN},
        {"orderLine": 4, "itemReceive": False}, {"orderLine": 7, "itemReceive": False})})
    assert response.status_code == 204
    assert "/itemfulfillment/" in response.headers["location"]
    if_id = response.headers["location"].rsplit("/", 1)[1]
    record = emu.record("itemFulfillment", if_id)
    assert record is not None
    assert record["createdFrom"]["id"] == so_id
    assert [(line["orderLine"], line["quantity"]) for line in record["item"]["items"]] == [
        (1, 2)]
    assert fulfilled(emu, so_id) == {1: 2, 4: 0, 7: 0}
    assert status(emu, "salesOrder", so_id) == "D"


def test_over_fulfilment_is_refused(ns: NS, emu: Emulator, so_id: str) -> None:
    response = transform(ns, so_id, {"item": lines(
        {"orderLine": 1, "quantity": 4}, {"orderLine": 4, "itemReceive": False},
        {"orderLine": 7, "itemReceive": False})})
    assert response.status_code == 400
    assert error(response)["o:errorPath"] == "item.items[0].quantity"
    assert "remaining quantity (3)" in error(response)["detail"]
    assert fulfilled(emu, so_id) == {1: 0, 4: 0, 7: 0}
    assert emu.records("itemFulfillment") == []


def test_unlisted_lines_are_fulfilled_in_full(ns: NS, emu: Emulator, so_id: str) -> None:
    response = transform(ns, so_id, {"item": lines({"orderLine": 1, "quantity": 1})})
    assert response.status_code == 204
    assert fulfilled(emu, so_id) == {1: 1, 4: 2, 7: 2}


def test_unknown_order_line_is_refused(ns: NS, so_id: str) -> None:
    response = transform(ns, so_id, {"item": lines({"orderLine": 2, "quantity": 1})})
    assert error(response)["o:errorPath"] == "item.items[0].orderLine"


def test_fulfilling_nothing_is_refused(ns: NS, so_id: str) -> None:
    response = transform(ns, so_id, {"item": lines(
        {"orderLine": 1, "quantity": 0}, {"orderLine": 4, "itemReceive": False},
        {"orderLine": 7, "itemReceive": False})})
    assert error(response)["detail"] == ("You must enter at least one line item for this "
                                         "transaction.")


def test_full_fulfilment_and_tracking_numbers(ns: NS, emu: Emulator, so_id: str) -> None:
    transform(ns, so_id, {"item": lines({"orderLine": 1, "quantity": 3},
                                        {"orderLine": 4, "quantity": 2},
                                        {"orderLine": 7, "itemReceive": False}),
                          "package": lines({"packageTrackingNumber": "1Z999",
                                            "packageWeight": 2.5})})
    transform(ns, so_id, {"item": lines({"orderLine": 7, "quantity": 2}),
                          "shipStatus": {"id": "C"},
                          "package": lines({"packageTrackingNumber": "VEND-77",
                                            "packageWeight": 1.0, "packageDescr": "box"})})
    so = emu.record("salesOrder", so_id)
    assert so is not None
    assert so["status"] == {"id": "F", "refName": "Pending Billing"}
    assert so["linkedTrackingNumbers"] == "1Z999 VEND-77"
    again = transform(ns, so_id, {})
    assert "at least one line item" in error(again)["detail"]


def test_drop_ship_line_fulfilment_marks_the_po_received(ns: NS, emu: Emulator,
                                                         so_id: str) -> None:
    transform(ns, so_id, {"item": lines({"orderLine": 1, "itemReceive": False},
                                        {"orderLine": 4, "itemReceive": False},
                                        {"orderLine": 7, "quantity": 2}),
                          "package": lines({"packageTrackingNumber": "VEND-1",
                                            "packageWeight": 3})})
    (po,) = emu.records("purchaseOrder")
    assert po["item"]["items"][0]["quantityReceived"] == 2
    assert po["trackingNumbers"] == "VEND-1"
    assert po["status"]["refName"] == "Pending Bill"


def test_package_needs_a_weight(ns: NS, so_id: str) -> None:
    response = transform(ns, so_id, {"package": lines({"packageTrackingNumber": "1Z"})})
    assert error(response)["o:errorPath"] == "package.items[0].packageWeight"


def test_one_fulfilment_ships_from_one_location(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order(
        {"item": {"id": "503"}, "quantity": 1, "location": {"id": "1"}},
        {"item": {"id": "504"}, "quantity": 1, "location": {"id": "2"}},
        {"item": {"id": "505"}, "quantity": 1}, orderStatus={"id": "B"}))
    mixed = transform(ns, so_id, {"item": lines({"orderLine": 7, "itemReceive": False})})
    assert "only one location" in error(mixed)["detail"]
    nowhere = transform(ns, so_id, {"item": lines({"orderLine": 1, "itemReceive": False},
                                                  {"orderLine": 4, "itemReceive": False},
                                                  {"orderLine": 7, "quantity": 1})})
    assert error(nowhere)["o:errorPath"] == "item.items[2].location"
    ok = transform(ns, so_id, {"item": lines({"orderLine": 1, "itemReceive": False},
                                             {"orderLine": 4, "itemReceive": False},
                                             {"orderLine": 7, "quantity": 1,
                                              "location": {"id": "2"}})})
    assert ok.status_code == 204


def test_pending_approval_order_cannot_be_fulfilled(ns: NS) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1,
                                                 "location": MAIN}))
    response = transform(ns, so_id, {})
    assert response.status_code == 400
    assert "pending approval" in error(response)["detail"]


def test_fulfilment_external_id_is_unique(ns: NS, so_id: str) -> None:
    body = {"externalId": "SHIP-9", "item": lines({"orderLine": 1, "quantity": 1},
                                                  {"orderLine": 4, "itemReceive": False},
                                                  {"orderLine": 7, "itemReceive": False})}
    assert transform(ns, so_id, body).status_code == 204
    again = transform(ns, so_id, body)
    assert error(again)["o:errorPath"] == "externalId"


def test_deleting_a_fulfilment_reopens_the_lines(ns: NS, emu: Emulator, so_id: str) -> None:
    response = transform(ns, so_id, {"item": lines({"orderLine": 1, "quantity": 3})})
    if_id = response.headers["location"].rsplit("/", 1)[1]
    assert ns.request("DELETE", f"itemFulfillment/{if_id}").status_code == 204
    assert fulfilled(emu, so_id) == {1: 0, 4: 0, 7: 0}
    assert status(emu, "salesOrder", so_id) == "B"
    (po,) = emu.records("purchaseOrder")
    assert po["item"]["items"][0]["quantityReceived"] == 0


def test_tracking_added_later_by_patch(ns: NS, emu: Emulator, so_id: str) -> None:
    response = transform(ns, so_id, {"item": lines({"orderLine": 1, "quantity": 3}),
                                     "shipStatus": {"id": "B"}})
    if_id = response.headers["location"].rsplit("/", 1)[1]
    patch = ns.patch(f"itemFulfillment/{if_id}", {"shipStatus": {"id": "C"}, "package": lines(
        {"packageTrackingNumber": "1ZLATE", "packageWeight": 1})})
    assert patch.status_code == 204
    so = emu.record("salesOrder", so_id)
    assert so is not None and so["linkedTrackingNumbers"] == "1ZLATE"


def test_fulfilled_line_cannot_be_removed_or_shrunk(ns: NS, so_id: str) -> None:
    transform(ns, so_id, {"item": lines({"orderLine": 1, "quantity": 2},
                                        {"orderLine": 4, "itemReceive": False},
                                        {"orderLine": 7, "itemReceive": False})})
    shrink = ns.patch(f"salesOrder/{so_id}", {"item": lines({"line": 1, "quantity": 1})})
    assert error(shrink)["o:errorPath"] == "item.items[0].quantity"
    removed = ns.patch(f"salesOrder/{so_id}", {"item": lines({"line": 4})},
                       params={"replace": "item"})
    assert removed.status_code == 400


def test_transforms_that_do_not_exist(ns: NS, so_id: str, emu: Emulator) -> None:
    (po,) = emu.records("purchaseOrder")
    wrong = ns.post(f"purchaseOrder/{po['id']}/!transform/itemFulfillment", {})
    assert wrong.status_code == 400 and "not allowed" in error(wrong)["detail"]
    lowercase = ns.post(f"salesorder/{so_id}/!transform/itemfulfillment",
                        {"item": lines({"orderLine": 1, "quantity": 1})})
    assert lowercase.status_code == 204
