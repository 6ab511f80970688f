"""Item Fulfillments on accounts that differ where netsuite-rest.md §10 is UNCERTAIN, each
reading through the emulator's switches: drop-ship lines fulfilled through the Sales Order or
the Purchase Order (options.dropship_fulfillment), carrier package sublists
(tables.package_sublists), fields the account lacks (options.omit_fields)."""

from __future__ import annotations

from typing import Any

import pytest

from flx_netsuite.emulator import Emulator
from flx_netsuite.emulator.behaviour import Behaviour

from .conftest import Workspace
from .test_orders_support import exploded_order, json_output
from .test_shipments_flow import make_shipment
from .test_shipments_golden import assert_golden


def _sent_order(ws: Workspace, order_id: str, **switches: Any) -> dict[str, Any]:
    ws.emulator = Emulator(behaviour=Behaviour(**switches))
    rows = ws.import_and_run("send-orders", 0, orders=[exploded_order(order_id)])
    return rows[order_id]


def _vendor_parcel(order_id: str) -> dict[str, Any]:
    return make_shipment("SH-V", order_id, [("FLX-SKU123", 2)], tracking=["1ZVENDOR"],
                         fulfillment_request_id=f"FR-{order_id}-2")


def _stock_parcel(order_id: str, **extra: Any) -> dict[str, Any]:
    return make_shipment("SH-S", order_id, [("VA-SKU123", 1)], tracking=["1ZSTOCK"],
                         fulfillment_request_id=f"FR-{order_id}-1", **extra)


def _render(ws: Workspace, shipment_id: str) -> dict[str, Any]:
    code, output = ws.flx("render", "send-shipments", "--connection", "ns", "--id",
                          shipment_id)
    assert code == 0, output
    (entry,) = json_output(output)
    return entry


@pytest.mark.parametrize("reading", ["sales_order", "purchase_order"])
def test_drop_ship_lines_are_fulfilled_the_way_the_option_says(workspace: Workspace,
                                                               reading: str) -> None:
    order = _sent_order(workspace, "ORD-F1", dropship_fulfillment=reading)
    po_id = order["remote_ids"]["purchase_orders"]["FR-ORD-F1-2"]
    so_id = order["remote_ids"]["sales_order"]
    workspace.profile["options"]["dropship_fulfillment"] = reading
    code, output = workspace.import_records(shipments=[_vendor_parcel("ORD-F1"),
                                                       _stock_parcel("ORD-F1")])
    assert code == 0, output
    vendor, stock = _render(workspace, "SH-V"), _render(workspace, "SH-S")
    assert_golden("shipments", f"dropship_via_{reading}", [vendor, stock])
    if reading == "purchase_order":
        assert vendor["path"].endswith(f"/purchaseOrder/{po_id}/!transform/itemFulfillment")
        assert vendor["body"]["item"]["items"] == [
            {"orderLine": 1, "itemReceive": True, "quantity": 2}]  # the PO's line
        # NetSuite puts the drop-ship line on the PO's fulfillment, not on this one.
        assert [ln["orderLine"] for ln in stock["body"]["item"]["items"]] == [1]
    else:
        assert vendor["path"].endswith(f"/salesOrder/{so_id}/!transform/itemFulfillment")
        assert [ln["orderLine"] for ln in stock["body"]["item"]["items"]] == [1, 4]
    report = workspace.run("send-shipments")
    assert report["exit_code"] == 0, report
    so = workspace.emulator.record("salesOrder", so_id)
    assert so is not None
    assert [ln["quantityFulfilled"] for ln in so["item"]["items"]] == [1, 2]
    po = workspace.emulator.record("purchaseOrder", po_id)
    assert po is not None and po["trackingNumbers"] == "1ZVENDOR"


def test_the_other_reading_is_refused_by_netsuite_with_its_words(workspace: Workspace) -> None:
    """flx fulfilling through the Sales Order on an account that wants Mark Shipped on the
    PO: NetSuite's refusal reaches the user (`flx connections test --deep` finds it first)."""
    _sent_order(workspace, "ORD-F2", dropship_fulfillment="purchase_order")
    rows = workspace.import_and_run("send-shipments", 3, shipments=[_vendor_parcel("ORD-F2")])
    assert "mark it shipped on its purchase order" in rows["SH-V"]["message"]


