"""Which fulfillment request a shipment fulfils when one SKU sits on lines of several.

A shipment that names no fulfillment_request_id for a SKU on both stock (warehouse) and
drop-ship (vendor) lines cannot be told apart: line order would fulfil the warehouse's stock
line for the vendor's parcel and report it sent. It is refused before anything is sent, with
the requests to choose from. Between two warehouses line order still decides (documented
rule); when NetSuite refuses what it chose, the hint says to give the shipment its request."""

from __future__ import annotations

from typing import Any

import pytest

from .conftest import Workspace
from .test_shipments_flow import (
    fulfilled,
    fulfillment_lines,
    make_order,
    make_shipment,
    sales_order,
    send_orders,
)

VENDOR_A = {"id": "V-A", "name": "Vendor A"}


def split_order(order_id: str, warehouse_sku: str) -> dict[str, Any]:
    """FLX-SKU123 x 3: 1 from warehouse MAIN (as `warehouse_sku`), 2 drop-shipped by V-A."""
    return make_order(order_id, [("FLX-SKU123", 3)], requests=[
        {"id": "FR-J1", "type": "internal", "warehouse": "MAIN",
         "items": [("L1", warehouse_sku, 1)]},
        {"id": "FR-J2", "type": "external", "vendor": VENDOR_A,
         "items": [("L1", "FLX-SKU123", 2, "9.00")]}])


@pytest.mark.parametrize("sku_level", ["order", "po"])
def test_a_vendors_parcel_without_its_request_is_refused_not_fulfilled_from_stock(
        workspace: Workspace, sku_level: str) -> None:
    workspace.profile["sku_level"] = sku_level
    # Order level: both lines carry FLX-SKU123. PO level: the stock line is VA-SKU123, and
    # the order's SKU FLX-SKU123 still names both lines.
    send_orders(workspace, split_order(
        "ORD-7901", "FLX-SKU123" if sku_level == "order" else "VA-SKU123"))
    workspace.import_records(shipments=[
        make_shipment("SH-J1", "ORD-7901", [("FLX-SKU123", 2)], tracking=["V-1"])])

    preview = workspace.run("send-shipments", "--dry-run")
    assert workspace.rows(preview)["SH-J1"]["error_class"] == "data"
    report = workspace.run("send-shipments")
    assert report["exit_code"] == 3
    row = workspace.rows(report)["SH-J1"]
    assert row["status"] == "failed" and row["error_class"] == "data", row
    assert "SKU FLX-SKU123 is on both stock and drop-ship lines of Sales Order SO" \
        in row["message"]
    assert "line 1: stock, fulfillment request FR-J1, warehouse MAIN" in row["message"]
    assert "line 4: drop-ship, fulfillment request FR-J2, Vendor A" in row["message"]
    assert "names no fulfillment_request_id" in row["message"]
    assert "nothing was sent" in row["message"]
    assert row["hint"] == ("give the shipment its fulfillment_request_id (FR-J1 or FR-J2) at "
                           "the source and re-import it")
    assert workspace.records("itemFulfillment") == []
    assert "POST salesOrder/!transform/itemFulfillment" not in \
        workspace.emulator.stats()["routes"]

    # The fix it names: the vendor's request. Only the drop-ship line is fulfilled.
    workspace.import_records(shipments=[
        make_shipment("SH-J1", "ORD-7901", [("FLX-SKU123", 2)], tracking=["V-1"],
                      fulfillment_request_id="FR-J2")])
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SH-J1"]["status"] == "sent", report["rows"]
    assert fulfillment_lines(workspace, "SH-J1") == [(4, "FLX-SKU123", 2)]
    stock = "FLX-SKU123" if sku_level == "order" else "VA-SKU123"
    assert fulfilled(sales_order(workspace, "ORD-7901")) == [
        (stock, 1, 0), ("FLX-SKU123", 2, 2)]


def test_an_order_line_id_shared_by_both_requests_does_not_choose(
        workspace: Workspace) -> None:
    workspace.profile["sku_level"] = "order"
    send_orders(workspace, split_order("ORD-7902", "FLX-SKU123"))
    workspace.import_records(shipments=[make_shipment(
        "SH-J2", "ORD-7902", [{"sku": "FLX-SKU123", "quantity": 1, "order_line_id": "L1"}],
        tracking=["V-2"])])
    row = workspace.rows(workspace.run("send-shipments"))["SH-J2"]
    assert row["error_class"] == "data" and "both stock and drop-ship" in row["message"], row
    assert workspace.records("itemFulfillment") == []


