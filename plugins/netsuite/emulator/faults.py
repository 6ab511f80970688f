"""Seeded fault injection. A decision depends only on the seed, the request's content and how
many identical requests came before it, never on thread timing, so a run with the same seed and
the same requests meets the same faults even when requests race each other."""

from __future__ import annotations

import hashlib
import random
import threading
from collections import Counter
from dataclasses import dataclass

ERROR_5XX, DROP_BEFORE, DROP_AFTER = "error_5xx", "drop_before", "drop_after"


@dataclass(frozen=True)
class FaultPlan:
    """Probabilities (0..1) per request. `drop_after` only ever hits writes: the write is
    applied and then the connection dies, so the client cannot know it succeeded."""

    seed: int
    error_5xx: float = 0.0
    drop_before: float = 0.0
    drop_after: float = 0.0
    # Each kind with a rate above 0 hits at least once, on the first requests it may hit
    # (drop_after on the first write): a short test run then meets every kind for certain,
    # whatever order concurrent requests arrive in.
    ensure_each: bool = False

    def __post_init__(self) -> None:
        rates = (self.error_5xx, self.drop_before, self.drop_after)
        if any(not 0.0 <= rate <= 1.0 for rate in rates) or sum(rates) > 1.0:
            raise ValueError("fault rates must be between 0 and 1 and add up to at most 1")


@dataclass(frozen=True)
class Fault:
    kind: str  # ERROR_5XX | DROP_BEFORE | DROP_AFTER
    variant: int  # picks the status (500/503) or the network error class, also seeded


class FaultInjector:
    def __init__(self, plan: FaultPlan | None, lock: threading.RLock | None = None) -> None:
        self.plan = plan
        self._seen: Counter[str] = Counter()
        self._lock = lock or threading.RLock()  # the emulator passes its one lock
        self.injected: Counter[str] = Counter()

    def decide(self, method: str, target: str, body: bytes, is_write: bool) -> Fault | None:
        plan = self.plan
        if plan is None:
            return None
        digest = hashlib.sha256(f"{method} {target}\0".encode() + body).hexdigest()
        with self._lock:
            occurrence = self._seen[digest]
            self._seen[digest] += 1
        rng = random.Random(f"{plan.seed}:{digest}:{occurrence}")
        draw, variant = rng.random(), rng.randrange(2)
        owed = self._owed(plan, is_write)
        if owed is not None:
            return Fault(owed, variant)  # counted when it was claimed
        kind: str | None = None
        if draw < plan.error_5xx:
            kind = ERROR_5XX
        elif draw < plan.error_5xx + plan.drop_before:
            kind = DROP_BEFORE
        elif is_write and draw < plan.error_5xx + plan.drop_before + plan.drop_after:
            kind = DROP_AFTER
        if kind is None:
            return None
        with self._lock:
            self.injected[kind] += 1
        return Fault(kind, variant)

    def _owed(self, plan: FaultPlan, is_write: bool) -> str | None:
        """With `ensure_each`, a kind that has not hit yet (in the order 5xx, drop before,
        drop after), claimed under the lock so that two racing requests never both take it."""
        if not plan.ensure_each:
            return None
        rates = ((ERROR_5XX, plan.error_5xx), (DROP_BEFORE, plan.drop_before),
                 (DROP_AFTER, plan.drop_after))
        with self._lock:
            for kind, rate in rates:
                if rate > 0 and not self.injected[kind] and (is_write or kind != DROP_AFTER):
                    self.injected[kind] += 1
                    return kind
        return None

    def reset(self) -> None:
        with self._lock:
            self._seen.clear()
            self.injected.clear()


class ConnectionDropped(Exception):
    """Raised inside the app to kill the connection; the transport or uvicorn turns it into
    what a client sees when a socket dies (see transport.py and server.py)."""

    def __init__(self, fault: Fault) -> None:
        super().__init__(f"emulator fault injection: {fault.kind}")
        self.fault = fault
