"""The hooks a plugin may implement. Core calls them with keyword arguments only, never at
import time. `send_*`, `render_payloads` and `test_connection` are firstresult: each
implementation returns None unless `connection.plugin` names its own connector."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from flx.model import CheckResult, Connection, RecordResult, RegisterConnector
    from flx.run.runtime import Runtime

hookspec = pluggy.HookspecMarker("flx")
hookimpl = pluggy.HookimplMarker("flx")  # re-exported as flx.hookimpl


@hookspec
def register_connectors(register: RegisterConnector) -> None:
    """Called once when the plugin manager is built. Call `register(Connector(...))` for each
    accounting system the plugin connects to; core validates what arrives."""


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Called when the CLI is built. Add extra commands to the typer `app`."""


@hookspec(firstresult=True)
def send_orders(connection: Connection, orders: Sequence[dict[str, Any]],
                runtime: Runtime) -> list[RecordResult] | None:
    """Send a batch of eligible orders. Return one RecordResult per order, or None when
    `connection` belongs to another plugin. Called once per batch during `flx run send-orders`."""


@hookspec(firstresult=True)
def send_shipments(connection: Connection, shipments: Sequence[dict[str, Any]],
                   runtime: Runtime) -> list[RecordResult] | None:
    """Send a batch of eligible shipments (their order already sent). One result each, or None."""


@hookspec(firstresult=True)
def send_vendor_bills(connection: Connection, vendor_bills: Sequence[dict[str, Any]],
                      runtime: Runtime) -> list[RecordResult] | None:
    """Send a batch of eligible vendor bills. One result each, or None."""


@hookspec(firstresult=True)
def render_payloads(operation: str, connection: Connection, record: dict[str, Any],
                    runtime: Runtime) -> list[dict[str, Any]] | None:
    """Return the exact payloads `operation` would send for `record`, as
    [{"name": ..., "method": ..., "path": ..., "body": {...}}], sending nothing but
    read-only lookups. None when `connection` belongs to another plugin."""


@hookspec(firstresult=True)
def test_connection(connection: Connection, runtime: Runtime,
                    deep: bool) -> list[CheckResult] | None:
    """Check credentials, permissions and reachability with read-only calls. Return one
    CheckResult per check, or None when `connection` belongs to another plugin. With `deep`
    (`flx connections test --deep`), also probe how the account behaves, read-only, using
    `runtime.profile`; an implementation may leave `deep` out of its parameters."""


@hookspec
def run_finished(report: dict[str, Any], connection: Connection, config: Any) -> None:
    """Called after every `flx run` (and scheduled run) with the run's JSON report and the
    loaded flx.toml (flx.config.load.Config; an implementation may leave it out of its
    signature). For alerts; must not raise (an exception is logged and ignored)."""
