"""The run lock: one run per connection + operation at a time, across processes and machines
(a store lock the runner takes for every real run and renews while it works)."""

from __future__ import annotations

import contextlib
import logging
import threading
from typing import TYPE_CHECKING

from flx.errors import AbortError

if TYPE_CHECKING:
    from flx.store.store import Store

__all__ = ["LOCK_RENEW", "LOCK_TTL", "RunLock", "RunLockedError", "lock_name"]

log = logging.getLogger("flx.schedule")

LOCK_TTL = 300.0  # a crashed holder's lock frees itself after this many seconds
LOCK_RENEW = 60.0  # the holder renews this often, so a long run keeps it


class RunLockedError(AbortError):
    """Another process runs this connection + operation right now."""

    error_class = "locked"


def lock_name(connection: str, operation: str) -> str:
    return f"run:{connection}:{operation}"


class RunLock:
    """The store lock that keeps runs of one connection + operation from overlapping. A
    background thread renews it while held; `lost` turns true if another process took it over
    (the holder stalled past the TTL), and the runner then stops after its batch."""

    def __init__(self, store: Store, connection: str, operation: str, *,
                 owner: str | None = None, ttl: float = LOCK_TTL,
                 renew_every: float = LOCK_RENEW) -> None:
        from flx.store.store import default_owner

        self.store, self.connection, self.operation = store, connection, operation
        self.name = lock_name(connection, operation)
        self.owner = owner or default_owner()
        self.ttl, self.renew_every = ttl, renew_every
        self.lost = False
        self._done = threading.Event()
        self._thread: threading.Thread | None = None

    def acquire(self) -> RunLock:
        if not self.store.acquire_lock(self.name, self.owner, self.ttl):
            holder = self.store.lock_holder(self.name) or "another process"
            raise RunLockedError(
                f"{self.operation} on {self.connection} is already running ({holder}); this "
                "run was not started, so the two never overlap",
                hint="wait for it to finish (`flx runs` shows it) and run again; a lock left "
                     f"by a crashed process frees itself within {int(self.ttl // 60)} minutes")
        self._thread = threading.Thread(target=self._renew, name=f"flx-lock-{self.name}",
                                        daemon=True)
        self._thread.start()
        return self

    def _renew(self) -> None:
        while not self._done.wait(self.renew_every):
            try:
                if not self.store.acquire_lock(self.name, self.owner, self.ttl):
                    self.lost = True
                    log.error("lost the run lock of %s on %s to another process; stopping "
                              "after the batch in flight", self.operation, self.connection)
                    return
            except Exception as exc:  # a database hiccup: try again at the next renewal
                log.warning("could not renew the run lock %s: %s", self.name, exc)

    def release(self) -> None:
        self._done.set()
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        with contextlib.suppress(Exception):  # an unreleased lock expires by itself
            self.store.release_lock(self.name, self.owner)

    def __enter__(self) -> RunLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
