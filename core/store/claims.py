"""Claims are leases: a worker holds the records of its batches for CLAIM_LEASE seconds and a
background thread renews them every third of that while the run lasts. A worker that dies
(SIGKILL, power loss, any host) stops renewing, so its records are free for the others within
CLAIM_LEASE seconds; no judgement about processes on other machines is needed. A worker that
cannot renew (the store unreachable) for a whole lease stops after its batch in flight, since
others may then take its records."""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from flx.store.store import Store

__all__ = ["CLAIM_LEASE", "ClaimLease"]

log = logging.getLogger("flx.claims")

CLAIM_LEASE = 30.0  # seconds; renewed every CLAIM_LEASE / 3


class ClaimLease:
    """Renews `owner`'s claims on connection + operation until stopped."""

    def __init__(self, store: Store, connection: str, operation: str, owner: str,
                 seconds: float = CLAIM_LEASE) -> None:
        self.store, self.connection, self.operation = store, connection, operation
        self.owner, self.seconds = owner, seconds
        self._done = threading.Event()
        self._renewed = time.monotonic()
        self._thread: threading.Thread | None = None

    @property
    def lost(self) -> bool:
        """True once the claims went a whole lease without renewal: others may hold them."""
        return time.monotonic() - self._renewed > self.seconds

    def start(self) -> ClaimLease:
        self._renewed = time.monotonic()
        self._thread = threading.Thread(target=self._loop, daemon=True,
                                        name=f"flx-claims-{self.operation}")
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._done.wait(self.seconds / 3):
            started = time.monotonic()
            try:
                self.store.renew_claims(self.connection, self.operation, self.owner,
                                        self.seconds)
                self._renewed = started
            except Exception as exc:  # the store is away: try again at the next beat
                log.warning("could not renew the claims of %s on %s: %s", self.operation,
                            self.connection, exc)

    def stop(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
