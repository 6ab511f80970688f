"""The NetSuite connector: what core calls for every connection with `plugin = "netsuite"`.

Its modules are imported when a method runs, not with this one: `flx --help` and the other
commands start without loading the NetSuite client, templates and emulator."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from flx import (
    CheckResult,
    Connection,
    Connector,
    FlxError,
    PermissionDeniedError,
    RecordResult,
    Runtime,
)
from flx_netsuite.common import PAYLOADS, payload_schema
from flx_netsuite.rules import RULES

NAME = "netsuite"

# What `flx connections test` reads, and the role permission each read needs (reference page,
# Phase 1).
PERMISSION_CHECKS = (
    ("customer", "Lists > Customers"),
    ("item", "Lists > Items"),
    ("vendor", "Lists > Vendors"),
    ("location", "Lists > Locations"),
    ("transaction", "Transactions > Sales Order / Purchase Order / Item Fulfillment"),
)

# remote id key (RecordResult.remote_ids) -> the page showing that record in NetSuite's UI
RECORD_PAGES = {
    "sales_order": "app/accounting/transactions/salesord.nl",
    "cash_sale": "app/accounting/transactions/cashsale.nl",
    "item_fulfillment": "app/accounting/transactions/itemship.nl",
    "purchase_order": "app/accounting/transactions/purchord.nl",
    "vendor_bill": "app/accounting/transactions/vendbill.nl",
    "customer": "app/common/entity/custjob.nl",
    "vendor": "app/common/entity/vendor.nl",
}


def _json(path: str) -> dict[str, Any]:
    return dict(json.loads(resources.files("flx_netsuite").joinpath(path).read_text()))


def connection_schema() -> dict[str, Any]:
    return _json("schemas/connection.schema.json")


def _emulator_starter(env: Any) -> Any:
    from flx_netsuite.emulator.cli import init_starter

    return init_starter(env)


class NetSuiteConnector(Connector):
    """Oracle NetSuite through SuiteTalk REST with token-based authentication."""

    def send(self, operation: str, records: Sequence[dict[str, Any]],
             runtime: Runtime) -> list[RecordResult]:
        if operation == "send-orders":
            from flx_netsuite.orders import send_orders

            return send_orders(runtime, list(records))
        if operation == "send-shipments":
            from flx_netsuite.shipments import send_shipments

            return send_shipments(runtime, list(records))
        if operation == "send-vendor-bills":
            from flx_netsuite.bills import send_vendor_bills

            return send_vendor_bills(runtime, list(records))
        return super().send(operation, records, runtime)

    def render(self, operation: str, record: dict[str, Any],
               runtime: Runtime) -> list[dict[str, Any]]:
        from flx_netsuite.bills import render_vendor_bill
        from flx_netsuite.orders import render_order
        from flx_netsuite.shipments import render_shipment

        renderers = {"send-orders": render_order, "send-shipments": render_shipment,
                     "send-vendor-bills": render_vendor_bill}
        if operation not in renderers:
            return super().render(operation, record, runtime)
        return renderers[operation](runtime, record)

    def check(self, runtime: Runtime, deep: bool = False) -> list[CheckResult]:
        from flx_netsuite.client import NetSuiteClient
        from flx_netsuite.connection import NetSuiteSettings

        try:
            settings = NetSuiteSettings.from_connection(runtime.connection)
        except FlxError as err:
            return [CheckResult("settings", False, err.message, err.hint or "")]
        kind = "sandbox" if settings.is_sandbox else "production"
        checks = [CheckResult("settings", True,
                              f"account {settings.realm} ({kind}), endpoint {settings.base_url}")]
        client = NetSuiteClient.from_runtime(runtime)
        login = "login (token-based authentication, REST web services)"
        try:
            client.suiteql("SELECT id FROM customer ORDER BY id", page_size=1, max_rows=1)
            checks.append(CheckResult(login, True, "NetSuite accepted the signed request"))
        except FlxError as err:
            checks.append(CheckResult(login, False, err.message, err.hint or ""))
            return checks
        for table, permission in PERMISSION_CHECKS:
            try:
                client.suiteql(f"SELECT id FROM {table} ORDER BY id", page_size=1, max_rows=1)
                checks.append(CheckResult(f"read {table} records", True, ""))
            except PermissionDeniedError as err:
                checks.append(CheckResult(
                    f"read {table} records", False, err.message,
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

    def profile_gaps(self, operation: str, profile: Mapping[str, Any],
                     records: Iterable[dict[str, Any]]) -> list[str]:
        from flx_netsuite.profile_gaps import profile_gaps

        return profile_gaps(operation, dict(profile), records)

    def record_url(self, record_type: str, remote_id: str, connection: Connection) -> str | None:
        """The record's page on https://ACCOUNT.app.netsuite.com; None for a connection to
        another host (the emulator has no UI) or a record type without a page."""
        from flx_netsuite.connection import normalize_account_id

        page = RECORD_PAGES.get(record_type)
        base_url = str(connection.settings.get("base_url") or "")
        if page is None or not str(remote_id).isdigit():
            return None
        if base_url and not (urlsplit(base_url).hostname or "").endswith(".netsuite.com"):
            return None
        try:
            account = normalize_account_id(connection.settings.get("account_id"))
        except ValueError:
            return None
        host = account.lower().replace("_", "-")
        return f"https://{host}.app.netsuite.com/{page}?id={remote_id}"


def netsuite_connector() -> NetSuiteConnector:
    return NetSuiteConnector(
        name=NAME,
        description="Oracle NetSuite (SuiteTalk REST, token-based authentication)",
        connection_schema=connection_schema(),
        operations=("send-orders", "send-shipments", "send-vendor-bills"),
        templates_package="flx_netsuite",
        payload_schemas={f"{name}.json.j2": payload_schema(name) for name in PAYLOADS},
        mappings_package="flx_netsuite.mappings",
        extra={"display_name": "NetSuite", "env_prefix": "NS",
               "emulator_starter": _emulator_starter},
        mapping_schema=_json("schemas/mapping.schema.json"),
        rules=RULES,
    )
