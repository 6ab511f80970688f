"""Run one operation for one connection: select, check, batch, hand to the plugin, record.

    candidates (store, streamed) ──► eligibility ──► waiting: stored with the reason
                                                └──► eligible: batched ──► connector.send
    results ──► store (status, remote ids, error, next retry) ──► RunReport ──► run_finished

One bad record never stops the others: a failure is stored on that record. Only an AbortError
(bad credentials, a missing plugin ...) stops the run, after the batch in flight, leaving the
remaining records untouched for the next run.

This module sets a run up and closes it (store, run lock, report, notifiers); the walk over
the records is run/batches.py, what each result means (errors, retry times) run/outcomes.py.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
from collections.abc import Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import httpx
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from flx.config.redact import Redactor
from flx.connector import Connector
from flx.errors import ConfigError, StoreUnavailableError
from flx.model import DONE_STATUSES, Connection
from flx.render.mapping import Profile

# Re-exported: tests, core/ops/status.py and embedding code import these from flx.run.runner.
from flx.run.batches import CLAIM_TTL, DEFAULT_BATCH, OperationRun  # noqa: F401
from flx.run.outcomes import (  # noqa: F401
    MAX_ATTEMPTS,
    RETRY_BASE,
    RETRY_CAP,
    UNREACHABLE_CLASSES,
    error_details,
    next_retry_at,
)
from flx.run.prepare import prepare_operation
from flx.run.report import RunReport, changed_note
from flx.run.runtime import Runtime
from flx.store.claims import ClaimLease

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.store.store import Store

__all__ = ["MAX_ATTEMPTS", "RunReport", "next_retry_at", "render_operation", "run_operation"]

log = logging.getLogger("flx.runner")

DEFAULT_CONCURRENCY = 5


@contextlib.contextmanager
def _progress(enabled: bool, console: Console, label: str,
              total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress bar on a terminal only; pipes and logs stay quiet."""
    if not (enabled and console.is_terminal):
        yield lambda n: None
        return
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
               MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("eta"),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task(label, total=total)
        yield lambda n: progress.advance(task, n)




def _expected_total(store: Store, connection: str, operation: str, kind: str,
                    only: Sequence[str] | None, limit: int | None) -> int:
    """How many records the run will go through, for the progress bar: the ids given, else
    the records of the operation's kind not done yet (at most `limit`). An estimate: records
    waiting for their retry time are counted too; the bar is gone when the run ends."""
    if only:
        return len(set(only))
    done = sum(int(row["count"]) for row in store.sync_summary(connection)
               if row["operation"] == operation and row["status"] in DONE_STATUSES)
    left = max(store.count_records(kind) - done, 0)
    return min(left, limit) if limit else left


def _redactor(config: Config, connection: Connection) -> Redactor:
    secrets = list(config.secrets()) if hasattr(config, "secrets") else []
    return Redactor([*secrets, *connection.secrets()])


def _open_store(config: Config, store: Store | None) -> tuple[Store, bool]:
    if store is not None:
        return store, False
    from flx.store.store import Store  # imported late: the CLI starts without touching a database

    return Store(config.store_url), True


