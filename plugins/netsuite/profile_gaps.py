"""What the records waiting to be sent use that the mapping profile's tables lack: warehouses
(tables.locations), vendors (tables.vendors), channels (tables.channels) and ship methods
(tables.ship_methods). Said by `--dry-run`, `flx render` and `flx connections test` before a
real run meets them, each with the line to add; read from the records and the profile only."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

SHOWN_IDS = 3

# table -> (what people call an entry, the placeholder of its NetSuite id, what is lost)
TABLES = {
    "locations": ("warehouse", "<location internal id>",
                  "its orders are refused (their Sales Order lines would have no location)"),
    "vendors": ("vendor", "<vendor internal id>",
                "its dropship orders are refused (no Purchase Order can be made)"),
    "channels": ("channel", '{"department": "<id>", "class": "<id>"}',
                 "its Sales Orders get no department or class from the table"),
    "ship_methods": ("ship method", "<ship item internal id>",
                     "its transactions are sent without a ship method"),
}


def _order_uses(order: dict[str, Any], options: dict[str, Any]) -> Iterable[tuple[str, str]]:
    if order.get("channel"):
        yield "channels", str(order["channel"])
    method = (order.get("shipping") or {}).get("method")
    if method:
        yield "ship_methods", str(method)
    for fr in order.get("fulfillment_requests") or []:
        if fr.get("type", "internal") == "external":
            vendor = fr.get("vendor") or {}
            if vendor.get("id") and not vendor.get("netsuite_id"):
                yield "vendors", str(vendor["id"])
        elif fr.get("warehouse") and options.get("line_location") != "netsuite":
            yield "locations", str(fr["warehouse"])


def _shipment_uses(shipment: dict[str, Any]) -> Iterable[tuple[str, str]]:
    # Either names the ship method (as send-shipments looks them up): the method first.
    for key in ("method", "carrier"):
        if shipment.get(key):
            yield "ship_methods", str(shipment[key])
            return


def profile_gaps(operation: str, profile: dict[str, Any],
                 records: Iterable[dict[str, Any]]) -> list[str]:
    """One warning per table entry the records use and the profile lacks, with how many
    records use it, a few of their ids, what happens to them, and the line to add."""
    tables = profile.get("tables") or {}
    options = profile.get("options") or {}
    users: dict[tuple[str, str], list[str]] = {}
    for record in records:
        if operation == "send-orders":
            uses = list(_order_uses(record, options))
        elif operation == "send-shipments":
            uses = list(_shipment_uses(record))
            names = [key for _, key in uses]
            if any(str(n) in (tables.get("ship_methods") or {}) for n in
                   (record.get("method"), record.get("carrier")) if n):
                names = []  # the carrier's entry serves when the method has none
            uses = [("ship_methods", n) for n in names]
        else:
            uses = []
        for table, key in uses:
            if key not in (tables.get(table) or {}):
                users.setdefault((table, key), []).append(str(record.get("id")))
    warnings = []
    for (table, key), ids in sorted(users.items()):
        what, placeholder, loss = TABLES[table]
        shown = ", ".join(ids[:SHOWN_IDS]) + (", ..." if len(ids) > SHOWN_IDS else "")
        warnings.append(
            f"{what} {key!r} is not in tables.{table} ({len(ids)} record(s) waiting: {shown}): "
            f'{loss}; add "{key}": {placeholder} under tables.{table} in the mapping profile')
    return warnings