def test_a_request_of_the_order_on_none_of_the_skus_lines_does_not_choose_either(
        workspace: Workspace) -> None:
    workspace.profile["sku_level"] = "order"
    order = split_order("ORD-7903", "FLX-SKU123")
    order["lines"].append({"id": "L2", "sku": "SKU002", "title": "Item SKU002",
                           "quantity": 1, "unit_price": "10.00"})
    order["fulfillment_requests"].append(
        {"id": "FR-J3", "type": "internal", "warehouse": "EAST",
         "items": [{"order_line_id": "L2", "sku": "SKU002", "quantity": 1}]})
    send_orders(workspace, order)
    workspace.import_records(shipments=[make_shipment(
        "SH-J3", "ORD-7903", [("FLX-SKU123", 1)], tracking=["V-3"],
        fulfillment_request_id="FR-J3")])
    row = workspace.rows(workspace.run("send-shipments"))["SH-J3"]
    assert row["error_class"] == "data", row
    assert "its fulfillment_request_id FR-J3 is on none of them" in row["message"]
    assert "(FR-J1 or FR-J2)" in row["hint"]
    assert workspace.records("itemFulfillment") == []


def test_the_warehouse_sku_alone_names_one_line_and_ships(workspace: Workspace) -> None:
    # PO level: VA-SKU123 is on the stock line only, so no request id is needed.
    send_orders(workspace, split_order("ORD-7904", "VA-SKU123"))
    workspace.import_records(shipments=[
        make_shipment("SH-J4", "ORD-7904", [("VA-SKU123", 1)], tracking=["W-4"])])
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SH-J4"]["status"] == "sent", report["rows"]
    assert report["requests"] == 2
    assert fulfillment_lines(workspace, "SH-J4") == [(1, "VA-SKU123", 1)]


def two_warehouses(order_id: str) -> dict[str, Any]:
    return make_order(order_id, [("SKU001", 3)], requests=[
        {"id": "FR-B1", "type": "internal", "warehouse": "MAIN", "items": [("L1", "SKU001", 1)]},
        {"id": "FR-B2", "type": "internal", "warehouse": "EAST", "items": [("L1", "SKU001", 2)]}])


def test_netsuite_refusing_lines_chosen_by_line_order_says_to_name_the_request(
        workspace: Workspace) -> None:
    send_orders(workspace, two_warehouses("ORD-7905"))
    workspace.import_records(shipments=[
        make_shipment("SH-B1", "ORD-7905", [("SKU001", 3)], tracking=["B-1"])])
    report = workspace.run("send-shipments")
    row = workspace.rows(report)["SH-B1"]
    assert row["status"] == "failed" and row["error_class"] == "rejected", row
    # NetSuite's own words are kept; the fix is the shipment's request, not "what the detail
    # says".
    assert "shipped from only one location" in row["message"]
    assert "fix what the detail says" not in row["hint"]
    assert ("the shipment names no fulfillment_request_id, so flx took its units from the "
            "lines of fulfillment requests FR-B1 and FR-B2 in line order") in row["hint"]
    assert "give the shipment its fulfillment_request_id (FR-B1 or FR-B2)" in row["hint"]
    assert workspace.records("itemFulfillment") == []

    # Following it: one shipment per warehouse, each naming its request.
    workspace.import_records(shipments=[
        make_shipment("SH-B1", "ORD-7905", [("SKU001", 1)], tracking=["B-1"],
                      fulfillment_request_id="FR-B1"),
        make_shipment("SH-B2", "ORD-7905", [("SKU001", 2)], tracking=["B-2"],
                      fulfillment_request_id="FR-B2")])
    report = workspace.run("send-shipments")
    assert report["counts"]["sent"] == 2, report["rows"]
    assert fulfillment_lines(workspace, "SH-B1") == [(1, "SKU001", 1)]
    assert fulfillment_lines(workspace, "SH-B2") == [(4, "SKU001", 2)]


def test_between_two_warehouses_line_order_still_decides(workspace: Workspace) -> None:
    send_orders(workspace, two_warehouses("ORD-7906"))
    workspace.import_records(shipments=[
        make_shipment("SH-B3", "ORD-7906", [("SKU001", 1)], tracking=["B-3"])])
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SH-B3"]["status"] == "sent", report["rows"]
    assert fulfillment_lines(workspace, "SH-B3") == [(1, "SKU001", 1)]
