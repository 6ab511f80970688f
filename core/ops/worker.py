"""`flx worker`: one of any number of processes, on any number of machines, that run the
enabled operations together on one PostgreSQL store.

    loop: for each connection: orders, shipments, vendor bills ──► run_operation(exclusive=False)
          nothing done ──► sleep `poll` seconds (SIGINT/SIGTERM end the loop after the batch)

Workers share the records through claims (core/store/claims.py): a batch a worker claims is its
own for CLAIM_LEASE seconds, renewed while it works; a worker that dies is taken over by the
others once its lease lapses. They share the account's concurrency limit through the budget
(core/store/budget.py). `flx run` keeps its single-run behaviour (the run lock); a worker takes no
run lock, so it also works beside a `flx run` of the same operation.

With `once`, a worker runs until nothing is left that it could take: it waits for the records
other workers hold (done by them, or free after their lease) before it exits."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flx.config.redact import Redactor
from flx.errors import ConfigError, FlxError
from flx.ops.stop_signals import stop_signals
from flx.store.claims import CLAIM_LEASE
from flx.store.owners import default_owner

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.store.store import Store

__all__ = ["Worker", "worker_jobs"]

_SEVERITY = {0: 0, 3: 1, 1: 2}  # exit codes, least to most severe
POLL = 10.0  # seconds between passes when there was nothing to do
WAIT_OTHERS = 1.0  # with `once`: how often to look again at records other workers hold


def worker_jobs(config: Config, connection: str | None = None) -> list[tuple[str, str]]:
    """(connection, operation) of every enabled operation, orders before shipments before
    vendor bills within a connection."""
    if connection is not None:
        config.connection(connection)
    jobs = []
    for name in sorted(config.connections):
        if connection is not None and name != connection:
            continue
        conn = config.connections[name]
        for op in config.operations.names():
            if config.operation_settings(conn, op) is not None:
                jobs.append((name, op))
    if not jobs:
        raise ConfigError("nothing for a worker to do: no operation is enabled",
                          hint="add a [connections.NAME.operations.send-orders] table to "
                               f"{getattr(config, 'path', 'flx.toml')}")
    return jobs


@dataclass
class Worker:
    config: Config
    plugins: Plugins
    store: Store
    connection: str | None = None
    transport: httpx.BaseTransport | None = None
    poll: float = POLL
    lease: float = CLAIM_LEASE
    log_format: str = "text"
    emit: Callable[[str], None] = lambda line: print(line, flush=True)
    redactor: Redactor | None = None
    owner: str = field(default_factory=default_owner)

    def __post_init__(self) -> None:
        if getattr(self.store, "dialect", None) != "postgresql":
            raise ConfigError(
                "flx worker needs a PostgreSQL store: workers share their records and the "
                "account's limit through it",
                hint='set [store] url = "postgresql://user@host:5432/dbname" in flx.toml; on '
                     "one machine with SQLite, use `flx run` or `flx schedule`")
        self.jobs = worker_jobs(self.config, self.connection)
        self.stop_event = threading.Event()
        self.exit_code = 0
        if self.redactor is None:
            self.redactor = Redactor(self.config.secrets())

    def run(self, *, once: bool = False, handle_signals: bool = True) -> int:
        self._log("start", text=f"worker {self.owner} running "
                  + ", ".join(f"{op} on {conn}" for conn, op in self.jobs)
                  + (" until nothing is left" if once else ""), owner=self.owner)
        with self._signals(handle_signals):
            while not self.stop_event.is_set():
                done, held = self.tick()
                if self.stop_event.is_set() or (once and not done and not held):
                    break
                self.stop_event.wait(WAIT_OTHERS if once else (0 if done else self.poll))
        self._log("stop", text="stopped", owner=self.owner)
        return self.exit_code if once else 0

    def tick(self) -> tuple[int, int]:
        """One pass over the jobs: (records handled, records other workers hold)."""
        from flx.run.runner import run_operation

        done = held = 0
        for connection, operation in self.jobs:
            if self.stop_event.is_set():
                break
            try:
                report = run_operation(self.config, self.plugins, operation, connection,
                                       transport=self.transport, store=self.store,
                                       should_stop=self.stop_event.is_set, exclusive=False,
                                       owner=self.owner, claim_lease=self.lease)
            except FlxError as exc:  # config or plugin trouble: say so, keep going
                self.exit_code = 1
                self._log("error", text=f"{operation} on {connection}: not run: {exc.message}",
                          connection=connection, operation=operation, error=exc.to_dict())
                continue
            # Waiting records are reported again at every pass: they are not work done.
            handled = sum(report.counts.get(k, 0) for k in ("sent", "linked", "failed"))
            done += handled
            held += report.held_by_others
            if _SEVERITY.get(report.exit_code, 2) > _SEVERITY.get(self.exit_code, 2):
                self.exit_code = report.exit_code
            if handled or report.aborted:
                data = report.to_dict()
                text = report.summary() + "".join(f"; {n}" for n in data["notes"])
                self._log("run", text=text, connection=connection, operation=operation,
                          run_id=data["run_id"], counts=data["counts"],
                          exit_code=data["exit_code"], aborted=data["aborted"])
        return done, held

    def request_stop(self) -> None:
        self.stop_event.set()

    def _signals(self, enabled: bool) -> contextlib.AbstractContextManager[None]:
        return stop_signals(lambda signum: self.request_stop(), enabled=enabled)

    def _log(self, event: str, *, text: str, **fields: Any) -> None:
        stamp = dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        if self.log_format == "json":
            line = json.dumps({"time": stamp, "event": event, **fields}, default=str,
                              ensure_ascii=False)
        else:
            line = f"{stamp} {text}"
        assert self.redactor is not None
        self.emit(self.redactor.text(line))
