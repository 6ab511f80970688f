"""`flx show ID`: everything flx knows about one record, in one place: the record as imported,
where it stands with each connection + operation (state, attempts, the remote ids it got, the
error and its fix), and the remote writes made for it (the audit trail).

    show_record(config, store, record_id, *, connection=None, audit_limit=50) -> dict
        {"record_id", "records": [{"kind", "imported_at", "updated_at", "content_hash",
          "summary"}], "sync": [{"connection", "operation", "status", "attempts", ...,
          "remote_ids", "error"}], "writes": [{"at", "connection", "run_id", "method", "path",
          "status", "remote_id"}]}
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from flx.errors import ConfigError
from flx.run.hints import error_row, iso_utc
from flx.run.http import WRITE_METHODS

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.store.store import Store

# Fields that say which other records a record belongs to.
_LINKS = ("number", "order_id", "fulfillment_request_id", "status", "total")
# Lists counted first, in this order; others follow by name (the store may keep keys sorted).
_LISTS = ("lines", "fulfillment_requests", "packages")


def summary(record: Mapping[str, Any]) -> dict[str, Any]:
    """The few facts that identify a record at a glance: its links and how many of each list
    it has (lines, fulfillment requests, packages), never the whole record."""
    out: dict[str, Any] = {k: record[k] for k in _LINKS if record.get(k) not in (None, "")}
    rest = sorted(k for k in record if k not in _LISTS)
    for key in (*_LISTS, *rest):
        if isinstance(record.get(key), list):
            out[key] = len(record[key])
    return out


def show_record(config: Config, store: Store, record_id: str, *, connection: str | None = None,
                audit_limit: int = 50) -> dict[str, Any]:
    """What flx knows about `record_id`. Raises ConfigError when no record has that id."""
    found = []
    kinds = config.operations.kinds()
    for kind in kinds:
        info = store.record_info(kind, record_id)
        if info is None:
            continue
        record = store.get_record(kind, record_id) or {}
        found.append({"kind": kind, "imported_at": iso_utc(info.get("imported_at")),
                      "updated_at": iso_utc(info.get("updated_at")),
                      "content_hash": info.get("content_hash"), "summary": summary(record)})
    if not found:
        raise ConfigError(f"no record {record_id!r} in the store", hint=_not_found_hint(
            store, record_id, kinds))
    found_kinds = {r["kind"] for r in found}
    names = sorted(set(config.connections) | {c for c, _ in _stored(store)})
    sync = []
    for name in names:
        if connection is not None and name != connection:
            continue
        for op in config.operations:
            operation, kind = op.name, op.kind
            if kind not in found_kinds:
                continue
            state = store.get_sync(name, operation, record_id)
            if state is None:
                configured = name in config.connections and \
                    operation in config.connections[name].operations
                if configured:
                    sync.append({"connection": name, "operation": operation,
                                 "status": "not taken yet", "attempts": 0, "remote_ids": {}})
                continue
            row: dict[str, Any] = {
                "connection": name, "operation": operation, "status": state.status,
                "attempts": state.attempts, "last_attempt_at": iso_utc(state.last_attempt_at),
                "next_retry_at": iso_utc(state.next_retry_at),
                "remote_ids": dict(state.remote_ids or {}),
            }
            record = next(r for r in found if r["kind"] == kind)
            if state.status in ("sent", "linked") and state.content_hash and \
                    state.content_hash != record["content_hash"]:
                row["changed_since_sent"] = record["updated_at"]
            if state.status in ("failed", "waiting", "skipped"):
                error = error_row(state)
                row["error"] = {k: error[k] for k in ("class", "message", "hint", "code",
                                                      "detail", "path", "note") if error.get(k)}
            sync.append(row)
    writes = [{"at": iso_utc(w["at"]), "connection": w["connection"], "run_id": w["run_id"],
               "method": w["method"], "path": w["path"], "status": w["status"],
               "remote_id": w["remote_id"]}
              for w in store.audit_entries(connection=connection, record_id=record_id,
                                           limit=audit_limit)
              # Remote writes only: `flx retry` and `flx resolve` leave audit rows of their
              # own (no request was made), which are not writes to the accounting system.
              if str(w["method"]).upper() in WRITE_METHODS]
    return {"record_id": record_id, "records": found, "sync": sync, "writes": writes}


def _stored(store: Store) -> set[tuple[str, str]]:
    return {(row["connection"], row["operation"]) for row in store.sync_summary()}


def _not_found_hint(store: Store, record_id: str, kinds: tuple[str, ...]) -> str:
    """Ids are exact (case included): suggest a near one of the same kind of spelling."""
    near: list[str] = []
    for kind in kinds:
        near += store.ids_like(kind, record_id[:3], limit=200)
    by_lower = {n.lower(): n for n in near}
    close = [by_lower[n] for n in difflib.get_close_matches(record_id.lower(), list(by_lower),
                                                             n=3, cutoff=0.6)]
    if close:
        return f"ids are exact; did you mean {', '.join(close)}?"
    return "check the id (ids are exact, letter case included), or import the record first " \
           "with `flx import FILE`"
