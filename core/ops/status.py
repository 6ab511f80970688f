"""What happened and what is stuck: `flx status`, `flx errors`, `flx retry`, `flx resolve`,
`flx runs`, as typed functions over the store (the CLI in core/cli/status.py only prints).

Vocabulary, per connection + operation + record (flx.model.SyncStatus):
- failed records carry an error dict (class, message, hint, code, detail, path); transient
  classes get a `next_retry_at` from flx.run.runner.next_retry_at, data classes do not: the store
  offers them again when the record's content hash changes (a corrected re-import) or after
  `flx retry`.
- `retry` puts failed records back to `pending` (history kept: attempts, first failure, the
  last error) so the next run takes them whatever their retry time.
- `resolve` marks a record `skipped` with a person's note: never sent again, and an entry in
  the audit trail says who decided what (method RESOLVE).

The error classes, their default hints, the `flx errors` row format and the grouping of
waiting reasons are in core/run/hints.py.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from flx.errors import ConfigError
from flx.model import DONE_STATUSES
from flx.operations.builtin import builtin_operations
from flx.operations.registry import Operations

# AUTO_RETRY_CLASSES, DATA_CLASSES, DEFAULT_HINTS, fix_hint, reason_group: re-exported.
from flx.run.hints import (  # noqa: F401
    AUTO_RETRY_CLASSES,
    DATA_CLASSES,
    DEFAULT_HINTS,
    KNOWN_CLASSES,
    error_row,
    fix_hint,
    iso_utc,
    reason_group,
)
from flx.run.report import changed_note
from flx.run.state import shown_state, state_lines

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.store.store import Store, SyncState

__all__ = ["AUTO_RETRY_CLASSES", "DATA_CLASSES", "DEFAULT_HINTS", "INTERRUPTED_HINT",
           "KNOWN_CLASSES", "fix_hint", "list_errors", "list_runs",
           "reason_group", "records_text", "resolve", "retry", "status_lines", "status_summary"]

log = logging.getLogger("flx.status")


# --- small helpers -------------------------------------------------------------------------------


def _check_filters(config: Config, store: Store, *, error_class: str | None = None,
                   operation: str | None = None, connection: str | None = None) -> None:
    """Unknown filter values are mistakes worth a clear error, not an empty answer."""
    problems = []
    if operation is not None and operation not in config.operations:
        problems.append(f"--operation {operation!r}: use one of "
                        f"{', '.join(config.operations.names())}")
    if error_class is not None and error_class not in KNOWN_CLASSES:
        problems.append(f"--class {error_class!r}: use one of {', '.join(KNOWN_CLASSES)}")
    if connection is not None:
        known = set(config.connections) | {p[0] for p in _stored_pairs(store)}
        if connection not in known:
            problems.append(f"--connection {connection!r}: known connections are "
                            f"{', '.join(sorted(known)) or 'none'}")
    if problems:
        raise ConfigError("unknown filter value" + ("s" if len(problems) > 1 else ""),
                          problems=problems, hint="correct the option and run the command again")


def _stored_pairs(store: Store) -> set[tuple[str, str]]:
    return {(row["connection"], row["operation"]) for row in store.sync_summary()}


def _pairs(config: Config, store: Store, connection: str | None = None,
           operation: str | None = None) -> list[tuple[str, str]]:
    """Every connection + operation that is configured or has sync state, in a stable order
    (connections by name, operations in flow order: orders, shipments, vendor bills)."""
    found = set(_stored_pairs(store))
    for name, conn in config.connections.items():
        found.update((name, op) for op in conn.operations if op in config.operations)
    order = {op: i for i, op in enumerate(config.operations.names())}
    return sorted(((c, o) for c, o in found
                   if (connection is None or c == connection)
                   and (operation is None or o == operation)),
                  key=lambda p: (p[0], order.get(p[1], 99), p[1]))


# --- status ------------------------------------------------------------------------------------


# A run's status when its process was killed before it finished (set by the next real run).
INTERRUPTED_HINT = ("interrupted: stopped before the run finished, by Ctrl-C (its counts say "
                    "what it did) or because the process was killed (no counts); the next "
                    "runs of that connection + operation take up its unfinished records")


def _run_row(run: dict[str, Any]) -> dict[str, Any]:
    started, finished = run.get("started_at"), run.get("finished_at")
    duration = None
    # An interrupted run's finished_at is when the next run found it dead, not a duration.
    if started is not None and finished is not None and run.get("status") != "interrupted":
        duration = round(max((finished - started).total_seconds(), 0.0), 3)
    return {"id": run.get("id"), "connection": run.get("connection"),
            "operation": run.get("operation"), "dry_run": bool(run.get("dry_run")),
            "started_at": iso_utc(started), "finished_at": iso_utc(finished),
            "duration_seconds": duration, "status": run.get("status"),
            "counts": dict(run.get("counts") or {}), "error": run.get("error")}


def _waiting(store: Store, connection: str, operation: str) -> list[dict[str, Any]]:
    groups: Counter[str] = Counter()
    for state in store.iter_sync(connection, operation, statuses=["waiting"]):
        groups[reason_group(str((state.error or {}).get("message") or ""), state.record_id)] += 1
    return [{"reason": reason, "count": n} for reason, n in groups.most_common()]


def _changed(store: Store, connection: str, operation: str,
             kind: str) -> dict[str, Any] | None:
    count, ids = store.changed_since_done(connection, operation, kind)
    return {"count": count, "ids": ids} if count else None


def _failing(store: Store, connection: str, operation: str) -> dict[str, int]:
    classes: Counter[str] = Counter()
    for state in store.iter_sync(connection, operation, statuses=["failed"]):
        classes[str((state.error or {}).get("class") or "error")] += 1
    return dict(classes.most_common())


def status_summary(config: Config, store: Store, *, now: dt.datetime | None = None,
                   connection: str | None = None) -> dict[str, Any]:
    """Records per kind, and per connection + operation: counts per sync status, the last run
    (time, counts, duration), waiting records grouped by reason, failing records per error
    class, records done, and when the schedule runs it next."""
    from flx.ops.schedule import next_run_at  # late: flx.ops.schedule imports the runner

    now = now or dt.datetime.now(dt.UTC)
    records = {kind: store.count_records(kind) for kind in config.operations.kinds()}
    counts: dict[tuple[str, str], dict[str, int]] = {}
    for row in store.sync_summary():
        counts.setdefault((row["connection"], row["operation"]), {})[row["status"]] = \
            int(row["count"])
    held = _held_by_workers(store)
    sync = []
    for conn, op in _pairs(config, store, connection):
        by_status = counts.get((conn, op), {})
        # The last real run: a dry run changes nothing, and the schedule counts from real ones.
        runs = store.recent_runs(connection=conn, operation=op, limit=1, real_only=True)
        settings = config.connections[conn].operations.get(op) if conn in config.connections \
            else None
        enabled = settings is not None and settings.get("enabled", True) is not False
        schedule = settings.get("schedule") if settings is not None else None
        known = config.operations.get(op)  # None: state of an operation no plugin registers
        kind = known.kind if known is not None else None
        entry: dict[str, Any] = {
            "connection": conn, "operation": op, "enabled": enabled,
            # Records of the operation's kind in the store: before the first run the sync
            # counts are empty, and this says what is there to send (not what is eligible).
            "kind": kind, "imported": records.get(kind or "", 0),
            "counts": by_status,
            "backlog": backlog(records.get(kind or "", 0), by_status),
            "done": sum(n for s, n in by_status.items() if s in DONE_STATUSES),
            "failing": _failing(store, conn, op) if by_status.get("failed") else {},
            "waiting": _waiting(store, conn, op) if by_status.get("waiting") else [],
            "last_run": _run_row(runs[0]) if runs else None,
            "changed_since_sent": _changed(store, conn, op, kind) if by_status and kind
            else None,
            "schedule": schedule,
            "next_run_at": None,
            "held_by_workers": held.get((conn, op), {"records": 0, "workers": 0}),
        }
        if schedule and enabled:
            entry["next_run_at"] = iso_utc(next_run_at(store, conn, op, schedule, now))
        sync.append(entry)
    from flx.ops.source_status import source_rows

    return {"records": records, "sync": sync, "plugin_state": shown_state(store, connection),
            "sources": source_rows(config, store, now=now)}


def _held_by_workers(store: Store) -> dict[tuple[str, str], dict[str, int]]:
    """Records workers hold right now (unexpired claims), and how many workers, per pair."""
    if not hasattr(store, "claims_held"):
        return {}
    out: dict[tuple[str, str], dict[str, int]] = {}
    for row in store.claims_held():
        entry = out.setdefault((row["connection"], row["operation"]),
                               {"records": 0, "workers": 0})
        entry["records"] += int(row["count"])
        entry["workers"] += 1
    return out


def backlog(imported: int, by_status: dict[str, int]) -> int:
    """Records of the operation's kind that no run has taken up yet (no sync state): new
    imports, the rest of a run stopped part-way, and records outside the operation's channels
    or sources. Whether each is eligible is the next run's business."""
    return max(imported - sum(by_status.values()), 0)


