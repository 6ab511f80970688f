"""Run one operation for one connection: select, check, batch, hand to the plugin, record.

    candidates (store, streamed) ──► eligibility ──► waiting: stored with the reason
                                                └──► eligible: batched ──► hook send_* (plugin)
    results ──► store (status, remote ids, error, next retry) ──► RunReport ──► run_finished

One bad record never stops the others: a failure is stored on that record. Only an AbortError
(bad credentials, a missing plugin ...) stops the run, after the batch in flight, leaving the
remaining records untouched for the next run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn

from core import eligibility
from core.errors import AbortError, ConfigError, FlxError, PluginError
from core.http import DryRunRefused
from core.mapping import Profile, load_profile
from core.model import DONE_STATUSES, OPERATIONS, Connection, Connector, RecordResult
from core.records import content_hash
from core.redact import Redactor
from core.render import Renderer
from core.report import ReportRow, RunReport
from core.runtime import Runtime

if TYPE_CHECKING:
    from core.config import Config
    from core.plugins import Plugins
    from core.store import Store, SyncState

__all__ = ["MAX_ATTEMPTS", "RunReport", "next_retry_at", "render_operation", "run_operation"]

log = logging.getLogger("flx.runner")

# operation -> (hook name, keyword that carries the batch)
HOOKS: dict[str, tuple[str, str]] = {
    "send-orders": ("send_orders", "orders"),
    "send-shipments": ("send_shipments", "shipments"),
    "send-vendor-bills": ("send_vendor_bills", "vendor_bills"),
}
DEFAULT_BATCH = 100
DEFAULT_CONCURRENCY = 5
RETRY_BASE = dt.timedelta(minutes=5)
RETRY_CAP = dt.timedelta(hours=6)
MAX_ATTEMPTS = 8  # after the 8th failed attempt a person has to look (flx retry)
CLAIM_TTL = 900.0  # seconds a worker holds the records of one batch


def next_retry_at(attempts: int, now: dt.datetime,
                  retry_after: float | None = None) -> dt.datetime | None:
    """When a retryable failure is tried again: 5 min x 2^(attempts-1), at most 6 h, at least
    the remote's Retry-After; None once `attempts` reaches MAX_ATTEMPTS."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return now + delay


def error_details(error: BaseException | None, message: str = "") -> tuple[dict[str, Any], bool]:
    """(error dict as stored, retryable?) for whatever a plugin reported or raised."""
    if isinstance(error, FlxError):
        return error.to_dict(), error.retryable
    if isinstance(error, DryRunRefused):
        return {"class": "dry_run", "message": str(error)}, False
    if isinstance(error, httpx.TransportError):  # a plugin that did not translate it
        return {"class": "network", "message": f"{type(error).__name__}: {error}"}, True
    if error is None:
        return {"class": "error", "message": message or "failed (the plugin gave no reason)"}, False
    return {"class": "plugin", "message": f"{type(error).__name__}: {error}",
            "hint": "this looks like a bug in the plugin; report it with this message"}, False


