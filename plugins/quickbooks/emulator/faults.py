"""Fault injection: faults queued by a test (exact, for one request) or drawn from a seeded
plan (for soak runs). A decision depends on the seed and the request, not on thread timing."""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from dataclasses import dataclass, field

# drop_before: the connection dies before the service sees the request.
# drop_after: a write is applied, then the connection dies (the client cannot know).
# error_500 / error_503: the service answers 5xx without applying anything.
# fault_200: HTTP 200 whose body is a SystemFault, nothing applied.
# timeout: the write is applied and the answer comes too late (a read timeout).
KINDS = ("drop_before", "drop_after", "error_500", "error_503", "fault_200", "timeout")


class ConnectionDropped(Exception):
    def __init__(self, kind: str) -> None:
        super().__init__(f"emulator fault injection: {kind}")
        self.kind = kind


@dataclass
class FaultPlan:
    """Probabilities (0..1) per write; `seed` makes a run repeatable."""

    seed: int = 0
    rates: dict[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = set(self.rates) - set(KINDS)
        if unknown or sum(self.rates.values()) > 1.0:
            raise ValueError(f"fault kinds are {KINDS} and rates add up to at most 1")


@dataclass
class _Queued:
    kind: str
    method: str
    path_contains: str
    times: int


class Faults:
    def __init__(self, plan: FaultPlan | None = None) -> None:
        self.plan = plan
        self._queue: list[_Queued] = []
        self._seen: Counter[str] = Counter()
        self._lock = threading.Lock()
        self.injected: Counter[str] = Counter()

    def inject(self, kind: str, *, method: str = "POST", path_contains: str = "",
               times: int = 1) -> None:
        """The next `times` requests matching `method` and `path_contains` meet `kind`."""
        if kind not in KINDS:
            raise ValueError(f"unknown fault kind {kind!r}; one of {KINDS}")
        with self._lock:
            self._queue.append(_Queued(kind, method, path_contains, times))

    def decide(self, method: str, target: str, body: bytes) -> str | None:
        with self._lock:
            for queued in self._queue:
                if queued.method == method and queued.path_contains in target:
                    queued.times -= 1
                    if queued.times <= 0:
                        self._queue.remove(queued)
                    self.injected[queued.kind] += 1
                    return queued.kind
            if self.plan is None or method != "POST" or "/query" in target:
                return None
            digest = hashlib.sha256(f"{method} {target}\0".encode() + body).hexdigest()
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        draw = random.Random(f"{self.plan.seed}:{digest}:{occurrence}").random()
        for kind, rate in self.plan.rates.items():
            if draw < rate:
                with self._lock:
                    self.injected[kind] += 1
                return kind
            draw -= rate
        return None