def _short(iso: str) -> str:
    return iso.replace("T", " ").replace("Z", " UTC")


def _imported(row: dict[str, Any], operations: Operations) -> str:
    kind, count = row.get("kind"), int(row.get("imported") or 0)
    if not kind:
        return f"{count} record{'s' * (count != 1)}"
    return operations.words(str(kind)).count(count)


def records_text(records: dict[str, int], operations: Operations | None = None) -> str:
    """The store's record counts for people: "3 orders, 1 shipment, 0 vendor bills"."""
    ops = operations or builtin_operations()
    return ", ".join(_imported({"kind": kind, "imported": n}, ops)
                     for kind, n in records.items()) or "none"


_DONE_WORDS = {"sent": "sent", "linked": "linked", "skipped": "resolved by hand"}

# What each not-done, not-failed state means to someone reading `flx status`.
_OTHER_STATES = {
    "pending": "queued for the next run",
    "in_flight": ("in flight (a run is sending them, or one was killed: the next run looks "
                  "them up in the accounting system before sending again)"),
}


def status_lines(summary: dict[str, Any], *, now: dt.datetime | None = None,
                 operations: Operations | None = None) -> list[str]:
    """`status_summary` as plain lines for people: per connection + operation, the last run,
    the next scheduled one, then what is done, failing (by class) and waiting (by reason)."""
    now = now or dt.datetime.now(dt.UTC)
    operations = operations or builtin_operations()
    lines = []
    for row in summary.get("sync") or []:
        head = f"{row['connection']} {row['operation']}"
        if not row.get("enabled", True):
            head += " (disabled)"
        last = row.get("last_run")
        if last and last.get("status") == "interrupted" and any(
                (last.get("counts") or {}).values()):  # stopped by Ctrl-C: what it did
            ran = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in last["counts"].items()
                            if n)
            head += (f": last run {_short(last['started_at'])} interrupted ({ran}; the next "
                     "runs take up the rest)")
        elif last and last.get("status") == "interrupted":
            head += (f": last run {_short(last['started_at'])} interrupted (killed before it "
                     "finished; the next runs take up its records)")
        elif last and last.get("status") == "running":
            head += (f": last run {_short(last['started_at'])} running (still going, or "
                     "killed: the next run of this operation takes up its records)")
        elif last and last.get("status") == "aborted":
            error = last.get("error") or {}
            why = str(error.get("message") or "").split("\n")[0]
            why = why if len(why) <= 100 else why[:99] + "…"
            head += (f": last run {_short(last['started_at'])} aborted"
                     + (f" ({error.get('class')}: {why})" if why else "")
                     + "; see `flx runs` and run it again after the fix")
        elif last:
            ran = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in
                            (last.get("counts") or {}).items() if n) or "nothing to do"
            took = (f" in {last['duration_seconds']:.1f}s"
                    if last.get("duration_seconds") is not None else "")
            head += (f": last run {_short(last['started_at'])} {last['status']}{took} "
                     f"({ran})")
        elif row.get("counts") or "imported" not in row:
            head += ": never run"
        else:
            head += f": not run yet ({_imported(row, operations)} imported)"
        if row.get("next_run_at"):
            due = dt.datetime.fromisoformat(row["next_run_at"])
            head += "; next run " + ("due now" if due <= now else _short(row["next_run_at"]))
        lines.append(head)
        if not last and not row.get("counts"):
            continue  # nothing tracked yet: "0 done" would say nothing more
        counts = row.get("counts") or {}
        done = [f"{counts[s]} {_DONE_WORDS[s]}" for s in _DONE_WORDS if counts.get(s)]
        mixed = any(counts.get(s) for s in _DONE_WORDS if s != "sent")
        parts = [f"{row.get('done', 0)} done" + (f" ({', '.join(done)})" if mixed else "")]
        failing = row.get("failing") or {}
        if failing:
            by_class = ", ".join(f"{c} {n}" for c, n in failing.items())
            parts.append(f"{sum(failing.values())} failing ({by_class}; see `flx errors`)")
        parts.extend(f"{counts[s]} {words}" for s, words in _OTHER_STATES.items()
                     if counts.get(s))
        if row.get("backlog"):
            parts.append(f"{row['backlog']} not picked up yet (imported, no run has taken "
                         "them)")
        lines.append("  " + "; ".join(parts))
        lines.extend(f"  {w['count']} waiting: {w['reason']}" for w in row.get("waiting") or [])
        held = row.get("held_by_workers") or {}
        if held.get("records"):
            lines.append(f"  {held['records']} held by {held['workers']} worker"
                         f"{'s' * (held['workers'] != 1)} right now (being sent; a stopped "
                         "worker's records go to the others when its lease lapses)")
        changed = row.get("changed_since_sent")
        if changed:
            lines.append(f"  {changed_note(changed['count'], changed['ids'])}")
    lines.extend(state_lines(summary.get("plugin_state") or {}))
    from flx.ops.source_status import source_lines

    return lines + source_lines(summary.get("sources") or [], now=now)


