"""One run's walk over its records (`OperationRun`, driven by core/run/runner.py): take the
candidates from the store, check eligibility, claim and batch them, hand each batch to the
connector's send method, and store every record's result. One bad record never stops the
others; an AbortError ends the walk after the batch in flight.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from flx.config.redact import Redactor
from flx.connector import Connector
from flx.errors import AbortError, RecordError, StoreUnavailableError
from flx.model import DONE_STATUSES, Connection, RecordResult
from flx.operations.registry import Ineligible, Prefetched, Reads, RuleContext
from flx.records.validate import content_hash
from flx.run.outcomes import error_details, next_retry_at, plugin_fault, unreachable
from flx.run.report import ReportRow, RunReport
from flx.run.result_writer import ResultWriter
from flx.run.runtime import Runtime
from flx.store.claims import CLAIM_LEASE
from flx.store.sync import blank_state, chunks, next_state

if TYPE_CHECKING:
    from flx.plugins import Plugins
    from flx.store.store import Store, SyncState

__all__ = ["CLAIM_TTL", "DEFAULT_BATCH", "OperationRun"]

log = logging.getLogger("flx.runner")

DEFAULT_BATCH = 250
CLAIM_TTL = CLAIM_LEASE  # seconds a claim lasts unless its worker renews it (core/store/claims.py)
MAX_PASSES = 50  # re-scans of one run (records freed by a lapsed worker meanwhile)


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
    writer: ResultWriter | None = None  # stores each record's result as soon as it is known
    # Asked between batches; True ends the run after the batch
    # in flight (SIGTERM to `flx schedule`, or the run lock lost to another process).
    should_stop: Callable[[], bool] | None = None
    claim_lease: float = CLAIM_TTL

    def __post_init__(self) -> None:
        self._visited: set[str] = set()  # records this run handled (sent, waiting, failed)
        self._claimed = 0  # records claimed in the current pass
        self._stopped = False
        self._others: set[str] = set()  # records another worker took first
        self._abandoned = False  # a second Ctrl-C left the batch in flight behind

    @property
    def dry_run(self) -> bool:
        return self.runtime.dry_run

    # -- selection ------------------------------------------------------------------------------

    def walk(self, only: Sequence[str] | None, limit: int | None, force: bool) -> None:
        """Batches go to the plugin one after the other, but never wait for the store: the
        next batch is selected and claimed while the plugin sends the current one, and a
        batch's results are stored while the plugin sends the next (a pipeline of depth 2,
        so records of one batch never race those of another)."""
        kind = self.plugins.operations[self.operation].kind
        seen: set[str] = set()
        hooks = ThreadPoolExecutor(max_workers=1, thread_name_prefix="flx-batch")
        self._abandoned = False
        try:
            try:
                for _ in range(MAX_PASSES):
                    self._claimed = 0
                    self._walk_batches(kind, only, limit, force, seen, hooks)
                    if (self.owner is None or only or limit or self._stopped
                            or self.report.aborted):
                        break
                    held = self._held_by_others()
                    # With other workers about, re-scan before ending: records one of them
                    # gave back, or held under a lease that lapsed, may be free now.
                    if self._claimed == 0 or not (held or self._others):
                        break
                self._note_held_by_others()
            except StoreUnavailableError as exc:  # the records stay as they were: retried
                self.abort(exc)
        finally:
            hooks.shutdown(wait=not self._abandoned, cancel_futures=True)
        if only:
            self.explain_missing([i for i in only if i not in seen], kind)

    def _held_by_others(self) -> list[dict[str, Any]]:
        if self.owner is None or not hasattr(self.store, "claims_held"):
            return []
        return self.store.claims_held(self.connection.name, self.operation,
                                      except_owner=self.owner)

    def _note_held_by_others(self) -> None:
        held = self._held_by_others()
        count = sum(int(row["count"]) for row in held)
        self.report.held_by_others = count
        if count:
            workers = len({row["owner"] for row in held})
            self.report.notes.append(
                f"{count} record{'s' * (count != 1)} held by {workers} other "
                f"worker{'s' * (workers != 1)} right now (they send them; if one stopped, its "
                f"records are free {self.claim_lease:g} s after its last heartbeat)")

    def _walk_batches(self, kind: str, only: Sequence[str] | None, limit: int | None,
                      force: bool, seen: set[str], hooks: ThreadPoolExecutor) -> None:
        pending: Future[_Sent] | None = None
        pending_ids: list[str] = []
        try:
            for batch, states in self._batches(kind, only, limit, force, seen):
                ready = self._claim(batch, states)
                ready_ids = [str(r["id"]) for r in ready[0]]
                try:
                    sent = pending.result() if pending is not None else None
                    pending = None
                    stop = sent is not None and self._stopping(sent)
                    if not stop and ready_ids:
                        pending = hooks.submit(self._call, *ready)
                        pending_ids, ready_ids = ready_ids, []
                finally:
                    self._release(ready_ids)  # claimed, never handed to the plugin
                if sent is not None:
                    self._finish(sent)
                if stop:
                    return
            if pending is not None:
                sent, pending = pending.result(), None
                self._finish(sent)
        except KeyboardInterrupt:
            # Stop at once (a second Ctrl-C): the batch in flight is not waited for; its
            # records stay in_flight, and the next run checks each remotely first.
            self._abandoned = pending is not None
            self.report.in_flight = len(pending_ids) if self._abandoned else 0
            raise
        finally:
            if pending is not None and not self._abandoned:  # the walk broke: store what
                self._settle(pending, pending_ids)               # the plugin did, if any

    def _batches(self, kind: str, only: Sequence[str] | None, limit: int | None, force: bool,
                 seen: set[str]) -> Iterator[tuple[list[dict[str, Any]],
                                                   dict[str, SyncState | None]]]:
        """Eligible candidates in batches of `batch_size`, with the states read with them."""
        batch_size = int(self.settings.get("batch_size") or DEFAULT_BATCH)
        batch: list[dict[str, Any]] = []
        states: dict[str, SyncState | None] = {}
        candidates = self.store.candidates(
            self.connection.name, self.operation, kind, only=list(only) if only else None,
            limit=limit, include_done=bool(force and only), owner=self.owner)
        for page in chunks(candidates, batch_size):
            page = [(r, st) for r, st in page if str(r["id"]) not in self._visited]
            seen.update(str(record["id"]) for record, _ in page)
            self._visited.update(str(record["id"]) for record, _ in page)
            for record, state in self._eligible(page):
                batch.append(record)
                states[str(record["id"])] = state
                if len(batch) >= batch_size:
                    yield batch, states
                    batch, states = [], {}
        if batch:
            yield batch, states

    def _eligible(self, page: list[tuple[dict[str, Any], SyncState | None]],
                  ) -> Iterator[tuple[dict[str, Any], SyncState | None]]:
        """The page's records that may go now; the others are reported (and stored as
        waiting or failed). Their store reads are made for the whole page at once."""
        operations = self.plugins.operations
        required = operations.get(operations[self.operation].requires or "")
        reads: Reads = self.store
        if page and required is not None:
            reads = Prefetched(self.store, self.connection.name, [record for record, _ in page],
                               required.kind, required.name)
        label = self.connector.extra.get("display_name") or self.connector.name
        ctx = RuleContext(store=reads, connection=self.connection.name, connector_name=label,
                          settings=self.settings, required_settings=self.order_settings)
        extra = tuple(self.connector.rules.get(self.operation, ()))
        for record, state in page:
            reason = operations.check(self.operation, record, ctx, extra)
            if reason is None:
                yield record, state
            else:
                self.not_eligible(record, state, reason)

    def _settle(self, pending: Future[_Sent], ids: list[str]) -> None:
        try:
            sent = pending.result()
        except BaseException:  # the hook itself broke (it raised past its records)
            self._release(ids)
            return
        try:
            self._finish(sent)
        except Exception as exc:  # noqa: BLE001 - the error already raised is the one to show
            log.warning("the results of the batch in flight were not stored: %s",
                        self.redactor.text(str(exc)))

    def _stopping(self, sent: _Sent) -> bool:
        """After a batch: does the run end here (abort, or a graceful stop)?"""
        if sent.abort is not None:
            return True
        if self.should_stop is not None and self.should_stop():
            self._stopped = True
            self.report.notes.append("stopped after the batch in flight; the other records "
                                     "go at the next run")
            return True
        return False

    def not_eligible(self, record: dict[str, Any], state: SyncState | None,
                     reason: Ineligible) -> None:
        rid = str(record["id"])
        self.advance(1)
        if reason.fix is not None:  # can never go as it is: a failure to fix, not a wait
            error = RecordError(reason.message, hint=reason.fix, record_id=rid)
            failed = self.record(record, RecordResult(rid, "failed", error=error), state)
            if failed is not None and not (state is not None and state.done):
                self.store.put_syncs([failed])
            return
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
                self.report.unknown.append(rid)
                self.report.notes.append(f"{rid}: no {label} with this id in the store (check "
                                         f"the id, or import the {label} first)")
                continue
            state = self.store.get_sync(self.connection.name, self.operation, rid)
            status = state.status if state is not None else "not due"
            self.report.notes.append(
                f"{rid}: already {status}, nothing sent (add --force to send it again)"
                if status in ("sent", "linked", "skipped")
                else f"{rid}: not due yet ({status}; `flx retry {rid}` makes it due now)")

    # -- sending ----------------------------------------------------------------------------------

    def _claim(self, batch: list[dict[str, Any]], states: dict[str, SyncState | None],
               ) -> tuple[list[dict[str, Any]], dict[str, SyncState | None]]:
        """The records of the batch this run may send, with their current states."""
        if self.owner is None:
            return batch, states
        conn, op = self.connection.name, self.operation
        ids = [str(r["id"]) for r in batch]
        claimed = set(self.store.claim(conn, op, ids, self.owner, ttl_seconds=self.claim_lease))
        # Another worker may have finished a record between our read and our claim (its
        # claim ends with its result): take only records still as we read them.
        now = self.store.get_syncs(conn, op, claimed)
        mine = [r for r in batch if str(r["id"]) in claimed
                and _unchanged(states.get(str(r["id"])), now.get(str(r["id"])))]
        self._claimed += len(mine)
        if len(mine) < len(batch):
            self.advance(len(batch) - len(mine))
            self._others.update(set(ids) - {str(r["id"]) for r in mine})
            self.report.others = len(self._others)
            self._visited.difference_update(set(ids) - {str(r["id"]) for r in mine})
            self._release(sorted(claimed - {str(r["id"]) for r in mine}))
        return mine, {str(r["id"]): now.get(str(r["id"])) for r in mine}

    def _release(self, ids: Sequence[str]) -> None:
        if self.owner is not None and ids:
            try:
                self.store.release_claims(self.connection.name, self.operation, ids, self.owner)
            except StoreUnavailableError as exc:  # the claims lapse with their lease
                log.warning("claims not released: %s", self.redactor.text(exc.message))

    def _call(self, batch: list[dict[str, Any]], states: dict[str, SyncState | None]) -> _Sent:
        """The connector's send for one batch (on the pipeline's thread): its results, matched
        to the records, with the records' latest states. Touches no report or store."""
        progressed = 0

        def counting(n: int) -> None:
            nonlocal progressed
            progressed += n
            self.advance(n)

        self.runtime.progress = counting
        self.runtime.remember_states(states)
        self.runtime.on_result = self._early(batch)
        try:
            results = self.connector.send(self.operation, batch, self.runtime)
        except AbortError as exc:
            return _Sent(batch, [], {}, abort=exc, requests=0, untouched=True)
        except sa.exc.SQLAlchemyError as exc:  # the store, not the plugin: nothing is lost
            reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
            return _Sent(batch, [], {}, abort=StoreUnavailableError(
                f"the store failed during the batch: {self.redactor.text(reason)}",
                hint="check the store's database; the records were left as they were and go "
                     "at the next run"), requests=0, untouched=True)
        except Exception as exc:  # never lose the batch: every record gets this failure
            log.warning("%s.send raised for a batch of %d: %s", self.connector.name, len(batch),
                        self.redactor.text(f"{type(exc).__name__}: {exc}"))
            results = [RecordResult(str(r["id"]), "failed", error=exc) for r in batch]
        finally:
            if len(batch) > progressed:
                self.advance(len(batch) - progressed)
            latest = self.runtime.take_states(str(r["id"]) for r in batch)
        matched = self._match(batch, results)
        requests = sum(r.requests for r in results if isinstance(r, RecordResult))
        abort: AbortError | None = unreachable(matched, self.report.connector_label
                                                or self.connector.name)
        if abort is not None:  # nothing reached the remote: no record's fault, none touched
            return _Sent(batch, matched, latest, abort=abort, requests=requests, untouched=True)
        for result in matched:
            if isinstance(result.error, AbortError):
                abort = result.error  # not the record's fault: that record stays untouched
                break
        return _Sent(batch, matched, latest, abort=abort, requests=requests)

    def _early(self, batch: list[dict[str, Any]]) -> Callable[[RecordResult], None] | None:
        """What the runtime calls as each record of `batch` is done: a sent or linked record's
        new state goes to the writer at once (a failure waits for the batch: the batch may
        yet turn out untouched, nothing having reached the remote). The writer starts with
        the first batch and stops when the runtime closes, at the end of the run."""
        if self.dry_run:
            return None
        if self.writer is None:
            self.writer = ResultWriter(self.store, self.runtime.take_audit)
            self.runtime.closing.append(self.writer.close)
            self.runtime.write_with = self.writer.write_with
        writer = self.writer
        records = {str(r["id"]): r for r in batch}

        def done(result: RecordResult) -> None:
            record = records.get(str(result.record_id))
            if record is None or result.status not in ("sent", "linked"):
                return
            prior = self.runtime.state(str(result.record_id)) or blank_state(
                self.connection.name, self.operation, str(result.record_id))
            writer.put(next_state(prior, status=result.status,
                                  remote_ids=dict(result.remote_ids) or None, error=None,
                                  content_hash=content_hash(record), next_retry_at=None))
        return done

    def _finish(self, sent: _Sent) -> None:
        """Store a batch's results in one transaction (with the audit rows of its requests),
        report them, and end its claims."""
        self.report.requests += sent.requests
        if self.writer is not None:
            self.writer.flush()  # before the batch's write, so the batch's comes last
        try:
            if not sent.untouched:
                rows = []
                for record, result in zip(sent.batch, sent.results, strict=True):
                    if isinstance(result.error, AbortError):
                        continue
                    row = self.record(record, result, sent.states.get(str(record["id"])))
                    if row is not None:
                        rows.append(row)
                if not self.dry_run:
                    try:
                        self.store.put_syncs(rows, release_claims=True,
                                             audit_rows=self.runtime.take_audit())
                    except StoreUnavailableError as exc:
                        # The records stay in_flight: the next run finds them by external id.
                        sent.abort = sent.abort or exc
                        self.report.notes.append(
                            "the results of the last batch could not be stored; the next run "
                            "checks those records in the accounting system and sends none twice")
        finally:
            self._release([str(r["id"]) for r in sent.batch])
        if sent.abort is not None:
            self.abort(sent.abort)

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
               state: SyncState | None) -> SyncState | None:
        """Report one record's result; returns its new sync state to store (None in a dry
        run). `state` is the record's latest state, checkpoints included."""
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
            return None
        prior = state or blank_state(self.connection.name, self.operation, rid)
        remote = dict(result.remote_ids) or None
        # The hash of the content as tried: the store offers a failed record again as soon
        # as its content changes (a fixed record need not wait for its retry time).
        digest = content_hash(record)
        if status in ("sent", "linked"):  # an attempt too: fail, retry, sent is 2 attempts
            return next_state(prior, status=status, remote_ids=remote, error=None,
                              content_hash=digest, count_attempt=True, next_retry_at=None)
        if status == "waiting":
            return next_state(prior, status="waiting", error=error, remote_ids=remote,
                              content_hash=digest)
        when = None
        if retryable:
            when = next_retry_at(prior.attempts + 1, dt.datetime.now(dt.UTC),
                                 getattr(result.error, "retry_after", None))
        return next_state(prior, status="failed", error=error, remote_ids=remote,
                          content_hash=digest, count_attempt=True, next_retry_at=when)

    def abort(self, exc: BaseException) -> None:
        self.report.aborted = self.redactor.text(str(exc))
        self.report.aborted_class = getattr(exc, "error_class", "error")


@dataclass
class _Sent:
    """A batch back from the plugin, its results not stored yet."""

    batch: list[dict[str, Any]]
    results: list[RecordResult]
    states: dict[str, SyncState | None]  # latest, checkpoints included
    abort: AbortError | None = None
    requests: int = 0
    untouched: bool = False  # the whole batch stays as it was (unreachable, or an abort)


def _unchanged(read: SyncState | None, now: SyncState | None) -> bool:
    """Same status and attempts as when the candidate was read (a claim row counts as new)."""
    before = (read.status, read.attempts) if read is not None else ("pending", 0)
    after = (now.status, now.attempts) if now is not None else ("pending", 0)
    return before == after
