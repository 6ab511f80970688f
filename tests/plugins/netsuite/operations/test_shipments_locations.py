"""Where a fulfillment's stock lines ship from: the Sales Order line's location, else the
fulfillment request's warehouse mapped through tables.locations (as send-orders maps it).
Starts from the profile `flx init` points at (the shipped `default`, tables.locations empty):
such an order is refused before anything is sent; with options.line_location = "netsuite" it
goes out without locations and must become shippable by adding the warehouse to the table,
and a line with no location anywhere fails with both ways to fix it."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import pytest

from .conftest import Workspace
from .test_shipments_flow import make_order, make_shipment, send_orders


@pytest.fixture
def default_profile(workspace: Workspace) -> Workspace:
    """The workspace with the shipped default profile, as `flx init` configures it."""
    text = resources.files("flx_netsuite.mappings").joinpath("default.json").read_text()
    profile: dict[str, Any] = json.loads(text)
    assert profile["tables"]["locations"] == {}
    workspace.profile = profile
    return workspace


@pytest.fixture
def netsuite_picks(default_profile: Workspace) -> Workspace:
    """The default profile, saying NetSuite picks each line's location."""
    default_profile.profile["options"]["line_location"] = "netsuite"
    return default_profile


def test_the_default_profile_refuses_an_order_with_no_location(
        default_profile: Workspace) -> None:
    ws = default_profile
    code, output = ws.import_records(orders=[make_order("ORD-7600", [("SKU001", 1)])])
    assert code == 0, output
    dry = ws.run("send-orders", "--dry-run")
    report = ws.run("send-orders")
    for run in (dry, report):
        row = ws.rows(run)["ORD-7600"]
        assert row["status"] == "failed" and row["error_class"] == "reference", row
        assert "warehouse 'MAIN' of fulfillment request ORD-7600-FR1 has no NetSuite " \
               "location" in row["message"]
        assert '"MAIN": "<location internal id>" under tables.locations' in row["hint"]
        assert 'options.line_location = "netsuite"' in row["hint"]
    assert ws.records("salesOrder") == []


def so_locations(ws: Workspace, order_id: str) -> list[Any]:
    so = ws.by_external_id("salesOrder", order_id)
    return [ln.get("location") for ln in so["item"]["items"]]


def if_locations(ws: Workspace, shipment_id: str) -> list[str]:
    record = ws.by_external_id("itemFulfillment", shipment_id)
    return [ln["location"]["id"] for ln in record["item"]["items"]]


def test_an_order_sent_without_locations_ships_once_the_warehouse_is_mapped(
        netsuite_picks: Workspace) -> None:
    ws = netsuite_picks
    send_orders(ws, make_order("ORD-7601", [("SKU001", 2), ("SKU002", 1)]))
    assert so_locations(ws, "ORD-7601") == [None, None]  # empty table: no location sent
    ws.import_records(shipments=[
        make_shipment("SHP-7601", "ORD-7601", [("SKU001", 2)], tracking=["1Z1"])])

    report = ws.run("send-shipments")
    assert report["exit_code"] == 3
    row = ws.rows(report)["SHP-7601"]
    assert row["status"] == "failed" and row["error_class"] == "rejected"
    # The Sales Order, its line and the warehouse, and NetSuite's own words.
    assert "line 1 of Sales Order SO" in row["message"]
    assert "fulfillment request ORD-7601-FR1, warehouse 'MAIN'" in row["message"]
    assert "Inventory Location" in row["message"]
    # Both ways out, and how to send it again.
    assert "set the location of line 1 on Sales Order SO" in row["hint"]
    assert '"MAIN": "<location internal id>" under tables.locations' in row["hint"]
    assert "`flx retry SHP-7601`" in row["hint"]
    assert ws.records("itemFulfillment") == []

    # The fix the message names: map the warehouse, retry. The Sales Order is unchanged.
    ws.profile["tables"]["locations"] = {"MAIN": "1"}
    code, output = ws.flx("retry", "SHP-7601")
    assert code == 0, output
    again = ws.run("send-shipments")
    assert again["exit_code"] == 0, again["rows"]
    assert ws.rows(again)["SHP-7601"]["status"] == "sent"
    assert if_locations(ws, "SHP-7601") == ["1"]
    assert so_locations(ws, "ORD-7601") == [None, None]