# --- errors ------------------------------------------------------------------------------------


def list_errors(config: Config, store: Store, *, error_class: str | None = None,
                operation: str | None = None, connection: str | None = None,
                ) -> list[dict[str, Any]]:
    """Failed records (then waiting ones), each with its class, message, the remote system's
    code/detail/errorPath, attempts, first failure, last attempt, next automatic retry and a
    one-line fix. `error_class="resolved"` lists records resolved by hand, with their notes."""
    _check_filters(config, store, error_class=error_class, operation=operation,
                   connection=connection)
    statuses = ["skipped"] if error_class == "resolved" else ["failed", "waiting"]
    rows = []
    for conn, op in _pairs(config, store, connection, operation):
        for state in store.iter_sync(conn, op, statuses=statuses):
            row = error_row(state)
            if error_class is None or row["class"] == error_class:
                rows.append(row)
    rank = {"failed": 0, "waiting": 1, "skipped": 2}
    rows.sort(key=lambda r: rank.get(r["status"], 3))  # stable: pairs, then ids, kept
    return rows


# --- retry and resolve -------------------------------------------------------------------------


def _states_for(config: Config, store: Store, record_ids: Iterable[str], *,
                operation: str | None, connection: str | None,
                ) -> Iterator[tuple[str, SyncState | None]]:
    pairs = _pairs(config, store, connection, operation)
    for rid in dict.fromkeys(record_ids):
        found = False
        for conn, op in pairs:
            state = store.get_sync(conn, op, rid)
            if state is not None:
                found = True
                yield rid, state
        if not found:
            yield rid, None