@dataclass
class _Run:
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
        abort: AbortError | None = _unreachable(matched, self.report.connector_label
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
            out.append(by_id.get(rid) or RecordResult(rid, "failed", error=_plugin_fault(
                f"the {self.connector.name!r} plugin returned no result for {rid}")))
        return out

    def record(self, record: dict[str, Any], result: RecordResult,
               state: SyncState | None) -> None:
        rid = str(record["id"])
        status: str = result.status
        if status not in ("sent", "linked", "failed", "waiting", "dry_run"):
            result = RecordResult(rid, "failed", remote_ids=result.remote_ids, error=_plugin_fault(
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


UNREACHABLE_CLASSES = frozenset({"network"})


def _unreachable(results: list[RecordResult], remote: str) -> AbortError | None:
    """When every record of a batch failed because the remote could not be reached at all (no
    connection, no answer), that is the connection's state, not the records': the run stops
    (exit 1) and the records stay as they were, to go at the next run. A 5xx is an answer and
    may be the record's own doing, so it stays a record failure with automatic retries."""
    if not results or any(r.status != "failed" or not isinstance(r.error, FlxError)
                          or r.error.error_class not in UNREACHABLE_CLASSES for r in results):
        return None
    first = results[0].error
    assert isinstance(first, FlxError)
    error = AbortError(
        f"{remote} could not be reached for any record of the batch: {first.message}",
        hint="check the network, the endpoint (base_url) and NetSuite's status; the records "
             "were left as they were and go at the next run")
    error.error_class = first.error_class
    return error


def _plugin_fault(message: str) -> FlxError:
    """A plugin broke the protocol for one record: that record fails (class "plugin"), the run
    goes on. (PluginError would abort the whole run.)"""
    error = FlxError(message, hint="report this to the plugin's authors; `flx retry ID` "
                                   "sends the record again")
    error.error_class = "plugin"
    return error


def _unchanged(read: SyncState | None, now: SyncState | None) -> bool:
    """Same status and attempts as when the candidate was read (a claim row counts as new)."""
    before = (read.status, read.attempts) if read is not None else ("pending", 0)
    after = (now.status, now.attempts) if now is not None else ("pending", 0)
    return before == after


@contextlib.contextmanager
def _progress(enabled: bool, console: Console, label: str,
              total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal only; pipes and logs stay quiet."""
    if not (enabled and console.is_terminal):
        yield lambda n: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)


def _prepare(config: Config, plugins: Plugins, operation: str, connection_name: str,
             *, require_enabled: bool = True,
             ) -> tuple[Connection, Connector, dict[str, Any], Profile, Renderer]:
    connection = config.connection(connection_name)
    connector = plugins.require_operation(connection, operation)
    settings = config.operation_settings(connection, operation)
    if settings is None:
        if require_enabled:
            raise ConfigError(
                f"{operation} is not enabled for connection {connection.name!r}",
                hint=f"add a [connections.{connection.name}.operations.{operation}] table to "
                     f"{getattr(config, 'path', 'flx.toml')} (with enabled = true)")
        settings = dict(connection.operation(operation))
    profile = load_profile(connector, settings.get("mapping"),
                           base_dir=getattr(config, "base_dir", None))
    packages = [connector.templates_package] if connector.templates_package else []
    return connection, connector, dict(settings), profile, Renderer(packages,
                                                                    profile.template_dirs)


def _redactor(config: Config, connection: Connection) -> Redactor:
    secrets = list(config.secrets()) if hasattr(config, "secrets") else []
    return Redactor([*secrets, *connection.secrets()])


def _open_store(config: Config, store: Store | None) -> tuple[Store, bool]:
    if store is not None:
        return store, False
    from core.store import Store  # imported late: the CLI starts without touching a database

    return Store(config.store_url), True


def _owner(store: Store) -> str | None:
    """A claim owner when the store supports claims (several workers may run at once)."""
    if not hasattr(store, "claim"):
        return None
    from core.store import default_owner

    return default_owner()


def _close(store: Store) -> None:
    closer = getattr(store, "close", None)
    if callable(closer):
        closer()


def run_operation(config: Config, plugins: Plugins, operation: str, connection_name: str, *,
                  dry_run: bool = False, only: Sequence[str] | None = None,
                  limit: int | None = None, force: bool = False,
                  transport: httpx.BaseTransport | None = None, show_progress: bool = False,
                  console: Console | None = None, store: Store | None = None,
                  should_stop: Callable[[], bool] | None = None,
                  exclusive: bool = True) -> RunReport:
    """Run `operation` for `connection_name` and return the report (its `.exit_code` is the
    CLI's). Raises ConfigError/PluginError for problems found before any record is touched.

    Issue 8: a real run holds the store's run lock of connection + operation (RunLockedError
    when another process holds it; `exclusive=False` for callers that coordinate by claims
    alone); `should_stop()` is asked between batches (graceful stop)."""
    connection, connector, settings, profile, renderer = _prepare(
        config, plugins, operation, connection_name)
    order_settings = (config.operation_settings(connection, "send-orders")
                      if operation != "send-orders" and "send-orders" in connector.operations
                      else None)
    redactor = _redactor(config, connection)
    store, owned = _open_store(config, store)
    lock = None
    try:
        # Issue 8: one run per connection + operation at a time, across processes and
        # machines (a scheduler and a manual `flx run` never overlap). Dry runs write nothing.
        if exclusive and not dry_run:
            from core.schedule import RunLock

            lock = RunLock(store, connection.name, operation).acquire()
        run_id = store.start_run(connection.name, operation, dry_run)
        report = RunReport(run_id, operation, connection.name, connector=connector.name,
                           dry_run=dry_run, redactor=redactor,
                           connector_label=str(connector.extra.get("display_name") or ""))
        runtime = Runtime(
            store=store, connection=connection, connector=connector, operation=operation,
            dry_run=dry_run, renderer=renderer, profile=profile.data, transport=transport,
            run_id=run_id, logger=logging.getLogger(f"flx.{connector.name}"),
            workers=int(connection.settings.get("concurrency") or DEFAULT_CONCURRENCY))
        label = f"{operation} → {connection.name}" + (" (dry run)" if dry_run else "")
        with _progress(show_progress, console or Console(), label, limit) as advance:
            run = _Run(store, plugins, connection, connector, operation, settings,
                       order_settings, runtime, report, redactor, advance,
                       owner=None if dry_run else _owner(store),
                       should_stop=_stop_check(should_stop, lock))
            try:
                run.walk(only, limit, force)
            except BaseException:
                report.finished_at = dt.datetime.now(dt.UTC)
                store.finish_run(run_id, report.counts, "error")
                raise
            finally:
                runtime.close()  # the plugin's HTTP connections: a scheduler runs for days
        report.finished_at = dt.datetime.now(dt.UTC)
        store.finish_run(run_id, report.counts, report.status)
        # Issue 8: the built-in webhook notifier (core/alerts.py) reads [alerts] of flx.toml.
        from core.alerts import configure_alerts

        configure_alerts(plugins, config)
        _notify(plugins, report, connection)
        return report
    finally:
        if lock is not None:
            lock.release()
        if owned:
            _close(store)


def _stop_check(should_stop: Callable[[], bool] | None, lock: Any) -> Callable[[], bool]:
    """Issue 8: stop between batches when asked to, or when the run lock was lost."""
    return lambda: bool((should_stop is not None and should_stop())
                        or (lock is not None and lock.lost))


def _notify(plugins: Plugins, report: RunReport, connection: Connection) -> None:
    """Each run_finished implementation on its own: one failing notifier never hides the run's
    outcome nor silences the other notifiers."""
    data = report.to_dict()
    kwargs = {"report": data, "connection": connection}
    for impl in plugins.hook.run_finished.get_hookimpls():
        try:
            impl.function(**{k: v for k, v in kwargs.items() if k in impl.argnames})
        except Exception as exc:
            log.error("run_finished notifier %s failed: %s", impl.plugin_name,
                      report.redactor.text(f"{type(exc).__name__}: {exc}"))


def render_operation(config: Config, plugins: Plugins, operation: str, connection_name: str,
                     record_id: str, transport: httpx.BaseTransport | None = None, *,
                     store: Store | None = None) -> list[dict[str, Any]]:
    """The exact payloads `operation` would send for one stored record (dry run: read-only
    look-ups only). Works for a disabled operation too, so a new mapping can be previewed."""
    connection, connector, _settings, profile, renderer = _prepare(
        config, plugins, operation, connection_name, require_enabled=False)
    kind = OPERATIONS[operation]
    store, owned = _open_store(config, store)
    try:
        record = store.get_record(kind, record_id)
        if record is None:
            raise ConfigError(f"no {kind.replace('_', ' ')} {record_id!r} in the store",
                              hint="import it first (`flx import FILE`) or check the id")
        runtime = Runtime(store=store, connection=connection, connector=connector,
                          operation=operation, dry_run=True, renderer=renderer,
                          profile=profile.data, transport=transport,
                          logger=logging.getLogger(f"flx.{connector.name}"))
        payloads = plugins.hook.render_payloads(operation=operation, connection=connection,
                                                record=record, runtime=runtime)
        if payloads is None:
            raise PluginError(f"no plugin answered for connection {connection.name!r}",
                              hint=f"the {connector.name!r} plugin does not implement "
                                   "render_payloads")
        return list(_redactor(config, connection).data(payloads))
    finally:
        if owned:
            _close(store)
