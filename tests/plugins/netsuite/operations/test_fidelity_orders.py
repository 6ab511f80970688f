"""What a real account may do to a Sales Order without an error (netsuite-rest.md §10), each
UNCERTAIN behaviour tested in both readings through the emulator's switches: rates re-priced
from a price level, Purchase Orders nobody asked for, lines NetSuite inserts, inactive
records."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from flx_netsuite.emulator import Emulator
from flx_netsuite.emulator.behaviour import Behaviour
from flx_netsuite.emulator.state import load_default_seed

from .conftest import Workspace
from .test_orders_support import (
    exploded_order,
    internal,
    internal_order,
    json_output,
    line,
    order,
    person,
)


def _switch(ws: Workspace, **switches: Any) -> None:
    ws.emulator = Emulator(behaviour=Behaviour(**switches))


def _send(ws: Workspace, *orders: dict[str, Any], code: int = 0) -> dict[str, dict[str, Any]]:
    return ws.import_and_run("send-orders", code, orders=list(orders))


def _stock_dropship_item(order_id: str) -> dict[str, Any]:
    """FLX-SKU123 (a Drop Ship Item) served from the warehouse: NetSuite defaults its line to
    Drop Ship unless told otherwise."""
    return order(order_id, [line("L1", "FLX-SKU123", 1, "19.99", "Widget")],
                 [internal(f"FR-{order_id}-1", "MAIN", ("L1", "FLX-SKU123", 1, "9.00"))])


# -- rates that stick (custom_price_level) ------------------------------------------------------


@pytest.mark.parametrize("reprice", [True, False])
def test_custom_price_level_keeps_the_channels_prices(workspace: Workspace,
                                                      reprice: bool) -> None:
    _switch(workspace, reprice_lines=reprice)
    rows = _send(workspace, internal_order("ORD-P1", total="49.99"))  # SKU001 is 9.95 in NS
    assert rows["ORD-P1"]["warnings"] == []
    so = workspace.by_external_id("salesOrder", "ORD-P1")
    assert so["total"] == Decimal("49.99")  # 2 x 12.50 + 19.99 + 5.00 shipping, as sold
    assert [ln["price"]["id"] for ln in so["item"]["items"]] == ["-1", "-1"]


def test_without_custom_price_level_a_repricing_account_is_said_per_line(
        workspace: Workspace) -> None:
    _switch(workspace, reprice_lines=True)
    workspace.profile["options"]["custom_price_level"] = False
    rows = _send(workspace, internal_order("ORD-P2", total="49.99"))
    so = workspace.by_external_id("salesOrder", "ORD-P2")
    assert so["total"] == Decimal("44.89")  # SKU001 re-priced to its base price 9.95
    assert all("price" not in ln for ln in so["item"]["items"])
    (warning,) = rows["ORD-P2"]["warnings"]
    assert warning.startswith("Sales Order SO1001 line 1 (SKU SKU001, order line L1, "
                              "fulfillment request FR-ORD-P2-1): NetSuite keeps amount 19.90 "
                              "(rate 9.95) where flx sent 25.00 (rate 12.5)")
    assert "options.custom_price_level = true" in warning


def test_without_custom_price_level_an_account_that_keeps_rates_gives_no_warning(
        workspace: Workspace) -> None:
    workspace.profile["options"]["custom_price_level"] = False
    rows = _send(workspace, internal_order("ORD-P3", total="49.99"))
    assert rows["ORD-P3"]["warnings"] == []
    assert workspace.by_external_id("salesOrder", "ORD-P3")["total"] == Decimal("49.99")


# -- no unwanted Purchase Orders ----------------------------------------------------------------


def _rendered_lines(ws: Workspace, order_id: str) -> list[dict[str, Any]]:
    code, output = ws.flx("render", "send-orders", "--connection", "ns", "--id", order_id)
    assert code == 0, output
    so = next(p for p in json_output(output) if p["name"] == "salesOrder")
    return so["body"]["item"]["items"]


def test_create_po_is_sent_only_on_lines_of_drop_ship_items(workspace: Workspace) -> None:
    code, output = workspace.import_records(orders=[internal_order("ORD-C1"),
                                                    exploded_order("ORD-C2")])
    assert code == 0, output
    # SKU001 and VA-SKU123 are not Drop Ship Items: Create PO is dimmed, so it is left out.
    assert all("createPo" not in ln for ln in _rendered_lines(workspace, "ORD-C1"))
    stock, dropship = _rendered_lines(workspace, "ORD-C2")
    assert "createPo" not in stock  # VA-SKU123 from MAIN
    assert dropship["createPo"] == {"id": "DropShip"}
    workspace.profile["options"]["dropship_mode"] = "explicit_po"
    assert all("createPo" not in ln for ln in _rendered_lines(workspace, "ORD-C1"))


@pytest.mark.parametrize("null_create_po", ["clears", "ignored"])
def test_a_po_netsuite_makes_for_a_stock_line_is_a_warning_naming_the_line(
        workspace: Workspace, null_create_po: str) -> None:
    _switch(workspace, null_create_po=null_create_po)
    rows = _send(workspace, _stock_dropship_item("ORD-C3"))
    row = rows["ORD-C3"]
    if null_create_po == "clears":
        assert row["warnings"] == [] and workspace.records("purchaseOrder") == []
        return
    (po,) = workspace.records("purchaseOrder")
    (warning,) = row["warnings"]
    assert warning.startswith(
        f"Sales Order SO1001 line 1 (SKU FLX-SKU123, order line L1, fulfillment request "
        f"FR-ORD-C3-1): NetSuite created Purchase Order {po['id']} though flx asked for none "
        "(the line is served from stock (warehouse MAIN))")
    assert row["status"] == "sent" and not row["remote_ids"].get("purchase_orders")


def test_read_back_pairs_lines_by_item_when_netsuite_inserts_lines(
        workspace: Workspace) -> None:
    _switch(workspace, insert_lines=True)
    rows = _send(workspace, exploded_order("ORD-C4"))
    row = rows["ORD-C4"]
    so = workspace.by_external_id("salesOrder", "ORD-C4")
    numbers = {ln["item"]["refName"]: ln["line"] for ln in so["item"]["items"]}
    assert list(numbers) == ["GIFT-WRAP", "VA-SKU123", "FLX-SKU123"]  # one line inserted
    planned = {p["sku"]: p["line"] for p in row["remote_ids"]["lines"]}
    assert planned == {"VA-SKU123": numbers["VA-SKU123"], "FLX-SKU123": numbers["FLX-SKU123"]}
    po_id = so["item"]["items"][2]["createdPo"]["id"]
    assert row["remote_ids"]["purchase_orders"] == {"FR-ORD-C4-2": po_id}
    assert row["warnings"] == []
    # The vendor's parcel fulfils the drop-ship line, not the inserted one or the stock one.
    shipment = {"id": "SH-C4", "order_id": "ORD-C4", "fulfillment_request_id": "FR-ORD-C4-2",
                "shipped_at": "2026-11-21T10:00:00Z", "tracking_number": "1Z999",
                "items": [{"sku": "FLX-SKU123", "quantity": 2}]}
    shipped = workspace.import_and_run("send-shipments", 0, shipments=[shipment])
    assert shipped["SH-C4"]["status"] == "sent"
    so = workspace.by_external_id("salesOrder", "ORD-C4")
    assert [ln["quantityFulfilled"] for ln in so["item"]["items"]] == [0, 0, 2]


# -- inactive records ---------------------------------------------------------------------------


def test_an_sku_matching_only_an_inactive_item_is_an_error_naming_it(
        workspace: Workspace) -> None:
    retired = order("ORD-I1", [line("L1", "SKU-RETIRED", 1, "12.00")],
                    [internal("FR-I1", "MAIN", ("L1", "SKU-RETIRED", 1, "5.00"))])
    rows = _send(workspace, retired, code=3)
    row = rows["ORD-I1"]
    assert row["status"] == "failed"
    assert "SKU 'SKU-RETIRED' matches only inactive NetSuite item 512 (SKU-RETIRED)" in \
        row["message"]
    assert "reactivate item 512" in row["hint"]
    assert workspace.records("salesOrder") == []


def test_a_customer_matching_only_an_inactive_one_is_an_error_naming_it(
        workspace: Workspace) -> None:
    rita = internal_order("ORD-I2", customer=person("Rita", "Retired", "rita@example.com"))
    rows = _send(workspace, rita, code=3)
    row = rows["ORD-I2"]
    assert row["status"] == "failed"
    assert "matches only inactive NetSuite customer 110 (Retired Customer)" in row["message"]
    assert "reactivate customer 110" in row["hint"]
    assert len(workspace.records("customer")) == 3  # none created


def test_an_inactive_duplicate_is_ignored_for_the_active_customer(workspace: Workspace) -> None:
    seed = load_default_seed()
    seed["records"]["customer"].insert(0, {
        "id": "100", "entityId": "Jane Doe (old)", "isPerson": True, "firstName": "Jane",
        "lastName": "Doe", "email": "jane@example.com", "subsidiary": {"id": "1"},
        "currency": {"id": "1"}, "isInactive": True})
    workspace.emulator = Emulator(seed)
    rows = _send(workspace, internal_order("ORD-I3"))
    assert rows["ORD-I3"]["remote_ids"]["customer"] == "107"  # not the older, inactive 100


def test_netsuite_refuses_an_inactive_vendor(workspace: Workspace) -> None:
    workspace.profile["tables"]["vendors"]["V-A"] = "204"  # Vendor D, inactive
    rows = _send(workspace, exploded_order("ORD-I4"), code=3)
    row = rows["ORD-I4"]
    assert row["status"] == "failed"
    assert "Invalid Field Value 204 for the following field: povendor" in row["message"]
    assert "tables.vendors" in row["hint"]


# -- customers with only an e-mail --------------------------------------------------------------


@pytest.mark.parametrize(("address_name", "expected", "source"), [
    ("Sam Lee", ("Sam", "Lee"), "the shipping address's name 'Sam Lee'"),
    (None, ("Sam", "Lee"), "the e-mail 'sam.lee@example.com'"),
])
def test_a_customer_with_only_an_email_gets_a_name_and_says_so(
        workspace: Workspace, address_name: str | None, expected: tuple[str, str],
        source: str) -> None:
    ordered = internal_order("ORD-N1", customer=person("", "", "sam.lee@example.com"))
    ordered["shipping_address"]["name"] = address_name
    ordered["billing_address"]["name"] = None
    rows = _send(workspace, ordered)
    row = rows["ORD-N1"]
    created = next(c for c in workspace.records("customer")
                   if c.get("email") == "sam.lee@example.com")
    assert (created["firstName"], created["lastName"]) == expected
    assert row["warnings"] == [
        f"the customer has no first and last name, so the new NetSuite customer is named "
        f"{expected[0]} {expected[1]} (from {source}); correct it in NetSuite if that is wrong"]


@pytest.mark.parametrize("null_create_po", ["clears", "ignored"])
def test_explicit_po_mode_reports_a_second_po_netsuite_made(workspace: Workspace,
                                                            null_create_po: str) -> None:
    _switch(workspace, null_create_po=null_create_po)
    workspace.profile["options"]["dropship_mode"] = "explicit_po"
    row = _send(workspace, exploded_order("ORD-C5"))["ORD-C5"]
    explicit = workspace.by_external_id("purchaseOrder", "ORD-C5__FR-ORD-C5-2")
    assert row["remote_ids"]["purchase_orders"] == {"FR-ORD-C5-2": explicit["id"]}
    generated = [po for po in workspace.records("purchaseOrder") if po["id"] != explicit["id"]]
    if null_create_po == "clears":
        assert generated == [] and row["warnings"] == []
        return
    (warning,) = row["warnings"]
    assert f"NetSuite created Purchase Order {generated[0]['id']} though flx asked for none " \
           "(flx creates this request's Purchase Order itself (explicit_po))" in warning
