"""The service object a plugin receives with every hook call."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from flx.config.redact import Redactor
from flx.model import RecordResult
from flx.run.http import Purpose, build_client
from flx.run.state import PluginState
from flx.store.store import audit_row
from flx.store.sync import KEEP, blank_state, next_state

if TYPE_CHECKING:
    from flx.model import Connection, ConnectorInfo
    from flx.render.renderer import Renderer
    from flx.store.store import Store, SyncState

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class Runtime:
    store: Store
    connection: Connection
    connector: ConnectorInfo
    operation: str | None = None
    dry_run: bool = False
    renderer: Renderer | None = None
    profile: dict[str, Any] = field(default_factory=dict)
    transport: httpx.BaseTransport | None = None
    run_id: int | None = None
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("flx"))
    progress: Callable[[int], None] = lambda n: None
    # Called with each record's result as map() gets it (core/run/batches.py stores it at once).
    on_result: Callable[[Any], None] | None = None
    # Called first by close() (the runner's early result writer).
    closing: list[Callable[[], None]] = field(default_factory=list, repr=False)
    # Set by the runner: runs a checkpoint's write with the results waiting to be stored
    # added to it (core/run/result_writer.py), one transaction for both.
    write_with: Callable[[Callable[[list[SyncState]], None]], None] | None = None
    workers: int = 1
    # The run's (its report's): secrets learned while running are masked in what it prints.
    redactor: Redactor = field(default_factory=Redactor, repr=False)
    _kv: PluginState | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    # Sync states of the batch in hand, as the runner read them: `state()` answers from here
    # and `checkpoint()` keeps it current, so a plugin's reads cost no store query.
    _states: dict[str, SyncState | None] = field(default_factory=dict, repr=False)
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)
    # Records and other operations' states a plugin prefetched for the batch in hand.
    _related: dict[tuple[str, str], dict[str, Any] | None] = field(default_factory=dict,
                                                                    repr=False)
    _related_states: dict[tuple[str, str], SyncState | None] = field(default_factory=dict,
                                                                      repr=False)
    # Audit rows of remote writes, written with the next checkpoint or the batch's results
    # (one transaction instead of one per request); a crash loses at most the newest ones,
    # whose records are left in_flight and reconciled by external id.
    _pending_audit: list[dict[str, Any]] = field(default_factory=list, repr=False)
    _acting: threading.local = field(default_factory=threading.local, repr=False)

    def remember_states(self, states: dict[str, SyncState | None]) -> None:
        """Called by the runner with the states of the batch it hands the plugin (read after
        claiming them, so current: only this process writes a claimed record)."""
        self._states.update(states)
        self._related.clear()
        self._related_states.clear()

    def prefetch(self, kind: str, record_ids: Iterable[str], *,
                 operation: str | None = None) -> None:
        """Read the batch's related records (say the orders of its shipments) and their sync
        states for `operation` in two queries: `record()` and `state()` answer from them
        for the rest of the batch."""
        ids = {str(i) for i in record_ids}
        found = self.store.get_records(kind, ids)
        self._related.update({(kind, i): found.get(i) for i in ids})
        if operation is not None:
            states = self.store.get_syncs(self.connection.name, operation, ids)
            self._related_states.update({(operation, i): states.get(i) for i in ids})

    def record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """A stored record (prefetched for this batch, or read now)."""
        if (kind, record_id) in self._related:
            return self._related[(kind, record_id)]
        return self.store.get_record(kind, record_id)

    def take_states(self, record_ids: Iterable[str]) -> dict[str, SyncState | None]:
        """The latest states of a finished batch's records, forgotten here (the runner)."""
        return {rid: self._states.pop(rid, None) for rid in record_ids}

    def take_audit(self) -> list[dict[str, Any]]:
        """Audit rows not written yet; the caller writes them in its own transaction."""
        with self._lock:
            rows, self._pending_audit = self._pending_audit, []
        return rows

    def flush_audit(self) -> None:
        self.store.put_syncs([], audit_rows=self.take_audit())

    @property
    def kv(self) -> PluginState:
        """This connection's plugin state (scope "connection:NAME"): tokens, cursors,
        sequence numbers kept between runs, with compare-and-set and a cross-process lock."""
        with self._lock:
            if self._kv is None:
                self._kv = PluginState(self.store, f"connection:{self.connection.name}",
                                       self.redactor)
            return self._kv

    def cache_get_many(self, kind: str, keys: Iterable[str]) -> dict[str, str]:
        """This connection's cached look-ups of `kind` (say remote ids by SKU) for `keys`;
        keys not cached are absent."""
        return self.store.cache_get_many(self.connection.name, kind, keys)

    def cache_put_many(self, kind: str, mapping: dict[str, str]) -> None:
        """Cache look-ups (key -> remote id or a small JSON string) for later runs."""
        self.store.cache_put_many(self.connection.name, kind, mapping)

    def http_client(self, *, base_url: str, auth: httpx.Auth | None = None,
                    headers: dict[str, str] | None = None, timeout: float = 60.0,
                    max_connections: int | None = None,
                    purpose: Purpose = "records") -> httpx.Client:
        """An httpx.Client for this connection: injected transport, dry-run guard, audit.
        purpose="auth" is for credentials only (an OAuth token refresh): its writes pass the
        dry-run guard and are not audited as record writes."""
        client = build_client(
            base_url=base_url, auth=auth, headers=headers, timeout=timeout,
            transport=self.transport, dry_run=self.dry_run,
            audit=None if purpose == "auth" else self._audit,
            max_connections=max_connections or max(self.workers, 1) * 2, purpose=purpose,
        )
        with self._lock:
            self._clients.append(client)
        return client

    def close(self) -> None:
        """Write pending audit rows and close every HTTP client handed out (the runner calls
        this when a run ends). An injected transport is shared by the caller and stays open."""
        self.on_result = None
        try:
            while self.closing:
                self.closing.pop()()
            self.flush_audit()
        finally:
            with self._lock:
                clients, self._clients = self._clients, []
            for client in clients:
                if self.transport is None:
                    client.close()

    @contextmanager
    def acting_for(self, record_id: str) -> Iterator[None]:
        """Remote writes made inside, on this thread, are audited under `record_id` (so
        `flx show ID` lists them). Wrap each record's work in it."""
        previous = getattr(self._acting, "record_id", None)
        self._acting.record_id = record_id
        try:
            yield
        finally:
            self._acting.record_id = previous

    def _audit(self, method: str, path: str, status: int, remote_id: str | None) -> None:
        row = audit_row(self.connection.name, self.run_id, method, path, status, remote_id,
                        getattr(self._acting, "record_id", None))
        with self._lock:
            self._pending_audit.append(row)

    def checkpoint(self, record_id: str, *, status: str | None = None,
                   remote_ids: dict[str, Any] | None = None,
                   operation: str | None = None) -> None:
        """Persist progress now (before the next remote write), so that a crash leaves enough
        behind to reconcile instead of creating again. Ignored in a dry run."""
        if self.dry_run:
            return
        op = operation or self.operation
        assert op is not None
        if op == self.operation and record_id in self._states:
            # A record of the batch in hand: its state is known, one write and no read.
            prior = self._states[record_id] or blank_state(self.connection.name, op, record_id)
            saved = next_state(prior, status=status, remote_ids=remote_ids, error=KEEP)

            def write(results: list[SyncState]) -> None:
                self.store.put_syncs([*results, saved], audit_rows=self.take_audit())
            if self.write_with is not None:
                self.write_with(write)
            else:
                write([])
            self._states[record_id] = saved
            return
        with self.store.transaction():
            self.store.put_syncs([], audit_rows=self.take_audit())
            self.store.set_sync(self.connection.name, op, record_id, status=status,
                                remote_ids=remote_ids, error=KEEP)

    def _done(self, result: Any) -> None:
        """Hand finished records' results (one, or a group's list) to `on_result`."""
        hook = self.on_result
        if hook is None:
            return
        for one in result if isinstance(result, list) else (result,):
            if isinstance(one, RecordResult):
                try:
                    hook(one)
                except Exception as exc:  # noqa: BLE001 - stored with the batch anyway
                    self.logger.warning("a result was not stored early: %s",
                                        type(exc).__name__)

    def state(self, record_id: str, operation: str | None = None) -> SyncState | None:
        op = operation or self.operation
        assert op is not None
        if op == self.operation and record_id in self._states:
            return self._states[record_id]
        if (op, record_id) in self._related_states:
            return self._related_states[(op, record_id)]
        return self.store.get_sync(self.connection.name, op, record_id)

    def map(self, fn: Callable[[T], R], items: Sequence[T] | Iterable[T], *,
            workers: int | None = None) -> list[R]:
        """Apply fn to each item on the bounded worker pool; results keep input order.

        `workers` defaults to the connection's concurrency. A plugin whose client caps the
        requests in flight itself may ask for more threads than that, so that one worker's
        local work (rendering, the store) never leaves a request slot idle."""
        items = list(items)
        workers = workers or self.workers
        if workers <= 1 or len(items) <= 1:
            out = []
            for item in items:
                out.append(fn(item))
                self._done(out[-1])
                self.progress(1)
            return out

        def run(item: T) -> R:
            try:
                result = fn(item)
                self._done(result)
                return result
            finally:
                self.progress(1)

        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flx") as pool:
            return list(pool.map(run, items))
