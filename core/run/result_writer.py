"""Store each record's result as soon as the plugin has it, not when its whole batch is done.

A batch of 250 orders takes a while; a run killed near its end used to lose every result of
the batch (the records were left in flight, to be looked up again by external id at the
next run). The runner hands a record's new sync state to this writer the moment the plugin
finishes the record; the next checkpoint of any record (`write_with`, a write that happens
anyway before each remote write) stores them in its own transaction, and a background thread
writes what no checkpoint took within 50 ms (or as soon as 32 are waiting), so progress is
kept at almost no cost of its own. The batch's own write at its end still
happens (it reports, and ends the claims; writing a batch's rows again in one statement
costs little).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flx.store.store import Store, SyncState

__all__ = ["ResultWriter"]

log = logging.getLogger("flx.runner")


class ResultWriter:
    def __init__(self, store: Store, take_audit: Callable[[], list[dict[str, Any]]], *,
                 interval: float = 0.05, most: int = 32) -> None:
        self.store = store
        self.take_audit = take_audit
        self.interval = interval
        self.most = most
        self._queued: dict[str, SyncState] = {}
        self._cond = threading.Condition()
        self._write = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._loop, name="flx-results", daemon=True)
        self._thread.start()

    def put(self, state: SyncState) -> None:
        with self._cond:
            self._queued[state.record_id] = state
            if len(self._queued) == 1 or len(self._queued) >= self.most:
                self._cond.notify()

    def write_with(self, write: Callable[[list[SyncState]], None]) -> None:
        """Run a checkpoint's `write` with the results queued now: they share its transaction
        (a checkpoint comes every few records, so this thread seldom writes on its own). While
        a flush is writing, the checkpoint goes alone rather than wait for it."""
        if not self._write.acquire(blocking=False):
            write([])
            return
        try:
            with self._cond:
                rows, self._queued = list(self._queued.values()), {}
            try:
                write(rows)
            except Exception:
                if not rows:
                    raise
                with self._cond:  # not stored: back in the queue, behind any newer state
                    for row in rows:
                        self._queued.setdefault(row.record_id, row)
                write([])  # the checkpoint alone: another record's result cannot fail it
        finally:
            self._write.release()

    def flush(self) -> None:
        """Write what is queued now (the batch's own write follows, so it comes last)."""
        with self._write:
            with self._cond:
                rows, self._queued = list(self._queued.values()), {}
            if not rows:
                return
            try:
                self.store.put_syncs(rows, audit_rows=self.take_audit())
            except Exception as exc:  # noqa: BLE001 - the batch's own write stores them later
                log.warning("results not stored early (they are stored with the batch): %s",
                            type(exc).__name__)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self.flush()

    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._queued and not self._closed:
                    self._cond.wait()
                if self._closed:
                    return
                # Let a few more results arrive (up to `most`): one transaction for them.
                if len(self._queued) < self.most:
                    self._cond.wait(self.interval)
            self.flush()

