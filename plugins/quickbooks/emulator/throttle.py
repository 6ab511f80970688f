"""QuickBooks' per-company limits (quickbooks-api.md §2.7): requests per minute and per second
in sliding windows, requests in flight, and the monthly metered-read quota."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable

from .behaviour import Behaviour
from .errors import GatewayError, throttled


class Throttle:
    def __init__(self, behaviour: Behaviour, clock: Callable[[], float]) -> None:
        self.behaviour = behaviour
        self.clock = clock
        self._stamps: dict[str, deque[float]] = {}
        self._flying: dict[str, int] = {}
        self._lock = threading.Lock()
        self.refused = 0

    def enter(self, realm: str, is_read: bool) -> None:
        """Count one request in, or raise the 429 the gateway answers."""
        b = self.behaviour
        retry = 60 if b.retry_after else None
        with self._lock:
            now = self.clock()
            stamps = self._stamps.setdefault(realm, deque())
            while stamps and stamps[0] <= now - 60:
                stamps.popleft()
            last_second = sum(1 for s in stamps if s > now - 1)
            error: GatewayError | None = None
            if is_read and b.read_quota is not None and b.read_quota <= 0:
                error = throttled("Monthly read quota exhausted", retry)
            elif self._flying.get(realm, 0) >= b.in_flight:
                error = throttled("Too many concurrent requests", 1 if b.retry_after else None)
            elif last_second >= b.per_second:
                error = throttled("Request rate exceeded (per second)",
                                  1 if b.retry_after else None)
            elif len(stamps) >= b.per_minute:
                error = throttled("Request rate exceeded (per minute)", retry)
            if error is not None:
                self.refused += 1
                raise error
            stamps.append(now)
            self._flying[realm] = self._flying.get(realm, 0) + 1
            if is_read and b.read_quota is not None:
                b.read_quota -= 1

    def leave(self, realm: str) -> None:
        with self._lock:
            self._flying[realm] -= 1
