"""`flx pull`: run one `[sources.NAME]` from its saved cursor to the end, page by page.

    store cursor ──► Source.pull(since, runtime) ──► Page ──► ingest_page ──► records + cursor
                                                                              (one transaction)

One real pull of a source at a time, across processes and machines (a store lock renewed
while it works; a second pull is refused, never doubled). The pull's outcome is kept in the
store for `flx status` and the schedule: `ok`, `rejected` (some records refused; the rest and
the cursor are stored), `aborted` (the source or the store failed: the pages before the
failure are kept, the next pull resumes after them) or `interrupted`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flx.config.redact import Redactor
from flx.errors import ConfigError, FlxError
from flx.run.http import Purpose, build_client
from flx.run.lock import RunLock, RunLockedError
from flx.run.state import PluginState
from flx.source import PullProgress, SourceRuntime
from flx.sources.ingest import IngestCounts, ingest_page, record_kinds
from flx.store.store import Store

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.plugins import Plugins

__all__ = ["EXIT_CODES", "PullReport", "pull_source", "pullable"]

log = logging.getLogger("flx.sources")

EXIT_CODES = {"ok": 0, "rejected": 3, "aborted": 1, "interrupted": 1}


@dataclass
class PullReport:
    """What one pull did: pages stored, records per kind (new, updated, unchanged, refused),
    each refused record's problem, where the source now resumes, and why it stopped early."""

    source: str
    plugin: str
    dry_run: bool
    started_at: dt.datetime
    since: Any = None
    cursor: Any = None  # after the last page stored (a dry run keeps `since`)
    pages: int = 0
    counts: IngestCounts = field(default_factory=IngestCounts)
    finished_at: dt.datetime | None = None
    error: dict[str, Any] | None = None
    status: str = "running"

    @property
    def exit_code(self) -> int:
        return EXIT_CODES.get(self.status, 1)

    def summary(self) -> str:
        """One line: "pulled 3 pages from feed: orders 4 new, 1 updated; 1 rejected"."""
        parts = []
        for kind, row in self.counts.kinds().items():
            said = [f"{row[k]} {w}" for k, w in (("inserted", "new"), ("updated", "updated"),
                                                 ("unchanged", "unchanged"),
                                                 ("rejected", "rejected")) if row[k]]
            if said:
                parts.append(f"{kind.replace('_', ' ')}s {', '.join(said)}")
        if self.counts.unreadable:
            parts.append(f"{self.counts.unreadable} unreadable")
        what = "; ".join(parts) or "nothing new"
        verb = "would pull" if self.dry_run else "pulled"
        text = (f"{verb} {self.pages} page{'s' * (self.pages != 1)} from {self.source}: "
                f"{what}")
        if self.error:
            text += f"; stopped: {self.error.get('message')}"
        return text

    def to_dict(self) -> dict[str, Any]:
        duration = None
        if self.finished_at is not None:
            duration = round((self.finished_at - self.started_at).total_seconds(), 3)
        return {
            "source": self.source, "plugin": self.plugin, "dry_run": self.dry_run,
            "status": self.status, "exit_code": self.exit_code,
            "started_at": self.started_at.isoformat(), "duration_seconds": duration,
            "since": self.since, "cursor": self.cursor, "pages": self.pages,
            "records": self.counts.records, "kinds": self.counts.kinds(),
            "unreadable": self.counts.unreadable,
            "problems": [p.to_dict() for p in self.counts.problems], "error": self.error,
        }

    def stored_counts(self) -> dict[str, Any]:
        """What `flx status` keeps of it: pages, records and per-kind counts."""
        return {"pages": self.pages, "records": self.counts.records,
                "kinds": {k: v for k, v in self.counts.kinds().items() if any(v.values())},
                "unreadable": self.counts.unreadable}


def pullable(config: Config, name: str | None = None) -> list[str]:
    """The sources `flx pull` takes: the one named (a disabled one is refused with the fix),
    or every enabled one."""
    if name is not None:
        source = config.source(name)
        if not source.enabled:
            raise ConfigError(f"source {name!r} is disabled (enabled = false in {config.path})",
                              hint=f"remove `enabled = false` from [sources.{name}] to pull it")
        return [name]
    names = [n for n, s in sorted(config.sources.items()) if s.enabled]
    if not names:
        raise ConfigError(f"no source to pull from: {config.path} has no enabled "
                          "[sources.NAME] table",
                          hint="add one (see docs/configuration.md, [sources.NAME])")
    return names


