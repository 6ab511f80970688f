"""The batch pipeline of `OperationRun.walk` (core/run/batches.py) with the fake connector: the
plugin sends batch N on a background thread while the runner claims batch N+1 and stores
batch N-1. What a user must still see: every record sent once, results and audit rows stored,
no claim left behind after an abort, a graceful stop or a crash."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from flx.errors import AbortError, AuthenticationError
from flx.model import Connection, RecordResult
from flx.run import batches
from flx.run.runtime import Runtime
from flx.store.tables import sync_state

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake  # noqa: E402
from tests.fake_plugin.harness import Env, make_env, make_order  # noqa: E402

Send = Callable[[str, Connection, Sequence[dict[str, Any]], Runtime], Any]
PATIENCE = 120  # seconds: a safety net against a hung test, never what decides it


class HookCrash(BaseException):
    """Not an Exception: what a KeyboardInterrupt or SystemExit inside a hook looks like."""


class Hooks:
    """Stands in for the fake connector's send (behind every send_* hook): records each
    batch handed to the plugin and how many hook calls were ever inside at once, and lets a
    test replace the plugin's work for the n-th batch (1-based)."""

    def __init__(self, original: Send) -> None:
        self.original = original
        self.batches: list[list[str]] = []
        self.inside = 0
        self.most_inside = 0
        self.entered: dict[int, threading.Event] = {}
        self.actions: dict[int, Send] = {}
        self._lock = threading.Lock()

    def entry(self, number: int) -> threading.Event:
        with self._lock:
            return self.entered.setdefault(number, threading.Event())

    def __call__(self, kind: str, connection: Connection, records: Sequence[dict[str, Any]],
                 runtime: Runtime) -> Any:
        with self._lock:
            self.inside += 1
            self.most_inside = max(self.most_inside, self.inside)
            self.batches.append([str(r["id"]) for r in records])
            number = len(self.batches)
        self.entry(number).set()
        try:
            action = self.actions.get(number, self.original)
            return action(kind, connection, records, runtime)
        finally:
            with self._lock:
                self.inside -= 1


@pytest.fixture
def hooks(monkeypatch: pytest.MonkeyPatch) -> Hooks:
    spy = Hooks(fake._send)
    monkeypatch.setattr(fake, "_send", spy)
    return spy


@pytest.fixture
def env(tmp_path: Path) -> Iterator[Env]:
    env = make_env(tmp_path, batch_size=2)
    yield env
    env.store.close()


def orders(env: Env, count: int) -> list[str]:
    ids = [f"ORD-{i}" for i in range(1, count + 1)]
    env.load(orders=[make_order(rid) for rid in ids])
    return ids


def claimed(env: Env) -> list[tuple[str, str]]:
    """(record id, holder) of every sync row someone still claims."""
    s = sync_state
    with env.store.engine.connect() as conn:
        rows = conn.execute(sa.select(s.c.record_id, s.c.claimed_by)
                            .where(s.c.claimed_by.is_not(None)).order_by(s.c.record_id))
        return [(r.record_id, r.claimed_by) for r in rows]


def untouched(state: Any) -> bool:
    """Never tried: no state, or only the claim row a run writes before sending."""
    return state is None or (state.status == "pending" and state.attempts == 0
                             and state.error is None and not state.remote_ids)


def posted(env: Env) -> list[str]:
    """External ids of the records the ledger created, in the order it created them."""
    return [r["externalId"] for r in env.ledger.records["orders"].values()]


def sends_then(hooks: Hooks, error: BaseException) -> Send:
    """A hook that sends its batch for real, then raises `error` (results never returned)."""
    def action(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
               runtime: Runtime) -> Any:
        hooks.original(kind, connection, records, runtime)
        raise error
    return action


def one_at_a_time(hooks: Hooks) -> Send:
    """The plugin's own work, one record per call: the fake connector counts a record's
    requests exactly only when no other record is sent at the same time."""
    def action(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
               runtime: Runtime) -> Any:
        return [result for record in records
                for result in hooks.original(kind, connection, [record], runtime)]
    return action


def raises(error: BaseException) -> Send:
    def action(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
               runtime: Runtime) -> Any:
        raise error
    return action


