"""Several flx processes on one real PostgreSQL store against the emulated NetSuite account,
through the CLI (`flx run`, `flx worker`): the store's connections stay bounded, a store that
drops every connection mid-run loses nothing, a SIGKILLed worker's records are taken over by
the others, and workers with different local settings stay within the account's limit.

Each test gets its own schema and application_name (bench/workers.py), so the connections it
counts or terminates are its own, never another test run's."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench.workers import workers_phase

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _exactly_once(result: dict[str, Any], n: int) -> None:
    assert (result["sales_orders"], result["distinct"], result["missing"]) == (n, n, 0), result
    assert result["duplicate_external_ids"] == 0
    assert result["statuses"] == {"sent": n}, result["statuses"]
    assert result["plugin_failures"] == 0
    assert result["claims_left"] == 0


def test_a_run_of_many_batches_keeps_its_connections_and_survives_a_store_restart(
        tmp_path: Path, postgres_url: str) -> None:
    # 12 batches of 20 with concurrency 2; every store connection is terminated mid-run (what
    # a PostgreSQL restart does), then `flx run` once more.
    result = workers_phase(tmp_path, postgres_url, 240, concurrencies=(2,), account_limit=2,
                           latency=0.02, batch_size=20, command="run", rounds=2,
                           terminate_after=220, timeout=300)
    assert any(e.startswith("terminated") and not e.startswith("terminated 0")
               for e in result["events"]), result["events"]
    _exactly_once(result, 240)
    assert result["exit_codes"][-1] == [0], result["outputs"]
    assert result["peak_connections"] <= 2 + 3  # local concurrency + 3, however many batches
    assert result["throttled"] == 0


def test_three_workers_finish_the_records_of_one_that_was_killed(
        tmp_path: Path, postgres_url: str) -> None:
    result = workers_phase(tmp_path, postgres_url, 300, concurrencies=(2, 2, 2),
                           account_limit=3, latency=0.02, batch_size=20, lease=3,
                           kill_after=150, timeout=300)
    assert result["events"][0].startswith("SIGKILLed"), result["events"]
    assert result["exit_codes"] == [[-9, 0, 0]], result["outputs"]
    _exactly_once(result, 300)
    assert result["throttled"] == 0 and result["peak_in_flight"] <= 3
    assert result["peak_connections"] <= 3 * (2 + 3)


def test_workers_with_different_local_concurrency_stay_within_the_account_limit(
        tmp_path: Path, postgres_url: str) -> None:
    # The emulated account admits 3 requests at once and answers 429 beyond.
    result = workers_phase(tmp_path, postgres_url, 240, concurrencies=(1, 3, 6),
                           account_limit=3, latency=0.03, batch_size=20, timeout=300)
    assert result["exit_codes"] == [[0, 0, 0]], result["outputs"]
    _exactly_once(result, 240)
    assert result["peak_in_flight"] <= 3
    assert result["throttled"] == 0


def test_a_worker_needs_a_postgresql_store(tmp_path: Path) -> None:
    (tmp_path / "flx.toml").write_text(
        '[store]\nurl = "sqlite:///flx.db"\n\n[connections.prod]\nplugin = "netsuite"\n'
        'account_id = "1234567"\nclient_id = "${A}"\nclient_secret = "${A}"\n'
        'token_id = "${A}"\ntoken_secret = "${A}"\n\n[connections.prod.operations.send-orders]\n')
    done = subprocess.run([sys.executable, "-m", "flx.cli.main", "--config",
                           str(tmp_path / "flx.toml"), "worker", "--once"],
                          capture_output=True, text=True, cwd=tmp_path, timeout=120,
                          env={**os.environ, "A": "x",
                               "PYTHONPATH": str(Path(__file__).parents[2])})
    assert done.returncode != 0
    assert "flx worker needs a PostgreSQL store" in done.stderr + done.stdout


def test_reports_and_status_say_how_many_records_other_workers_hold(tmp_path: Path) -> None:
    from flx.ops.status import status_lines, status_summary
    from tests.fake_plugin.harness import make_env, make_order

    env = make_env(tmp_path)
    env.load(orders=[make_order(f"ORD-{i}") for i in range(5)])
    # Another worker (any host) is sending two of them right now.
    assert env.store.claim("prod", "send-orders", ["ORD-1", "ORD-3"], "host-b:42:abcd",
                           ttl_seconds=30) == ["ORD-1", "ORD-3"]
    report = env.run(exclusive=False)
    assert report.counts["sent"] == 3
    assert report.held_by_others == 2
    assert any("2 records held by 1 other worker" in note for note in report.notes)
    summary = status_summary(env.config, env.store)
    row = next(r for r in summary["sync"] if r["operation"] == "send-orders")
    assert row["held_by_workers"] == {"records": 2, "workers": 1}
    assert "  2 held by 1 worker right now" in "\n".join(status_lines(summary))
