"""`flx schedule` without waiting: cadences, the order within a tick, the overlap lock (across
two processes), graceful stop on a real signal, and the log lines, all on a fake clock."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from flx.config.load import load_config
from flx.errors import ConfigError
from flx.ops.schedule import (
    Cadence,
    RunLock,
    RunLockedError,
    Scheduler,
    parse_cadence,
    plan_jobs,
)
from flx.run.runner import run_operation
from flx.store.store import Store

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake  # noqa: E402
from tests.fake_plugin.harness import Env, make_env, make_order, make_shipment  # noqa: E402

UTC = dt.UTC
SHIPMENTS = "[connections.prod.operations.send-shipments]\n"
BILLS = "[connections.prod.operations.send-vendor-bills]\n"


class FakeClock:
    """Time moves only when the scheduler sleeps; it stops the scheduler at `until`."""

    def __init__(self, start: dt.datetime, until: dt.datetime | None = None) -> None:
        self.t = start
        self.until = until
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.t

    def sleep(self, seconds: float, stop: Any) -> None:
        self.sleeps.append(seconds)
        self.t += dt.timedelta(seconds=seconds)
        if self.until is not None and self.t >= self.until:
            stop.set()

    def advance(self, **delta: float) -> None:
        self.t += dt.timedelta(**delta)


def scheduled_env(tmp_path: Path, orders: str | None = "every 30 minutes",
                  shipments: str | None = None, bills: str | None = None) -> Env:
    tmp_path.mkdir(parents=True, exist_ok=True)
    env = make_env(tmp_path, orders=f'schedule = "{orders}"' if orders else "")
    path = env.config.path
    text = path.read_text()
    if shipments:
        text = text.replace(SHIPMENTS, f'{SHIPMENTS}schedule = "{shipments}"\n')
    if bills:
        text = text.replace(BILLS, f'{BILLS}schedule = "{bills}"\n')
    path.write_text(text)
    env.config = load_config(path, plugins=env.plugins,
                             env={"FAKEBOOKS_KEY": env.ledger.api_key})
    return env


def make_scheduler(env: Env, clock: FakeClock, lines: list[str], **kwargs: Any) -> Scheduler:
    return Scheduler(env.config, env.plugins, env.store, clock=clock,
                     transport=env.ledger.transport(), emit=lines.append, **kwargs)


def future() -> dt.datetime:
    # Far from the store's own (real) timestamps, so the fake timeline alone decides.
    return dt.datetime.now(UTC).replace(microsecond=0) + dt.timedelta(days=1)


@pytest.fixture
def env(tmp_path: Path):
    env = scheduled_env(tmp_path, shipments="every 1 hour")
    yield env
    env.store.close()


# --- cadences ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("text", "interval"), [
    ("every 30 minutes", dt.timedelta(minutes=30)),
    ("every 2 hours", dt.timedelta(hours=2)),
    ("every 1 day", dt.timedelta(days=1)),
    ("Every  hour", dt.timedelta(hours=1)),
    ("every 5 min", dt.timedelta(minutes=5)),
])
def test_interval_cadences(text: str, interval: dt.timedelta) -> None:
    assert parse_cadence(text).interval == interval


@pytest.mark.parametrize("text", ["every fortnight", "30 minutes", "*/15 * * *",
                                  "61 * * * *", "every 10 seconds", ""])
def test_bad_cadences_say_what_is_accepted(text: str) -> None:
    with pytest.raises(ValueError, match="every 30 minutes.*cron expression"):
        parse_cadence(text)
    with pytest.raises(ValueError, match="the interval must be at least 1 minute"):
        parse_cadence("every 0 minutes")


def test_interval_counts_from_the_last_run_and_a_new_job_runs_at_once() -> None:
    cadence = parse_cadence("every 30 minutes")
    start = dt.datetime(2026, 3, 1, 8, 0, tzinfo=UTC)
    assert cadence.next_after(None, start) == start
    assert cadence.next_after(start, start) == start + dt.timedelta(minutes=30)


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_cron_runs_in_local_time_and_catches_up_a_missed_slot(new_york: None) -> None:
    cadence = parse_cadence("0 9 * * *")  # 9:00 in New York: 14:00 UTC in winter
    assert cadence == Cadence("0 9 * * *", cron="0 9 * * *")
    since = dt.datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
    assert cadence.next_after(None, since) == dt.datetime(2026, 1, 15, 14, 0, tzinfo=UTC)
    last = dt.datetime(2026, 1, 13, 14, 0, tzinfo=UTC)  # the scheduler was down since then
    assert cadence.next_after(last, since) == dt.datetime(2026, 1, 14, 14, 0, tzinfo=UTC)
    assert parse_cadence("@hourly").next_after(None, since) == since + dt.timedelta(hours=1)


def test_plan_lists_jobs_in_flow_order_and_every_bad_cadence(tmp_path: Path) -> None:
    env = scheduled_env(tmp_path, orders="every 2 hours", shipments="*/15 * * * *",
                        bills="every 1 day")
    assert [(j.operation, j.cadence.text) for j in plan_jobs(env.config)] == [
        ("send-orders", "every 2 hours"), ("send-shipments", "*/15 * * * *"),
        ("send-vendor-bills", "every 1 day")]
    env.store.close()

    # A cadence flx cannot read is a config problem at load time, every one at once, not a
    # surprise when `flx schedule` starts.
    path = env.config.path
    path.write_text(path.read_text().replace('"every 2 hours"', '"every fortnight"')
                    .replace('"*/15 * * * *"', '"hourly"'))
    with pytest.raises(ConfigError) as err:
        load_config(path, plugins=env.plugins, env={"FAKEBOOKS_KEY": env.ledger.api_key})
    assert [p.split(":")[0] for p in err.value.problems] == [
        "connections.prod.operations.send-orders.schedule",
        "connections.prod.operations.send-shipments.schedule"]
    assert "'every fortnight' is not a cadence; write \"every 30 minutes\"" in \
        err.value.problems[0]

    none = scheduled_env(tmp_path / "none", orders=None)
    with pytest.raises(ConfigError, match="nothing to schedule") as err:
        plan_jobs(none.config)
    assert 'schedule = "every 30 minutes"' in (err.value.hint or "")
    with pytest.raises(ConfigError, match="no connection named 'staging'"):
        plan_jobs(none.config, "staging")
    none.store.close()


# --- the scheduler on a fake clock -------------------------------------------------------------


def test_operations_run_at_their_cadence(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    start = future()
    clock = FakeClock(start, until=start + dt.timedelta(hours=2))
    lines: list[str] = []
    code = make_scheduler(env, clock, lines, log_format="json").run(handle_signals=False)
    assert code == 0

    records = [json.loads(line) for line in lines]
    assert [r["event"] for r in records][0] == "start" and records[-1]["event"] == "stop"
    runs = [(r["operation"], (dt.datetime.fromisoformat(r["time"]) - start) // dt.timedelta(
        minutes=1)) for r in records if r["event"] == "run"]
    assert runs == [("send-orders", 0), ("send-shipments", 0), ("send-orders", 30),
                    ("send-orders", 60), ("send-shipments", 60), ("send-orders", 90)]
    # it sleeps until the next job is due, waking every 5 minutes to re-read the run history
    assert clock.sleeps == [300.0] * 24
    first = records[1]
    assert (first["connection"], first["status"], first["counts"]["sent"]) == ("prod", "ok", 1)
    assert first["duration_seconds"] >= 0 and first["run_id"] == \
        env.store.recent_runs(operation="send-orders")[-1]["id"]


def test_orders_go_before_shipments_within_a_tick(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")], shipments=[make_shipment("SH-1", "ORD-1")])
    lines: list[str] = []
    scheduler = make_scheduler(env, FakeClock(future()), lines)
    assert scheduler.tick() == 2
    assert env.state("SH-1", "send-shipments").status == "sent"  # its order went first
    assert [line.split(" ", 1)[1].split(":")[0] for line in lines] == [
        "send-orders on prod", "send-shipments on prod"]
    assert "1 sent in" in lines[1]


def test_a_restart_or_a_manual_run_does_not_cause_an_extra_run(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    env.run()  # a manual `flx run` just now
    now = dt.datetime.now(UTC)
    lines: list[str] = []
    clock = FakeClock(now)
    scheduler = make_scheduler(env, clock, lines)
    assert scheduler.tick() == 1 and "send-shipments on prod" in lines[0]  # never run: now
    clock.advance(minutes=29)
    assert scheduler.tick() == 0
    clock.advance(minutes=2)
    assert scheduler.tick() == 1 and "send-orders on prod" in lines[1]


def test_once_runs_what_is_due_and_reports_the_worst_outcome(env: Env) -> None:
    env.ledger.reject["flx-ORD-2"] = "inactive item"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    lines: list[str] = []
    assert make_scheduler(env, FakeClock(future()), lines).run(
        once=True, handle_signals=False) == 3
    assert "1 sent, 1 failed" in lines[1]
    assert lines[-1].endswith("stopped (done)")

    env.ledger.api_key = "rotated-key-0000"  # the configured key is refused from now on
    env.load(orders=[make_order("ORD-3")])
    lines.clear()
    clock = FakeClock(future() + dt.timedelta(hours=1))
    assert make_scheduler(env, clock, lines).run(once=True, handle_signals=False) == 1
    assert "aborted: fakebooks refused the API key" in lines[1]
    assert env.ledger.api_key not in "\n".join(lines)


def test_a_failing_job_does_not_stop_the_others(env: Env, monkeypatch) -> None:
    env.load(shipments=[make_shipment("SH-1", "ORD-1")])

    def broken(*args: Any, **kwargs: Any) -> Any:
        if args[2] == "send-orders":
            raise RuntimeError("mapping file vanished")
        return run_operation(*args, **kwargs)

    lines: list[str] = []
    scheduler = make_scheduler(env, FakeClock(future()), lines, run_fn=broken)
    assert scheduler.tick() == 1
    assert "send-orders on prod: not run: unexpected RuntimeError: mapping file vanished" in \
        lines[0]
    assert "send-shipments on prod: 0 sent" not in lines[1] and "1 waiting" in lines[1]
    assert scheduler.exit_code == 1


# --- one run at a time -------------------------------------------------------------------------


HOLDER = """
import sys
from flx.ops.schedule import RunLock
from flx.store.store import Store

