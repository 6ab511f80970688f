"""The QuickBooks Online connector object: its declaration and the three things core asks of
it (send a batch, render a record's payloads, check the connection)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from flx import AuthorizeRequest, CheckResult, Connector, RecordResult, Runtime

from .payloads import payload_schemas
from .settings import CONNECTION_SCHEMA, MAPPING_SCHEMA

NAME = "quickbooks"
OPERATIONS = ("send-orders", "send-shipments", "send-vendor-bills")


class QuickBooksConnector(Connector):
    def send(self, operation: str, records: Sequence[dict[str, Any]],
             runtime: Runtime) -> list[RecordResult]:
        if operation == "send-orders":
            from .orders import send_orders

            return send_orders(runtime, list(records))
        if operation == "send-shipments":
            from .shipments import send_shipments

            return send_shipments(runtime, list(records))
        from .bills import send_vendor_bills

        return send_vendor_bills(runtime, list(records))

    def render(self, operation: str, record: dict[str, Any],
               runtime: Runtime) -> list[dict[str, Any]]:
        from .render import render_record

        return render_record(runtime, operation, record)

    def authorize(self, runtime: Runtime, request: AuthorizeRequest) -> str:
        from .authorize import authorize

        return authorize(runtime, request)

    def profile_gaps(self, operation: str, profile: Mapping[str, Any],
                     records: Iterable[dict[str, Any]]) -> list[str]:
        """Drop-ship vendors of the orders that tables.vendors lacks: send-orders would fail
        those orders before writing anything."""
        if operation != "send-orders":
            return []
        vendors = (profile.get("tables") or {}).get("vendors") or {}
        missing: dict[str, list[str]] = {}
        for order in records:
            for fr in order.get("fulfillment_requests") or []:
                vendor = str((fr.get("vendor") or {}).get("id") or "")
                if fr.get("type") == "external" and vendor and vendor not in vendors:
                    missing.setdefault(vendor, []).append(str(order["id"]))
        return [f"tables.vendors has no {v!r} (orders {', '.join(ids[:5])}"
                f"{' ...' if len(ids) > 5 else ''} need it): add \"{v}\": \"<the vendor's "
                "QuickBooks display name>\"" for v, ids in sorted(missing.items())]

    def check(self, runtime: Runtime, deep: bool = False) -> list[CheckResult]:
        from .checks import check_connection

        return check_connection(runtime)


def quickbooks_connector() -> QuickBooksConnector:
    return QuickBooksConnector(
        name=NAME,
        description="Intuit QuickBooks Online (Accounting API v3, OAuth 2.0)",
        connection_schema=CONNECTION_SCHEMA,
        operations=OPERATIONS,
        templates_package="flx_quickbooks",
        payload_schemas=payload_schemas(),
        mappings_package="flx_quickbooks.mappings",
        extra={"display_name": "QuickBooks Online", "env_prefix": "QBO"},
        mapping_schema=MAPPING_SCHEMA,
    )
