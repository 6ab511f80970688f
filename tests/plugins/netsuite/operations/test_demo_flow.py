"""The bundled demo data end to end through the CLI: what NetSuite holds afterwards."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Workspace


def test_demo_data_flows_into_netsuite_and_a_rerun_creates_nothing(
        workspace: Workspace, data: dict[str, Any]) -> None:
    code, output = workspace.import_records(**data)
    assert code == 0, output
    orders = workspace.run("send-orders")
    assert orders["exit_code"] == 3  # ORD-1004 names an unknown SKU
    rows = workspace.rows(orders)
    assert rows["ORD-1004"]["status"] == "failed"
    assert "GHOST-404" in rows["ORD-1004"]["message"]
    assert {rows[o]["status"] for o in ("ORD-1001", "ORD-1002", "ORD-1003")} == {"sent"}

    assert workspace.run("send-shipments")["exit_code"] == 0
    assert workspace.run("send-vendor-bills")["exit_code"] == 0

    so = workspace.by_external_id("salesOrder", "ORD-1001")
    assert so["status"]["refName"] == "Pending Billing"  # both shipments fulfilled it
    exploded = workspace.by_external_id("salesOrder", "ORD-1002")
    lines = exploded["item"]["items"]
    assert [(ln["item"]["refName"], ln["quantity"]) for ln in lines] == [
        ("VA-SKU123", 1), ("FLX-SKU123", 2)]
    po_id = lines[1]["createdPo"]["id"]
    po = next(p for p in workspace.records("purchaseOrder") if p["id"] == po_id)
    assert po["createdFrom"]["id"] == exploded["id"]

    # Every write is kept under the record it was made for: `flx show` lists them.
    code, text = workspace.flx("show", "ORD-1002", "--json")
    assert code == 0, text
    view = json.loads(text)
    assert [(w["method"], w["path"].rsplit("/", 1)[-1]) for w in view["writes"]] == [
        ("POST", "salesOrder"), ("POST", "customer")]
    assert view["writes"][0]["remote_id"] == exploded["id"]
    assert view["sync"][0]["remote_ids"]["sales_order"] == exploded["id"]
    code, text = workspace.flx("show", "SHP-1", "--json")
    [write] = json.loads(text)["writes"]
    assert write["path"].endswith(f"salesOrder/{so['id']}/!transform/itemFulfillment")

    before = workspace.emulator.stats()["records"]
    for op in ("send-orders", "send-shipments", "send-vendor-bills"):
        workspace.run(op)
    assert workspace.emulator.stats()["records"] == before
    assert workspace.emulator.stats()["duplicate_external_ids"] == 0


def test_no_netsuite_secret_in_any_output_or_the_database(
        workspace: Workspace, data: dict[str, Any]) -> None:
    secrets = list(workspace.emulator.credential_env().values())
    outputs = [workspace.import_records(**data)[1]]
    for op in ("send-orders", "send-shipments", "send-vendor-bills"):
        outputs.append(workspace.flx("run", op, "--connection", "ns", "--json")[1])
        outputs.append(workspace.flx("run", op, "--connection", "ns")[1])
    for command in (("status", "--json"), ("errors", "--json"), ("runs", "--json"),
                    ("connections", "list"), ("connections", "test", "ns")):
        outputs.append(workspace.flx(*command)[1])
    database = b"".join(p.read_bytes() for p in workspace.path.glob("flx.db*"))  # + WAL
    for secret in secrets:
        assert all(secret not in text for text in outputs)
        assert secret.encode() not in database
