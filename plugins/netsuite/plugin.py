"""The NetSuite connector, registered through the `flx` entry-point group. Each hook answers
only for connections whose `plugin = "netsuite"`."""

from __future__ import annotations

import json
from collections.abc import Sequence
from importlib import resources
from typing import Any

import typer

from flx import (
    CheckResult,
    Connection,
    Connector,
    FlxError,
    PermissionDeniedError,
    RecordResult,
    RegisterConnector,
    Runtime,
    hookimpl,
)
from flx_netsuite.common import PAYLOADS, payload_schema

NAME = "netsuite"


def _mine(connection: Connection) -> bool:
    return connection.plugin == NAME


def connection_schema() -> dict[str, Any]:
    text = resources.files("flx_netsuite").joinpath("schemas/connection.schema.json")
    return json.loads(text.read_text())


def _profile_gaps(operation: str, profile: dict[str, Any], records: Any) -> list[str]:
    from flx_netsuite.profile_gaps import profile_gaps

    return profile_gaps(operation, profile, records)


def _emulator_starter(env: Any) -> Any:
    from flx_netsuite.emulator.cli import init_starter

    return init_starter(env)


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    register(Connector(
        name=NAME,
        description="Oracle NetSuite (SuiteTalk REST, token-based authentication)",
        connection_schema=connection_schema(),
        operations=("send-orders", "send-shipments", "send-vendor-bills"),
        templates_package="flx_netsuite",
        payload_schemas={f"{name}.json.j2": payload_schema(name) for name in PAYLOADS},
        mappings_package="flx_netsuite.mappings",
        extra={"display_name": "NetSuite", "env_prefix": "NS",
               "emulator_starter": _emulator_starter, "profile_gaps": _profile_gaps},
        mapping_schema=json.loads(resources.files("flx_netsuite")
                                  .joinpath("schemas/mapping.schema.json").read_text()),
    ))


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from flx_netsuite.demo import add_demo_command
    from flx_netsuite.emulator.cli import add_emulator_command

    add_emulator_command(app)
    add_demo_command(app)


@hookimpl
def send_orders(connection: Connection, orders: Sequence[dict[str, Any]],
                runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    from flx_netsuite.orders import send_orders as send

    return send(runtime, list(orders))


@hookimpl
def send_shipments(connection: Connection, shipments: Sequence[dict[str, Any]],
                   runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    from flx_netsuite.shipments import send_shipments as send

    return send(runtime, list(shipments))


@hookimpl
def send_vendor_bills(connection: Connection, vendor_bills: Sequence[dict[str, Any]],
                      runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    from flx_netsuite.bills import send_vendor_bills as send

    return send(runtime, list(vendor_bills))


@hookimpl
def render_payloads(operation: str, connection: Connection, record: dict[str, Any],
                    runtime: Runtime) -> list[dict[str, Any]] | None:
    if not _mine(connection):
        return None
    from flx_netsuite.bills import render_vendor_bill
    from flx_netsuite.orders import render_order
    from flx_netsuite.shipments import render_shipment

    renderers = {"send-orders": render_order, "send-shipments": render_shipment,
                 "send-vendor-bills": render_vendor_bill}
    return renderers[operation](runtime, record)


# What `flx connections test` reads, and the role permission each read needs (reference page,
# Phase 1).
PERMISSION_CHECKS = (
    ("customer", "Lists > Customers"),
    ("item", "Lists > Items"),
    ("vendor", "Lists > Vendors"),
    ("location", "Lists > Locations"),
    ("transaction", "Transactions > Sales Order / Purchase Order / Item Fulfillment"),
)


@hookimpl
def test_connection(connection: Connection, runtime: Runtime,
                    deep: bool) -> list[CheckResult] | None:
    if not _mine(connection):
        return None
    from flx_netsuite.client import NetSuiteClient
    from flx_netsuite.connection import NetSuiteSettings

    try:
        settings = NetSuiteSettings.from_connection(connection)
    except FlxError as err:
        return [CheckResult("settings", False, err.message, err.hint or "")]
    kind = "sandbox" if settings.is_sandbox else "production"
    checks = [CheckResult("settings", True,
                          f"account {settings.realm} ({kind}), endpoint {settings.base_url}")]
    client = NetSuiteClient.from_runtime(runtime)
    try:
        client.suiteql("SELECT id FROM customer ORDER BY id", page_size=1, max_rows=1)
        checks.append(CheckResult("login (token-based authentication, REST web services)", True,
                                  "NetSuite accepted the signed request"))
    except FlxError as err:
        checks.append(CheckResult("login (token-based authentication, REST web services)", False,
                                  err.message, err.hint or ""))
        return checks
    for table, permission in PERMISSION_CHECKS:
        try:
            client.suiteql(f"SELECT id FROM {table} ORDER BY id", page_size=1, max_rows=1)
            checks.append(CheckResult(f"read {table} records", True, ""))
        except PermissionDeniedError as err:
            checks.append(CheckResult(f"read {table} records", False, err.message,
                                      f"give the integration role the '{permission}' permission"))
        except FlxError as err:
            checks.append(CheckResult(f"read {table} records", False, err.message,
                                      err.hint or ""))
    if deep:
        from flx_netsuite.probe import deep_checks

        try:
            checks += deep_checks(client, runtime.profile or {})
        except FlxError as err:
            checks.append(CheckResult("account behaviour (--deep)", False, err.message,
                                      err.hint or ""))
    return checks