def _owner(store: Store) -> str | None:
    """A claim owner when the store supports claims (several workers may run at once)."""
    if not hasattr(store, "claim"):
        return None
    from flx.store.store import default_owner

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
                  exclusive: bool = True, owner: str | None = None,
                  claim_lease: float | None = None,
                  interrupted: Callable[[], bool] | None = None) -> RunReport:
    """Run `operation` for `connection_name` and return the report (its `.exit_code` is the
    CLI's). Raises ConfigError/PluginError for problems found before any record is touched.

    A real run holds the store's run lock of connection + operation (RunLockedError
    when another process holds it; `exclusive=False` for callers that coordinate by claims
    alone, as `flx worker` does); `should_stop()` is asked between batches (graceful stop).
    `interrupted()` too (the user's Ctrl-C): when it says so the run ends after the batch in
    flight and is recorded as `interrupted` with its counts; a KeyboardInterrupt during the
    run (a second Ctrl-C) stops it at once, records it so, and raises RunInterrupted with the
    report. `owner` names the claimer (a worker keeps one name for its life); claims are
    leases of `claim_lease` seconds (core/store/claims.py), renewed while the run lasts."""
    connection, connector, settings, profile, renderer = prepare_operation(
        config, plugins, operation, connection_name)
    kind, required = plugins.operations[operation].kind, plugins.operations[operation].requires
    # The required operation's settings scope a shipment's order (its channels and sources).
    order_settings = (config.operation_settings(connection, required)
                      if required is not None and required in connector.operations else None)
    redactor = _redactor(config, connection)
    store, owned = _open_store(config, store)
    workers = int(connection.settings.get("concurrency") or DEFAULT_CONCURRENCY)
    if hasattr(store, "fit_pool"):  # the plugin's threads, the walk, the pipeline, a lease
        store.fit_pool(workers + 2)
    lock = None
    try:
        # One run per connection + operation at a time, across processes and
        # machines (a scheduler and a manual `flx run` never overlap). Dry runs write nothing.
        if exclusive and not dry_run:
            from flx.run.lock import RunLock

            lock = RunLock(store, connection.name, operation).acquire()
            # With the lock held, a real run of this pair still `running` is a killed one.
            if hasattr(store, "interrupt_stale_runs"):
                store.interrupt_stale_runs(connection.name, operation)
            if hasattr(store, "release_dead_claims"):  # a killed run's batch: free it now
                store.release_dead_claims(connection.name, operation)
        run_id = store.start_run(connection.name, operation, dry_run)
        report = RunReport(run_id, operation, connection.name, connector=connector.name,
                           dry_run=dry_run, redactor=redactor,
                           connector_label=str(connector.extra.get("display_name") or ""))
        runtime = Runtime(
            store=store, connection=connection, connector=connector, operation=operation,
            dry_run=dry_run, renderer=renderer, profile=profile.data, transport=transport,
            run_id=run_id, logger=logging.getLogger(f"flx.{connector.name}"),
            workers=workers, redactor=redactor)
        if dry_run:  # what a real run would meet: said before it does
            report.notes += _profile_warnings(connector, operation, profile, store,
                                              connection.name, kind)
        label = f"{operation} → {connection.name}" + (" (dry run)" if dry_run else "")
        total = _expected_total(store, connection.name, operation, kind, only, limit) \
            if show_progress else None
        claimer = None if dry_run else (owner or _owner(store))
        lease = _claim_lease(store, connection.name, operation, claimer, claim_lease)
        with _progress(show_progress, console or Console(), label, total) as advance:
            run = OperationRun(store, plugins, connection, connector, operation, settings,
                       order_settings, runtime, report, redactor, advance,
                       owner=claimer,
                       should_stop=_stop_check(should_stop, lock, interrupted, lease),
                       claim_lease=lease.seconds if lease is not None else CLAIM_TTL)
            try:
                run.walk(only, limit, force)
            except KeyboardInterrupt:
                report.interrupted = "stopped at once"
                report.finished_at = dt.datetime.now(dt.UTC)
                store.finish_run(run_id, _interrupted_counts(store, report), "interrupted")
                raise RunInterrupted(report) from None
            except BaseException:
                report.finished_at = dt.datetime.now(dt.UTC)
                with contextlib.suppress(StoreUnavailableError):
                    store.finish_run(run_id, report.counts, "error")
                raise
            finally:
                if lease is not None:
                    lease.stop()
                if report.in_flight == 0:  # else the plugin still uses them: left to exit
                    runtime.close()  # the plugin's HTTP connections: a scheduler runs for days
        if interrupted is not None and interrupted() and not report.aborted:
            report.interrupted = "Ctrl-C"
        report.finished_at = dt.datetime.now(dt.UTC)
        if not only and not report.aborted:
            _note_changed(store, report, connection.name, operation, kind)
        try:
            store.finish_run(run_id, report.counts, report.status, error={
                "class": report.aborted_class, "message": report.aborted}
                if report.aborted else None)
        except StoreUnavailableError:
            if report.aborted_class != "store":
                raise  # else the run already says the store failed; `flx runs` shows running
        # (an interrupted run keeps its counts: what it did before it stopped)
        # Notifiers (the built-in one reads [alerts] of flx.toml) see the report and config.
        _notify(plugins, report, connection, config)
        return report
    finally:
        if lock is not None:
            lock.release()
        if owned:
            _close(store)


