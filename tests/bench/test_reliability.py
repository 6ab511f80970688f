"""The small version of `make soak` (bench/soak.py): with 5xx answers, connection drops before
and after the write, 429s, and a `flx run` SIGKILLed mid-run, every record reaches the
emulator's account exactly once and none is lost.

The emulator is a real loopback server in its own process; flx talks to it over a socket."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bench.soak import fault_phase, kill_phase, left_behind, poison_phase
from flx.store.store import Store


def test_faults_and_429s_leave_every_record_sent_exactly_once(tmp_path: Path) -> None:
    # flx may have 10 requests in flight where the account allows 2: 429s are certain.
    result = fault_phase(tmp_path, 40, seed=5, latency=0.03, account_concurrency=2,
                         flx_concurrency=10,
                         faults={"error_5xx": 0.04, "drop_before": 0.03, "drop_after": 0.04,
                                 "ensure_each": True})
    assert result["ok"], result["problems"]
    assert result["duplicate_external_ids"] == 0
    assert result["found"] == result["expected"]
    # The run really met trouble: every kind of fault (each is made to hit at least once, so
    # this holds whatever order the requests race in), and 429s from too much concurrency.
    assert set(result["faults"]) == {"error_5xx", "drop_before", "drop_after"}, result["faults"]
    assert result["throttled"] > 0


def test_a_run_killed_mid_flight_and_restarted_sends_everything_once(tmp_path: Path) -> None:
    result = kill_phase(tmp_path, 40, kills=1, seed=3, latency=0.005)
    assert result["kills"] == 1, result["runs"]
    killed = next(run for run in result["runs"] if run["killed"])
    assert killed["after_requests"] > 0  # it died with work done and work left
    assert result["ok"], (result["problems"], result["runs"])
    assert result["found"] == result["expected"]


def test_left_behind_counts_only_what_the_killed_process_held(tmp_path: Path) -> None:
    db = tmp_path / "flx.db"
    with Store(f"sqlite:///{db}") as store:
        now = dt.datetime.now(dt.UTC)
        assert store.acquire_lock("run:bench:send-orders", "host:4242:aa", 300, now=now)
        assert store.acquire_lock("run:bench:send-shipments", "host:777:bb", 300, now=now)
        assert store.claim("bench", "send-orders", ["A", "B"], "host:4242:cc") == ["A", "B"]
        assert store.claim("bench", "send-orders", ["C"], "host:777:dd") == ["C"]
    assert left_behind(db, 4242) == 3  # its lock and its two claims
    assert left_behind(db, 777) == 2


def test_poisoned_orders_fail_alone_in_a_faulty_run(tmp_path: Path) -> None:
    result = poison_phase(tmp_path, 30, poisoned=8, seed=6, latency=0.005)
    assert result["ok"], result["problems"]
    assert result["duplicate_external_ids"] == 0
    assert result["found"]["salesOrder"] == result["expected"]["salesOrder"] == 30
    assert result["poisoned"] == 8
