"""The figures the dashboard shows beyond what `flx status` computes: run history per hour,
failures per class per day, run totals and last successes (for /metrics), remote writes by
HTTP status. Read-only aggregates over the store's tables, each one short query."""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from flx.store.tables import audit, runs, sync_state

if TYPE_CHECKING:
    from flx.store.store import Store

# Audit rows of flx's own decisions (no request was made): not remote writes.
OWN_METHODS = ("RETRY", "RESOLVE")


def _rows(store: Store, query: sa.Select[Any]) -> list[Any]:
    with store.engine.connect() as conn:
        return list(conn.execute(query))


def _utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def hourly_records(store: Store, since: dt.datetime) -> dict[dt.datetime, dict[str, int]]:
    """Per hour (UTC, by run start): records done (sent + linked) and failed by real runs."""
    out: dict[dt.datetime, dict[str, int]] = defaultdict(lambda: {"done": 0, "failed": 0})
    query = sa.select(runs.c.started_at, runs.c.counts).where(
        runs.c.started_at >= since.replace(tzinfo=None), runs.c.dry_run.is_(False))
    for started, counts in _rows(store, query):
        hour = _utc(started).replace(minute=0, second=0, microsecond=0)  # type: ignore[union-attr]
        counts = counts or {}
        out[hour]["done"] += int(counts.get("sent") or 0) + int(counts.get("linked") or 0)
        out[hour]["failed"] += int(counts.get("failed") or 0)
    return dict(out)


def daily_failures(store: Store, since: dt.datetime) -> dict[dt.date, Counter[str]]:
    """Records failing now, per day of their last attempt and error class."""
    out: dict[dt.date, Counter[str]] = defaultdict(Counter)
    query = sa.select(sync_state.c.last_attempt_at, sync_state.c.error).where(
        sync_state.c.status == "failed", sync_state.c.last_attempt_at >= since.replace(
            tzinfo=None))
    for when, error in _rows(store, query):
        day = _utc(when).date()  # type: ignore[union-attr]
        out[day][str((error or {}).get("class") or "error")] += 1
    return dict(out)


def run_totals(store: Store) -> list[dict[str, Any]]:
    """Real runs per connection, operation and status."""
    query = (sa.select(runs.c.connection, runs.c.operation, runs.c.status,
                       sa.func.count().label("count"))
             .where(runs.c.dry_run.is_(False))
             .group_by(runs.c.connection, runs.c.operation, runs.c.status))
    return [dict(r._mapping) for r in _rows(store, query)]


def last_runs(store: Store) -> list[dict[str, Any]]:
    """Per connection + operation: when the last successful real run finished, and how long
    the last finished real run took."""
    ok = (sa.select(runs.c.connection, runs.c.operation,
                    sa.func.max(runs.c.finished_at).label("at"))
          .where(runs.c.dry_run.is_(False), runs.c.status == "ok")
          .group_by(runs.c.connection, runs.c.operation))
    success = {(r.connection, r.operation): _utc(r.at) for r in _rows(store, ok)}
    newest = (sa.select(sa.func.max(runs.c.id))
              .where(runs.c.dry_run.is_(False), runs.c.finished_at.is_not(None),
                     runs.c.status != "interrupted")
              .group_by(runs.c.connection, runs.c.operation))
    last = sa.select(runs.c.connection, runs.c.operation, runs.c.started_at,
                     runs.c.finished_at).where(runs.c.id.in_(newest))
    out = []
    for row in _rows(store, last):
        key = (row.connection, row.operation)
        took = (_utc(row.finished_at) - _utc(row.started_at)).total_seconds()  # type: ignore
        out.append({"connection": key[0], "operation": key[1],
                    "last_duration_seconds": max(took, 0.0),
                    "last_success_at": success.pop(key, None)})
    out += [{"connection": c, "operation": o, "last_duration_seconds": None,
             "last_success_at": at} for (c, o), at in success.items()]
    return out


def remote_writes(store: Store) -> list[dict[str, Any]]:
    """Remote writes per connection, HTTP method and status (429s included: throttling)."""
    query = (sa.select(audit.c.connection, audit.c.method, audit.c.status,
                       sa.func.count().label("count"))
             .where(audit.c.method.not_in(OWN_METHODS))
             .group_by(audit.c.connection, audit.c.method, audit.c.status))
    return [dict(r._mapping) for r in _rows(store, query)]
