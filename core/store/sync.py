"""Sync state of records per connection + operation: which records a run should take
(`candidates`), what happened to each (`set_sync`), and multi-worker claims.

A mixin of Store, kept apart because it is the part the runner and the plugins lean on.
"""

from __future__ import annotations

import functools
import operator
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar, get_args

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Row

from flx.errors import StoreUnavailableError
from flx.model import DONE_STATUSES, SyncStatus
from flx.store.direct import DirectWrite
from flx.store.direct import usable as direct_usable
from flx.store.owners import owner_is_dead
from flx.store.tables import audit as audit_table
from flx.store.tables import records, sync_state, utcnow

__all__ = ["SyncState", "SyncMixin", "SYNC_STATUSES", "OPEN_STATUSES", "chunks", "BATCH",
           "next_state", "blank_state", "reconnecting"]

BATCH = 1000
SYNC_STATUSES = frozenset(get_args(SyncStatus))
KEEP: Any = object()  # set_sync(error=KEEP): leave the stored error as it is
OPEN_STATUSES = ("pending", "waiting", "in_flight")  # always offered to a run
_SYNC_FIELDS = ("status", "remote_ids", "attempts", "error", "content_hash", "first_failed_at",
                "last_attempt_at", "next_retry_at", "updated_at")
_ROW_KEYS = ("connection", "operation", "record_id", *_SYNC_FIELDS)
_ROW = operator.attrgetter(*_ROW_KEYS)  # a SyncState as the values of its row

RECONNECT_WAITS = (0.2, 1.0, 3.0)  # a lost connection: try again after these pauses
_F = TypeVar("_F", bound=Callable[..., Any])


def reconnecting(method: _F) -> _F:
    """A store call that is safe to repeat (a read, or a write of whole rows) is tried again on
    a fresh connection when the database dropped the one it used (a server restart, a
    terminated backend), unless it runs inside a caller's transaction."""
    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(self._local, "current", None) is not None:
            return method(self, *args, **kwargs)
        for pause in RECONNECT_WAITS:
            try:
                return method(self, *args, **kwargs)
            except StoreUnavailableError:
                time.sleep(pause)
        return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


@dataclass
class SyncState:
    """Where one record stands with one connection + operation."""

    connection: str
    operation: str
    record_id: str
    status: str
    remote_ids: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    error: dict[str, Any] | None = None
    content_hash: str | None = None
    first_failed_at: datetime | None = None
    last_attempt_at: datetime | None = None
    next_retry_at: datetime | None = None
    updated_at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


def chunks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    chunk: list[Any] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _state(row: Row[Any], prefix: str = "") -> SyncState:
    m = row._mapping
    values = {name: m[prefix + name] for name in _SYNC_FIELDS}
    values["remote_ids"] = dict(values["remote_ids"] or {})
    return SyncState(connection=m[prefix + "connection"], operation=m[prefix + "operation"],
                     record_id=m[prefix + "record_id"], **values)


def _key(connection: str, operation: str, record_id: str) -> sa.ColumnElement[bool]:
    return sa.and_(sync_state.c.connection == connection, sync_state.c.operation == operation,
                   sync_state.c.record_id == record_id)


def next_state(prior: SyncState, *, status: str | None,
               remote_ids: dict[str, Any] | None = None, error: Any = None,
               content_hash: str | None = None, count_attempt: bool = False,
               next_retry_at: datetime | None = None, now: datetime | None = None,
               ) -> SyncState:
    """The row `set_sync` writes over `prior` (see its docstring for the rules): pure, so a
    holder of the current state can write without reading it again (`put_syncs`)."""
    if status is not None and status not in SYNC_STATUSES:
        raise ValueError(f"unknown sync status {status!r}; expected one of "
                         f"{', '.join(sorted(SYNC_STATUSES))}")
    now = now or utcnow()
    merged = dict(prior.remote_ids or {})
    for name, value in (remote_ids or {}).items():
        if value is None:
            merged.pop(name, None)
        else:
            merged[name] = value
    keeping = status is None
    new_status = prior.status if status is None else status
    first_failed = prior.first_failed_at
    if new_status == "failed" and first_failed is None:
        first_failed = now
    elif new_status in DONE_STATUSES:
        first_failed = None
    return SyncState(
        connection=prior.connection, operation=prior.operation, record_id=prior.record_id,
        status=new_status, remote_ids=merged,
        error=prior.error if error is KEEP else error,
        attempts=prior.attempts + (1 if count_attempt else 0),
        content_hash=content_hash or prior.content_hash, first_failed_at=first_failed,
        last_attempt_at=now if count_attempt else prior.last_attempt_at,
        next_retry_at=prior.next_retry_at if keeping else next_retry_at, updated_at=now)