def _why_not(rid: str, state: SyncState | None, store: Store | None = None,
             kinds: Iterable[str] = ()) -> str:
    if state is None:
        if store is not None and not any(store.record_info(kind, rid) for kind in kinds):
            return (f"{rid}: no record with this id in the store (ids are exact, letter case "
                    "included; `flx show ID` looks one up)")
        return f"{rid}: not tried yet, so there is nothing to retry (it goes out at the next run)"
    if state.status in ("sent", "linked"):
        return (f"{rid}: already {state.status} on {state.connection} ({state.operation}); "
                f"`flx run {state.operation} --only {rid} --force` sends it again")
    if state.status == "skipped":
        return f"{rid}: resolved by hand on {state.connection}; it is not sent"
    if state.status == "waiting":
        reason = (state.error or {}).get("message") or "a prerequisite is missing"
        return f"{rid}: waiting ({reason}); flx checks it again at every run"
    return f"{rid}: {state.status} on {state.connection} ({state.operation}), not failed"


def retry(config: Config, store: Store, record_ids: list[str] | None, *,
          error_class: str | None = None, operation: str | None = None,
          connection: str | None = None) -> int:
    """Put failed records back in the queue for the next run (status pending, no retry time);
    attempts, first failure and last error are kept. `record_ids=None`: every failed record
    (narrowed by the filters). Returns how many were re-queued."""
    _check_filters(config, store, error_class=error_class, operation=operation,
                   connection=connection)
    targets: list[SyncState] = []
    problems: list[str] = []
    if record_ids is None:
        for conn, op in _pairs(config, store, connection, operation):
            targets.extend(store.iter_sync(conn, op, statuses=["failed"]))
    else:
        per_id: dict[str, list[str]] = {}
        for rid, state in _states_for(config, store, record_ids, operation=operation,
                                      connection=connection):
            if state is not None and state.status == "failed":
                targets.append(state)
                per_id.setdefault(rid, [])
            else:
                why = _why_not(rid, state, store, config.operations.kinds())
                per_id.setdefault(rid, []).append(why)
        # An id is only a problem when none of its connections/operations could be retried.
        problems = [p for rid, why in per_id.items() if why and not any(
            t.record_id == rid for t in targets) for p in why]
    if error_class is not None:
        targets = [t for t in targets if (t.error or {}).get("class") == error_class]
    if record_ids is not None and not targets:
        raise ConfigError("nothing to retry", problems=problems or [
            f"no failed record of class {error_class!r} among {', '.join(record_ids)}"],
            hint="`flx errors` lists the failed records")
    for problem in problems:
        log.warning("not re-queued: %s", problem)
    with store.transaction():  # all or nothing: a half-applied --all would confuse
        for state in targets:
            store.set_sync(state.connection, state.operation, state.record_id,
                           status="pending", error=state.error, next_retry_at=None)
            store.audit(state.connection, None, "RETRY", _audit_path(state), 0,
                        record_id=state.record_id)
    return len(targets)