def pull_source(config: Config, plugins: Plugins, name: str, *, dry_run: bool = False,
                store: Store | None = None, transport: httpx.BaseTransport | None = None,
                progress: PullProgress | None = None, full: bool = False,
                should_stop: Callable[[], bool] = lambda: False) -> PullReport:
    """Pull source `name` from where it stopped (`full`: from the beginning) to the end of
    what it has, storing each page with its cursor. A failure of the source ends the pull
    with status `aborted` and its error in the report (nothing is raised); a configuration
    problem, or another process pulling the same source, raises before anything is read."""
    source_config = config.source(name)
    source = plugins.sources[source_config.plugin]  # the config loader checked it exists
    own_store = store is None
    store = store or Store(config.store_url)
    redactor = config.redactor()
    kinds = record_kinds(plugins.operations)
    report = PullReport(name, source.name, dry_run, dt.datetime.now(dt.UTC),
                        counts=IngestCounts.of(kinds))
    lock = None if dry_run else RunLock(store, f"source {name}", "pull")
    try:
        if lock is not None:
            _acquire(lock, name)
        report.since = None if full else store.source_cursor(name)
        report.cursor = report.since
        if not dry_run:
            store.start_pull(name, report.started_at)
        runtime = SourceRuntime(
            source=name, settings=dict(source_config.settings), dry_run=dry_run,
            logger=logging.getLogger(f"flx.sources.{name}"), transport=transport,
            kv=PluginState(store, f"source:{name}", redactor),
            client_factory=_client_factory(store, name, transport, dry_run))
        if progress is not None:
            runtime.progress = progress
        try:
            _pages(report, lambda: source.pull(report.since, runtime), store, runtime,
                   lambda: should_stop() or (lock is not None and lock.lost), kinds)
        except BaseException as exc:  # a bug, or Ctrl-C twice: kept as what it was
            if report.status == "running":
                report.status = "aborted"
                report.error = {"class": "internal",
                                "message": f"{type(exc).__name__}: {exc}"}
            raise
        finally:
            runtime.close()
            report.finished_at = dt.datetime.now(dt.UTC)
            if report.status == "running":
                report.status = "rejected" if report.counts.rejected_total else "ok"
            if report.error is not None:
                report.error = redactor.data(report.error)
            report.counts.problems[:] = [_masked(p, redactor) for p in report.counts.problems]
            if not dry_run:
                store.finish_pull(name, report.stored_counts(), report.status, report.error)
    finally:
        if lock is not None:
            lock.release()
        if own_store:
            store.close()
    return report


def _pages(report: PullReport, start: Callable[[], Any], store: Store,
           runtime: SourceRuntime, should_stop: Callable[[], bool],
           kinds: dict[str, str]) -> None:
    """Store each page the source yields, in order, until it ends, fails or is stopped. The
    source's own exceptions end the pull (`aborted`, said in the report); flx's (the store)
    too; anything else raised by flx itself is a bug and propagates."""
    pages: Any = None
    try:
        while True:
            try:
                if pages is None:
                    pages = iter(start())
                page = next(pages)
            except StopIteration:
                return
            except FlxError:
                raise
            except Exception as exc:  # the plugin's own failure: said, and the pull ends
                log.debug("source %s failed", report.source, exc_info=True)
                report.status = "aborted"
                report.error = {
                    "class": "plugin", "message": f"source {report.source!r} failed: "
                    f"{type(exc).__name__}: {exc}",
                    "hint": "the pages before the failure are stored; pull again once the "
                            "cause is fixed (`flx -v pull` shows the traceback)"}
                return
            counts = ingest_page(store, page, source=report.source, dry_run=report.dry_run,
                                 kinds=kinds)
            report.counts.add(counts)
            report.pages += 1
            if not report.dry_run:
                report.cursor = page.cursor
            runtime.progress.advance(counts.records)
            if should_stop():
                report.status = "interrupted"
                report.error = {"class": "interrupted", "message": "stopped on request; the "
                                "next pull resumes after the last page stored"}
                return
    except FlxError as exc:
        report.status, report.error = "aborted", exc.to_dict()
    except (KeyboardInterrupt, SystemExit):
        report.status = "interrupted"
        report.error = {"class": "interrupted", "message": "stopped before the source's end; "
                        "the next pull resumes after the last page stored"}
        raise
    finally:
        close = getattr(pages, "close", None)
        if callable(close):
            close()  # a generator's `finally` blocks run now, not whenever it is collected


def _acquire(lock: RunLock, name: str) -> None:
    try:
        lock.acquire()
    except RunLockedError:
        holder = lock.store.lock_holder(lock.name) or "another process"
        raise RunLockedError(
            f"source {name!r} is being pulled already ({holder}); this pull was not started, "
            "so the two never overlap",
            hint="wait for it to finish (`flx status` shows the source's last pull) and pull "
                 "again; a lock left by a crashed process frees itself within "
                 f"{int(lock.ttl // 60)} minutes") from None


def _client_factory(store: Store, name: str, transport: httpx.BaseTransport | None,
                    dry_run: bool) -> Callable[..., httpx.Client]:
    """The source's HTTP clients: the injected transport, the dry-run guard, and its real
    writes audited under `source:NAME` (an "auth" client's token requests are not)."""
    def audit(method: str, path: str, status: int, remote_id: str | None) -> None:
        store.audit(f"source:{name}"[:100], None, method, path, status, remote_id)

    def make(*, purpose: Purpose = "records", **kwargs: Any) -> httpx.Client:
        return build_client(transport=transport, dry_run=dry_run, purpose=purpose,
                            audit=None if dry_run or purpose == "auth" else audit, **kwargs)
    return make


def _masked(problem: Any, redactor: Redactor) -> Any:
    from dataclasses import replace

    return replace(problem, message=redactor.text(problem.message),
                   location=redactor.text(problem.location))
