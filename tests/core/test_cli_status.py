"""`flx status | errors | retry | resolve | runs | schedule` end to end: the real store, runner
and status module behind the CLI, with the fake connector behind an injected transport."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin.harness import Env, make_env, make_order, make_shipment  # noqa: E402


@pytest.fixture
def env(tmp_path: Path):
    env = make_env(tmp_path, orders='schedule = "every 30 minutes"')
    env.ledger.reject["flx-ORD-2"] = "item FLX-1 is inactive"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2"),
                     make_order("ORD-3", status="cancelled")],
             shipments=[make_shipment("SH-1", "ORD-1"), make_shipment("SH-2", "ORD-2")])
    yield env
    env.store.close()


def flx(env: Env, *args: str, columns: int = 400) -> Any:
    app = build_app(env.plugins, transport=env.ledger.transport())
    result = CliRunner().invoke(app, ["--config", str(env.config.path), *args],
                                env={"FAKEBOOKS_KEY": env.ledger.api_key,
                                     "COLUMNS": str(columns)})
    assert env.ledger.api_key not in result.output
    return result


def test_status_before_any_run_shows_what_is_waiting_to_go(env: Env) -> None:
    result = flx(env, "status")
    assert result.exit_code == 0, result.output
    assert "records: 3 orders, 2 shipments, 0 vendor bills" in result.stdout
    assert "prod send-shipments: not run yet (2 shipments imported)" in result.stdout
    assert "prod send-orders: not run yet (3 orders imported)" in result.stdout
    rows = {r["operation"]: r for r in json.loads(flx(env, "status", "--json").stdout)["sync"]}
    assert (rows["send-orders"]["imported"], rows["send-orders"]["counts"]) == (3, {})
    assert (rows["send-vendor-bills"]["kind"], rows["send-vendor-bills"]["imported"]) == (
        "vendor_bill", 0)


def test_status_after_runs(env: Env) -> None:
    assert flx(env, "run", "send-orders").exit_code == 3
    assert flx(env, "run", "send-shipments").exit_code == 0

    result = flx(env, "status")
    assert result.exit_code == 0, result.output
    assert "records: 3 orders, 2 shipments, 0 vendor bills" in result.stdout
    lines = result.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("prod send-orders: last run"))
    assert "(1 sent, 1 failed, 1 waiting)" in lines[at]
    assert lines[at + 1] == "  1 done; 1 failing (rejected 1; see `flx errors`)"
    assert lines[at + 2].startswith("  1 waiting: ")

    result = flx(env, "status", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["operation"]: r for r in json.loads(result.stdout)["sync"]}
    assert rows["send-orders"]["last_run"]["counts"]["failed"] == 1
    assert rows["send-orders"]["failing"] == {"rejected": 1}
    assert rows["send-shipments"]["waiting"] == [
        {"reason": "order is not in FakeBooks yet (send-orders: failed)", "count": 1}]
    assert rows["send-orders"]["next_run_at"] is not None


def test_errors_show_the_fix_and_when_flx_tries_again(env: Env) -> None:
    flx(env, "run", "send-orders")
    result = flx(env, "errors")
    assert result.exit_code == 0, result.output
    text = result.stdout
    assert "ORD-2" in text and "rejected" in text and "Not retried by itself" in text
    # Waiting records are counted per reason, not listed (thousands would bury the failures) ...
    assert "ORD-3" not in text
    assert text.splitlines()[-1] == "  1 prod send-orders: order is cancelled"
    # ... unless asked for.
    text = flx(env, "errors", "--class", "waiting").stdout
    assert "ORD-3  (prod send-orders, waiting" in text and "ORD-2" not in text

    for n in range(5, 9):
        env.ledger.reject[f"flx-ORD-{n}"] = "item FLX-1 is inactive"
    env.load(orders=[make_order(f"ORD-{n}") for n in range(5, 9)])
    flx(env, "run", "send-orders")
    text = flx(env, "errors", "--limit", "2").stdout
    assert text.count(", rejected, ") == 2 and "... and 3 more (--limit N shows more" in text
    assert len(json.loads(flx(env, "errors", "--json").stdout)["errors"]) == 6

    env.ledger.outage = True
    env.load(orders=[make_order("ORD-4")])
    flx(env, "run", "send-orders", "--only", "ORD-4")
    result = flx(env, "errors", "--class", "outage", "--json")
    assert result.exit_code == 0, result.output
    [row] = json.loads(result.stdout)["errors"]
    assert (row["record_id"], row["attempts"]) == ("ORD-4", 1)
    assert row["next_retry_at"] and "attempt 2 of 8" in row["hint"]

    result = flx(env, "errors", "--class", "nonsense")
    assert result.exit_code == 2  # a bad option value is wrong usage (docs/cli.md)
    assert "'nonsense' is not an error class; use one of" in result.stderr
    result = flx(env, "errors", "--class", "outge", "--json")
    assert result.exit_code == 2
    error = json.loads(result.stdout)["error"]
    assert error["class"] == "usage" and "did you mean 'outage'?" in error["message"]


def test_errors_and_runs_read_whole_in_an_80_column_terminal(env: Env) -> None:
    flx(env, "run", "send-orders")
    text = flx(env, "errors", columns=80).stdout
    assert max(len(line) for line in text.splitlines()) <= 80
    assert "…" not in text  # nothing cut off: the message and the fix wrap instead
    words = " ".join(text.split())
    assert "ORD-2 (prod send-orders, rejected, 1 attempt, last " in words
    assert "item FLX-1 is inactive" in words and "fix: " in words

    flx(env, "run", "send-orders", "--dry-run")
    text = flx(env, "runs", columns=80).stdout
    assert max(len(line) for line in text.splitlines()) <= 80 and "…" not in text
    assert "connection prod" in text  # one connection: a title, not a column
    words = " ".join(text.split())
    assert "ok (dry run)" in words
    assert re.search(r"failed \d+\.\ds 1 sent, 1 failed, 1 waiting", words), words


def test_show_tells_where_one_record_stands_and_what_was_written_for_it(env: Env) -> None:
    flx(env, "run", "send-orders")
    result = flx(env, "show", "ORD-1")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].startswith("ORD-1: order imported ")
    assert any(line.startswith("prod send-orders: sent, 1 attempt, last ") for line in lines)
    assert "prod send-shipments" not in result.stdout  # an order has no shipment operation
    [write] = [line for line in lines if " POST " in line]
    assert "/orders" in write and "(run 1)" in write

    view = json.loads(flx(env, "show", "ORD-1", "--json").stdout)
    [sync] = view["sync"]
    assert (sync["status"], sync["remote_ids"]) == ("sent", {"order": write.split("-> ")[1]
                                                              .split()[0]})
    assert [(w["method"], w["status"]) for w in view["writes"]] == [("POST", 201)]

    text = flx(env, "show", "ORD-2").stdout  # refused by the remote system: the error, the fix
    assert "prod send-orders: failed, 1 attempt" in text and "item FLX-1 is inactive" in text
    assert "  fix: " in text

    text = flx(env, "show", "SH-2").stdout
    assert "SH-2: shipment imported" in text and "order id ORD-2" in text
    assert "prod send-shipments: not taken yet" in text

    result = flx(env, "show", "ord-1")
    assert result.exit_code == 1
    assert "no record 'ord-1' in the store" in result.stderr and "ORD-1" in result.stderr


def test_an_aborted_run_says_why_on_stderr_and_status_keeps_the_reason(env: Env) -> None:
    app = build_app(env.plugins, transport=env.ledger.transport())
    result = CliRunner().invoke(app, ["--config", str(env.config.path), "run", "send-orders"],
                                env={"FAKEBOOKS_KEY": "not-the-key", "COLUMNS": "400"})
    assert result.exit_code == 1
    assert result.stderr.startswith("error: the run stopped: fakebooks refused the API key")
    summary = result.stdout.splitlines()[-1]
    assert "send-orders on prod: aborted (authentication)" in summary
    assert "stay queued for the next run" in summary and "nothing to do" not in summary

    flx(env, "run", "send-orders", "--dry-run")  # a dry run afterwards is not the last run
    text = flx(env, "status").stdout
    assert "prod send-orders: last run " in text
    assert " aborted (authentication: fakebooks refused the API key" in text
    runs = flx(env, "runs").stdout
    assert "authentication error" in runs and "stopped:" in runs


@pytest.mark.parametrize("args", [("errors",), ("runs",), ("retry", "--all"), ("show", "ORD-1"),
                                  ("resolve", "ORD-3", "--note", "cancelled")])
def test_a_mistyped_connection_is_wrong_usage_with_the_nearest_name(env: Env, args) -> None:
    result = flx(env, *args, "--connection", "prd")
    assert result.exit_code == 2
    assert "'prd' is not a connection; use one of prod; did you mean 'prod'?" in result.stderr


def test_a_run_report_counts_many_records_waiting_for_one_reason_in_one_row(env: Env) -> None:
    env.load(orders=[make_order(f"ORD-C{n}", status="cancelled") for n in range(6)])
    text = flx(env, "run", "send-orders").stdout
    assert "7 records (ORD-3, ORD-C0, ORD-C1, ...)" in text and "order is cancelled" in text
    assert "ORD-C5" not in text  # one row for the reason, not one per record
    rows = json.loads(flx(env, "run", "send-orders", "--dry-run", "--json").stdout)["rows"]
    assert sum(r["status"] == "waiting" for r in rows) == 7  # --json keeps every record


def test_a_record_changed_after_it_was_sent_is_said_not_silently_skipped(env: Env) -> None:
    flx(env, "run", "send-orders")
    env.load(orders=[make_order("ORD-1", currency="EUR")])  # imported again, other data
    result = flx(env, "run", "send-orders")
    assert "note: 1 changed since sent (ORD-1): not sent again" in " ".join(result.stdout.split())
    status = flx(env, "status").stdout
    assert "  1 changed since sent (ORD-1): not sent again, since flx does not change what is " \
           "already in the accounting system" in status
    row = json.loads(flx(env, "status", "--json").stdout)["sync"][0]
    assert row["changed_since_sent"] == {"count": 1, "ids": ["ORD-1"]}
    shown = " ".join(flx(env, "show", "ORD-1").stdout.split())
    assert "changed since it was sent: imported again with other data" in shown
    assert "changed since" not in flx(env, "show", "ORD-3").stdout  # never sent


def test_resolve_without_a_reason_is_wrong_usage(env: Env) -> None:
    result = flx(env, "resolve", "ORD-3", "--note", "  ")
    assert result.exit_code == 2 and "say why the record is resolved" in result.stderr
    assert env.state("ORD-3") is None  # nothing written


def test_retry_of_an_unknown_id_says_so(env: Env) -> None:
    result = flx(env, "retry", "ORD-404")
    assert result.exit_code == 1
    assert "ORD-404: no record with this id in the store" in result.stderr


def test_retry_resolve_and_runs(env: Env) -> None:
    flx(env, "run", "send-orders")
    result = flx(env, "retry", "ORD-1")
    assert result.exit_code == 1
    assert "ORD-1: already sent on prod" in result.stderr

    env.ledger.reject.clear()
    result = flx(env, "retry", "--all", "--class", "rejected")
    assert result.exit_code == 0, result.output
    assert "1 record(s) queued" in result.stdout
    assert env.state("ORD-2").status == "pending"
    assert flx(env, "run", "send-orders").exit_code == 0
    assert env.state("ORD-2").status == "sent"

    result = flx(env, "resolve", "ORD-3", "--note", "cancelled; nothing to book")
    assert result.exit_code == 0, result.output
    assert env.state("ORD-3").status == "skipped"

    result = flx(env, "runs", "--json", "--limit", "2")
    assert result.exit_code == 0, result.output
    runs = json.loads(result.stdout)["runs"]
    assert [(r["operation"], r["status"]) for r in runs] == [("send-orders", "ok"),
                                                              ("send-orders", "failed")]


def test_schedule_once_logs_json_lines_and_exits_with_the_worst_outcome(env: Env) -> None:
    result = flx(env, "schedule", "--once", "--log-format", "json")
    assert result.exit_code == 3, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["event"] for line in lines] == ["start", "run", "stop"]
    run = lines[1]
    assert (run["operation"], run["counts"]["sent"], run["counts"]["failed"]) == (
        "send-orders", 1, 1)

    result = flx(env, "schedule", "--once")  # nothing due: the last run was just now
    assert result.exit_code == 0, result.output
    assert len(result.stdout.splitlines()) == 2


def test_schedule_refuses_to_start_with_nothing_to_do(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    result = flx(env, "schedule", "--connection", "prod")
    env.store.close()
    assert result.exit_code == 1
    assert "nothing to schedule: no enabled operation of connection 'prod' has a `schedule`" \
        in result.stderr
    result = flx(env, "schedule", "--log-format", "xml")
    assert result.exit_code == 2


def test_show_after_fail_retry_sent_counts_both_attempts_and_lists_real_writes(env: Env):
    assert flx(env, "run", "send-orders").exit_code == 3  # ORD-2 rejected
    failed = json.loads(flx(env, "show", "ORD-2", "--json").stdout)["sync"][0]
    assert (failed["status"], failed["attempts"]) == ("failed", 1)

    del env.ledger.reject["flx-ORD-2"]
    assert flx(env, "retry", "ORD-2").exit_code == 0
    assert flx(env, "run", "send-orders").exit_code == 0
    shown = json.loads(flx(env, "show", "ORD-2", "--json").stdout)
    sent = shown["sync"][0]
    assert (sent["status"], sent["attempts"]) == ("sent", 2)
    # The sending attempt's time (the store keeps whole seconds: the same second is possible).
    assert sent["last_attempt_at"] >= failed["last_attempt_at"]
    assert sent["last_attempt_at"] >= shown["writes"][0]["at"]
    assert shown["writes"] and all(w["method"] in ("POST", "PUT", "PATCH", "DELETE")
                                   and w["run_id"] is not None for w in shown["writes"])
    text = flx(env, "show", "ORD-2").stdout
    assert "RETRY" not in text and "(run None)" not in text
    assert "2 attempts" in text


def test_status_counts_the_backlog_no_run_has_picked_up(env: Env) -> None:
    assert flx(env, "run", "send-orders", "--limit", "1").exit_code == 0
    env.load(orders=[make_order(f"ORD-{n}") for n in range(10, 14)])
    rows = {r["operation"]: r for r in json.loads(flx(env, "status", "--json").stdout)["sync"]}
    orders = rows["send-orders"]
    assert orders["imported"] == 7 and sum(orders["counts"].values()) == 1
    assert orders["backlog"] == 6
    text = flx(env, "status", "--connection", "prod").stdout
    assert "6 not picked up yet" in text
    other = flx(env, "status", "--connection", "nope")
    assert other.exit_code == 2 and "'nope' is not a connection" in other.stderr
