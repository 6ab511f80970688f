"""An in-memory online shop behind an httpx.MockTransport: the far side of a source, as the
Ledger is a connector's. Its API: `GET /orders?after=N&limit=K` answers
`{"orders": [...], "next": M, "more": true|false}` (the orders after position N, oldest
first; `next` is the position to ask after next time), with `Authorization: Bearer <token>`."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Shop:
    token: str = "shop-token-5150-secret"
    orders: list[dict[str, Any]] = field(default_factory=list)  # oldest first
    requests: list[tuple[str, str]] = field(default_factory=list)
    outage: bool = False  # every request answers 503
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:
            self.requests.append((request.method, request.url.path))
        if request.headers.get("authorization") != f"Bearer {self.token}":
            return httpx.Response(401, json={"error": "invalid token"})
        if self.outage:
            return httpx.Response(503, json={"error": "down for maintenance"})
        if request.method != "GET" or request.url.path.rstrip("/").rsplit("/", 1)[-1] != "orders":
            return httpx.Response(404, json={"error": f"no such path {request.url.path}"})
        try:
            after = int(request.url.params.get("after") or 0)
            limit = max(1, int(request.url.params.get("limit") or 50))
        except ValueError:
            return httpx.Response(400, json={"error": "after and limit are numbers"})
        page = self.orders[after:after + limit]
        end = after + len(page)
        return httpx.Response(200, json={"orders": page, "next": end,
                                         "more": end < len(self.orders)})
