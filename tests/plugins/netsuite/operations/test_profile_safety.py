"""Nothing unsafe reaches NetSuite by default: `--dry-run`, `flx render` and `flx connections
test` load the mapping profile (unknown keys, template syntax) and warn about every warehouse,
vendor, channel and ship method the waiting records use and the profile's tables lack."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Workspace
from .test_shipments_flow import make_order


def gappy_order(order_id: str) -> dict[str, Any]:
    order = make_order(order_id, [("SKU001", 1), ("FLX-SKU123", 1)], requests=[
        {"id": f"{order_id}-FR1", "type": "internal", "warehouse": "NORTH",
         "items": [("L1", "SKU001", 1)]},
        {"id": f"{order_id}-FR2", "type": "external", "vendor": {"id": "V-NEW", "name": "New"},
         "items": [("L2", "FLX-SKU123", 1, "7.00")]}])
    order["channel"] = "ebay"
    order["shipping"] = {**(order.get("shipping") or {}), "method": "Teleport"}
    return order


def test_dry_run_warns_about_every_entry_the_profile_lacks(workspace: Workspace) -> None:
    ws = workspace
    code, output = ws.import_records(orders=[gappy_order("ORD-9001"), gappy_order("ORD-9002")])
    assert code == 0, output
    report = ws.run("send-orders", "--dry-run")
    notes = "\n".join(report["notes"])
    for what, table in (("warehouse 'NORTH'", "locations"), ("vendor 'V-NEW'", "vendors"),
                        ("channel 'ebay'", "channels"), ("ship method 'Teleport'",
                                                         "ship_methods")):
        assert f"{what} is not in tables.{table} (2 record(s) waiting: ORD-9001, ORD-9002)" \
            in notes, notes
        assert f"under tables.{table} in the mapping profile" in notes
    assert notes.count("mapping profile demo") == 4  # which profile, named on each
    assert ws.records("salesOrder") == []

    # The table view says them too, and the real run refuses the order before any write.
    code, text = ws.flx("run", "send-orders", "--connection", "ns", "--dry-run")
    assert "warehouse 'NORTH' is not in tables.locations" in " ".join(text.split())
    real = ws.run("send-orders")
    assert real["exit_code"] == 3
    assert ws.records("salesOrder") == []


def test_render_names_the_profile_and_the_records_gaps(workspace: Workspace) -> None:
    ws = workspace
    ws.import_records(orders=[gappy_order("ORD-9003")])
    code, output = ws.flx("render", "send-orders", "--connection", "ns", "--id", "ORD-9003")
    said = " ".join(output.split())
    assert "ORD-9003: mapping profile demo (" in said
    assert "channel 'ebay' is not in tables.channels" in said
    assert "ship method 'Teleport' is not in tables.ship_methods" in said


def test_connections_test_fails_on_unknown_keys_template_errors_and_gaps(
        workspace: Workspace) -> None:
    ws = workspace
    code, output = ws.flx("connections", "test", "ns")
    assert code == 0, output
    assert "send-orders mapping profile  demo" in output

    ws.import_records(orders=[gappy_order("ORD-9004")])
    code, output = ws.flx("connections", "test", "ns", "--json")
    assert code == 1
    checks = {c["name"]: c for c in json.loads(output[output.index("{"):])["checks"]}
    gap = checks["send-orders: the profile covers the records waiting to be sent"]
    assert not gap["ok"] and "warehouse 'NORTH'" in gap["detail"]
    assert checks["send-shipments mapping profile"]["ok"]

    ws.profile["options"]["shipp_status"] = "C"  # a typo'd key
    code, output = ws.flx("connections", "test", "ns")
    assert code == 1
    said = " ".join(output.split())
    assert "✗ send-orders mapping profile" in said and "shipp_status" in said

    del ws.profile["options"]["shipp_status"]
    templates = ws.path / "overrides"
    templates.mkdir()
    (templates / "salesOrder.json.j2").write_text('{"memo": "{{ order.id "}\n')
    ws.profile["templates"] = str(templates)
    code, output = ws.flx("connections", "test", "ns")
    assert code == 1
    said = " ".join(output.split())
    assert "✗ send-orders mapping profile" in said
    assert "salesOrder.json.j2 cannot be compiled" in said and "line 1" in said


def test_netsuite_picking_the_location_is_a_profile_choice(workspace: Workspace) -> None:
    ws = workspace
    ws.profile["options"]["line_location"] = "netsuite"
    ws.import_records(orders=[make_order("ORD-9005", [("SKU001", 1)], requests=[
        {"id": "ORD-9005-FR1", "type": "internal", "warehouse": "NORTH",
         "items": [("L1", "SKU001", 1)]}])])
    report = ws.run("send-orders", "--dry-run")
    assert not any("NORTH" in n for n in report["notes"])
    report = ws.run("send-orders")
    assert report["exit_code"] == 0, report["rows"]
    so = ws.by_external_id("salesOrder", "ORD-9005")
    assert [ln.get("location") for ln in so["item"]["items"]] == [None]