def _audit_path(state: SyncState) -> str:
    return f"/flx/{state.operation}/{quote(state.record_id, safe='')}"


def resolve(config: Config, store: Store, record_id: str, note: str, *,
            operation: str | None = None, connection: str | None = None) -> int:
    """Mark a record handled outside flx: status skipped, never sent again, the note kept with
    it and an audit entry. Records already sent or linked are left as they are. A record never
    tried is resolved where it would go (its operation on the connections that run it).
    Returns how many sync states were marked."""
    _check_filters(config, store, operation=operation, connection=connection)
    note = note.strip()
    if not note:
        raise ConfigError("a note is required to resolve a record",
                          hint="say why, e.g. --note 'entered by hand as SO812'")
    targets: list[tuple[str, str, SyncState | None]] = []
    problems: list[str] = []
    for _rid, state in _states_for(config, store, [record_id], operation=operation,
                                   connection=connection):
        if state is None:
            targets.extend((c, o, None) for c, o in _unsent_pairs(
                config, store, record_id, operation, connection))
        elif state.status in ("sent", "linked"):
            problems.append(_why_not(record_id, state, store, config.operations.kinds()))
        else:
            targets.append((state.connection, state.operation, state))
    if not targets:
        raise ConfigError(f"nothing to resolve for {record_id}", problems=problems or [
            f"{record_id}: no such record in the store for these connections/operations"],
            hint="check the id (`flx errors` lists failed records); a record already sent "
                 "needs no resolving")
    now = iso_utc(dt.datetime.now(dt.UTC))
    with store.transaction():
        for conn, op, state in targets:
            previous = state.error if state is not None else None
            store.set_sync(conn, op, record_id, status="skipped", next_retry_at=None,
                           error={"class": "resolved", "message": f"resolved by hand: {note}",
                                  "note": note, "resolved_at": now, "previous": previous})
            store.audit(conn, None, "RESOLVE", f"/flx/{op}/{quote(record_id, safe='')}", 0,
                        record_id=record_id)
    return len(targets)


def _unsent_pairs(config: Config, store: Store, record_id: str, operation: str | None,
                  connection: str | None) -> list[tuple[str, str]]:
    """Where a never-tried record would be sent: its kind's operation on the connections that
    have that operation enabled. Ambiguity (several connections) needs --connection."""
    out: list[tuple[str, str]] = []
    for known in config.operations:
        op = known.name
        if store.get_record(known.kind, record_id) is None:
            continue
        if operation is not None and op != operation:
            continue
        names = [n for n, c in sorted(config.connections.items())
                 if (connection is None or n == connection)
                 and op in c.operations and c.operations[op].get("enabled", True) is not False]
        if len(names) > 1 and connection is None:
            raise ConfigError(f"{record_id} would go to several connections",
                              problems=[f"{op} runs on: {', '.join(names)}"],
                              hint="pass --connection NAME")
        out.extend((n, op) for n in names)
    return out


# --- runs --------------------------------------------------------------------------------------


def list_runs(config: Config, store: Store, *, connection: str | None = None,
              operation: str | None = None, limit: int = 20) -> list[dict[str, Any]]:
    """Recent runs, newest first: id, connection, operation, dry_run, started/finished (UTC),
    duration in seconds, status (ok, failed, aborted, error, running, interrupted) and counts.
    `interrupted`: its process was killed before it finished; the next real run of the same
    connection + operation marks it so (finished_at is then, duration is None)."""
    _check_filters(config, store, operation=operation, connection=connection)
    return [_run_row(r) for r in store.recent_runs(connection=connection, operation=operation,
                                                   limit=limit)]
