"""Shipment weights end to end (the CLI against the emulator): packages that add up exactly to
the items' weight, and each fulfillment line's weight in the template context for overrides
(the bundled template sends none on lines: no NetSuite line field for it is verified)."""

from __future__ import annotations

import json
from decimal import Decimal
from importlib import resources
from typing import Any

import httpx

from flx_netsuite.emulator import EmulatorTransport

from .conftest import Workspace
from .test_shipments_flow import make_order, make_shipment, send_orders
from .test_shipments_golden import items_of, packages_of, render_shipment

# The override documented in docs/netsuite-operations.md (send-shipments, Tracking): the
# shipped line's quantity, plus one line that adds the weight to a custom column.
QUANTITY = '     "quantity": {{ line.quantity | json }}\n'
OVERRIDE = QUANTITY + ('     {%- if line.weight %}, "custcol_ship_weight": '
                       '{{ line.weight | json }}{% endif %}\n')


def weights(ws: Workspace, shipment_id: str) -> list[tuple[str, float]]:
    record = ws.by_external_id("itemFulfillment", shipment_id)
    return [(p["packageTrackingNumber"], float(p["packageWeight"]))
            for p in record["package"]["items"]]


def total(packages: list[tuple[str, float]]) -> Decimal:
    return sum((Decimal(str(w)) for _, w in packages), Decimal(0))


def override(ws: Workspace, addition: str = OVERRIDE) -> None:
    original = resources.files("flx_netsuite").joinpath(
        "templates/itemFulfillment.json.j2").read_text()
    assert QUANTITY in original
    (ws.path / "overrides").mkdir()
    (ws.path / "overrides" / "itemFulfillment.json.j2").write_text(
        original.replace(QUANTITY, addition))
    ws.profile["templates"] = "overrides"


def two_main_lines(order_id: str) -> dict[str, Any]:
    """SKU001 x 3 routed as two requests of the same warehouse: two Sales Order lines (1 and
    2 units) at one location, which a shipment naming no request takes in line order."""
    return make_order(order_id, [("SKU001", 3, 0.5)], requests=[
        {"id": "FR-A", "type": "internal", "warehouse": "MAIN", "items": [("L1", "SKU001", 1)]},
        {"id": "FR-B", "type": "internal", "warehouse": "MAIN", "items": [("L1", "SKU001", 2)]}])


