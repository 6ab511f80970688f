"""The store: imported records, per-connection sync state, lookup cache, runs, audit, locks,
plugin state.

One `Store(url)` works on SQLite (default, one machine) and PostgreSQL (shared, several
workers) with the same SQL. Every public method is its own transaction unless called inside
`with store.transaction():`, which groups them (this thread only). Long reads (`candidates`,
`iter_records`, `iter_sync`) are streamed in keyset-paginated batches, each a short read, so a
run over 100k records never holds a transaction or the whole set in memory.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, nullcontext
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from flx.errors import AbortError, FlxError, RetryableError, StoreUnavailableError
from flx.store import engine as store_engine
from flx.store.engine import (
    BEGIN_OPTION,
    create_store_engine,
    is_memory_sqlite,
    masked,
)
from flx.store.engine import normalize_url as _normalize_url
from flx.store.owners import default_owner, owner_is_dead
from flx.store.source_state import SourceStateMixin
from flx.store.state import StateMixin
from flx.store.sync import BATCH, SyncMixin, SyncState, chunks, reconnecting
from flx.store.tables import audit, locks, lookup_cache, migrate, records, runs, utcnow
from flx.store.upsert import ImportCounts, ImportMixin, Prepared

__all__ = ["Store", "SyncState", "ImportCounts", "Prepared", "audit_row", "default_owner"]

_PG_MIGRATION_LOCK = 0x666C7800  # advisory lock id: one migrator at a time per database


class Store(SyncMixin, ImportMixin, StateMixin, SourceStateMixin):
    def __init__(self, url: str, *, pool_size: int = 3) -> None:
        self._url = _normalize_url(url)
        self.url = masked(self._url)  # safe to show: no password
        self.dialect = self._url.get_backend_name()  # "sqlite" | "postgresql"
        self.engine = create_store_engine(self._url, pool_size=pool_size)
        self._sqlite = self.dialect == "sqlite"
        self._memory = is_memory_sqlite(self._url)
        # SQLite allows one writer; queueing our own threads here beats busy-waiting on the
        # file lock. (Other processes still wait on busy_timeout.) PostgreSQL uses row locks.
        self._write_lock = threading.RLock()
        self._local = threading.local()
        self._ready = False
        self._ready_lock = threading.Lock()

    def __repr__(self) -> str:
        return f"Store({self.url!r})"

    def close(self) -> None:
        self.engine.dispose()

    def fit_pool(self, threads: int) -> None:
        """Size the PostgreSQL connection pool for `threads` threads that may use the store at
        once (a run's concurrency plus its own few); it only grows. SQLite is unaffected."""
        if self._sqlite or threads <= self.engine.pool.size():  # type: ignore[attr-defined]
            return
        old, self.engine = self.engine, create_store_engine(self._url, pool_size=threads)
        old.dispose()  # connections in use finish their work and are closed when returned

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- transactions ------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Everything this thread does on the store inside the block commits together, or not
        at all if the block raises. On SQLite the block holds the store's write lock: do not
        wait inside it for other threads that write to the same Store."""
        with self._conn(write=True):
            yield

    @contextmanager
    def _conn(self, *, write: bool) -> Iterator[Connection]:
        current: tuple[Connection, bool] | None = getattr(self._local, "current", None)
        if current is not None:
            conn, is_write = current
            if write and not is_write:
                raise RuntimeError("a store write was attempted inside a read-only transaction")
            yield conn
            return
        self._ensure_schema()
        serialise = self._sqlite and (write or self._memory)
        try:
            with (self._write_lock if serialise else nullcontext(),
                  self.engine.connect() as conn):
                if self._sqlite:
                    conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE" if write
                                              else "DEFERRED"})
                with conn.begin():
                    self._local.current = (conn, write)
                    try:
                        yield conn
                    finally:
                        self._local.current = None
        except (sa.exc.OperationalError, sa.exc.InterfaceError, sa.exc.TimeoutError) as exc:
            raise self._translate(exc) from None

    def _translate(self, exc: sa.exc.SQLAlchemyError) -> FlxError:
        """A database failure in words (never the SQL or its parameters, which hold data)."""
        reason = (str(getattr(exc, "orig", None) or exc).strip().splitlines() or [""])[0]
        if self._sqlite and ("locked" in reason or "busy" in reason):
            return RetryableError(
                f"the store {self.url} is busy: another flx process kept it locked for "
                f"{store_engine.BUSY_TIMEOUT_MS / 1000:g} seconds",
                hint="try again when the other import or run has finished; for several "
                     "workers at once use PostgreSQL as the store")
        if self._url.password:
            reason = reason.replace(str(self._url.password), "***")
        if not self._sqlite:  # a lost or refused connection: the next attempt may succeed
            return StoreUnavailableError(
                f"the store {self.url} failed: {reason}",
                hint="check that the database is reachable and has space; records being "
                     "sent were left as they were and go at the next run")
        return AbortError(f"the store {self.url} failed: {reason}",
                          hint="check that the database is reachable and has space, then "
                               "run the command again (nothing half-done was kept)")

    def _ensure_schema(self) -> None:
        if self._ready:
            return
        with self._ready_lock:
            if self._ready:
                return
            try:
                with (self._write_lock if self._sqlite else nullcontext(),
                      self.engine.connect() as conn):
                    if self._sqlite:
                        conn.execution_options(**{BEGIN_OPTION: "IMMEDIATE"})
                    with conn.begin():
                        if self.dialect == "postgresql":
                            conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"),
                                         {"k": _PG_MIGRATION_LOCK})
                        migrate(conn)
            except (sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
                reason = str(getattr(exc, "orig", exc)).strip().splitlines()[0]
                if self._url.password:
                    reason = reason.replace(str(self._url.password), "***")
                raise AbortError(
                    f"cannot open the store at {self.url}: {reason}",
                    hint="check [store] url in flx.toml, and that the database server is "
                         "running and reachable",
                ) from None
            except RuntimeError as exc:
                raise AbortError(str(exc), hint="upgrade flx to the version that wrote this "
                                                "store") from None
            self._ready = True

    @reconnecting
    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        with self._conn(write=False) as conn:
            data = conn.scalar(sa.select(records.c.data).where(
                records.c.kind == kind, records.c.id == record_id))
        return dict(data) if data is not None else None

    @reconnecting
    def get_records(self, kind: str, record_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Many records of one kind at once, by id (absent ones are left out)."""
        out: dict[str, dict[str, Any]] = {}
        for chunk in chunks(sorted(set(record_ids)), BATCH):
            with self._conn(write=False) as conn:
                rows = conn.execute(sa.select(records.c.id, records.c.data).where(
                    records.c.kind == kind, records.c.id.in_(chunk))).all()
            out.update((row.id, dict(row.data)) for row in rows)
        return out

    @reconnecting
    def record_info(self, kind: str, record_id: str) -> dict[str, Any] | None:
        """Bookkeeping of one record: content_hash, imported_at, updated_at (no data)."""
        with self._conn(write=False) as conn:
            row = conn.execute(sa.select(records.c.content_hash, records.c.imported_at,
                                         records.c.updated_at)
                               .where(records.c.kind == kind, records.c.id == record_id)).first()
        return dict(row._mapping) if row is not None else None

    def iter_records(self, kind: str, ids: Iterable[str] | None = None,
                     batch: int = 500) -> Iterator[dict[str, Any]]:
        """Records of a kind ordered by id, streamed in batches. With `ids`, only those (ids
        not in the store are skipped)."""
        base = sa.select(records.c.id, records.c.data).where(records.c.kind == kind)
        for query in self._keyset(base, records.c.id, ids, batch):
            for row in query:
                yield dict(row.data)

    @reconnecting
    def ids_like(self, kind: str, prefix: str, limit: int = 200) -> list[str]:
        """Ids of a kind starting with `prefix`, letter case ignored (for "did you mean")."""
        pattern = prefix.lower().replace("\\", "\\\\").replace("%", "\\%") \
            .replace("_", "\\_") + "%"
        query = (sa.select(records.c.id).where(records.c.kind == kind,
                                               sa.func.lower(records.c.id).like(pattern,
                                                                                escape="\\"))
                 .order_by(records.c.id).limit(limit))
        with self._conn(write=False) as conn:
            return [str(v) for v in conn.scalars(query)]

    @reconnecting
    def count_records(self, kind: str) -> int:
        with self._conn(write=False) as conn:
            return int(conn.scalar(sa.select(sa.func.count()).select_from(records)
                                   .where(records.c.kind == kind)) or 0)

    def _keyset(self, base: sa.Select[Any], key: sa.ColumnElement[str],
                ids: Iterable[str] | None, batch: int,
                limit: int | None = None) -> Iterator[list[Any]]:
        """Pages of `base` ordered by `key`, each fetched in its own short read (`key > last`).
        With `ids`, pages cover those ids only, still in key order."""
        remaining = limit
        groups: Iterable[list[str] | None] = (
            chunks(sorted(set(ids)), BATCH) if ids is not None else [None])
        for group in groups:
            last: str | None = None
            while remaining is None or remaining > 0:
                query = base
                if group is not None:
                    query = query.where(key.in_(group))
                if last is not None:
                    query = query.where(key > last)
                size = batch if remaining is None else min(batch, remaining)
                rows = self._page(query.order_by(key).limit(size))
                if rows:
                    yield rows
                if remaining is not None:
                    remaining -= len(rows)
                if len(rows) < size:
                    break
                last = rows[-1]._mapping[key.name]

    @reconnecting
    def _page(self, query: sa.Select[Any]) -> list[Any]:
        with self._conn(write=False) as conn:
            return list(conn.execute(query))

    # --- lookup cache ------------------------------------------------------------------------

    @reconnecting
    def cache_get_many(self, connection: str, kind: str, keys: Iterable[str]) -> dict[str, str]:
        """Cached remote ids (or small JSON strings) for `keys`; missing keys are absent."""
        found: dict[str, str] = {}
        for chunk in chunks(sorted(set(keys)), BATCH):
            with self._conn(write=False) as conn:
                found.update(conn.execute(
                    sa.select(lookup_cache.c.key, lookup_cache.c.remote_id).where(
                        lookup_cache.c.connection == connection, lookup_cache.c.kind == kind,
                        lookup_cache.c.key.in_(chunk))).all())
        return found

    @reconnecting
    def cache_put_many(self, connection: str, kind: str, mapping: dict[str, str]) -> None:
        if not mapping:
            return
        now = utcnow()
        rows = [{"connection": connection, "kind": kind, "key": k, "remote_id": str(v),
                 "updated_at": now} for k, v in mapping.items()]
        with self._conn(write=True) as conn:
            for chunk in chunks(rows, BATCH):
                stmt = self._insert(lookup_cache)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=[lookup_cache.c.connection, lookup_cache.c.kind,
                                    lookup_cache.c.key],
                    set_={"remote_id": stmt.excluded.remote_id,
                          "updated_at": stmt.excluded.updated_at}), chunk)

    def cache_clear(self, connection: str, kind: str | None = None) -> int:
        """Forget cached lookups of a connection (of one kind); returns how many."""
        query = sa.delete(lookup_cache).where(lookup_cache.c.connection == connection)
        if kind is not None:
            query = query.where(lookup_cache.c.kind == kind)
        with self._conn(write=True) as conn:
            return int(conn.execute(query).rowcount or 0)

    # --- runs and audit ----------------------------------------------------------------------

    def start_run(self, connection: str, operation: str, dry_run: bool) -> int:
        with self._conn(write=True) as conn:
            result = conn.execute(sa.insert(runs).values(
                connection=connection, operation=operation, dry_run=bool(dry_run),
                started_at=utcnow(), status="running"))
            return int(result.inserted_primary_key[0])  # type: ignore[index]

    @reconnecting
    def finish_run(self, run_id: int, counts: dict[str, Any], status: str,
                   error: dict[str, Any] | None = None) -> None:
        """`error`: why an aborted run stopped ({"class", "message"}, already redacted)."""
        with self._conn(write=True) as conn:
            conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
                finished_at=utcnow(), counts=counts, status=status, error=error))

    def interrupt_stale_runs(self, connection: str, operation: str) -> int:
        """Mark the real (not dry) runs of connection + operation still `running` as
        `interrupted`, finished now, counts as they were; returns how many. Call it only while
        holding their run lock: then no other real run of them is alive, so these were killed
        before `finish_run`. Dry runs take no lock and are left alone."""
        with self._conn(write=True) as conn:
            result = conn.execute(sa.update(runs).where(
                runs.c.connection == connection, runs.c.operation == operation,
                runs.c.dry_run.is_(False), runs.c.status == "running",
            ).values(finished_at=utcnow(), status="interrupted"))
            return int(result.rowcount or 0)

    @reconnecting
    def recent_runs(self, connection: str | None = None, operation: str | None = None,
                    limit: int = 20, *, real_only: bool = False) -> list[dict[str, Any]]:
        """Newest first; `real_only` leaves dry runs out."""
        query = sa.select(runs).order_by(runs.c.id.desc()).limit(limit)
        if real_only:
            query = query.where(runs.c.dry_run.is_(False))
        if connection is not None:
            query = query.where(runs.c.connection == connection)
        if operation is not None:
            query = query.where(runs.c.operation == operation)
        with self._conn(write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def audit(self, connection: str, run_id: int | None, method: str, path: str, status: int,
              remote_id: str | None = None, record_id: str | None = None) -> None:
        """Record one remote write (see `audit_row`)."""
        with self._conn(write=True) as conn:
            conn.execute(sa.insert(audit).values(**audit_row(
                connection, run_id, method, path, status, remote_id, record_id)))

    def audit_entries(self, connection: str | None = None, run_id: int | None = None,
                      limit: int = 100, *, record_id: str | None = None,
                      ) -> list[dict[str, Any]]:
        """The audit trail, newest first."""
        query = sa.select(audit).order_by(audit.c.id.desc()).limit(limit)
        if record_id is not None:
            query = query.where(audit.c.record_id == record_id)
        if connection is not None:
            query = query.where(audit.c.connection == connection)
        if run_id is not None:
            query = query.where(audit.c.run_id == run_id)
        with self._conn(write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    # --- locks -------------------------------------------------------------------------------

    @reconnecting
    def acquire_lock(self, name: str, owner: str, ttl_seconds: float, *,
                     now: datetime | None = None) -> bool:
        """Take the lock `name` for `ttl_seconds`, or renew it if `owner` holds it. True when
        `owner` holds it afterwards. Atomic across threads, processes and machines: one
        INSERT ... ON CONFLICT DO UPDATE that takes over only an expired lock. `owner` must be
        unique per process (see default_owner())."""
        now = now or utcnow()
        stmt = self._insert(locks).values(name=name, owner=owner,
                                          expires_at=now + timedelta(seconds=ttl_seconds))
        stmt = stmt.on_conflict_do_update(
            index_elements=[locks.c.name],
            set_={"owner": stmt.excluded.owner, "expires_at": stmt.excluded.expires_at},
            where=sa.or_(locks.c.expires_at <= now, locks.c.owner == owner))
        with self._conn(write=True) as conn:
            conn.execute(stmt)
            holder = conn.scalar(sa.select(locks.c.owner).where(locks.c.name == name))
            if holder != owner and owner_is_dead(holder):
                # Its process is gone (a killed run): take the lock now, not in ttl seconds.
                conn.execute(sa.delete(locks).where(locks.c.name == name,
                                                    locks.c.owner == holder))
                conn.execute(stmt)
                holder = conn.scalar(sa.select(locks.c.owner).where(locks.c.name == name))
        return holder == owner

    @reconnecting
    def release_lock(self, name: str, owner: str) -> bool:
        """Release the lock if `owner` holds it; True when it did."""
        with self._conn(write=True) as conn:
            result = conn.execute(sa.delete(locks).where(locks.c.name == name,
                                                         locks.c.owner == owner))
            return bool(result.rowcount)

    @reconnecting
    def lock_holder(self, name: str, *, now: datetime | None = None) -> str | None:
        """Who holds an unexpired lock `name`, or None."""
        with self._conn(write=False) as conn:
            row = conn.execute(sa.select(locks.c.owner, locks.c.expires_at)
                               .where(locks.c.name == name)).first()
        if row is None or row.expires_at <= (now or utcnow()):
            return None
        return str(row.owner)


def audit_row(connection: str, run_id: int | None, method: str, path: str, status: int,
              remote_id: str | None = None, record_id: str | None = None) -> dict[str, Any]:
    """One audit row. Only the URL path is kept: a query string, fragment or credentials in
    `path` are dropped, and there is nowhere to put headers or bodies."""
    return {"at": utcnow(), "connection": connection, "run_id": run_id,
            "method": method.upper()[:10], "path": _path_only(path), "status": int(status),
            "remote_id": None if remote_id is None else str(remote_id)[:100],
            "record_id": record_id}


def _path_only(path: str) -> str:
    parts = urlsplit(path)
    return (parts.path or "/")[:2000]

