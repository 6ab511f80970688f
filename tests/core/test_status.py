"""`flx.ops.status` with the fake connector: what an ops person learns from status and errors,
and what retry and resolve do to the records."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from flx.errors import (
    ConfigError,
    DuplicateError,
    RateLimitError,
    RecordValidationError,
    RemoteRejectedError,
)
from flx.model import RecordResult
from flx.ops.status import (
    list_errors,
    list_runs,
    reason_group,
    resolve,
    retry,
    status_lines,
    status_summary,
)
from flx.run.runner import MAX_ATTEMPTS

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake  # noqa: E402
from tests.fake_plugin.harness import Env, make_env, make_order, make_shipment  # noqa: E402


@pytest.fixture
def env(tmp_path: Path):
    env = make_env(tmp_path, orders='schedule = "every 30 minutes"')
    yield env
    env.store.close()


def script_failures(monkeypatch: pytest.MonkeyPatch, failures: dict[str, BaseException]) -> None:
    """Records named in `failures` fail with that error (a FlxError is reported the way a
    connector reports it; anything else is raised, as an untranslated bug or transport error
    would be); the others go through the fake connector."""
    original = fake.Session.send

    def send(self: Any, kind: str, record: dict[str, Any]) -> RecordResult:
        error = failures.get(record["id"])
        if error is None:
            return original(self, kind, record)
        if isinstance(error, httpx.TransportError):
            raise error
        return RecordResult(record["id"], "failed", error=error, message=str(error.args[0]))

    monkeypatch.setattr(fake.Session, "send", send)


def rows_by_id(rows: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {r["record_id"]: r for r in rows}


# --- status ------------------------------------------------------------------------------------


def test_status_shows_last_run_waiting_reasons_failing_and_done(env: Env) -> None:
    env.ledger.reject["flx-ORD-3"] = "item FLX-1 is inactive"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2"), make_order("ORD-3")],
             shipments=[make_shipment("SH-1", "ORD-1"), make_shipment("SH-7", "ORD-7"),
                        make_shipment("SH-8", "ORD-8"), make_shipment("SH-9", "ORD-9")])
    env.load(orders=[make_order("ORD-7", status="cancelled")])
    env.run(only=["ORD-1", "ORD-3", "ORD-7"])
    env.run("send-shipments")

    summary = status_summary(env.config, env.store)
    assert summary["records"] == {"order": 4, "shipment": 4, "vendor_bill": 0}
    rows = {r["operation"]: r for r in summary["sync"]}
    assert list(rows) == ["send-orders", "send-shipments", "send-vendor-bills"]

    orders = rows["send-orders"]
    assert orders["counts"] == {"failed": 1, "sent": 1, "waiting": 1}
    assert orders["done"] == 1
    assert orders["failing"] == {"rejected": 1}
    assert orders["waiting"] == [{"reason": "order is cancelled", "count": 1}]
    last = orders["last_run"]
    assert (last["status"], last["counts"]["sent"], last["counts"]["failed"]) == ("failed", 1, 1)
    assert last["duration_seconds"] >= 0 and last["started_at"].endswith("Z")
    assert orders["schedule"] == "every 30 minutes"
    started = dt.datetime.fromisoformat(last["started_at"])
    assert dt.datetime.fromisoformat(orders["next_run_at"]) == started + dt.timedelta(minutes=30)

    shipments = rows["send-shipments"]
    assert shipments["counts"] == {"sent": 1, "waiting": 3}
    # three shipments wait for three different orders: one reason, counted three times
    assert shipments["waiting"] == [
        {"reason": "order has not been imported yet", "count": 2},
        {"reason": "order is not in FakeBooks yet (send-orders: waiting)", "count": 1}]
    assert rows["send-vendor-bills"]["last_run"] is None
    assert rows["send-vendor-bills"]["schedule"] is None


def test_waiting_reasons_lose_their_ids() -> None:
    assert reason_group("order ORD-2 is not in NetSuite yet (send-orders: not sent)",
                        "SH-2") == "order is not in NetSuite yet (send-orders: not sent)"
    assert reason_group("line L1: 2 of 3 routed; line L2: 0 of 1 routed") == \
        "a line is not fully routed"
    assert reason_group("shipment SH-4: order ORD-9 has not been imported yet", "SH-4") == \
        "order has not been imported yet"
    assert reason_group("fulfillment request FR-9 is not on order ORD-1 (re-import the "
                        "order with its current routing)") == (
        "fulfillment request is not on order (re-import the order with its current routing)")
    assert reason_group("") == "no reason given"


# --- errors: one row per failure, classified, with what to do ------------------------------------


def test_each_error_kind_is_classified_with_a_fix(env: Env, monkeypatch) -> None:
    request = httpx.Request("POST", "https://fakebooks.test/api/orders")
    script_failures(monkeypatch, {
        "ORD-D": RecordValidationError("order ORD-D: the customer has no email"),
        "ORD-J": RemoteRejectedError("fakebooks rejected the order: invalid item",
                                     code="USER_ERROR", detail="Invalid item reference key 7",
                                     path="item[0].item", status=400),
        "ORD-K": DuplicateError("fakebooks already has two orders flx-ORD-K"),
        "ORD-L": RateLimitError("too many requests", retry_after=1200),
        "ORD-N": httpx.ConnectError("connection refused", request=request),
    })
    unmapped = make_order("ORD-R")
    unmapped["fulfillment_requests"][1]["vendor"] = {"id": "V-B"}
    no_email = make_order("ORD-T")
    del no_email["customer"]["email"]
    env.load(orders=[make_order("ORD-D"), make_order("ORD-J"), make_order("ORD-K"),
                     make_order("ORD-L"), unmapped, no_email])
    before = dt.datetime.now(dt.UTC).replace(microsecond=0)  # rows show whole seconds
    env.run()
    env.load(orders=[make_order("ORD-N")])  # alone: a raised error fails its whole batch
    env.run(only=["ORD-N"])
    env.ledger.outage = True
    env.load(orders=[make_order("ORD-O")])
    env.run(only=["ORD-O"])

    rows = rows_by_id(list_errors(env.config, env.store))
    assert {rid: r["class"] for rid, r in rows.items()} == {
        "ORD-D": "data", "ORD-J": "rejected", "ORD-K": "duplicate", "ORD-L": "rate_limit",
        "ORD-N": "network", "ORD-O": "outage", "ORD-R": "reference", "ORD-T": "template"}

    rejected = rows["ORD-J"]
    assert (rejected["code"], rejected["detail"], rejected["path"]) == (
        "USER_ERROR", "Invalid item reference key 7", "item[0].item")
    assert rejected["message"] == ("fakebooks rejected the order: invalid item (code USER_ERROR; "
                                   "Invalid item reference key 7; at item[0].item)")
    assert rejected["attempts"] == 1 and rejected["next_retry_at"] is None
    assert rejected["first_failed_at"] == rejected["last_attempt_at"]

    # the error's own hint first; data errors say what makes them go again
    assert rows["ORD-R"]["hint"].startswith('add "V-B": "<ledger vendor id>" to tables.vendors')
    for rid in ("ORD-D", "ORD-J", "ORD-K", "ORD-R", "ORD-T"):
        assert rows[rid]["automatic_retry"] == "when the record changes"
        assert "a re-imported, changed record goes out at the next run" in rows[rid]["hint"]
        assert f"flx retry {rid}" in rows[rid]["hint"]
    assert rows["ORD-D"]["hint"].startswith("correct the record where it comes from")
    assert "flx resolve ORD-K" in rows["ORD-K"]["hint"]

    # transient ones show when flx tries again by itself
    for rid in ("ORD-L", "ORD-N", "ORD-O"):
        due = dt.datetime.fromisoformat(rows[rid]["next_retry_at"])
        assert due >= before + dt.timedelta(minutes=5)
        assert rows[rid]["automatic_retry"] == rows[rid]["next_retry_at"]
        assert f"(attempt 2 of {MAX_ATTEMPTS})" in rows[rid]["hint"]
        assert "flx tries again by itself at the first run after" in rows[rid]["hint"]
    # Retry-After (20 min) beats the first back-off step (5 min)
    assert dt.datetime.fromisoformat(rows["ORD-L"]["next_retry_at"]) >= \
        before + dt.timedelta(minutes=20)


def test_errors_filter_by_class_operation_and_connection(env: Env) -> None:
    env.ledger.reject["flx-ORD-1"] = "no"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2", status="cancelled")],
             shipments=[make_shipment("SH-1", "ORD-1")])
    env.run()
    env.run("send-shipments")

    everything = list_errors(env.config, env.store)
    assert [(r["record_id"], r["class"]) for r in everything] == [
        ("ORD-1", "rejected"), ("ORD-2", "waiting"), ("SH-1", "waiting")]  # failures first
    assert [r["record_id"] for r in list_errors(env.config, env.store,
                                                error_class="waiting")] == ["ORD-2", "SH-1"]
    assert [r["record_id"] for r in list_errors(env.config, env.store,
                                                operation="send-shipments")] == ["SH-1"]
    assert list_errors(env.config, env.store, connection="prod", error_class="outage") == []
    waiting = list_errors(env.config, env.store, operation="send-shipments")[0]
    assert waiting["message"] == "order ORD-1 is not in FakeBooks yet (send-orders: failed)"
    assert waiting["automatic_retry"] is None
    assert "flx checks again at every run" in waiting["hint"]

    with pytest.raises(ConfigError) as err:
        list_errors(env.config, env.store, error_class="bogus", operation="send-everything",
                    connection="staging")
    assert len(err.value.problems) == 3
    assert any("known connections are prod" in p for p in err.value.problems)


def test_success_clears_the_error(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    env.ledger.outage = True
    env.run()
    assert [r["class"] for r in list_errors(env.config, env.store)] == ["outage"]
    env.ledger.outage = False
    env.run(only=["ORD-1"])
    state = env.state("ORD-1")
    assert (state.status, state.error, state.first_failed_at, state.next_retry_at) == (
        "sent", None, None, None)
    assert list_errors(env.config, env.store) == []


def test_retries_used_up_say_so(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    env.ledger.outage = True
    for _ in range(MAX_ATTEMPTS):
        env.run(only=["ORD-1"])
    row = list_errors(env.config, env.store)[0]
    assert row["next_retry_at"] is None and row["attempts"] == MAX_ATTEMPTS
    assert row["automatic_retry"] == "no (use flx retry)"
    assert f"automatic retries are used up ({MAX_ATTEMPTS} attempts)" in row["hint"]


# --- retry ---------------------------------------------------------------------------------------


def test_retry_requeues_failed_records_and_keeps_history(env: Env) -> None:
    env.ledger.reject.update({"flx-ORD-1": "inactive item", "flx-ORD-2": "inactive item"})
    unmapped = make_order("ORD-3")
    unmapped["fulfillment_requests"][1]["vendor"] = {"id": "V-B"}
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2"), unmapped])
    env.run()
    first = env.state("ORD-1")
    assert env.run().rows == []  # data errors are not retried by themselves

    assert retry(env.config, env.store, ["ORD-1"]) == 1
    state = env.state("ORD-1")
    assert (state.status, state.next_retry_at, state.attempts) == ("pending", None, 1)
    assert state.error == first.error and state.first_failed_at == first.first_failed_at
    assert list_errors(env.config, env.store, error_class="rejected")[0]["record_id"] == "ORD-2"

    env.ledger.reject.clear()  # fixed on the remote side (the item was re-activated)
    assert [(r.record_id, r.status) for r in env.run().rows] == [("ORD-1", "sent")]

    assert retry(env.config, env.store, None, error_class="reference") == 1
    assert env.state("ORD-3").status == "pending" and env.state("ORD-2").status == "failed"
    assert retry(env.config, env.store, None) == 1  # --all: the remaining failure
    audit = [(a["method"], a["record_id"]) for a in env.store.audit_entries(connection="prod")
             if a["method"] == "RETRY"]
    assert sorted(audit) == [("RETRY", "ORD-1"), ("RETRY", "ORD-2"), ("RETRY", "ORD-3")]


def test_retry_explains_what_cannot_be_retried(env: Env) -> None:
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2", status="cancelled")])
    env.run()
    with pytest.raises(ConfigError) as err:
        retry(env.config, env.store, ["ORD-1", "ORD-2", "ORD-404"])
    problems = "\n".join(err.value.problems)
    assert "ORD-1: already sent on prod (send-orders); `flx run send-orders --only ORD-1 " \
           "--force` sends it again" in problems
    assert "ORD-2: waiting (order ORD-2 is cancelled)" in problems
    assert "ORD-404: no record with this id in the store" in problems


# --- resolve -------------------------------------------------------------------------------------


def test_resolve_marks_a_record_never_to_be_sent_with_a_note(env: Env) -> None:
    env.ledger.reject["flx-ORD-1"] = "credit hold"
    env.load(orders=[make_order("ORD-1")])
    env.run()
    assert resolve(env.config, env.store, "ORD-1", "entered by hand as SO812") == 1

    state = env.state("ORD-1")
    assert state.status == "skipped"
    assert state.error["note"] == "entered by hand as SO812"
    assert state.error["previous"]["class"] == "rejected"  # the history stays
    assert list_errors(env.config, env.store) == []
    resolved = list_errors(env.config, env.store, error_class="resolved")
    assert [(r["record_id"], r["note"]) for r in resolved] == [
        ("ORD-1", "entered by hand as SO812")]
    assert [(a["method"], a["path"]) for a in env.store.audit_entries(connection="prod")
            if a["record_id"] == "ORD-1" and a["method"] == "RESOLVE"] == [
        ("RESOLVE", "/flx/send-orders/ORD-1")]

    # never sent again: not on later runs, not after its content changes
    writes = len(env.ledger.writes())  # the refused attempt
    env.ledger.reject.clear()
    env.load(orders=[make_order("ORD-1", tax_total="4.00")])
    assert env.run().rows == []
    assert len(env.ledger.writes()) == writes


def test_resolve_a_record_never_tried_and_refuse_a_sent_one(env: Env) -> None:
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    assert resolve(env.config, env.store, "ORD-2", "cancelled by phone") == 1
    assert [r.record_id for r in env.run().rows] == ["ORD-1"]
    with pytest.raises(ConfigError) as err:
        resolve(env.config, env.store, "ORD-1", "oops")
    assert "already sent on prod" in err.value.problems[0]
    with pytest.raises(ConfigError, match="nothing to resolve for ORD-404"):
        resolve(env.config, env.store, "ORD-404", "typo")
    with pytest.raises(ConfigError, match="a note is required"):
        resolve(env.config, env.store, "ORD-2", "  ")


# --- runs ----------------------------------------------------------------------------------------


def test_runs_are_listed_newest_first_with_duration_and_counts(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")], shipments=[make_shipment("SH-1", "ORD-1")])
    first = env.run()
    env.run("send-shipments", dry_run=True)
    runs = list_runs(env.config, env.store)
    assert [(r["id"], r["operation"], r["dry_run"], r["status"]) for r in runs] == [
        (first.run_id + 1, "send-shipments", True, "ok"),
        (first.run_id, "send-orders", False, "ok")]
    assert runs[1]["counts"]["sent"] == 1 and runs[1]["duration_seconds"] >= 0
    assert list_runs(env.config, env.store, operation="send-orders", limit=5)[0]["id"] == \
        first.run_id


def test_status_lines_read_like_a_report(env: Env) -> None:
    env.ledger.reject["flx-ORD-2"] = "inactive item"
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2"),
                     make_order("ORD-3", status="cancelled"),
                     make_order("ORD-4", status="cancelled")])
    env.run()
    summary = status_summary(env.config, env.store)
    lines = status_lines(summary)
    assert lines[0].startswith("prod send-orders: last run ")
    assert " failed in " in lines[0] and "(1 sent, 1 failed, 2 waiting)" in lines[0]
    assert lines[0].endswith(" UTC") and "; next run " in lines[0]
    assert lines[1:3] == ["  1 done; 1 failing (rejected 1; see `flx errors`)",
                          "  2 waiting: order is cancelled"]
    assert lines[3] == "prod send-shipments: not run yet (0 shipments imported)"
    later = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    assert status_lines(summary, now=later)[0].endswith("; next run due now")
