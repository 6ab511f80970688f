"""Golden Item Fulfillment payloads: `flx render send-shipments` output compared with the files
in tests/fixtures/golden/shipments/, so that every change to the template or to the line
matching shows up in review as a diff of what NetSuite would receive.

Regenerating: after an intended change, run

    FLX_UPDATE_GOLDEN=1 .venv/bin/pytest tests/plugins/netsuite/operations -k golden

which rewrites the files instead of comparing; review the diff (`git diff tests/fixtures`)
before committing it. Without the variable a missing or different file fails the test.
`assert_golden` is shared with the vendor-bill golden tests.
"""

from __future__ import annotations

import difflib
import json
import os
from pathlib import Path
from typing import Any

from .conftest import Workspace
from .test_shipments_flow import make_order, make_shipment, send_orders

GOLDEN_ROOT = Path(__file__).resolve().parents[3] / "fixtures" / "golden"
UPDATE_ENV = "FLX_UPDATE_GOLDEN"


def _text(payloads: Any) -> str:
    return json.dumps(payloads, indent=2, ensure_ascii=False) + "\n"


def assert_golden(folder: str, name: str, payloads: Any) -> None:
    """Compare `payloads` with tests/fixtures/golden/<folder>/<name>.json (or rewrite the file
    when FLX_UPDATE_GOLDEN=1)."""
    path = GOLDEN_ROOT / folder / f"{name}.json"
    actual = _text(payloads)
    if os.environ.get(UPDATE_ENV) == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(actual)
        return
    assert path.exists(), (f"no golden file {path}; create it with {UPDATE_ENV}=1 and review it")
    expected = path.read_text()
    if json.loads(expected) != json.loads(actual):
        diff = "".join(difflib.unified_diff(
            expected.splitlines(keepends=True), actual.splitlines(keepends=True),
            fromfile=f"golden/{folder}/{name}.json", tofile="rendered"))
        raise AssertionError(f"payload differs from the golden file "
                             f"(rerun with {UPDATE_ENV}=1 if intended):\n{diff}")


def render(ws: Workspace, operation: str, record_id: str) -> list[dict[str, Any]]:
    code, output = ws.flx("render", operation, "--connection", "ns", "--id", record_id)
    assert code == 0, output
    # The payloads (stdout); warnings of stderr come first in the runner's combined output.
    payloads = json.loads(output[output.index("\n[") + 1:] if not output.startswith("[")
                          else output)
    assert isinstance(payloads, list)
    return payloads


def render_shipment(ws: Workspace, shipment: dict[str, Any]) -> list[dict[str, Any]]:
    code, output = ws.import_records(shipments=[shipment])
    assert code == 0, output
    return render(ws, "send-shipments", shipment["id"])


def items_of(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return payloads[0]["body"]["item"]["items"]


def packages_of(payloads: list[dict[str, Any]]) -> list[tuple[str, float]]:
    return [(p["packageTrackingNumber"], p["packageWeight"])
            for p in payloads[0]["body"]["package"]["items"]]


def test_single_shipment_the_reference_pages_first_fulfillment(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8001", [("SKU001", 1, 0.8), ("SKU002", 1, 0.8)]))
    payloads = render_shipment(workspace, make_shipment(
        "SHP-8001-1", "ORD-8001", [("SKU001", 1)], tracking=["123"], carrier="UPS",
        method="Ground"))
    assert items_of(payloads) == [
        {"orderLine": 1, "itemReceive": True, "quantity": 1, "location": {"id": "1"}},
        {"orderLine": 4, "itemReceive": False}]
    assert packages_of(payloads) == [("123", 0.8)]
    assert_golden("shipments", "single", payloads)
    # Rendering sends nothing.
    assert workspace.records("itemFulfillment") == []


def test_second_shipment_lists_only_what_is_still_open(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8002", [("SKU001", 1, 0.8), ("SKU002", 1, 0.8)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-8002-1", "ORD-8002", [("SKU001", 1)], tracking=["123"])])
    assert workspace.run("send-shipments")["counts"]["sent"] == 1
    payloads = render_shipment(workspace, make_shipment(
        "SHP-8002-2", "ORD-8002", [("SKU002", 1)], tracking=["234"]))
    assert items_of(payloads) == [
        {"orderLine": 4, "itemReceive": True, "quantity": 1, "location": {"id": "1"}}]
    assert_golden("shipments", "second_of_two", payloads)


