"""The bundled demo data (what `flx quickbooks demo` runs) end to end through the CLI."""

from __future__ import annotations

import json
from importlib import resources

from typer.testing import CliRunner

from flx.cli.main import build_app
from flx_quickbooks.demo import demo_config

from .conftest import Workspace


def test_demo_data_flows_into_quickbooks_and_a_rerun_creates_nothing(
        workspace: Workspace) -> None:
    data = json.loads(resources.files("flx_quickbooks").joinpath("data/demo.json").read_text())
    workspace.import_records(**data)
    orders = workspace.run("send-orders")
    assert orders["exit_code"] == 3 and orders["by_id"]["ORD-1003"]["status"] == "failed"
    assert "GHOST-404" in orders["by_id"]["ORD-1003"]["message"]
    assert orders["by_id"]["ORD-1002"]["remote_ids"]["purchase_order"].count(",") == 1
    assert workspace.run("send-shipments")["exit_code"] == 0
    assert workspace.run("send-vendor-bills")["exit_code"] == 0
    assert sorted(b["DocNumber"] for b in workspace.objects("Bill")) == ["INV-5001",
                                                                         "INV-5002"]
    writes = len(workspace.emulator.writes())
    workspace.run("send-orders")
    assert len(workspace.emulator.writes()) == writes


def test_the_demo_command_and_its_config() -> None:
    text = demo_config("http://127.0.0.1:9")
    assert 'api_url = "http://127.0.0.1:9"' in text and "${QBO_CLIENT_SECRET}" in text
    result = CliRunner().invoke(build_app(), ["quickbooks", "demo", "--help"])
    assert result.exit_code == 0 and "emulator" in result.output
