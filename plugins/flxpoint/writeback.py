"""Optional write-back: tell Flxpoint what flx made of its records in the accounting system,
so Flxpoint's screens show it (`accountingSynced`, `externalAccountingId`).

For every order, fulfillment request and source invoice that a connection sent (or linked),
one PATCH: `/orders/{id}/accounting-sync` (the Sales Order), `/fulfillment-requests/{id}/
accounting-sync` (the dropship Purchase Order), `/source-invoices/{id}` (the Vendor Bill). What
was written is remembered in the store (per source), so a second run writes nothing; a PATCH
only sets fields, so one repeated after a crash does no harm. Off unless the source's settings
say `writeback = true`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flx import DONE_STATUSES, AbortError, RecordError, Store

from .client import FlxpointClient

CACHE_KIND = "flxpoint_writeback"


@dataclass(frozen=True)
class Write:
    key: str  # what the store remembers it by ("order:500001")
    path: str
    body: dict[str, Any]


@dataclass
class WritebackReport:
    written: list[str] = field(default_factory=list)
    unchanged: int = 0
    failed: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"written": len(self.written), "unchanged": self.unchanged,
                "failed": self.failed}


def _synced(external_id: Any) -> dict[str, Any]:
    return {"accountingSynced": True, "externalAccountingId": str(external_id)}


def planned(store: Store, connection: str) -> Iterator[Write]:
    """The write-backs the connection's finished records call for (Flxpoint records only:
    the ones that carry the `flxpoint` key the mapping adds)."""
    for state in store.iter_sync(connection, "send-orders", statuses=DONE_STATUSES):
        order = store.get_record("order", state.record_id)
        sales_order = state.remote_ids.get("sales_order")
        if not order or "flxpoint" not in order or not sales_order:
            continue
        yield Write(f"order:{state.record_id}",
                    f"/orders/{state.record_id}/accounting-sync", _synced(sales_order))
        for fr_id, po_id in sorted((state.remote_ids.get("purchase_orders") or {}).items()):
            yield Write(f"fr:{fr_id}", f"/fulfillment-requests/{fr_id}/accounting-sync",
                        _synced(po_id))
    for state in store.iter_sync(connection, "send-vendor-bills", statuses=DONE_STATUSES):
        bill = store.get_record("vendor_bill", state.record_id)
        vendor_bill = state.remote_ids.get("vendor_bill")
        if not bill or "flxpoint" not in bill or not vendor_bill:
            continue
        yield Write(f"invoice:{state.record_id}", f"/source-invoices/{state.record_id}",
                    _synced(vendor_bill))


def write_back(client: FlxpointClient, store: Store, source: str, connection: str, *,
               dry_run: bool = False) -> WritebackReport:
    report = WritebackReport()
    scope = f"source:{source}"
    writes = list(planned(store, connection))
    done = store.cache_get_many(scope, CACHE_KIND, [w.key for w in writes])
    for write in writes:
        value = write.body["externalAccountingId"]
        if done.get(write.key) == value:
            report.unchanged += 1
            continue
        if dry_run:
            report.written.append(write.key)
            continue
        try:
            client.patch(write.path, write.body)
        except AbortError:
            raise
        except RecordError as err:  # this record only (deleted in Flxpoint, refused)
            report.failed.append({"record": write.key, "message": err.message,
                                  "hint": err.hint or ""})
            continue
        store.cache_put_many(scope, CACHE_KIND, {write.key: value})
        report.written.append(write.key)
    return report
