"""`flx schedule`: run every enabled operation at its cadence, unattended.

    flx.toml schedule ──► Cadence ──► Job (connection, operation) ──► due? ──► run_operation
                                                                    └─► one log line per run

- Cadences: `every 30 minutes`, `every 2 hours`, `every 1 day` (also `every hour`, ...) or a
  cron expression (`*/15 * * * *`, `@hourly`), read in the machine's local time like cron.
- When is a job due: an interval counts from the start of the last real (not dry) run in the
  store, so a restart, a second machine or a manual `flx run` do not cause an extra run; a job
  never run is due at once. A cron job is due at the first slot after its last run; a slot
  missed while flx was down is caught up once, at once.
- Within a tick, first the due pulls of `[sources.NAME]` tables with a `schedule` (every
  source, whichever connection the scheduler serves: records are shared), then per
  connection: orders, then shipments, then vendor bills (a shipment needs its order in the
  accounting system first). A pull is due by its last real pull, kept in the store.
- One run per connection + operation at a time, across processes and machines: `RunLock`, a
  store lock that the runner takes for every real run and renews while it works. A job whose
  lock is held is skipped with a message and tried again a minute later.
- A connection whose `${VAR}`s are not set cannot run; the others still do. Its jobs log an
  `error` event at start and again each time they would be due (the process reads its
  environment once, so the fix is to set the variable and start `flx schedule` again).
  When no planned job can run, the scheduler refuses to start.
- SIGINT/SIGTERM: the run in flight finishes its batch, its state is recorded, exit 0.
- Time comes from an injectable `Clock`, so tests never sleep.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import re
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from flx.config.cadence import CADENCE_EXAMPLES, Cadence, parse_cadence
from flx.config.redact import Redactor
from flx.errors import ConfigError, FlxError
from flx.ops.pulls import PullJob, last_pull_start, plan_pulls
from flx.ops.stop_signals import stop_signals
from flx.run.lock import LOCK_RENEW, LOCK_TTL, RunLock, RunLockedError, lock_name

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.run.report import RunReport
    from flx.store.store import Store

__all__ = ["CADENCE_EXAMPLES", "LOCK_RENEW", "LOCK_TTL", "Cadence", "Clock", "Job", "PullJob",
           "RunLock", "plan_pulls",
           "RunLockedError", "Scheduler", "SystemClock", "last_run_start", "lock_name",
           "next_run_at", "parse_cadence", "plan_jobs", "unusable_connections", "unusable_error"]

log = logging.getLogger("flx.schedule")

SKIPPED_RETRY = dt.timedelta(minutes=1)  # a job whose lock was busy is tried again after this
MIN_SLEEP, MAX_SLEEP = 1.0, 300.0  # wake at least every 5 minutes to re-read run history


# --- jobs and their timing ---------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    connection: str
    operation: str
    cadence: Cadence

    @property
    def key(self) -> tuple[str, str]:
        return (self.connection, self.operation)

    def label(self) -> str:
        return f"{self.operation} on {self.connection}"


def plan_jobs(config: Config, connection: str | None = None) -> list[Job]:
    """Every enabled operation with a `schedule`, ordered by connection, then by the
    operations' `position` (orders, shipments, vendor bills). Every bad cadence is reported
    at once (with its TOML path).

    Jobs of a connection with unset variables are planned too (`unusable_connections` says
    which); only when none of the planned jobs can run does the schedule refuse to start."""
    if connection is not None:
        config.connection(connection)  # a clear error for an unknown or incomplete connection
    jobs: list[Job] = []
    problems: list[str] = []
    for name in sorted(config.connections):
        if connection is not None and name != connection:
            continue
        conn = config.connections[name]
        for op in config.operations.names():
            settings = conn.operations.get(op)
            if not settings or settings.get("enabled") is False or not settings.get("schedule"):
                continue
            where = f"connections.{name}.operations.{op}.schedule"
            try:
                jobs.append(Job(name, op, parse_cadence(str(settings["schedule"]))))
            except ValueError as exc:
                problems.append(f"{where}: {exc}")
    unusable = unusable_connections(config, jobs)
    if not problems and jobs and all(job.connection in unusable for job in jobs):
        problems = [p for name in sorted(unusable) for p in unusable[name]]
    if problems:
        raise ConfigError("the schedule cannot start", problems=sorted(dict.fromkeys(problems)),
                          hint=f"correct {config.path} (or set the environment variables) and "
                               "start `flx schedule` again")
    if not jobs and not plan_pulls(config):
        scope = f"connection {connection!r}" if connection else "any connection"
        raise ConfigError(
            f"nothing to schedule: no enabled operation of {scope} has a `schedule`",
            hint='add schedule = "every 30 minutes" to a [connections.NAME.operations.OP] '
                 f"table in {config.path}")
    return jobs


def unusable_connections(config: Config, jobs: list[Job]) -> dict[str, list[str]]:
    """The connections of `jobs` that cannot run, each with its problems (the variables
    flx.toml refers to that are not set, as "connections.NAME.KEY: ... is not set")."""
    return {name: list(config.missing_env[name])
            for name in dict.fromkeys(job.connection for job in jobs)
            if config.missing_env.get(name)}


_UNSET = re.compile(r"^(?P<where>[^:]+): environment variables? (?P<names>.+?) (?:is|are) not set$")


def unusable_error(name: str, problems: list[str]) -> ConfigError:
    """Why the jobs of connection `name` cannot run, with the variables and the fix."""
    variables: list[str] = []
    places: list[str] = []
    for problem in problems:
        match = _UNSET.match(problem)
        if match is None:
            break
        variables += [v.strip() for v in match["names"].split(",")]
        places.append(match["where"])
    else:
        if variables:
            names = ", ".join(dict.fromkeys(variables))
            plural = len(dict.fromkeys(variables)) > 1
            return ConfigError(
                f"connection {name!r} cannot run: environment variable{'s' if plural else ''} "
                f"{names} {'are' if plural else 'is'} not set ({', '.join(places)})",
                problems=problems,
                hint=f"set {names} where `flx schedule` gets its environment (the service's "
                     "EnvironmentFile, the file cron sources) and start it again (variables "
                     "are read at start); the other connections keep running")
    return ConfigError(
        f"connection {name!r} cannot run: " + "; ".join(problems), problems=problems,
        hint="correct it and start `flx schedule` again; the other connections keep running")


def last_run_start(store: Store, connection: str, operation: str) -> dt.datetime | None:
    """When the last real (not dry) run of this operation started, by any process."""
    for run in store.recent_runs(connection=connection, operation=operation, limit=1,
                                 real_only=True):
        started: dt.datetime = run["started_at"]
        return started if started.tzinfo else started.replace(tzinfo=dt.UTC)
    return None


def next_run_at(store: Store, connection: str, operation: str, schedule: str,
                now: dt.datetime) -> dt.datetime | None:
    """When `flx schedule` would next run this operation (None for an invalid cadence); a
    time in the past means "at the next tick"."""
    try:
        cadence = parse_cadence(schedule)
    except ValueError:
        return None
    return cadence.next_after(last_run_start(store, connection, operation), now)


# --- clocks ------------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> dt.datetime: ...

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        """Wait `seconds`, or less when `stop` is set."""


class SystemClock:
    def now(self) -> dt.datetime:
        return dt.datetime.now(dt.UTC)

    def sleep(self, seconds: float, stop: threading.Event) -> None:
        stop.wait(seconds)


# --- the scheduler -----------------------------------------------------------------------------


RunFn = Callable[..., "RunReport"]
_SEVERITY = {0: 0, 3: 1, 1: 2}  # exit codes, least to most severe


@dataclass
class Scheduler:
    """Runs the jobs of `plan_jobs(config, connection)` at their cadence until stopped.

    `emit` receives each log line (already redacted); `run_fn` is flx.run.runner.run_operation
    (replaceable in tests)."""

    config: Config
    plugins: Plugins
    store: Store
    connection: str | None = None
    clock: Clock = field(default_factory=SystemClock)
    transport: httpx.BaseTransport | None = None
    log_format: str = "text"
    emit: Callable[[str], None] = lambda line: print(line, flush=True)
    run_fn: RunFn | None = None
    redactor: Redactor | None = None
    pull_fn: Callable[..., Any] | None = None  # flx.sources.pull.pull_source (tests replace it)

    def __post_init__(self) -> None:
        if self.log_format not in ("text", "json"):
            raise ConfigError(f"unknown log format {self.log_format!r}",
                              hint="use --log-format text or --log-format json")
        self.jobs = plan_jobs(self.config, self.connection)
        self.pulls = plan_pulls(self.config)
        # Connections whose variables are not set: their jobs say why instead of running. The
        # environment is read once, at start, so they stay unusable until flx starts again.
        self.unusable = {name: unusable_error(name, problems) for name, problems
                         in unusable_connections(self.config, self.jobs).items()}
        self.stop_event = threading.Event()
        self.stop_reason = ""
        self.started_at = self.clock.now()
        self.exit_code = 0
        self._last_start: dict[tuple[str, str], dt.datetime] = {}
        self._not_before: dict[tuple[str, str], dt.datetime] = {}
        if self.redactor is None:
            self.redactor = Redactor(self.config.secrets())
        if self.run_fn is None:
            from flx.run.runner import run_operation

            self.run_fn = run_operation
        if self.pull_fn is None:
            from flx.sources.pull import pull_source

            self.pull_fn = pull_source

    # -- timing -------------------------------------------------------------------------------

    def next_due(self, job: Job | PullJob) -> dt.datetime:
        stored = (last_pull_start(self.store, job.source) if isinstance(job, PullJob)
                  else last_run_start(self.store, job.connection, job.operation))
        mine = self._last_start.get(job.key)
        last = max((t for t in (stored, mine) if t is not None), default=None)
        due = job.cadence.next_after(last, self.started_at)
        blocked = self._not_before.get(job.key)
        return max(due, blocked) if blocked else due

    # -- running ------------------------------------------------------------------------------

    def tick(self) -> int:
        """Pull every source that is due now, then run every job that is due, in plan order;
        returns how many pulls and runs were made."""
        ran = 0
        for pull in self.pulls:
            if self.stop_event.is_set():
                break
            if self.next_due(pull) <= self.clock.now():
                ran += self._pull(pull)
        for job in self.jobs:
            if self.stop_event.is_set():
                break
            if self.next_due(job) <= self.clock.now():
                ran += self._run(job)
        return ran

    def _cannot_run(self, job: Job) -> None:
        """Log why a job of an unusable connection is not run (at start, then whenever it
        would be due, so the reason does not scroll away in a long-running log)."""
        exc = self.unusable[job.connection]
        self._last_start[job.key] = self.clock.now()
        self._worse(1)
        self._log(job, "error", text=f"not run: {_one_line(exc, problems=False)}",
                  error=exc.to_dict())

    def _run(self, job: Job) -> int:
        now = self.clock.now()
        if job.connection in self.unusable:
            self._cannot_run(job)
            return 0
        assert self.run_fn is not None
        try:
            report = self.run_fn(self.config, self.plugins, job.operation, job.connection,
                                 transport=self.transport, store=self.store,
                                 should_stop=self.stop_event.is_set)
        except RunLockedError as exc:
            self._not_before[job.key] = now + min(SKIPPED_RETRY, job.cadence.interval
                                                  or SKIPPED_RETRY)
            self._log(job, "skipped", text=f"skipped: {exc.message}", reason=exc.message)
            return 0
        except FlxError as exc:  # config or plugin trouble: say so, keep the other jobs going
            self._last_start[job.key] = now
            self._worse(1)
            self._log(job, "error", text=f"not run: {_one_line(exc)}", error=exc.to_dict())
            return 0
        except Exception as exc:  # a bug must not take the scheduler down
            self._last_start[job.key] = now
            self._worse(1)
            message = f"{type(exc).__name__}: {exc}"
            log.debug("scheduled run failed", exc_info=True)
            self._log(job, "error", text=f"not run: unexpected {message}",
                      error={"class": "internal", "message": message})
            return 0
        self._last_start[job.key] = now
        self._worse(report.exit_code)
        data = report.to_dict()
        text = report.summary() + "".join(f"; {note}" for note in data["notes"]) + (
            f"; aborted: {data['aborted']}" if data["aborted"] else "")
        self._log(job, "run", text=text, run_id=data["run_id"], status=data["status"],
                  counts=data["counts"], duration_seconds=data["duration_seconds"],
                  requests=data["requests"], exit_code=data["exit_code"],
                  aborted=data["aborted"], notes=data["notes"])
        return 1

    def _pull(self, job: PullJob) -> int:
        now = self.clock.now()
        self._last_start[job.key] = now
        assert self.pull_fn is not None
        try:
            report = self.pull_fn(self.config, self.plugins, job.source, store=self.store,
                                  transport=self.transport, should_stop=self.stop_event.is_set)
        except RunLockedError as exc:
            self._not_before[job.key] = now + SKIPPED_RETRY
            self._log(job, "skipped", text=f"skipped: {exc.message}", reason=exc.message)
            return 0
        except FlxError as exc:  # its variables are unset, say: the other jobs still go
            self._worse(1)
            self._log(job, "error", text=f"not pulled: {_one_line(exc)}", error=exc.to_dict())
            return 0
        except Exception as exc:  # a bug must not take the scheduler down
            self._worse(1)
            message = f"{type(exc).__name__}: {exc}"
            log.debug("scheduled pull failed", exc_info=True)
            self._log(job, "error", text=f"not pulled: unexpected {message}",
                      error={"class": "internal", "message": message})
            return 0
        self._worse(report.exit_code)
        data = report.to_dict()
        self._log(job, "pull", text=report.summary(), status=data["status"],
                  pages=data["pages"], kinds=data["kinds"], problems=len(data["problems"]),
                  duration_seconds=data["duration_seconds"], exit_code=data["exit_code"],
                  error=data["error"])
        return 1

    def _worse(self, code: int) -> None:
        if _SEVERITY.get(code, 2) > _SEVERITY.get(self.exit_code, 2):
            self.exit_code = code

    def run(self, *, once: bool = False, handle_signals: bool = True) -> int:
        """Tick until stopped (or once). Returns the exit code: with `once`, the worst run
        outcome (0, 3 some records failed, 1 a run aborted or could not start); otherwise 0
        after a graceful stop."""
        usable = [j for j in self.jobs if j.connection not in self.unusable]
        blocked = [j for j in self.jobs if j.connection in self.unusable]
        planned: list[Job | PullJob] = [*self.pulls, *usable]
        text = "scheduling " + "; ".join(f"{j.label()} {j.cadence.text}" for j in planned)
        text += " (once)" if once else ""
        if blocked:
            text += "; cannot run: " + ", ".join(j.label() for j in blocked)
        self._log(None, "start", text=text,
                  jobs=[_job_dict(j) for j in usable], once=once,
                  pulls=[{"source": p.source, "schedule": p.cadence.text} for p in self.pulls],
                  cannot_run=[_job_dict(j) for j in blocked])
        for job in blocked:  # said at once, whether or not the job is due now
            self._cannot_run(job)
        with self._signals(handle_signals):
            while not self.stop_event.is_set():
                self.tick()
                if once or self.stop_event.is_set():
                    break
                every: list[Job | PullJob] = [*self.pulls, *self.jobs]
                wake = min(self.next_due(job) for job in every)
                delay = (wake - self.clock.now()).total_seconds()
                self.clock.sleep(min(max(delay, MIN_SLEEP), MAX_SLEEP), self.stop_event)
        reason = self.stop_reason or ("done" if once else "stopped")
        self._log(None, "stop", text=f"stopped ({reason})", reason=reason)
        return self.exit_code if once else 0

    def request_stop(self, reason: str = "stop requested") -> None:
        """Stop after the batch in flight (safe from a signal handler or another thread)."""
        if not self.stop_event.is_set():
            self.stop_reason = reason
            self.stop_event.set()

    def _signals(self, enabled: bool) -> contextlib.AbstractContextManager[None]:
        def handler(signum: int) -> None:
            if self.stop_event.is_set():
                return  # already stopping; the batch in flight is never cut in half
            self.request_stop(f"{signal.Signals(signum).name}: finished the batch in flight")

        return stop_signals(handler, enabled=enabled)

    # -- logging ------------------------------------------------------------------------------

    def _log(self, job: Job | PullJob | None, event: str, *, text: str,
             **fields: Any) -> None:
        now = self.clock.now().astimezone(dt.UTC)
        stamp = now.isoformat(timespec="seconds").replace("+00:00", "Z")
        if self.log_format == "json":
            record: dict[str, Any] = {"time": stamp, "event": event}
            if isinstance(job, PullJob):
                record.update(source=job.source)
            elif job is not None:
                record.update(connection=job.connection, operation=job.operation)
            record.update(fields)
            line = json.dumps(record, default=str, ensure_ascii=False)
        else:
            prefix = f"{job.label()}: " if job is not None and event not in ("run", "pull") \
                else ""
            line = f"{stamp} {prefix}{text}"
        assert self.redactor is not None
        self.emit(self.redactor.text(line))


def _job_dict(job: Job) -> dict[str, str]:
    return {"connection": job.connection, "operation": job.operation,
            "schedule": job.cadence.text}


def _one_line(exc: FlxError, *, problems: bool = True) -> str:
    """An error as one log line (a log shipper reads a line per event): the message, its
    problems, then the fix."""
    text = " ".join(exc.message.split())
    listed = list(getattr(exc, "problems", None) or []) if problems else []
    if listed:
        text += " (" + "; ".join(" ".join(p.split()) for p in listed) + ")"
    return f"{text}; fix: {' '.join(exc.hint.split())}" if exc.hint else text
