"""One run's walk over its records (`OperationRun`, driven by core/runner.py): take the
candidates from the store, check eligibility, claim and batch them, hand each batch to the
plugin's send_* hook, and store every record's result. One bad record never stops the
others; an AbortError ends the walk after the batch in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core import eligibility
from core.errors import AbortError, PluginError
from core.model import DONE_STATUSES, OPERATIONS, Connection, Connector, RecordResult
from core.outcomes import error_details, next_retry_at, plugin_fault, unreachable
from core.records import content_hash
from core.redact import Redactor
from core.report import ReportRow, RunReport
from core.runtime import Runtime

if TYPE_CHECKING:
    from core.plugins import Plugins
    from core.store import Store, SyncState

__all__ = ["CLAIM_TTL", "DEFAULT_BATCH", "HOOKS", "OperationRun"]

log = logging.getLogger("flx.runner")

# operation -> (hook name, keyword that carries the batch)
HOOKS: dict[str, tuple[str, str]] = {
    "send-orders": ("send_orders", "orders"),
    "send-shipments": ("send_shipments", "shipments"),
    "send-vendor-bills": ("send_vendor_bills", "vendor_bills"),
}
DEFAULT_BATCH = 250
CLAIM_TTL = 900.0  # seconds a worker holds the records of one batch


@dataclass
class OperationRun:
    """Everything one run needs while it walks the records."""

    store: Store
    plugins: Plugins
    connection: Connection
    connector: Connector
    operation: str
    settings: Mapping[str, Any]
    order_settings: Mapping[str, Any] | None
    runtime: Runtime
    report: RunReport
    redactor: Redactor
    advance: Callable[[int], None]
    owner: str | None = None  # claims records so that parallel workers never send one twice
    # Issue 8 (core/schedule.py): asked between batches; True ends the run after the batch
    # in flight (SIGTERM to `flx schedule`, or the run lock lost to another process).
    should_stop: Callable[[], bool] | None = None

    @property
    def dry_run(self) -> bool:
        return self.runtime.dry_run

    # -- selection ------------------------------------------------------------------------------

    def walk(self, only: Sequence[str] | None, limit: int | None, force: bool) -> None:
        kind = OPERATIONS[self.operation]
        batch_size = int(self.settings.get("batch_size") or DEFAULT_BATCH)
        batch: list[dict[str, Any]] = []
        states: dict[str, SyncState | None] = {}
        seen: set[str] = set()
        for record, state in self.store.candidates(
                self.connection.name, self.operation, kind, only=list(only) if only else None,
                limit=limit, include_done=bool(force and only), owner=self.owner):
            rid = str(record["id"])
            seen.add(rid)
            reason = eligibility.check(
                self.operation, record, store=self.store, connection=self.connection.name,
                connector_name=self.connector.extra.get("display_name") or self.connector.name,
                settings=self.settings, order_settings=self.order_settings)
            if reason is not None:
                self.not_eligible(rid, state, reason)
                continue
            batch.append(record)
            states[rid] = state
            if len(batch) >= batch_size:
                self.send(batch, states)
                batch, states = [], {}
                if self.report.aborted:
                    return
                if self.should_stop is not None and self.should_stop():  # issue 8
                    self.report.notes.append("stopped after the batch in flight; the other "
                                             "records go at the next run")
                    return
        if batch:
            self.send(batch, states)
        if only:
            self.explain_missing([i for i in only if i not in seen], kind)

    def not_eligible(self, rid: str, state: SyncState | None,
                     reason: eligibility.Ineligible) -> None:
        self.advance(1)
        if not reason.waiting:
            self.report.out_of_scope += 1
            return
        self.report.add(ReportRow(rid, "waiting", message=reason.message, error_class="waiting"))
        unchanged = (state is not None and state.status == "waiting" and state.error
                     and state.error.get("message") == reason.message)
        done = state is not None and state.status in DONE_STATUSES  # --force: keep "sent"
        if not self.dry_run and not unchanged and not done:
            self.store.set_sync(self.connection.name, self.operation, rid, status="waiting",
                                error={"class": "waiting", "message": reason.message})

    def explain_missing(self, ids: list[str], kind: str) -> None:
        label = kind.replace("_", " ")
        for rid in ids:
            if self.store.get_record(kind, rid) is None:
                self.report.notes.append(f"{rid}: no {label} with this id in the store")
                continue
            state = self.store.get_sync(self.connection.name, self.operation, rid)
            status = state.status if state is not None else "not due"
            self.report.notes.append(
                f"{rid}: not sent: it is {status} (use --force with --only to send it again)"
                if status in ("sent", "linked", "skipped")
                else f"{rid}: not due yet ({status}; `flx retry {rid}` makes it due now)")

    # -- sending ----------------------------------------------------------------------------------

    def send(self, batch: list[dict[str, Any]], states: dict[str, SyncState | None]) -> None:
        if self.owner is None:
            self._send(batch, states)
            return
        conn, op = self.connection.name, self.operation
        ids = [str(r["id"]) for r in batch]
        claimed = set(self.store.claim(conn, op, ids, self.owner, ttl_seconds=CLAIM_TTL))
        try:
            # Another worker may have finished a record between our read and our claim (its
            # claim ends with its result): take only records still as we read them.
            now = self.store.get_syncs(conn, op, claimed)
            mine = [r for r in batch if str(r["id"]) in claimed
                    and _unchanged(states.get(str(r["id"])), now.get(str(r["id"])))]
            if len(mine) < len(batch):
                self.advance(len(batch) - len(mine))
                self.report.others += len(batch) - len(mine)
            self._send(mine, states)
        finally:
            self.store.release_claims(conn, op, claimed, self.owner)

    def _send(self, batch: list[dict[str, Any]], states: dict[str, SyncState | None]) -> None:
        if not batch:
            return
        hook_name, keyword = HOOKS[self.operation]
        progressed = 0

        def counting(n: int) -> None:
            nonlocal progressed
            progressed += n
            self.advance(n)

        self.runtime.progress = counting
        self.runtime.remember_states({str(r["id"]): states.get(str(r["id"])) for r in batch})
        try:
            results = getattr(self.plugins.hook, hook_name)(
                connection=self.connection, runtime=self.runtime, **{keyword: batch})
            if results is None:
                raise PluginError(
                    f"no plugin answered for connection {self.connection.name!r}",
                    hint=f"the {self.connector.name!r} plugin does not implement {hook_name}; "
                         "reinstall or upgrade it")
        except AbortError as exc:
            self.abort(exc)
            return
        except Exception as exc:  # never lose the batch: every record gets this failure
            log.warning("%s raised for a batch of %d: %s", hook_name, len(batch),
                        self.redactor.text(f"{type(exc).__name__}: {exc}"))
            results = [RecordResult(str(r["id"]), "failed", error=exc) for r in batch]
        finally:
            if len(batch) > progressed:
                self.advance(len(batch) - progressed)
        matched = self._match(batch, results)
        abort: AbortError | None = unreachable(matched, self.report.connector_label
                                                or self.connector.name)
        if abort is not None:  # nothing reached the remote: no record's fault, none touched
            self.report.requests += sum(r.requests for r in matched)
            self.abort(abort)
            return
        for record, result in zip(batch, matched, strict=True):
            if isinstance(result.error, AbortError):
                abort = abort or result.error  # not the record's fault: leave it untouched
                continue
            self.record(record, result, states.get(str(record["id"])))
        self.report.requests += sum(r.requests for r in results if isinstance(r, RecordResult))
        if abort is not None:
            self.abort(abort)

    def _match(self, batch: list[dict[str, Any]], results: Any) -> list[RecordResult]:
        """One result per record of the batch, in its order; a missing one is a failure."""
        by_id: dict[str, RecordResult] = {}
        for result in results if isinstance(results, list) else []:
            if isinstance(result, RecordResult):
                by_id.setdefault(str(result.record_id), result)
        out = []
        for record in batch:
            rid = str(record["id"])
            out.append(by_id.get(rid) or RecordResult(rid, "failed", error=plugin_fault(
                f"the {self.connector.name!r} plugin returned no result for {rid}")))
        return out

    def record(self, record: dict[str, Any], result: RecordResult,
               state: SyncState | None) -> None:
        rid = str(record["id"])
        status: str = result.status
        if status not in ("sent", "linked", "failed", "waiting", "dry_run"):
            result = RecordResult(rid, "failed", remote_ids=result.remote_ids, error=plugin_fault(
                f"the {self.connector.name!r} plugin reported an unknown status {status!r}"))
            status = "failed"
        row = ReportRow(rid, status, remote_ids=dict(result.remote_ids),
                        message=result.message, warnings=list(result.warnings),
                        payloads=list(result.payloads) if self.dry_run else [])
        error: dict[str, Any] | None = None
        retryable = False
        if status == "failed":
            error, retryable = error_details(result.error, result.message)
            error = self.redactor.data(error)
            row.message = result.message or error["message"]
            row.error_class, row.hint = error["class"], error.get("hint")
        elif status == "waiting":
            error = {"class": "waiting", "message": result.message}
            row.error_class = "waiting"
        self.report.add(row)
        if self.dry_run or status == "dry_run":
            return
        conn, op = self.connection.name, self.operation
        # The hash of the content as tried: the store offers a failed record again as soon
        # as its content changes (a fixed record need not wait for its retry time).
        digest = content_hash(record)
        if status in ("sent", "linked"):
            self.store.set_sync(conn, op, rid, status=status,
                                remote_ids=dict(result.remote_ids) or None, error=None,
                                content_hash=digest, next_retry_at=None)
        elif status == "waiting":
            self.store.set_sync(conn, op, rid, status="waiting", error=error,
                                remote_ids=dict(result.remote_ids) or None, content_hash=digest)
        else:
            attempts = (state.attempts if state is not None else 0) + 1
            when = None
            if retryable:
                when = next_retry_at(attempts, dt.datetime.now(dt.UTC),
                                     getattr(result.error, "retry_after", None))
            self.store.set_sync(conn, op, rid, status="failed", error=error,
                                remote_ids=dict(result.remote_ids) or None, content_hash=digest,
                                count_attempt=True, next_retry_at=when)

    def abort(self, exc: BaseException) -> None:
        self.report.aborted = self.redactor.text(str(exc))
        self.report.aborted_class = getattr(exc, "error_class", "error")


def _unchanged(read: SyncState | None, now: SyncState | None) -> bool:
    """Same status and attempts as when the candidate was read (a claim row counts as new)."""
    before = (read.status, read.attempts) if read is not None else ("pending", 0)
    after = (now.status, now.attempts) if now is not None else ("pending", 0)
    return before == after
