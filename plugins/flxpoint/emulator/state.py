"""The emulator's account: tokens, channels, sources, orders (with their fulfillment requests),
shipments and source invoices, plus what tests inspect (requests per token, the peak rate).

Records are kept as Flxpoint JSON. Every change goes through a method here that stamps
`updatedAt` from the emulator's clock, so the change cursors see it."""

from __future__ import annotations

import copy
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from importlib import resources
from typing import Any

ACCOUNT, SOURCE, CHANNEL = "account", "source", "channel"
RATE_WINDOW = 1.0  # seconds: Flxpoint states its limit per second


def load_default_seed() -> dict[str, Any]:
    text = resources.files(__package__).joinpath("seed.json").read_text()
    seed: dict[str, Any] = json.loads(text)
    return seed


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def parse_time(value: str) -> datetime:
    """Flxpoint writes `...Z`; an offset is accepted too. Raises ValueError."""
    parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # a bare time is read as UTC (emulator choice)
    return parsed


class RateMeter:
    """Requests per token: enforces at most `rate` accepted requests in any window of one
    second, and records every arrival so tests can assert the client's peak rate."""

    def __init__(self, rate: float | None, clock: Callable[[], float]) -> None:
        self.rate = rate
        self.clock = clock
        self.accepted: dict[str, deque[float]] = {}
        self.arrivals: dict[str, list[float]] = {}

    def admit(self, token: str) -> bool:
        now = self.clock()
        self.arrivals.setdefault(token, []).append(now)
        if self.rate is None:
            return True
        window = self.accepted.setdefault(token, deque())
        while window and window[0] <= now - RATE_WINDOW:
            window.popleft()
        if len(window) >= self.rate:
            return False
        window.append(now)
        return True

    def peak(self, token: str) -> int:
        """The most arrivals (429s included) this token made within any one-second window."""
        times = sorted(self.arrivals.get(token, []))
        best, start = 0, 0
        for end, t in enumerate(times):
            while t - times[start] >= RATE_WINDOW:
                start += 1
            best = max(best, end - start + 1)
        return best