def blank_state(connection: str, operation: str, record_id: str) -> SyncState:
    """The row a record has before anything happened to it (what a claim inserts)."""
    return SyncState(connection=connection, operation=operation, record_id=record_id,
                     status="pending")


class SyncMixin:
    if TYPE_CHECKING:
        def _conn(self, *, write: bool) -> AbstractContextManager[Connection]: ...
        def _insert(self, table: sa.Table) -> Any: ...
        def _keyset(self, base: sa.Select[Any], key: sa.ColumnElement[str],
                    ids: Iterable[str] | None, batch: int,
                    limit: int | None = None) -> Iterator[list[Any]]: ...

    @reconnecting
    def get_sync(self, connection: str, operation: str, record_id: str) -> SyncState | None:
        with self._conn(write=False) as conn:
            row = conn.execute(sa.select(sync_state).where(
                _key(connection, operation, record_id))).first()
        return _state(row) if row is not None else None

    @reconnecting
    def get_syncs(self, connection: str, operation: str,
                  record_ids: Iterable[str]) -> dict[str, SyncState]:
        """The sync rows of many records at once (absent ones are left out)."""
        out: dict[str, SyncState] = {}
        for chunk in chunks(sorted(set(record_ids)), BATCH):
            with self._conn(write=False) as conn:
                rows = conn.execute(sa.select(sync_state).where(
                    sync_state.c.connection == connection,
                    sync_state.c.operation == operation,
                    sync_state.c.record_id.in_(chunk))).all()
            out.update((row.record_id, _state(row)) for row in rows)
        return out

    def iter_sync(self, connection: str, operation: str,
                  statuses: Iterable[str] | None = None) -> Iterator[SyncState]:
        """Sync rows of a connection + operation (optionally only some statuses), by id."""
        base = sa.select(sync_state).where(sync_state.c.connection == connection,
                                           sync_state.c.operation == operation)
        if statuses is not None:
            base = base.where(sync_state.c.status.in_(list(statuses)))
        for page in self._keyset(base, sync_state.c.record_id, None, BATCH):
            for row in page:
                yield _state(row)

    @reconnecting
    def sync_summary(self, connection: str | None = None) -> list[dict[str, Any]]:
        """Counts per connection, operation and status: [{connection, operation, status,
        count}], for `flx status`."""
        s = sync_state
        query = (sa.select(s.c.connection, s.c.operation, s.c.status,
                           sa.func.count().label("count"))
                 .group_by(s.c.connection, s.c.operation, s.c.status)
                 .order_by(s.c.connection, s.c.operation, s.c.status))
        if connection is not None:
            query = query.where(s.c.connection == connection)
        with self._conn(write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    def candidates(self, connection: str, operation: str, kind: str, *,
                   only: Iterable[str] | None = None, limit: int | None = None,
                   include_done: bool = False, now: datetime | None = None,
                   owner: str | None = None, batch: int = BATCH,
                   ) -> Iterator[tuple[dict[str, Any], SyncState | None]]:
        """Records of `kind` a run of `operation` on `connection` should take, ordered by id,
        streamed: those never tried; pending, waiting or in_flight ones; failed ones whose
        retry time has come or whose content changed since the failed attempt. `only`
        restricts to those ids and then takes failed ones whatever their retry time. Done
        ones (sent, linked, skipped) only with `include_done`. With `owner`, records claimed
        by another worker (unexpired claim) are left out.

        `content_hash(record)` of a yielded record equals the hash stored at import."""
        now = now or utcnow()
        r, s = records, sync_state
        joined = r.outerjoin(s, sa.and_(s.c.connection == connection,
                                        s.c.operation == operation, s.c.record_id == r.c.id))
        failed_due = sa.and_(s.c.status == "failed", sa.or_(
            s.c.next_retry_at <= now, s.c.content_hash != r.c.content_hash))
        wanted = [s.c.record_id.is_(None), s.c.status.in_(OPEN_STATUSES), failed_due]
        if only is not None:
            wanted.append(s.c.status == "failed")
        if include_done:
            wanted.append(s.c.status.in_(sorted(DONE_STATUSES)))
        query = (sa.select(r.c.id, r.c.data, *[c.label("s_" + c.name) for c in s.c])
                 .select_from(joined).where(r.c.kind == kind, sa.or_(*wanted)))
        if owner is not None:
            query = query.where(sa.or_(s.c.claimed_by.is_(None), s.c.claimed_by == owner,
                                       s.c.claim_expires_at <= now))
        for page in self._keyset(query, r.c.id, only, batch, limit):
            for row in page:
                state = _state(row, "s_") if row.s_record_id is not None else None
                yield dict(row.data), state

    @reconnecting
    def changed_since_done(self, connection: str, operation: str, kind: str, *,
                           limit: int = 3) -> tuple[int, list[str]]:
        """Records sent or linked whose content changed since (imported again with other
        data): how many, and the first `limit` ids. flx does not send them again."""
        r, s = records, sync_state
        where = sa.and_(s.c.connection == connection, s.c.operation == operation,
                        s.c.status.in_(("sent", "linked")), s.c.content_hash.is_not(None),
                        r.c.kind == kind, r.c.id == s.c.record_id,
                        r.c.content_hash != s.c.content_hash)
        with self._conn(write=False) as conn:
            count = int(conn.scalar(sa.select(sa.func.count()).select_from(r).join(
                s, r.c.id == s.c.record_id).where(where)) or 0)
            ids = [str(v) for v in conn.scalars(
                sa.select(r.c.id).select_from(r).join(s, r.c.id == s.c.record_id)
                .where(where).order_by(r.c.id).limit(limit))] if count else []
        return count, ids

    @reconnecting
    def set_sync(self, connection: str, operation: str, record_id: str, *,
                 status: str | None,
                 remote_ids: dict[str, Any] | None = None, error: dict[str, Any] | None = None,
                 content_hash: str | None = None, count_attempt: bool = False,
                 next_retry_at: datetime | None = None) -> SyncState:
        """Record where a record stands. `remote_ids` are merged into the stored ones (a None
        value removes that key); `error=None` clears the error; `content_hash=None` keeps
        the stored one; `count_attempt` adds one attempt and stamps last_attempt_at.
        first_failed_at is set by the first failure and cleared by success (a done status).
        A done or failed status also releases the record's claim. `status=None` keeps the
        stored status and its retry time, and `error=KEEP` the stored error: a checkpoint
        needs no read of its own."""
        with self._conn(write=True) as conn:
            # Make the row exist, then lock it (an unknown status raises in next_state and
            # rolls this back): two workers on one record serialise here.
            conn.execute(self._insert(sync_state).values(
                connection=connection, operation=operation, record_id=record_id,
                status=status or "pending", remote_ids={}, attempts=0, updated_at=utcnow(),
            ).on_conflict_do_nothing(index_elements=[sync_state.c.connection,
                                                     sync_state.c.operation,
                                                     sync_state.c.record_id]))
            row = conn.execute(sa.select(sync_state).where(
                _key(connection, operation, record_id)).with_for_update()).one()
            new = next_state(_state(row), status=status, remote_ids=remote_ids, error=error,
                             content_hash=content_hash, count_attempt=count_attempt,
                             next_retry_at=next_retry_at)
            values = {name: getattr(new, name) for name in _SYNC_FIELDS}
            if new.status in DONE_STATUSES or new.status == "failed":
                values.update(claimed_by=None, claim_expires_at=None)
            conn.execute(sa.update(sync_state).where(
                _key(connection, operation, record_id)).values(**values))
        return new

    @reconnecting
    def put_syncs(self, states: Sequence[SyncState], *, release_claims: bool = False,
                  audit_rows: Sequence[dict[str, Any]] = ()) -> None:
        """Write whole sync rows computed by `next_state` from a state this process holds (a
        record it has claimed), in one transaction and one statement, with any pending audit
        rows: the fast path of checkpoints and of a batch's results. `release_claims` also
        ends the claims on these records."""
        if not states and not audit_rows:
            return
        with self._conn(write=True) as conn:
            if audit_rows:
                self._write_audit(conn, audit_rows)
            if states:
                rows = [_ROW(st) for st in states]
                direct = self._direct(("put", release_claims), conn)
                if direct is not None:
                    direct.run(conn, rows)
                else:
                    conn.execute(self._put_statement(release_claims),
                                 [dict(zip(_ROW_KEYS, row, strict=True)) for row in rows])

    def _write_audit(self, conn: Connection, audit_rows: Sequence[dict[str, Any]]) -> None:
        keys = tuple(audit_rows[0])
        direct = self._direct(("audit", keys), conn)
        if direct is None or any(row.keys() != audit_rows[0].keys() for row in audit_rows):
            conn.execute(sa.insert(audit_table), list(audit_rows))
        else:
            direct.run(conn, [tuple(row[k] for k in keys) for row in audit_rows])

    def _direct(self, key: tuple[Any, ...], conn: Connection) -> DirectWrite | None:
        """The hot-path statement `key`, compiled once (None: not for this database)."""
        cache: dict[tuple[Any, ...], DirectWrite | None] = self.__dict__.setdefault(
            "_direct_writes", {})
        if key not in cache:
            dialect = conn.dialect
            if not direct_usable(dialect):
                cache[key] = None
            elif key[0] == "put":
                cache[key] = DirectWrite(self._put_statement(key[1]), _ROW_KEYS, dialect)
            else:
                cache[key] = DirectWrite(sa.insert(audit_table), key[1], dialect)
        return cache[key]

    def _put_statement(self, release_claims: bool) -> Any:
        cache: dict[bool, Any] = self.__dict__.setdefault("_put_statements", {})
        if release_claims not in cache:
            stmt = self._insert(sync_state)
            update = {name: stmt.excluded[name] for name in _SYNC_FIELDS}
            if release_claims:
                update.update(claimed_by=None, claim_expires_at=None)
            cache[release_claims] = stmt.on_conflict_do_update(
                index_elements=[sync_state.c.connection, sync_state.c.operation,
                                sync_state.c.record_id], set_=update)
        return cache[release_claims]

    @reconnecting
    def claim(self, connection: str, operation: str, ids: Iterable[str], owner: str, *,
              ttl_seconds: float = 900, now: datetime | None = None) -> list[str]:
        """Claim records for one worker so that others skip them; returns the ids claimed (in
        id order), which leaves out those another worker holds. On PostgreSQL this is
        SELECT ... FOR UPDATE SKIP LOCKED, so concurrent claimers never wait on each other;
        on SQLite the write lock serialises claimers. A claim lasts `ttl_seconds`, and ends
        earlier on a done/failed set_sync or release_claims."""
        now = now or utcnow()
        s = sync_state
        claimed: list[str] = []
        for chunk in chunks(sorted(set(ids)), BATCH):
            with self._conn(write=True) as conn:
                conn.execute(self._insert(s).on_conflict_do_nothing(
                    index_elements=[s.c.connection, s.c.operation, s.c.record_id]),
                    [{"connection": connection, "operation": operation, "record_id": rid,
                      "status": "pending", "remote_ids": {}, "attempts": 0, "updated_at": now}
                     for rid in chunk])
                self._drop_dead_claims(conn, connection, operation, chunk, owner, now)
                free = conn.execute(
                    sa.select(s.c.record_id)
                    .where(s.c.connection == connection, s.c.operation == operation,
                           s.c.record_id.in_(chunk),
                           sa.or_(s.c.claimed_by.is_(None), s.c.claimed_by == owner,
                                  s.c.claim_expires_at <= now))
                    .order_by(s.c.record_id)
                    .with_for_update(skip_locked=True)).scalars().all()
                if free:
                    conn.execute(sa.update(s).where(
                        s.c.connection == connection, s.c.operation == operation,
                        s.c.record_id.in_(free)).values(
                        claimed_by=owner, claim_expires_at=now + timedelta(seconds=ttl_seconds)))
                claimed.extend(free)
        return claimed

    @reconnecting
    def release_dead_claims(self, connection: str, operation: str,
                            now: datetime | None = None) -> None:
        """Free every claim of this connection + operation whose holder process on this
        machine is gone (a killed run), so a restart sees those records at once."""
        with self._conn(write=True) as conn:
            self._drop_dead_claims(conn, connection, operation, None, "", now or utcnow())

    def _drop_dead_claims(self, conn: Connection, connection: str, operation: str,
                          chunk: list[str] | None, owner: str, now: datetime) -> None:
        """Free claims whose holder process on this machine is gone (a killed run)."""
        s = sync_state
        query = sa.select(s.c.claimed_by).distinct().where(
            s.c.connection == connection, s.c.operation == operation,
            s.c.claimed_by.is_not(None), s.c.claimed_by != owner, s.c.claim_expires_at > now)
        if chunk is not None:
            query = query.where(s.c.record_id.in_(chunk))
        holders = conn.execute(query).scalars().all()
        dead = [h for h in holders if owner_is_dead(h)]
        if dead:
            conn.execute(sa.update(s).where(
                s.c.connection == connection, s.c.operation == operation,
                s.c.claimed_by.in_(dead)).values(claimed_by=None, claim_expires_at=None))

    @reconnecting
    def renew_claims(self, connection: str, operation: str, owner: str, ttl_seconds: float,
                     now: datetime | None = None) -> int:
        """The heartbeat of a worker's claims: every claim `owner` holds on this connection +
        operation lasts `ttl_seconds` from now. Returns how many it holds."""
        s = sync_state
        with self._conn(write=True) as conn:
            result = conn.execute(sa.update(s).where(
                s.c.connection == connection, s.c.operation == operation,
                s.c.claimed_by == owner).values(
                claim_expires_at=(now or utcnow()) + timedelta(seconds=ttl_seconds)))
            return int(result.rowcount or 0)

    @reconnecting
    def claims_held(self, connection: str | None = None, operation: str | None = None, *,
                    except_owner: str | None = None,
                    now: datetime | None = None) -> list[dict[str, Any]]:
        """Unexpired claims per connection, operation and holder: [{connection, operation,
        owner, count}] (what other workers are sending right now)."""
        s = sync_state
        query = (sa.select(s.c.connection, s.c.operation, s.c.claimed_by.label("owner"),
                           sa.func.count().label("count"))
                 .where(s.c.claimed_by.is_not(None), s.c.claim_expires_at > (now or utcnow()))
                 .group_by(s.c.connection, s.c.operation, s.c.claimed_by))
        if connection is not None:
            query = query.where(s.c.connection == connection)
        if operation is not None:
            query = query.where(s.c.operation == operation)
        if except_owner is not None:
            query = query.where(s.c.claimed_by != except_owner)
        with self._conn(write=False) as conn:
            return [dict(row._mapping) for row in conn.execute(query)]

    @reconnecting
    def release_claims(self, connection: str, operation: str, ids: Iterable[str],
                       owner: str) -> None:
        """Give back claims `owner` holds on these records."""
        s = sync_state
        for chunk in chunks(sorted(set(ids)), BATCH):
            with self._conn(write=True) as conn:
                conn.execute(sa.update(s).where(
                    s.c.connection == connection, s.c.operation == operation,
                    s.c.record_id.in_(chunk), s.c.claimed_by == owner,
                ).values(claimed_by=None, claim_expires_at=None))
