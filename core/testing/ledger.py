"""An in-memory accounting "ledger" behind an httpx.MockTransport: the far side of the fake
connector. It checks the API key, enforces unique external ids and can be told to reject a
record, to fail with an outage, or to answer slowly never (no timing in tests)."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

import httpx

COLLECTIONS = ("orders", "shipments", "bills")


@dataclass
class Ledger:
    api_key: str = "fk-live-4242-secret"
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {c: {} for c in COLLECTIONS})
    requests: list[tuple[str, str]] = field(default_factory=list)
    reject: dict[str, str] = field(default_factory=dict)  # external id -> reason (400)
    outage: bool = False  # every request answers 503
    duplicate_attempts: int = 0  # creates refused because the external id exists (409)
    _next_id: int = 100
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def writes(self) -> list[tuple[str, str]]:
        return [r for r in self.requests if r[0] != "GET"]

    def handle(self, request: httpx.Request) -> httpx.Response:
        with self._lock:  # workers call in from several threads, like a real server
            return self._handle(request)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        self.requests.append((request.method, request.url.path))
        if request.headers.get("authorization") != f"Bearer {self.api_key}":
            return httpx.Response(401, json={"error": "invalid API key"})
        if self.outage:
            return httpx.Response(503, json={"error": "down for maintenance"})
        parts = request.url.path.strip("/").split("/")
        if parts[0] == "api":  # the connection's base_url path
            parts = parts[1:]
        if parts == ["ping"]:
            return httpx.Response(200, json={"ok": True})
        if len(parts) != 1 or parts[0] not in COLLECTIONS:
            return httpx.Response(404, json={"error": f"no such path {request.url.path}"})
        collection = self.records[parts[0]]
        if request.method == "GET":
            wanted = request.url.params.get("externalId")
            found = [r for r in collection.values() if r.get("externalId") == wanted]
            return httpx.Response(200, json={"items": found})
        if request.method != "POST":
            return httpx.Response(405, json={"error": "method not allowed"})
        body = json.loads(request.content)
        eid = body.get("externalId")
        if eid in self.reject:
            return httpx.Response(400, json={"error": self.reject[eid], "field": "lines"})
        if any(r.get("externalId") == eid for r in collection.values()):
            self.duplicate_attempts += 1
            return httpx.Response(409, json={"error": f"externalId {eid} exists"})
        self._next_id += 1
        rid = str(self._next_id)
        collection[rid] = {**body, "id": rid}
        return httpx.Response(201, headers={"location": f"/api/{parts[0]}/{rid}"})