store = Store(sys.argv[1])
with RunLock(store, "prod", "send-orders", owner="other-host:4242:ab"):
    print("locked", flush=True)
    sys.stdin.readline()
store.close()
print("released", flush=True)
"""


def test_a_run_held_by_another_process_is_skipped_then_taken(env: Env, store_url: str) -> None:
    # store_url (tests/core/conftest.py): the SQLite file of `env`, or a PostgreSQL schema
    if store_url.startswith("postgresql"):
        env.store.close()
        env.store = Store(store_url)
    env.load(orders=[make_order("ORD-1")])
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, store_url], cwd=ROOT,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                              env={**os.environ, "PYTHONPATH": ROOT})
    try:
        assert holder.stdout is not None and holder.stdin is not None
        assert holder.stdout.readline().strip() == "locked"

        with pytest.raises(RunLockedError) as err:  # a manual `flx run` meanwhile
            env.run()
        assert "already running (other-host:4242:ab)" in err.value.message
        assert env.store.recent_runs(operation="send-orders") == []  # nothing started
        assert env.run(dry_run=True).exit_code == 0  # a dry run writes nothing: no lock

        lines: list[str] = []
        clock = FakeClock(future())
        scheduler = make_scheduler(env, clock, lines)
        assert scheduler.tick() == 1  # shipments ran; orders were skipped
        assert lines[0].endswith("send-orders on prod: skipped: send-orders on prod is already "
                                 "running (other-host:4242:ab); this run was not started, so "
                                 "the two never overlap")
        clock.advance(seconds=30)
        assert scheduler.tick() == 0  # tried again a minute after the skip, not before

        holder.stdin.write("\n")
        holder.stdin.flush()
        assert holder.stdout.readline().strip() == "released"
        clock.advance(seconds=30)
        assert scheduler.tick() == 1
        assert "send-orders on prod: 1 sent" in lines[-1]
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.wait()
        for stream in (holder.stdin, holder.stdout):
            if stream is not None:
                stream.close()


def test_the_lock_is_released_after_a_run_and_renewable_by_its_owner(env: Env) -> None:
    env.run()
    assert env.store.lock_holder("run:prod:send-orders") is None
    lock = RunLock(env.store, "prod", "send-orders", renew_every=3600).acquire()
    try:
        assert env.store.acquire_lock(lock.name, lock.owner, 60)  # the owner renews it
        with pytest.raises(RunLockedError):
            RunLock(env.store, "prod", "send-orders").acquire()
    finally:
        lock.release()
    assert env.store.lock_holder(lock.name) is None


# --- graceful stop -----------------------------------------------------------------------------


def test_sigterm_finishes_the_batch_in_flight_records_it_and_exits_0(env: Env,
                                                                     monkeypatch) -> None:
    original = fake.Session.send

    def send_then_signal(self: Any, kind: str, record: dict[str, Any]) -> Any:
        if record["id"] == "ORD-1":
            os.kill(os.getpid(), signal.SIGTERM)  # systemd stops the service mid-batch
        return original(self, kind, record)

    monkeypatch.setattr(fake.Session, "send", send_then_signal)
    env.load(orders=[make_order(f"ORD-{i}") for i in range(1, 6)])  # batches of 2
    lines: list[str] = []
    previous = signal.getsignal(signal.SIGTERM)
    code = make_scheduler(env, FakeClock(future()), lines).run()

    assert code == 0
    assert signal.getsignal(signal.SIGTERM) is previous  # handlers are given back
    assert [env.state(f"ORD-{i}").status for i in (1, 2)] == ["sent", "sent"]
    # left for the next run (the next batch may have been claimed, never sent)
    assert all(env.state(f"ORD-{i}") is None or env.state(f"ORD-{i}").status == "pending"
               for i in (3, 4, 5))
    run = env.store.recent_runs(operation="send-orders")[0]
    assert (run["status"], run["counts"]["sent"]) == ("ok", 2)
    assert len(lines) == 3  # start, the interrupted run, stop: no new run after the signal
    assert "send-orders on prod: 2 sent" in lines[1]
    assert lines[2].endswith("stopped (SIGTERM: finished the batch in flight)")


# --- a connection whose variables are not set --------------------------------------------------


SANDBOX = """
[connections.sandbox]
plugin = "fakebooks"
api_key = "${SB_KEY}"

