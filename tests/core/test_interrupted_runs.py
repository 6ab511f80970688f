"""A run whose process was killed (SIGKILL, power loss) never reaches finish_run: the next real
run of the same connection + operation, holding the run lock, shows it as `interrupted` in
`flx runs` and `flx status` instead of `running` forever. A killed run is simulated by a
`start_run` without its `finish_run`."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.ops.schedule import RunLock
from flx.store.store import Store

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin.harness import Env, make_env, make_order  # noqa: E402

OP = "send-orders"


@pytest.fixture
def env(tmp_path: Path):
    env = make_env(tmp_path)
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    yield env
    env.store.close()


def flx(env: Env, *args: str) -> Any:
    app = build_app(env.plugins, transport=env.ledger.transport())
    return CliRunner().invoke(app, ["--config", str(env.config.path), *args],
                              env={"FAKEBOOKS_KEY": env.ledger.api_key, "COLUMNS": "400"})


def runs_by_id(env: Env) -> dict[int, dict[str, Any]]:
    result = flx(env, "runs", "--json", "--limit", "50")
    assert result.exit_code == 0, result.output
    return {r["id"]: r for r in json.loads(result.stdout)["runs"]}


def test_the_next_real_run_shows_a_killed_run_as_interrupted(env: Env) -> None:
    killed = env.store.start_run("prod", OP, dry_run=False)
    assert runs_by_id(env)[killed]["status"] == "running"

    assert flx(env, "run", OP).exit_code == 0
    runs = runs_by_id(env)
    assert runs[killed]["status"] == "interrupted"
    assert runs[killed]["finished_at"] is not None
    assert runs[killed]["duration_seconds"] is None  # it did not run until it was found dead
    assert runs[killed]["counts"] == {}
    newest = max(runs)
    assert (runs[newest]["status"], runs[newest]["counts"]["sent"]) == ("ok", 2)

    text = flx(env, "runs")
    assert text.exit_code == 0, text.output
    assert "interrupted" in text.stdout
    assert "stopped before the run finished" in text.stdout


def test_runs_without_an_interrupted_one_print_no_hint(env: Env) -> None:
    assert flx(env, "run", OP).exit_code == 0
    result = flx(env, "runs")
    assert result.exit_code == 0, result.output
    assert "stopped before the run finished" not in result.stdout


def test_a_dry_run_leaves_a_running_run_alone(env: Env) -> None:
    """Dry runs take no lock: a real run may be alive beside them."""
    alive = env.store.start_run("prod", OP, dry_run=False)
    assert flx(env, "run", OP, "--dry-run").exit_code == 0
    assert runs_by_id(env)[alive]["status"] == "running"


def test_only_real_runs_of_the_same_connection_and_operation_are_marked(env: Env) -> None:
    other_operation = env.store.start_run("prod", "send-shipments", dry_run=False)
    other_connection = env.store.start_run("staging", OP, dry_run=False)
    dry = env.store.start_run("prod", OP, dry_run=True)
    killed = env.store.start_run("prod", OP, dry_run=False)

    assert flx(env, "run", OP).exit_code == 0
    runs = runs_by_id(env)
    assert runs[killed]["status"] == "interrupted"
    for untouched in (other_operation, other_connection, dry):
        assert (runs[untouched]["status"], runs[untouched]["finished_at"]) == ("running", None)


def test_a_run_that_cannot_take_the_lock_marks_nothing(env: Env) -> None:
    """While another process holds the lock its run is alive, whatever its row says."""
    alive = env.store.start_run("prod", OP, dry_run=False)
    with RunLock(env.store, "prod", OP):
        result = flx(env, "run", OP)
    assert result.exit_code == 1
    assert "already running" in result.stderr
    assert runs_by_id(env)[alive]["status"] == "running"


def test_status_names_an_interrupted_last_run(env: Env) -> None:
    env.store.start_run("prod", OP, dry_run=False)
    env.store.interrupt_stale_runs("prod", OP)
    result = flx(env, "status")
    assert result.exit_code == 0, result.output
    assert "interrupted (killed before it finished" in result.stdout
    last = {r["operation"]: r for r in json.loads(flx(env, "status", "--json").stdout)["sync"]}
    assert last[OP]["last_run"]["status"] == "interrupted"


def test_store_marks_stale_runs_and_keeps_their_counts(store: Store) -> None:
    """On SQLite and PostgreSQL alike."""
    stale = store.start_run("prod", OP, dry_run=False)
    done = store.start_run("prod", OP, dry_run=False)
    store.finish_run(done, {"sent": 3}, "ok")
    dry = store.start_run("prod", OP, dry_run=True)

    assert store.interrupt_stale_runs("prod", OP) == 1
    runs = {r["id"]: r for r in store.recent_runs()}
    assert runs[stale]["status"] == "interrupted"
    assert runs[stale]["finished_at"] >= runs[stale]["started_at"]
    assert (runs[done]["status"], runs[done]["counts"]) == ("ok", {"sent": 3})
    assert runs[dry]["status"] == "running"
    assert store.interrupt_stale_runs("prod", OP) == 0


def test_the_run_bar_knows_its_total_and_shows_the_time_left(env: Env) -> None:
    import io

    from rich.console import Console

    env.load(orders=[make_order(f"ORD-{n}") for n in range(3, 7)])  # 6 orders in all
    env.store.set_sync("prod", OP, "ORD-1", status="sent")  # done: not in the total
    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    report = env.run(show_progress=True, console=console)
    assert report.counts["sent"] == 5
    shown = screen.getvalue()
    assert "/5" in shown and "/?" not in shown  # the total is known before the first record
    assert "eta" in shown