# --- (a) several batches: each record once, the report right -----------------------------------


def test_every_record_of_several_batches_is_sent_once_and_reported(env: Env,
                                                                   hooks: Hooks) -> None:
    ids = orders(env, 7)  # batches of 2: four batches, the last one short
    env.ledger.records["orders"]["7"] = {"id": "7", "externalId": "flx-ORD-3"}  # linked
    env.ledger.reject["flx-ORD-6"] = "line 1 has no sku"  # failed
    hooks.actions = {n: one_at_a_time(hooks) for n in (1, 2, 3, 4)}

    report = env.run()

    assert hooks.batches == [["ORD-1", "ORD-2"], ["ORD-3", "ORD-4"], ["ORD-5", "ORD-6"],
                             ["ORD-7"]]
    assert report.counts == {"sent": 5, "linked": 1, "failed": 1, "waiting": 0, "dry_run": 0}
    assert sorted(row.record_id for row in report.rows) == ids  # each one reported once
    assert report.requests == 13  # a lookup per record, a create per one not linked
    assert report.exit_code == 3 and report.aborted is None
    assert sorted(posted(env)) == sorted(f"flx-{rid}" for rid in ids if rid != "ORD-6")
    assert [m for m, _ in env.ledger.writes()] == ["POST"] * 6  # no record created twice
    by_external = {r["externalId"]: r["id"] for r in env.ledger.records["orders"].values()}
    for rid in ("ORD-1", "ORD-2", "ORD-4", "ORD-5", "ORD-7"):
        state = env.state(rid)
        assert (state.status, state.remote_ids, state.error) == (
            "sent", {"order": by_external[f"flx-{rid}"]}, None), rid
        assert state.content_hash
    assert (env.state("ORD-3").status, env.state("ORD-3").remote_ids) == (
        "linked", {"order": "7"})
    failed = env.state("ORD-6")
    assert (failed.status, failed.attempts) == ("failed", 1)
    assert "line 1 has no sku" in failed.error["message"]
    assert failed.first_failed_at is not None and failed.last_attempt_at is not None
    assert claimed(env) == []
    assert env.store.recent_runs(connection="prod")[0]["status"] == "failed"
    assert env.run().rows == []  # nothing left to send (the failed one is not due yet)


# --- (b) hooks never overlap ----------------------------------------------------------------------


def main_thread_waits_for_a_result() -> bool:
    """The main thread (the runner) is blocked in Future.result(): waiting for the hook."""
    frame = sys._current_frames().get(threading.main_thread().ident or 0)
    while frame is not None:
        if frame.f_code.co_name == "result" and "concurrent" in frame.f_code.co_filename:
            return True
        frame = frame.f_back
    return False