[connections.sandbox.operations.send-orders]
schedule = "every 30 minutes"
"""


def with_sandbox(env: Env, sb_key: str | None = None) -> Env:
    """`env` plus a `sandbox` connection whose ${SB_KEY} is unset, loaded as the CLI loads
    flx.toml (a connection's missing variables stop only that connection)."""
    path = env.config.path
    path.write_text(path.read_text() + SANDBOX)
    variables = {"FAKEBOOKS_KEY": env.ledger.api_key, **({"SB_KEY": sb_key} if sb_key else {})}
    env.config = load_config(path, plugins=env.plugins, env=variables, strict_env=False)
    return env


def test_a_connection_with_an_unset_variable_does_not_stop_the_others(env: Env) -> None:
    with_sandbox(env)
    env.load(orders=[make_order("ORD-1")])
    lines: list[str] = []
    code = make_scheduler(env, FakeClock(future()), lines).run(once=True, handle_signals=False)

    assert code == 1  # --once: the worst outcome, and a connection could not run
    assert env.state("ORD-1").status == "sent"  # prod ran all the same
    assert env.store.recent_runs(connection="sandbox") == []
    assert lines[0].endswith("scheduling send-orders on prod every 30 minutes; send-shipments "
                             "on prod every 1 hour (once); cannot run: send-orders on sandbox")
    error = lines[1].split(" ", 1)[1]
    assert error.startswith(
        "send-orders on sandbox: not run: connection 'sandbox' cannot run: environment "
        "variable SB_KEY is not set (connections.sandbox.api_key); fix: set SB_KEY where "
        "`flx schedule` gets its environment")
    assert "the other connections keep running" in error and "\n" not in error
    assert ["send-orders on prod: 1 sent" in lines[2], "send-shipments on prod" in lines[3]] == \
        [True, True]
    assert lines[-1].endswith("stopped (done)")


def test_an_unusable_connection_is_an_error_event_in_json(env: Env) -> None:
    with_sandbox(env)
    lines: list[str] = []
    code = make_scheduler(env, FakeClock(future()), lines, log_format="json").run(
        once=True, handle_signals=False)
    assert code == 1
    records = [json.loads(line) for line in lines]
    start = records[0]
    assert start["event"] == "start"
    assert [j["connection"] for j in start["jobs"]] == ["prod", "prod"]
    assert start["cannot_run"] == [{"connection": "sandbox", "operation": "send-orders",
                                    "schedule": "every 30 minutes"}]
    errors = [r for r in records if r["event"] == "error"]
    assert len(errors) == 1
    assert (errors[0]["connection"], errors[0]["operation"]) == ("sandbox", "send-orders")
    assert errors[0]["error"]["class"] == "config"
    assert "SB_KEY is not set" in errors[0]["error"]["message"]
    assert errors[0]["error"]["problems"] == [
        "connections.sandbox.api_key: environment variable SB_KEY is not set"]
    assert "SB_KEY" in errors[0]["error"]["hint"]
    assert [r["connection"] for r in records if r["event"] == "run"] == ["prod", "prod"]


def test_an_unusable_connection_is_said_again_when_due_not_every_tick(env: Env) -> None:
    # Running for an hour: said at start and each time the job would be due (every 30
    # minutes), not at every wake-up; prod keeps its cadence; a stop still exits 0.
    with_sandbox(env)
    start = future()
    clock = FakeClock(start, until=start + dt.timedelta(minutes=61))
    lines: list[str] = []
    assert make_scheduler(env, clock, lines).run(handle_signals=False) == 0
    said = [line for line in lines if "send-orders on sandbox: not run" in line]
    assert len(said) == 3  # at 0, 30 and 60 minutes
    assert sum("send-orders on prod:" in line for line in lines) == 3


def test_the_schedule_refuses_to_start_when_no_connection_can_run(env: Env) -> None:
    with_sandbox(env)
    path = env.config.path
    env.config = load_config(path, plugins=env.plugins, env={}, strict_env=False)
    with pytest.raises(ConfigError, match="the schedule cannot start") as err:
        Scheduler(env.config, env.plugins, env.store, clock=FakeClock(future()))
    assert err.value.problems == [
        "connections.prod.api_key: environment variable FAKEBOOKS_KEY is not set",
        "connections.sandbox.api_key: environment variable SB_KEY is not set"]
    assert "set the environment variables" in (err.value.hint or "")

    # Only the broken connection asked for: nothing can run either.
    with_sandbox_only = load_config(path, plugins=env.plugins,
                                    env={"FAKEBOOKS_KEY": env.ledger.api_key}, strict_env=False)
    with pytest.raises(ConfigError, match="connection 'sandbox' needs environment variables"):
        Scheduler(with_sandbox_only, env.plugins, env.store, connection="sandbox")
    # ... while prod alone starts without a word about sandbox.
    lines: list[str] = []
    scheduler = Scheduler(with_sandbox_only, env.plugins, env.store, connection="prod",
                          clock=FakeClock(future()), transport=env.ledger.transport(),
                          emit=lines.append)
    assert scheduler.run(once=True, handle_signals=False) == 0
    assert not any("sandbox" in line for line in lines)


def test_flx_schedule_once_runs_the_usable_connections_and_exits_1(env: Env) -> None:
    from typer.testing import CliRunner

    from flx.cli.main import build_app

    with_sandbox(env)
    env.load(orders=[make_order("ORD-1")])
    env.store.close()
    app = build_app(env.plugins, transport=env.ledger.transport())
    result = CliRunner().invoke(app, ["--config", str(env.config.path), "schedule", "--once"],
                                env={"FAKEBOOKS_KEY": env.ledger.api_key, "SB_KEY": None})
    assert result.exit_code == 1, result.output
    assert "the schedule cannot start" not in result.output
    assert "send-orders on sandbox: not run: connection 'sandbox' cannot run: environment " \
           "variable SB_KEY is not set" in result.stdout
    assert "send-orders on prod: 1 sent" in result.stdout
    env.store = Store(env.config.store_url)