def _profile_warnings(connector: Connector, operation: str, profile: Profile, store: Store,
                      connection: str, kind: str) -> list[str]:
    from flx.run.profile_check import profile_gaps, profile_label, waiting_records

    return [f"mapping profile {profile_label(profile)}: {w}" for w in profile_gaps(
        connector, operation, profile.data, waiting_records(store, connection, operation, kind))]


def _note_changed(store: Store, report: RunReport, connection: str, operation: str,
                  kind: str) -> None:
    """Records imported again with other data after they were sent are not taken by a run:
    say so, or "nothing to do" would hide that the accounting system holds older data."""
    count, ids = store.changed_since_done(connection, operation, kind)
    if count:
        report.notes.append(changed_note(count, ids))


def _claim_lease(store: Store, connection: str, operation: str, owner: str | None,
                 seconds: float | None) -> ClaimLease | None:
    """The heartbeat of this run's claims (a store that supports them, a real run)."""
    if owner is None or not hasattr(store, "renew_claims"):
        return None
    return ClaimLease(store, connection, operation, owner, seconds or CLAIM_TTL).start()


def _stop_check(should_stop: Callable[[], bool] | None, lock: Any,
                interrupted: Callable[[], bool] | None = None,
                lease: ClaimLease | None = None) -> Callable[[], bool]:
    """Stop between batches when asked to, when the user pressed Ctrl-C, when the run lock
    was lost, or when the claims went a whole lease without renewal (other workers may take
    those records now)."""
    return lambda: bool((should_stop is not None and should_stop())
                        or (interrupted is not None and interrupted())
                        or (lock is not None and lock.lost)
                        or (lease is not None and lease.lost))


class RunInterrupted(KeyboardInterrupt):
    """A run stopped at once (a second Ctrl-C), already recorded as interrupted; `report` is
    what it did up to then."""

    def __init__(self, report: RunReport) -> None:
        super().__init__("interrupted")
        self.report = report


def _interrupted_counts(store: Store, report: RunReport) -> dict[str, int]:
    """What a run stopped at once did: its finished records, the records whose batch was in
    flight, and the remote writes it made (all of them are in the audit trail): a run that
    wrote something never reads "nothing to do"."""
    writes = len(store.audit_entries(run_id=report.run_id, limit=1_000_000)) \
        if report.run_id is not None else 0
    return {**report.counts, "in_flight": report.in_flight, "writes": writes}


def _notify(plugins: Plugins, report: RunReport, connection: Connection,
            config: Config) -> None:
    """Each run_finished implementation on its own: one failing notifier never hides the run's
    outcome nor silences the other notifiers."""
    data = report.to_dict()
    kwargs = {"report": data, "connection": connection, "config": config}
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
    connection, connector, settings, profile, renderer = prepare_operation(
        config, plugins, operation, connection_name, require_enabled=False)
    op = plugins.operations[operation]
    store, owned = _open_store(config, store)
    try:
        record = store.get_record(op.kind, record_id)
        if record is None:
            raise ConfigError(f"no {op.words.noun} {record_id!r} in the store",
                              hint="import it first (`flx import FILE`) or check the id")
        if op.requires is None:  # a preview of what a run would not send says so
            from flx.operations.registry import in_scope

            outside = in_scope(record, connection.name, settings)
            if outside is not None:
                log.warning("%s: a run would not send it (%s)", record_id, outside.message)
        redactor = _redactor(config, connection)
        runtime = Runtime(store=store, connection=connection, connector=connector,
                          operation=operation, dry_run=True, renderer=renderer,
                          profile=profile.data, transport=transport,
                          logger=logging.getLogger(f"flx.{connector.name}"), redactor=redactor)
        from flx.run.profile_check import profile_gaps, profile_label

        for gap in profile_gaps(connector, operation, profile.data, [record]):
            log.warning("%s: mapping profile %s: %s", record_id, profile_label(profile), gap)
        payloads = connector.render(operation, record, runtime)
        return list(redactor.data(payloads))
    finally:
        if owned:
            _close(store)
