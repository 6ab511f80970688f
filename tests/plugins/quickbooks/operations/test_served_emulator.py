"""The emulator served on a real loopback socket: flx reaches it over HTTP with the URLs
`flx quickbooks emulator` prints, and sends an order."""

from __future__ import annotations

from typer.testing import CliRunner

from flx.cli.main import build_app
from flx_quickbooks.emulator import run_server

from .conftest import Workspace, order


def test_an_order_over_a_real_socket(workspace: Workspace) -> None:
    with run_server(workspace.emulator) as base:
        workspace.settings.update(api_url=base, token_url=f"{base}/oauth2/v1/tokens/bearer")
        workspace.import_records(orders=[order("1001", ("SKU001", 1, "9.95"))])
        config = workspace.write_config()
        result = CliRunner().invoke(build_app(), ["--config", str(config), "run",
                                                  "send-orders", "--connection", "qb"])
        assert result.exit_code == 0, result.output
    assert len(workspace.objects("SalesReceipt")) == 1


def test_the_emulator_command_prints_a_working_connection() -> None:
    from flx_quickbooks.emulator.cli import connection_lines

    text = connection_lines("http://127.0.0.1:9", "RT-x")
    assert 'api_url = "http://127.0.0.1:9"' in text and "--refresh-token RT-x" in text
    result = CliRunner().invoke(build_app(), ["quickbooks", "emulator", "--help"])
    assert result.exit_code == 0 and "loopback" in result.output
