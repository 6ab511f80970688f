"""Pacing under Intuit's per-company limits (quickbooks-api.md §2.7): at most `in_flight`
requests at once, `per_second` in any second and `per_minute` in any minute. Requests wait for
a slot instead of earning a 429; the windows are a little under Intuit's numbers so that clock
skew between us and Intuit does not cost a refusal."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class RateLimiter:
    def __init__(self, *, in_flight: int = 4, per_second: int = 9, per_minute: int = 480,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.in_flight = in_flight
        self.per_second = per_second
        self.per_minute = per_minute
        self.clock = clock
        self._stamps: deque[float] = deque()
        self._flying = 0
        self._cond = threading.Condition()
        self.waited = 0.0  # seconds spent waiting for a slot (bench figures)

    def _delay(self, now: float) -> float:
        """Seconds until a slot opens (0: free now); called under the condition."""
        while self._stamps and self._stamps[0] <= now - 60:
            self._stamps.popleft()
        if self._flying >= self.in_flight:
            return 0.05  # woken by release() before that
        if len(self._stamps) >= self.per_minute:
            return self._stamps[0] + 60 - now
        recent = [s for s in self._stamps if s > now - 1]
        if len(recent) >= self.per_second:
            return recent[0] + 1 - now
        return 0.0

    @contextmanager
    def slot(self) -> Iterator[None]:
        with self._cond:
            while (delay := self._delay(self.clock())) > 0:
                started = time.monotonic()
                self._cond.wait(delay)
                self.waited += time.monotonic() - started
            self._stamps.append(self.clock())
            self._flying += 1
        try:
            yield
        finally:
            with self._cond:
                self._flying -= 1
                self._cond.notify()