def test_multi_tracking_numbers_share_the_shipments_weight(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8003", [("SKU001", 2, 0.8), ("SKU002", 1, 0.8)]))
    payloads = render_shipment(workspace, make_shipment(
        "SHP-8003", "ORD-8003", [("SKU001", 2), ("SKU002", 1)], carrier="FedEx",
        tracking=["794644790132", "794644790143", "794644790154"]))
    # 3 units x 0.8 lb over three parcels.
    assert packages_of(payloads) == [
        ("794644790132", 0.8), ("794644790143", 0.8), ("794644790154", 0.8)]
    assert_golden("shipments", "multi_tracking", payloads)


def test_per_item_tracking_numbers_go_with_their_items(workspace: Workspace) -> None:
    send_orders(workspace, make_order(
        "ORD-8004", [("SKU001", 2, 0.8), ("SKU002", 1, 0.5), ("SKU003", 1, 1.0)]))
    payloads = render_shipment(workspace, make_shipment("SHP-8004", "ORD-8004", [
        {"sku": "SKU001", "quantity": 2, "tracking_numbers": ["1Z-A"]},
        {"sku": "SKU002", "quantity": 1, "tracking_numbers": ["1Z-B", "1Z-C"]},
        {"sku": "SKU003", "quantity": 1, "tracking_numbers": ["1Z-A"]},
    ], tracking=["1Z-A", "1Z-D"], carrier="UPS"))
    # 1Z-A holds SKU001 and SKU003 (1.6 + 1.0 lb); SKU002 is split over its two parcels; the
    # shipment-level 1Z-D holds no item of its own and gets the default weight.
    assert packages_of(payloads) == [("1Z-A", 2.6), ("1Z-B", 0.25), ("1Z-C", 0.25),
                                     ("1Z-D", 0.1)]
    descriptions = [p["packageDescr"] for p in payloads[0]["body"]["package"]["items"]]
    assert descriptions[0] == "SKU001 x 2, SKU003 x 1"
    assert_golden("shipments", "per_item_tracking", payloads)


def test_exploded_sku_lines_the_fulfillment_request_picks_the_line(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-8005", [("SKU001", 3, 1.5)], requests=[
        {"id": "FR-MAIN", "type": "internal", "warehouse": "MAIN",
         "items": [("L1", "SKU001", 1)]},
        {"id": "FR-EAST", "type": "internal", "warehouse": "EAST",
         "items": [("L1", "SKU001", 2)]}]))
    east = render_shipment(workspace, make_shipment(
        "SHP-8005-E", "ORD-8005", [("SKU001", 2)], tracking=["E-1"],
        fulfillment_request_id="FR-EAST"))
    assert items_of(east) == [
        {"orderLine": 1, "itemReceive": False},
        {"orderLine": 4, "itemReceive": True, "quantity": 2, "location": {"id": "2"}}]
    assert_golden("shipments", "exploded_fr_east", east)
    main = render_shipment(workspace, make_shipment(
        "SHP-8005-M", "ORD-8005", [("SKU001", 1)], tracking=["M-1"],
        fulfillment_request_id="FR-MAIN"))
    assert items_of(main) == [
        {"orderLine": 1, "itemReceive": True, "quantity": 1, "location": {"id": "1"}},
        {"orderLine": 4, "itemReceive": False}]
    assert_golden("shipments", "exploded_fr_main", main)


def test_weights_from_the_shipment_then_the_order_then_the_default(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order(
        "ORD-8006", [("SKU001", 2, 0.75), ("SKU002", 1), ("SKU003", 3, 0.2)]))
    payloads = render_shipment(workspace, make_shipment("SHP-8006", "ORD-8006", [
        {"sku": "SKU001", "quantity": 2, "weight": 2.4, "tracking_numbers": ["W-1"]},
        {"sku": "SKU003", "quantity": 3, "tracking_numbers": ["W-2"]},
        {"sku": "SKU002", "quantity": 1, "tracking_numbers": ["W-3"]},
    ], carrier="UPS", method="2-Day"))
    # W-1: the shipment says 2.4 lb; W-2: 3 x 0.2 lb from the order; W-3: nothing known, so
    # options.default_package_weight (NetSuite may refuse a package without a weight).
    assert packages_of(payloads) == [("W-1", 2.4), ("W-2", 0.6), ("W-3", 0.1)]
    assert payloads[0]["body"]["shipMethod"] == {"id": "4"}
    assert_golden("shipments", "weights", payloads)
