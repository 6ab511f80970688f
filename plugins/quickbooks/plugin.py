"""The QuickBooks Online connector, registered through the `flx` entry-point group. Until core
dispatches to Connector objects, the operation hooks below hand each QuickBooks connection's
work to the connector object (and answer nothing for other connections)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from flx import CheckResult, Connection, RecordResult, RegisterConnector, Runtime, hookimpl

from .connector import NAME, quickbooks_connector

CONNECTOR = quickbooks_connector()


def _mine(connection: Connection) -> bool:
    return connection.plugin == NAME


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    register(CONNECTOR)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from .authorize import add_commands

    add_commands(app)


@hookimpl
def send_orders(connection: Connection, orders: Sequence[dict[str, Any]],
                runtime: Runtime) -> list[RecordResult] | None:
    return CONNECTOR.send("send-orders", orders, runtime) if _mine(connection) else None


@hookimpl
def send_shipments(connection: Connection, shipments: Sequence[dict[str, Any]],
                   runtime: Runtime) -> list[RecordResult] | None:
    return CONNECTOR.send("send-shipments", shipments, runtime) if _mine(connection) else None


@hookimpl
def send_vendor_bills(connection: Connection, vendor_bills: Sequence[dict[str, Any]],
                      runtime: Runtime) -> list[RecordResult] | None:
    return CONNECTOR.send("send-vendor-bills", vendor_bills, runtime) if _mine(connection) \
        else None


@hookimpl
def render_payloads(operation: str, connection: Connection, record: dict[str, Any],
                    runtime: Runtime) -> list[dict[str, Any]] | None:
    return CONNECTOR.render(operation, record, runtime) if _mine(connection) else None


@hookimpl
def test_connection(connection: Connection, runtime: Runtime,
                    deep: bool) -> list[CheckResult] | None:
    return CONNECTOR.check(runtime, deep) if _mine(connection) else None