@pytest.mark.parametrize("carrier", [False, True])
def test_tracking_goes_in_the_carrier_sublist_the_table_names(workspace: Workspace,
                                                              carrier: bool) -> None:
    _sent_order(workspace, "ORD-F3", carrier_ship_methods={"3": "packageUps"} if carrier
                else {})
    if carrier:
        workspace.profile["tables"]["package_sublists"] = {"UPS": "packageUps"}
    parcel = _stock_parcel("ORD-F3", carrier="UPS", method="Ground")
    code, output = workspace.import_records(shipments=[parcel])
    assert code == 0, output
    if carrier:
        assert_golden("shipments", "carrier_ups", [_render(workspace, "SH-S")])
    report = workspace.run("send-shipments")
    assert report["exit_code"] == 0, report
    rows = workspace.rows(report)
    fulfillment = workspace.emulator.record("itemFulfillment",
                                            rows["SH-S"]["remote_ids"]["item_fulfillment"])
    assert fulfillment is not None
    if carrier:
        assert not (fulfillment.get("package") or {}).get("items")
        (package,) = fulfillment["packageUps"]["items"]
        assert package["packageTrackingNumberUps"] == "1ZSTOCK"
        assert float(package["packageWeightUps"]) > 0
    else:
        assert fulfillment["package"]["items"][0]["packageTrackingNumber"] == "1ZSTOCK"
    so = workspace.emulator.record("salesOrder", rows["SH-S"]["remote_ids"]["sales_order"])
    assert so is not None and so["linkedTrackingNumbers"] == "1ZSTOCK"


def test_plain_package_on_a_carrier_ship_method_is_refused(workspace: Workspace) -> None:
    _sent_order(workspace, "ORD-F4", carrier_ship_methods={"3": "packageUps"})
    parcel = _stock_parcel("ORD-F4", carrier="UPS", method="Ground")
    rows = workspace.import_and_run("send-shipments", 3, shipments=[parcel])
    assert "put the packages in packageUps" in rows["SH-S"]["message"]


@pytest.mark.parametrize("omitted", [False, True])
def test_a_field_the_account_lacks_is_left_out_when_the_profile_says(
        workspace: Workspace, omitted: bool) -> None:
    _sent_order(workspace, "ORD-F5", missing_features=frozenset({"pickpackship"}))
    if omitted:
        workspace.profile["options"]["omit_fields"] = ["shipStatus"]
    code, output = workspace.import_records(shipments=[_stock_parcel("ORD-F5")])
    assert code == 0, output
    assert ("shipStatus" in _render(workspace, "SH-S")["body"]) is not omitted
    report = workspace.run("send-shipments")
    assert report["exit_code"] == (0 if omitted else 3)
    row = workspace.rows(report)["SH-S"]
    if omitted:
        assert row["status"] == "sent"
    else:
        assert row["status"] == "failed"
        assert "shipStatus" in row["message"]


def test_service_and_charge_lines_are_not_listed_on_a_fulfillment(workspace: Workspace) -> None:
    from .test_orders_support import internal, line, order

    sold = order("ORD-F6", [line("L1", "SKU001", 1, "12.50"), line("L2", "SETUP-FEE", 1, "15.00"),
                            line("L3", "INSURANCE", 1, "2.50")],
                 [internal("FR-F6", "MAIN", ("L1", "SKU001", 1, "4.00"),
                           ("L2", "SETUP-FEE", 1, "0"), ("L3", "INSURANCE", 1, "0"))])
    workspace.import_and_run("send-orders", 0, orders=[sold])
    parcel = make_shipment("SH-F6", "ORD-F6", [("SKU001", 1)], tracking=["1ZF6"],
                           fulfillment_request_id="FR-F6")
    code, output = workspace.import_records(shipments=[parcel])
    assert code == 0, output
    # Only the SKU001 line: NetSuite puts no service or other-charge line on a fulfillment
    # (the emulator refuses one listed even with itemReceive false).
    assert _render(workspace, "SH-F6")["body"]["item"]["items"] == [
        {"orderLine": 1, "itemReceive": True, "quantity": 1, "location": {"id": "1"}}]
    report = workspace.run("send-shipments")
    assert report["exit_code"] == 0, report
    so = workspace.by_external_id("salesOrder", "ORD-F6")
    assert so["status"]["refName"] == "Pending Billing"  # fully fulfilled: nothing else ships
