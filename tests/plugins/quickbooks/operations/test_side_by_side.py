"""A NetSuite and a QuickBooks connection side by side: one flx.toml, one store, the same
orders sent to both, each system getting only its own connection's writes."""

from __future__ import annotations

import json

import httpx
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx_netsuite.emulator import Emulator as NetSuite
from flx_netsuite.emulator import EmulatorTransport as NetSuiteTransport
from flx_quickbooks.emulator import EmulatorTransport

from .conftest import Workspace, order


class ByHost(httpx.BaseTransport):
    def __init__(self, netsuite: httpx.BaseTransport, quickbooks: httpx.BaseTransport) -> None:
        self.netsuite, self.quickbooks = netsuite, quickbooks

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.host.endswith("netsuite.com"):
            return self.netsuite.handle_request(request)
        return self.quickbooks.handle_request(request)


def test_both_connections_from_one_config_and_one_store(workspace: Workspace) -> None:
    netsuite = NetSuite()
    names = list(netsuite.credential_env())
    for name, value in netsuite.credential_env().items():
        workspace.monkeypatch.setenv(name, value)
    config = workspace.write_config()
    config.write_text(config.read_text() + "\n".join([
        "", "[connections.ns]", 'plugin = "netsuite"', 'account_id = "1234567_SB1"',
        f'client_id = "${{{names[0]}}}"', f'client_secret = "${{{names[1]}}}"',
        f'token_id = "${{{names[2]}}}"', f'token_secret = "${{{names[3]}}}"',
        'base_url = "https://1234567-sb1.suitetalk.api.netsuite.com"', "",
        "[connections.ns.operations.send-orders]", 'mapping = "demo"', ""]))
    data = workspace.path / "orders.json"
    data.write_text(json.dumps({"orders": [order("1001", ("SKU001", 2, "9.95"))]}))
    transport = ByHost(NetSuiteTransport(netsuite), EmulatorTransport(workspace.emulator))

    def flx(*args: str) -> str:
        result = CliRunner().invoke(build_app(transport=transport),
                                    ["--config", str(config), *args])
        assert result.exit_code == 0, result.output
        return result.output

    flx("import", str(data))
    flx("run", "send-orders", "--connection", "qb")
    flx("run", "send-orders", "--connection", "ns")
    assert len(workspace.objects("SalesReceipt")) == 1
    assert len(netsuite.records("salesOrder")) == 1
    status = flx("status", "--json")
    assert "qb" in status and "ns" in status
    flx("run", "send-orders", "--connection", "qb")
    assert len(workspace.objects("SalesReceipt")) == 1
