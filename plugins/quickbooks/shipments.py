"""send-shipments: QuickBooks has no fulfillment record, so a shipment updates its sale (a
sparse update of ShipDate, TrackingNum, ShipMethodRef and a note listing every shipment so far,
quickbooks-api.md §4). The note is rebuilt from flx's store each time, so sending it twice gives
the same document. Shipments of one order go one after another (never racing on the sale's
SyncToken); a 5010 (someone edited the sale) re-reads it and applies once more."""

from __future__ import annotations

from functools import partial
from typing import Any

from flx import RecordResult, RecordValidationError, Runtime

from .context import QboContext, guarded, marker
from .errors import StaleObjectError

OPERATION = "send-shipments"
ORDERS = "send-orders"
NOTE_MAX = 4000  # PrivateNote's limit (§3.4)
TRACKING_MAX = 31  # TrackingNum's limit is unknown (§4): stay short


def shipment_line(entry: dict[str, Any]) -> str:
    what = ", ".join(entry["items"])
    via = " ".join(p for p in (entry.get("carrier"), entry.get("method")) if p)
    tracking = ", ".join(entry.get("tracking") or []) or "no tracking"
    return f"Shipped {entry['date']} {via}: {tracking} ({what})".replace("  ", " ")


class ShipmentSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = QboContext.of(runtime)
        self.note_field = self.ctx.options.get("shipment_note", "PrivateNote")

    def send(self, shipments: list[dict[str, Any]]) -> list[RecordResult]:
        self.runtime.prefetch("order", (s["order_id"] for s in shipments), operation=ORDERS)
        groups: dict[str, list[dict[str, Any]]] = {}
        for shipment in shipments:
            groups.setdefault(str(shipment["order_id"]), []).append(shipment)
        results = self.runtime.map(self._group, list(groups.values()))
        return [r for group in results for r in group]

    def _group(self, shipments: list[dict[str, Any]]) -> list[RecordResult]:
        order_id = str(shipments[0]["order_id"])
        state = self.runtime.state(order_id, ORDERS)
        ids = dict(state.remote_ids) if state else {}  # carried along: later ones see earlier
        return [guarded(self.ctx, s["id"], partial(self.one, s, ids)) for s in shipments]

    def entry(self, shipment: dict[str, Any]) -> dict[str, Any]:
        items = [f"{i['sku']} x{i['quantity']}" for i in shipment.get("items") or []]
        tracking = list(shipment.get("tracking_numbers") or [])
        for i in shipment.get("items") or []:
            tracking += [t for t in i.get("tracking_numbers") or [] if t not in tracking]
        return {"date": str(shipment.get("shipped_at") or "")[:10] or None,
                "carrier": shipment.get("carrier"), "method": shipment.get("method"),
                "tracking": tracking, "items": items}

    def payload(self, order_id: str, sale: dict[str, Any], sync_token: str,
                log: dict[str, dict[str, Any]], latest: dict[str, Any]) -> dict[str, Any]:
        entries = sorted(log.values(), key=lambda e: (e.get("date") or "", e["items"]))
        lines = [marker("order", order_id)] + [shipment_line(e) for e in entries]
        while len("\n".join(lines)) > NOTE_MAX and len(lines) > 2:
            del lines[1]  # the oldest shipments give way; the marker stays
        body: dict[str, Any] = {"Id": sale["id"], "SyncToken": sync_token, "sparse": True}
        dates = [e["date"] for e in entries if e.get("date")]
        if dates:
            body["ShipDate"] = max(dates)
        numbers = latest.get("tracking") or []
        if numbers:
            joined = ", ".join(numbers)
            body["TrackingNum"] = joined if len(joined) <= TRACKING_MAX else numbers[0][:31]
        method = latest.get("method") or latest.get("carrier")
        if method:
            table = (self.ctx.profile.get("tables") or {}).get("ship_methods") or {}
            body["ShipMethodRef"] = {"value": str(table.get(method, method))[:31]}
        text = "\n".join(lines)
        body[self.note_field] = {"value": text} if self.note_field == "CustomerMemo" else text
        return body

    def _sale(self, shipment: dict[str, Any], ids: dict[str, Any]) -> dict[str, Any]:
        if not ids.get("sale"):
            raise RecordValidationError(
                f"shipment {shipment['id']}: order {shipment['order_id']} has no QuickBooks "
                "sale on this connection yet", record_id=shipment["id"],
                hint="run `flx run send-orders` first")
        return {"id": str(ids["sale"]), "type": str(ids.get("sale_type") or "SalesReceipt")}

    def preview(self, shipment: dict[str, Any]) -> list[dict[str, Any]]:
        state = self.runtime.state(str(shipment["order_id"]), ORDERS)
        ids = dict(state.remote_ids) if state else {}
        sale = self._sale(shipment, ids)
        entry = self.entry(shipment)
        log = {**(ids.get("shipments") or {}), shipment["id"]: entry}
        body = self.payload(str(shipment["order_id"]), sale,
                            str(ids.get("sale_sync_token", "?")), log, entry)
        return [{"name": sale["type"], "method": "POST", "body": body}]

    def one(self, shipment: dict[str, Any], ids: dict[str, Any]) -> RecordResult:
        order_id = str(shipment["order_id"])
        sale = self._sale(shipment, ids)
        if self.runtime.dry_run:
            return RecordResult(shipment["id"], "dry_run", message="would update the sale",
                                payloads=self.preview(shipment))
        entry = self.entry(shipment)
        log = {**(ids.get("shipments") or {}), shipment["id"]: entry}
        token = ids.get("sale_sync_token")
        if token is None:
            token = self.ctx.client.read(sale["type"], sale["id"])["SyncToken"]
        what = f"shipment {shipment['id']}: updating {sale['type']} {sale['id']}"
        body = self.payload(order_id, sale, str(token), log, entry)
        try:
            updated = self.ctx.client.update(
                sale["type"], body, what=what,
                requestid=self.ctx.requestid(OPERATION, shipment["id"], body))
        except StaleObjectError:
            fresh = self.ctx.client.read(sale["type"], sale["id"])["SyncToken"]
            body = self.payload(order_id, sale, str(fresh), log, entry)
            updated = self.ctx.client.update(
                sale["type"], body, what=what,
                requestid=self.ctx.requestid(OPERATION, shipment["id"], body))
        ids["sale_sync_token"] = updated["SyncToken"]
        ids["shipments"] = log
        self.runtime.checkpoint(order_id, operation=ORDERS,
                                remote_ids={"sale_sync_token": updated["SyncToken"],
                                            "shipments": log})
        return RecordResult(shipment["id"], "sent", remote_ids={"sale": sale["id"]},
                            message=f"{sale['type']} {updated.get('DocNumber', sale['id'])}")


def send_shipments(runtime: Runtime, shipments: list[dict[str, Any]]) -> list[RecordResult]:
    return ShipmentSender(runtime).send(shipments)