def test_hooks_never_overlap_while_the_next_batch_is_claimed(env: Env, hooks: Hooks,
                                                             monkeypatch: pytest.MonkeyPatch
                                                             ) -> None:
    orders(env, 6)  # three batches
    claims: list[threading.Event] = [threading.Event() for _ in range(4)]
    real_claim = env.store.claim
    submitted: list[int] = []

    def claim(*args: Any, **kwargs: Any) -> list[str]:
        out = real_claim(*args, **kwargs)
        next(e for e in claims if not e.is_set()).set()
        return out

    monkeypatch.setattr(env.store, "claim", claim)

    class CountingPool(ThreadPoolExecutor):
        def submit(self, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
            submitted.append(len(submitted) + 1)
            return super().submit(*args, **kwargs)

    monkeypatch.setattr(batches, "ThreadPoolExecutor", CountingPool)

    def holding(number: int) -> Send:
        """Batch `number` stays in the hook until the runner has claimed the next batch and
        has nothing left to do but wait for this hook: no wall clock decides anything. By
        then, the next hook must not even have been handed over."""
        def action(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
                   runtime: Runtime) -> Any:
            assert claims[number].wait(timeout=PATIENCE), "the next batch was never claimed"
            deadline = time.monotonic() + PATIENCE
            while not main_thread_waits_for_a_result():  # a condition, polled
                assert time.monotonic() < deadline, "the runner never waited for the hook"
                time.sleep(0.001)
            assert len(submitted) == number, "a hook was handed over while one was inside"
            assert not hooks.entry(number + 1).is_set()
            return hooks.original(kind, connection, records, runtime)
        return action

    hooks.actions = {1: holding(1), 2: holding(2)}
    report = env.run()

    assert hooks.most_inside == 1
    assert len(hooks.batches) == 3 and len(submitted) == 3
    assert report.counts["sent"] == 6
    assert claimed(env) == []


# --- (c) an abort, or a graceful stop, after a batch --------------------------------------------


def test_abort_in_batch_two_keeps_batch_one_and_leaves_the_rest_untouched(env: Env,
                                                                          hooks: Hooks) -> None:
    ids = orders(env, 8)  # four batches
    hooks.actions = {2: raises(AuthenticationError("token revoked"))}

    report = env.run()

    assert report.aborted == "token revoked" and report.exit_code == 1
    assert len(hooks.batches) == 2  # batch 3 was claimed meanwhile, but never sent
    assert [(r.record_id, r.status) for r in report.rows] == [("ORD-1", "sent"),
                                                              ("ORD-2", "sent")]
    assert [env.state(rid).status for rid in ids[:2]] == ["sent", "sent"]
    assert all(untouched(env.state(rid)) for rid in ids[2:]), ids[2:]
    assert claimed(env) == []
    assert sorted(posted(env)) == ["flx-ORD-1", "flx-ORD-2"]
    assert env.store.recent_runs(connection="prod")[0]["status"] == "aborted"

    again = env.run()  # a new run (another claim owner) takes every record left
    assert sorted(r.record_id for r in again.rows) == ids[2:]
    assert again.counts["sent"] == 6
    assert sorted(posted(env)) == sorted(f"flx-{rid}" for rid in ids)


def test_abort_reported_by_one_record_stores_the_records_before_it(env: Env,
                                                                   hooks: Hooks) -> None:
    orders(env, 6)

    def second_record_aborts(kind: str, connection: Connection,
                             records: Sequence[dict[str, Any]], runtime: Runtime) -> Any:
        results = hooks.original(kind, connection, records[:1], runtime)
        return [*results, RecordResult(str(records[1]["id"]), "failed",
                                       error=AbortError("the account was locked"))]

    hooks.actions = {2: second_record_aborts}
    report = env.run()

    assert report.aborted == "the account was locked"
    assert {r.record_id: r.status for r in report.rows} == {
        "ORD-1": "sent", "ORD-2": "sent", "ORD-3": "sent"}
    assert env.state("ORD-3").status == "sent"
    assert all(untouched(env.state(rid)) for rid in ("ORD-4", "ORD-5", "ORD-6"))
    assert claimed(env) == []


def test_graceful_stop_after_batch_one_releases_the_claimed_batch_two(env: Env,
                                                                      hooks: Hooks) -> None:
    ids = orders(env, 6)
    report = env.run(should_stop=lambda: True)

    assert hooks.batches == [["ORD-1", "ORD-2"]]
    assert report.counts["sent"] == 2 and report.exit_code == 0
    assert any("stopped after the batch in flight" in note for note in report.notes)
    assert [env.state(rid).status for rid in ids[:2]] == ["sent", "sent"]
    assert all(untouched(env.state(rid)) for rid in ids[2:])
    assert claimed(env) == []
    assert env.run().counts["sent"] == 4


# --- (d) a hook raising a BaseException -------------------------------------------------------


def test_base_exception_in_the_last_batch_propagates_and_frees_its_claims(
        env: Env, hooks: Hooks) -> None:
    orders(env, 4)  # two batches: nothing is claimed after batch 2
    hooks.actions = {2: raises(HookCrash("stop now"))}

    with pytest.raises(HookCrash):
        env.run()

    assert [env.state(rid).status for rid in ("ORD-1", "ORD-2")] == ["sent", "sent"]
    assert all(untouched(env.state(rid)) for rid in ("ORD-3", "ORD-4"))
    assert claimed(env) == []
    assert env.store.recent_runs(connection="prod")[0]["status"] == "error"


def test_base_exception_with_the_next_batch_claimed_leaves_no_claim(env: Env,
                                                                    hooks: Hooks) -> None:
    ids = orders(env, 6)  # three batches: batch 3 is claimed while batch 2 is in the hook
    hooks.actions = {2: raises(HookCrash("stop now"))}

    with pytest.raises(HookCrash):
        env.run()

    assert [env.state(rid).status for rid in ids[:2]] == ["sent", "sent"]
    assert all(untouched(env.state(rid)) for rid in ids[2:])
    assert claimed(env) == []


# --- (e) the audit trail of remote writes -------------------------------------------------------


def audited(env: Env, run_id: int | None = None) -> list[tuple[str, str, str | None]]:
    rows = env.store.audit_entries(connection="prod", run_id=run_id, limit=1000)
    return sorted((r["method"], r["path"], r["remote_id"]) for r in rows)


def created(env: Env) -> list[tuple[str, str, str | None]]:
    return sorted(("POST", "/api/orders", rid) for rid in env.ledger.records["orders"])


def test_every_remote_write_of_a_run_is_audited(env: Env, hooks: Hooks) -> None:
    orders(env, 5)
    report = env.run()
    assert report.counts["sent"] == 5
    assert audited(env, report.run_id) == created(env)
    assert len(created(env)) == 5


def test_writes_of_a_batch_whose_hook_aborts_are_still_audited(env: Env, hooks: Hooks) -> None:
    orders(env, 6)
    hooks.actions = {2: sends_then(hooks, AuthenticationError("token revoked"))}
    report = env.run()
    assert report.aborted == "token revoked"
    assert len(created(env)) == 4  # batch 2 reached the ledger before the hook raised
    assert audited(env, report.run_id) == created(env)


def test_writes_of_a_hook_that_crashes_are_still_audited(env: Env, hooks: Hooks) -> None:
    orders(env, 4)
    hooks.actions = {2: sends_then(hooks, HookCrash("stop now"))}
    with pytest.raises(HookCrash):
        env.run()
    assert len(created(env)) == 4
    assert audited(env) == created(env)


# --- checkpoints inside the pipeline -------------------------------------------------------------


def checkpointing(env: Env, hooks: Hooks, seen: dict[str, Any]) -> Send:
    """Checkpoints each record (in_flight, a draft id) before sending it, one at a time, and
    notes what the store and the audit trail hold right after each checkpoint."""
    def action(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
               runtime: Runtime) -> Any:
        results = []
        for record in records:
            rid = str(record["id"])
            runtime.checkpoint(rid, status="in_flight", remote_ids={"draft": f"D-{rid}"})
            stored, in_hand = env.store.get_sync("prod", "send-orders", rid), runtime.state(rid)
            assert stored is not None and in_hand is not None
            seen[rid] = (stored.status, dict(stored.remote_ids), in_hand.status,
                         len(env.store.audit_entries(connection="prod", limit=1000)),
                         len(env.ledger.writes()))
            results += hooks.original(kind, connection, [record], runtime)
        return results
    return action


def test_a_checkpoint_is_stored_at_once_and_kept_by_the_batch_result(env: Env,
                                                                     hooks: Hooks) -> None:
    ids = orders(env, 5)
    seen: dict[str, Any] = {}
    hooks.actions = {n: checkpointing(env, hooks, seen) for n in (1, 2, 3)}

    report = env.run()

    assert report.counts["sent"] == 5
    for rid in ids:
        status, remote, in_hand = seen[rid][:3]
        assert (status, remote, in_hand) == ("in_flight", {"draft": f"D-{rid}"}, "in_flight")
        final = env.state(rid)
        assert final.status == "sent"
        assert final.remote_ids == {"draft": f"D-{rid}",
                                    "order": final.remote_ids.get("order")}, rid
        assert final.remote_ids["order"]
    assert claimed(env) == []


def test_a_checkpoint_stores_the_audit_rows_of_the_writes_before_it(tmp_path: Path,
                                                                    hooks: Hooks) -> None:
    env = make_env(tmp_path, batch_size=10)  # one batch: no other batch is stored meanwhile
    try:
        ids = orders(env, 3)
        seen: dict[str, Any] = {}
        hooks.actions = {1: checkpointing(env, hooks, seen)}
        env.run()
        assert [seen[rid][3] for rid in ids] == [seen[rid][4] for rid in ids] == [0, 1, 2]
    finally:
        env.store.close()
