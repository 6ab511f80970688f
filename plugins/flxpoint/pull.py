"""Reading Flxpoint incrementally: orders (with their fulfillment requests), shipments and
source invoices, each stream from its own cursor, a page at a time.

Why a pass is safe to kill or to repeat: every page carries the cursor the pull *started*
from; only when a stream has been read to its end does its cursor move, to the time that
stream's read began. flx re-imports idempotently, so a page read twice changes nothing, and a
record that changed while a stream was being read is newer than that time and comes again.
The next pull asks from `cursor - overlap` to cover clock skew and Flxpoint's unknown `>` or
`>=` (docs/flxpoint.md, "How flx pulls")."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from flx import FlxError, MappingError

from .client import FlxpointClient
from .mapping import Context, map_invoice, map_order, map_shipment
from .profile import MappingProfile

STREAMS = ("orders", "shipments", "invoices")
ORDER_CURSORS = ("orderUpdatedAt", "fulfillmentRequestsUpdatedAt", "shipmentsUpdatedAt")
MAX_FR_NUMBERS = 50  # Flxpoint's limit on frNumbers


@dataclass
class Batch:
    """One page's worth: flx records, the problems of objects that did not map, the cursor
    to store with them, and where they came from (for messages)."""

    records: list[tuple[str, dict[str, Any]]]
    cursor: dict[str, Any]
    where: str
    problems: list[MappingError] = field(default_factory=list)
    skipped: int = 0


@dataclass
class PullSettings:
    profile: MappingProfile
    streams: tuple[str, ...] = STREAMS
    page_size: int = 100
    overlap: timedelta = timedelta(minutes=10)
    rereads: int = 1  # extra reads of a stream that changed while it was read
    clock: Callable[[], datetime] = lambda: datetime.now(UTC)


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _parse(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


class Puller:
    def __init__(self, client: FlxpointClient, settings: PullSettings) -> None:
        self.client = client
        self.settings = settings
        self.ctx = Context(settings.profile)

    def pull(self, since: dict[str, Any] | None) -> Iterator[Batch]:
        cursor = {k: v for k, v in (since or {}).items() if k in STREAMS}
        self._load_lookups()
        for stream in self.settings.streams:
            read = {"orders": self._orders, "shipments": self._shipments,
                    "invoices": self._invoices}[stream]
            started = self.settings.clock()
            for _ in range(1 + self.settings.rereads):
                changed_during = False
                for batch in read(self._since(cursor.get(stream)), dict(cursor)):
                    changed_during |= self._changed_after(batch, started)
                    yield batch
                if not changed_during:
                    break
            cursor[stream] = _stamp(started)
            yield Batch([], dict(cursor), f"flxpoint {stream}: read to the end")

    # --- lookups ------------------------------------------------------------------------------

    def _load_lookups(self) -> None:
        sources = self.client.get("/sources", {"filterArchived": "false"}) or []
        channels = self.client.get("/channel/", {"includeArchived": "true"}) or []
        self.ctx.sources = {s["id"]: s for s in sources if isinstance(s, dict) and "id" in s}
        self.ctx.channels = {c["id"]: c for c in channels if isinstance(c, dict) and "id" in c}

    def _since(self, value: Any) -> str | None:
        moment = _parse(value) if value else None
        return _stamp(moment - self.settings.overlap) if moment else None

    @staticmethod
    def _changed_after(batch: Batch, started: datetime) -> bool:
        """Did a record in this page change after the stream's read began? Then a list sorted
        by change time may have shifted under the read, and the stream is read once more.
        Flxpoint's stamps may be coarser than our clock: the same tick counts as after."""
        for _, record in batch.records:
            stamp = _parse((record.get("flxpoint") or {}).get("updated_at"))
            if stamp is None:
                continue
            tick = started.replace(microsecond=started.microsecond // 1000 * 1000
                                   if stamp.microsecond else 0)
            if stamp >= tick:
                return True
        return False

    # --- streams ------------------------------------------------------------------------------

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[tuple[int, list[Any]]]:
        yield from enumerate(self.client.pages(path, params, self.settings.page_size), 1)

    def _orders(self, since: str | None, cursor: dict[str, Any]) -> Iterator[Batch]:
        params = dict.fromkeys(ORDER_CURSORS, since) if since else {}
        for number, rows in self._pages("/orders", params):
            batch = Batch([], cursor, f"flxpoint /orders page {number}")
            for raw in rows:
                frs = None
                if isinstance(raw, dict) and "fulfillmentRequests" not in raw and "id" in raw:
                    # Not embedded (the list may leave them out): one request per order.
                    frs = list(self._all("/fulfillment-requests", {"findOrderId": raw["id"]}))
                if isinstance(raw, dict):
                    for fr in (frs if frs is not None else raw.get("fulfillmentRequests")) or []:
                        if isinstance(fr, dict) and isinstance(fr.get("id"), int):
                            self.ctx.fr_orders[fr["id"]] = raw.get("id")  # type: ignore[assignment]
                self._map(batch, "order", map_order, raw, self.ctx, frs)
            yield batch

    def _shipments(self, since: str | None, cursor: dict[str, Any]) -> Iterator[Batch]:
        params = {"filterUpdatedAfter": since} if since else {}
        for number, rows in self._pages("/shipments", params):
            batch = Batch([], cursor, f"flxpoint /shipments page {number}")
            for raw in rows:
                self._map(batch, "shipment", map_shipment, raw, self.ctx)
            yield batch

    def _invoices(self, since: str | None, cursor: dict[str, Any]) -> Iterator[Batch]:
        # Source invoices have no "updated after" filter: new ones are found by creation time.
        params = {"filterCreatedAfter": since} if since else {}
        for number, rows in self._pages("/source-invoices", params):
            self._learn_fr_orders(rows)
            batch = Batch([], cursor, f"flxpoint /source-invoices page {number}")
            for raw in rows:
                self._map(batch, "vendor_bill", map_invoice, raw, self.ctx)
            yield batch

    def _learn_fr_orders(self, invoices: list[Any]) -> None:
        """The order of each invoice's FR (an invoice has no orderId), by FR number, 50 at a
        time; FR numbers can repeat, so the answer is matched on the FR's id."""
        wanted = {str(inv.get("fulfillmentRequestNumber") or inv.get("purchaseOrderNumber"))
                  for inv in invoices if isinstance(inv, dict)
                  and (inv.get("fulfillmentRequestId") or inv.get("purchaseOrderId"))
                  not in self.ctx.fr_orders
                  and (inv.get("fulfillmentRequestNumber") or inv.get("purchaseOrderNumber"))}
        numbers = sorted(wanted)
        for i in range(0, len(numbers), MAX_FR_NUMBERS):
            chunk = numbers[i:i + MAX_FR_NUMBERS]
            for fr in self._all("/fulfillment-requests", {"frNumbers": chunk}):
                if isinstance(fr, dict) and isinstance(fr.get("id"), int):
                    self.ctx.fr_orders[fr["id"]] = fr.get("orderId")  # type: ignore[assignment]

    def _all(self, path: str, params: dict[str, Any]) -> Iterator[Any]:
        for _, rows in self._pages(path, params):
            yield from rows

    @staticmethod
    def _map(batch: Batch, kind: str, mapper: Callable[..., dict[str, Any] | None],
             *args: Any) -> None:
        try:
            record = mapper(*args)
        except MappingError as problem:
            problem.context["kind"] = kind  # core counts it as a refused record of this kind
            batch.problems.append(problem)
            return
        except FlxError:
            raise
        if record is None:
            batch.skipped += 1
            return
        batch.records.append((kind, record))