class Emulator:
    """State of one emulated Flxpoint account. Thread-safe: the app runs on an event loop
    while tests mutate records from their own thread."""

    def __init__(self, seed: dict[str, Any] | None = None, *, rate: float | None = 2.0,
                 clock: Callable[[], float] = time.time, max_page_size: int = 100) -> None:
        seed = copy.deepcopy(seed if seed is not None else load_default_seed())
        self.lock = threading.RLock()
        self.clock = clock
        self.max_page_size = max_page_size
        self.meter = RateMeter(rate, time.monotonic)
        self.account: dict[str, Any] = seed["account"]
        self.tokens: dict[str, dict[str, Any]] = {t["token"]: t for t in seed["tokens"]}
        self.channels = {c["id"]: c for c in seed["channels"]}
        self.sources = {s["id"]: s for s in seed["sources"]}
        self.orders: dict[int, dict[str, Any]] = {}
        self.frs: dict[int, dict[str, Any]] = {}
        for order in seed["orders"]:
            self._put_order(order)
        self.shipments = {s["id"]: s for s in seed["shipments"]}
        self.invoices = {i["id"]: i for i in seed["invoices"]}
        self.requests = 0
        self.by_status: dict[int, int] = {}
        self.writebacks: list[tuple[str, int, dict[str, Any]]] = []
        self.embed_frs = True  # False: orders come without `fulfillmentRequests`
        self.order_sort = "id"  # or "updated": GET /orders by updatedAt (undocumented order)
        # Test hooks: called after a list page is served (path, page number, rows served),
        # so a test can change the data between two pages of one read.
        self.after_page: list[Callable[[str, int, list[dict[str, Any]]], None]] = []
        self.faults: deque[tuple[str, int, bool]] = deque()  # (path prefix, status, retry-after)

    # --- identity ------------------------------------------------------------------------

    def token_of_type(self, kind: str) -> str:
        return next(t for t, info in self.tokens.items() if info["type"] == kind)

    def now(self) -> str:
        return iso(self.clock())

    def _put_order(self, order: dict[str, Any]) -> None:
        for fr in order.pop("fulfillmentRequests", []) or []:
            self.frs[fr["id"]] = fr
        self.orders[order["id"]] = order

    # --- reads -------------------------------------------------------------------------------

    def order_view(self, order_id: int) -> dict[str, Any] | None:
        with self.lock:
            order = self.orders.get(order_id)
            if order is None:
                return None
            view = copy.deepcopy(order)
            if self.embed_frs:
                view["fulfillmentRequests"] = copy.deepcopy(self.frs_of(order_id))
            return view

    def frs_of(self, order_id: int) -> list[dict[str, Any]]:
        return sorted((fr for fr in self.frs.values() if fr["orderId"] == order_id),
                      key=lambda fr: fr["id"])

    def last_change(self, order_id: int) -> tuple[datetime, datetime | None, datetime | None]:
        """(order.updatedAt, latest FR updatedAt, latest shipment updatedAt) for the cursors."""
        order = self.orders[order_id]
        frs = [parse_time(fr["updatedAt"]) for fr in self.frs_of(order_id)]
        ships = [parse_time(s["updatedAt"]) for s in self.shipments.values()
                 if s["orderId"] == order_id]
        return parse_time(order["updatedAt"]), max(frs, default=None), max(ships, default=None)

    # --- changes (tests and the seeding endpoints) -------------------------------------------

    def update_order(self, order_id: int, **fields: Any) -> dict[str, Any]:
        with self.lock:
            order = self.orders[order_id]
            order.update(fields)
            order["updatedAt"] = self.now()
            return order

    def update_fr(self, fr_id: int, **fields: Any) -> dict[str, Any]:
        with self.lock:
            fr = self.frs[fr_id]
            fr.update(fields)
            fr["updatedAt"] = self.now()
            return fr

    def void_fr(self, fr_id: int) -> dict[str, Any]:
        return self.update_fr(fr_id, fulfillmentRequestStatus={"name": "Voided"},
                              voidedAt=self.now())

    def add_order(self, order: dict[str, Any]) -> None:
        with self.lock:
            stamp = self.now()
            order.setdefault("insertedAt", stamp)
            order["updatedAt"] = stamp
            for fr in order.get("fulfillmentRequests", []):
                fr["updatedAt"] = stamp
            self._put_order(copy.deepcopy(order))

    def add_shipment(self, shipment: dict[str, Any]) -> None:
        with self.lock:
            stamp = self.now()
            shipment.setdefault("insertedAt", stamp)
            shipment["updatedAt"] = stamp
            self.shipments[shipment["id"]] = copy.deepcopy(shipment)

    def update_shipment(self, shipment_id: int, **fields: Any) -> None:
        with self.lock:
            self.shipments[shipment_id].update(fields, updatedAt=self.now())

    def add_invoice(self, invoice: dict[str, Any]) -> None:
        with self.lock:
            stamp = self.now()
            invoice.setdefault("insertedAt", stamp)
            invoice["updatedAt"] = stamp
            self.invoices[invoice["id"]] = copy.deepcopy(invoice)

    def fail_next(self, status: int, *, count: int = 1, path: str = "/",
                  retry_after: bool = False) -> None:
        """The next `count` requests under `path` answer `status` (429 or 5xx)."""
        with self.lock:
            self.faults.extend([(path, status, retry_after)] * count)

    def take_fault(self, path: str) -> tuple[int, bool] | None:
        with self.lock:
            for i, (prefix, status, retry_after) in enumerate(self.faults):
                if path.startswith(prefix):
                    del self.faults[i]
                    return status, retry_after
        return None

    # --- inspection --------------------------------------------------------------------------

    def count(self, status: int) -> None:
        with self.lock:
            self.requests += 1
            self.by_status[status] = self.by_status.get(status, 0) + 1

    def peak_rate(self, token: str | None = None) -> int:
        tokens: Iterable[str] = [token] if token else list(self.meter.arrivals)
        return max((self.meter.peak(t) for t in tokens), default=0)

    def stats(self) -> dict[str, Any]:
        with self.lock:
            return {"requests": self.requests,
                    "by_status": {str(k): v for k, v in sorted(self.by_status.items())},
                    "peak_rate": {self.tokens.get(t, {}).get("type", "unknown"):
                                  self.meter.peak(t) for t in self.meter.arrivals},
                    "writebacks": len(self.writebacks)}