def test_shared_weight_over_three_parcels_adds_up_to_the_items_weight(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8101", [("SKU001", 5, 0.8)]))
    rows = workspace.import_and_run("send-shipments", 0, shipments=[make_shipment(
        "SHP-8101", "ORD-8101", [("SKU001", 5)], tracking=["T-1", "T-2", "T-3"])])
    assert rows["SHP-8101"]["status"] == "sent"
    # 5 x 0.8 = 4.0 lb: 1.33 + 1.33 + 1.34, not 3 x 1.33 = 3.99.
    packages = weights(workspace, "SHP-8101")
    assert packages == [("T-1", 1.33), ("T-2", 1.33), ("T-3", 1.34)]
    assert total(packages) == Decimal("4.00")


def test_an_items_weight_over_its_own_parcels_adds_up_too(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8102", [("SKU001", 1), ("SKU002", 2, 0.5)]))
    payloads = render_shipment(workspace, make_shipment("SHP-8102", "ORD-8102", [
        {"sku": "SKU001", "quantity": 1, "weight": 2, "tracking_numbers": ["P-1", "P-2", "P-3"]},
        {"sku": "SKU002", "quantity": 2, "tracking_numbers": ["P-3"]},
    ], tracking=["P-4", "P-5", "P-6"]))
    # SKU001's 2 lb over P-1..P-3 (the remainder on P-3, which also holds SKU002's 1 lb);
    # P-4..P-6 hold no item of their own and get the default weight.
    assert packages_of(payloads) == [("P-1", 0.66), ("P-2", 0.66), ("P-3", 1.68),
                                     ("P-4", 0.1), ("P-5", 0.1), ("P-6", 0.1)]


def test_the_bundled_template_puts_no_weight_on_fulfillment_lines(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8103", [("SKU001", 2, 0.8)]))
    payloads = render_shipment(workspace, make_shipment(
        "SHP-8103", "ORD-8103", [("SKU001", 2)], tracking=["T-1"]))
    assert items_of(payloads) == [
        {"orderLine": 1, "itemReceive": True, "quantity": 2, "location": {"id": "1"}}]
    assert packages_of(payloads) == [("T-1", 1.6)]


def test_an_override_puts_each_lines_shipped_weight_on_the_line(
        workspace: Workspace) -> None:
    override(workspace, QUANTITY + (
        '     {%- if line.weight %}, "custcol_ship_weight": {{ line.weight | json }}, '
        '"custcol_shipped_sku": {{ line.item.sku | json }}{% endif %}\n'))
    send_orders(workspace, make_order("ORD-8104", [("SKU001", 2, 0.8), ("SKU002", 1),
                                                   ("SKU003", 1, 1.25)]))
    payloads = render_shipment(workspace, make_shipment("SHP-8104", "ORD-8104", [
        ("SKU001", 2), {"sku": "SKU002", "quantity": 1, "weight": 0.4}]))
    # SKU001: 2 x 0.8 from the order; SKU002: the shipment's 0.4; SKU003 ships nothing.
    assert items_of(payloads) == [
        {"orderLine": 1, "itemReceive": True, "quantity": 2, "custcol_ship_weight": 1.6,
         "custcol_shipped_sku": "SKU001", "location": {"id": "1"}},
        {"orderLine": 4, "itemReceive": True, "quantity": 1, "custcol_ship_weight": 0.4,
         "custcol_shipped_sku": "SKU002", "location": {"id": "1"}},
        {"orderLine": 7, "itemReceive": False}]


def test_the_documented_override_splits_an_items_weight_over_its_lines(
        workspace: Workspace) -> None:
    override(workspace)
    send_orders(workspace, two_main_lines("ORD-8105"))
    payloads = render_shipment(workspace, make_shipment(
        "SHP-8105", "ORD-8105", [{"sku": "SKU001", "quantity": 3, "weight": 2}],
        tracking=["T-1"]))
    # 2 lb over 1 + 2 units: 0.66 and 1.34, the remainder on the last line.
    assert [(i["orderLine"], i["quantity"], i["custcol_ship_weight"])
            for i in items_of(payloads)] == [(1, 1, 0.66), (4, 2, 1.34)]
    assert packages_of(payloads) == [("T-1", 2.0)]


class Recording(httpx.BaseTransport):
    """The emulator, keeping the body of every Item Fulfillment transform sent."""

    def __init__(self, inner: EmulatorTransport) -> None:
        self.inner = inner
        self.fulfillments: list[dict[str, Any]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/!transform/itemFulfillment"):
            self.fulfillments.append(json.loads(request.read()))
        return self.inner.handle_request(request)


def test_run_sends_the_line_weight_an_override_adds(workspace: Workspace) -> None:
    # The emulator takes custom column values as text only, hence `| string`.
    override(workspace, QUANTITY + ('     {%- if line.weight %}, "custcol_ship_weight": '
                                    '{{ line.weight | string | json }}{% endif %}\n'))
    workspace.emulator.custom_column = workspace.emulator.custom_column | {
        "custcol_ship_weight"}
    send_orders(workspace, two_main_lines("ORD-8106"))
    workspace.import_records(shipments=[make_shipment(
        "SHP-8106", "ORD-8106", [("SKU001", 3)], tracking=["T-1", "T-2", "T-3"])])
    transport = Recording(EmulatorTransport(workspace.emulator))
    report = workspace.run("send-shipments", transport=transport)
    assert workspace.rows(report)["SHP-8106"]["status"] == "sent", report
    [body] = transport.fulfillments
    assert [(i["orderLine"], i.get("custcol_ship_weight")) for i in body["item"]["items"]] == [
        (1, "0.5"), (4, "1.0")]
    assert weights(workspace, "SHP-8106") == [("T-1", 0.5), ("T-2", 0.5), ("T-3", 0.5)]
