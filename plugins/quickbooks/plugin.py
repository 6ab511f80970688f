"""The QuickBooks Online connector, registered through the `flx` entry-point group. Each hook
answers only for connections whose `plugin = "quickbooks"`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import typer

from flx import (
    CheckResult,
    Connection,
    Connector,
    RecordResult,
    RegisterConnector,
    Runtime,
    hookimpl,
)

from .payloads import payload_schemas
from .settings import CONNECTION_SCHEMA, MAPPING_SCHEMA

NAME = "quickbooks"


def _mine(connection: Connection) -> bool:
    return connection.plugin == NAME


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    register(Connector(
        name=NAME,
        description="Intuit QuickBooks Online (Accounting API v3, OAuth 2.0)",
        connection_schema=CONNECTION_SCHEMA,
        operations=("send-orders", "send-shipments", "send-vendor-bills"),
        templates_package="flx_quickbooks",
        payload_schemas=payload_schemas(),
        mappings_package="flx_quickbooks.mappings",
        extra={"display_name": "QuickBooks Online", "env_prefix": "QBO"},
        mapping_schema=MAPPING_SCHEMA,
    ))


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from .authorize import add_commands

    add_commands(app)


@hookimpl
def send_orders(connection: Connection, orders: Sequence[dict[str, Any]],
                runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    from .orders import send_orders as send

    return send(runtime, list(orders))


@hookimpl
def send_shipments(connection: Connection, shipments: Sequence[dict[str, Any]],
                   runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    from .shipments import send_shipments as send

    return send(runtime, list(shipments))


@hookimpl
def send_vendor_bills(connection: Connection, vendor_bills: Sequence[dict[str, Any]],
                      runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    from .bills import send_vendor_bills as send

    return send(runtime, list(vendor_bills))


@hookimpl
def render_payloads(operation: str, connection: Connection, record: dict[str, Any],
                    runtime: Runtime) -> list[dict[str, Any]] | None:
    if not _mine(connection):
        return None
    from .render import render_record

    return render_record(runtime, operation, record)


@hookimpl
def test_connection(connection: Connection, runtime: Runtime,
                    deep: bool) -> list[CheckResult] | None:
    if not _mine(connection):
        return None
    from .checks import check_connection

    return check_connection(runtime)