def test_render_previews_the_location_the_table_gives(netsuite_picks: Workspace) -> None:
    ws = netsuite_picks
    send_orders(ws, make_order("ORD-7602", [("SKU001", 1)]))
    ws.import_records(shipments=[make_shipment("SHP-7602", "ORD-7602", [("SKU001", 1)])])
    ws.profile["tables"]["locations"] = {"MAIN": "2"}
    code, output = ws.flx("render", "send-shipments", "--connection", "ns", "--id", "SHP-7602")
    assert code == 0, output
    body = json.loads(output[output.index("["):])[0]["body"]
    assert body["item"]["items"] == [
        {"orderLine": 1, "itemReceive": True, "quantity": 1, "location": {"id": "2"}}]


def test_a_warehouse_missing_from_a_non_empty_table_fails_before_anything_is_sent(
        netsuite_picks: Workspace) -> None:
    ws = netsuite_picks
    send_orders(ws, make_order("ORD-7603", [("SKU001", 1)]))
    ws.import_records(shipments=[make_shipment("SHP-7603", "ORD-7603", [("SKU001", 1)])])
    ws.profile["tables"]["locations"] = {"EAST": "2"}  # MAIN is not mapped

    report = ws.run("send-shipments")
    row = ws.rows(report)["SHP-7603"]
    assert row["status"] == "failed" and row["error_class"] == "reference", row
    assert "line 1 of Sales Order SO" in row["message"]
    assert "warehouse 'MAIN' of fulfillment request ORD-7603-FR1 has no entry in " \
           "tables.locations" in row["message"]
    assert "set the location of line 1" in row["hint"] and "tables.locations" in row["hint"]
    assert "`flx retry SHP-7603`" in row["hint"]
    assert report["requests"] == 1  # the Sales Order read; no transform was tried
    assert ws.records("itemFulfillment") == []


def test_the_sales_order_lines_own_location_wins_over_the_table(workspace: Workspace) -> None:
    # The demo profile maps MAIN to 1: the order goes out with location 1 on its line.
    send_orders(workspace, make_order("ORD-7604", [("SKU001", 1)]))
    assert [loc["id"] for loc in so_locations(workspace, "ORD-7604")] == ["1"]
    workspace.profile["tables"]["locations"] = {"MAIN": "2"}  # changed since
    workspace.import_records(shipments=[
        make_shipment("SHP-7604", "ORD-7604", [("SKU001", 1)])])
    report = workspace.run("send-shipments")
    assert report["exit_code"] == 0, report["rows"]
    assert if_locations(workspace, "SHP-7604") == ["1"]


def test_dropship_lines_need_no_location(default_profile: Workspace) -> None:
    ws = default_profile
    ws.profile["tables"]["vendors"] = {"V-A": "201"}
    order = make_order("ORD-7605", [("FLX-SKU123", 1)], requests=[
        {"id": "FR-V", "type": "external", "vendor": {"id": "V-A", "name": "Vendor A"},
         "items": [("L1", "FLX-SKU123", 1, "7.00")]}])
    send_orders(ws, order)
    ws.import_records(shipments=[
        make_shipment("SHP-7605", "ORD-7605", [("FLX-SKU123", 1)], tracking=["9"],
                      fulfillment_request_id="FR-V")])
    report = ws.run("send-shipments")
    assert report["exit_code"] == 0, report["rows"]
    assert ws.rows(report)["SHP-7605"]["status"] == "sent"
