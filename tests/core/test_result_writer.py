"""Results ride on checkpoints (core/run/result_writer.py) and the hot-path writes run on the
driver (core/store/direct.py): what is stored, and when, is what it was before."""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import sqlalchemy as sa

import flx.store.sync as sync_module
from flx.run.result_writer import ResultWriter
from flx.store.store import Store, audit_row
from flx.store.sync import SyncState, blank_state, next_state


def _state(record_id: str, status: str = "sent", **remote: Any) -> SyncState:
    return next_state(blank_state("c", "send-orders", record_id), status=status,
                      remote_ids=remote or {"sales_order": f"SO-{record_id}"})


@pytest.fixture
def writer(store: Store) -> Iterator[ResultWriter]:
    audit_rows: list[dict[str, Any]] = []
    out = ResultWriter(store, lambda: [audit_rows.pop() for _ in list(audit_rows)],
                       interval=60.0, most=1000)  # the thread never flushes on its own here
    yield out
    out.close()


def _checkpoint(store: Store, record_id: str):
    saved = _state(record_id, "in_flight")

    def write(results: list[SyncState]) -> None:
        store.put_syncs([*results, saved])
    return write


def test_waiting_results_are_stored_by_the_next_checkpoint(store: Store,
                                                           writer: ResultWriter) -> None:
    writer.put(_state("A"))
    writer.put(_state("B"))
    assert store.get_sync("c", "send-orders", "A") is None
    writer.write_with(_checkpoint(store, "C"))
    got = store.get_syncs("c", "send-orders", ["A", "B", "C"])
    assert {k: v.status for k, v in got.items()} == {"A": "sent", "B": "sent",
                                                     "C": "in_flight"}
    assert got["A"].remote_ids == {"sales_order": "SO-A"}
    assert writer._queued == {}  # nothing left for the writer's own flush


def test_a_result_that_cannot_be_stored_never_fails_the_checkpoint(
        store: Store, writer: ResultWriter, caplog: pytest.LogCaptureFixture) -> None:
    writer.put(_state("BAD", remote=float("nan")))  # JSON cannot carry it: its write fails
    writer.write_with(_checkpoint(store, "C"))
    assert store.get_sync("c", "send-orders", "C").status == "in_flight"
    assert store.get_sync("c", "send-orders", "BAD") is None
    assert set(writer._queued) == {"BAD"}  # kept for the writer (and the batch's write)
    with caplog.at_level(logging.WARNING, logger="flx.runner"):
        writer.flush()
    assert "results not stored early" in caplog.text


def test_a_checkpoint_that_cannot_be_stored_still_fails(store: Store,
                                                        writer: ResultWriter) -> None:
    writer.put(_state("A"))

    def broken(results: list[SyncState]) -> None:
        raise RuntimeError("the store is gone")
    with pytest.raises(RuntimeError, match="gone"):
        writer.write_with(broken)
    assert set(writer._queued) == {"A"}


def test_a_checkpoint_does_not_wait_for_a_flush_in_progress(store: Store,
                                                            writer: ResultWriter) -> None:
    writer.put(_state("A"))
    seen: list[list[SyncState]] = []
    with writer._write:  # a flush is writing (the batch's write waits behind it)
        done = threading.Thread(target=writer.write_with, args=(seen.append,))
        done.start()
        done.join(5)
        assert not done.is_alive()
    assert seen == [[]]  # went alone; A is still the writer's to store
    assert set(writer._queued) == {"A"}


def test_the_driver_path_stores_what_sqlalchemy_stores(tmp_path, monkeypatch) -> None:
    failed = next_state(_state("B"), status="failed", count_attempt=True,
                        error={"class": "data", "message": "\u00e9 \u2028"},
                        next_retry_at=_state("x").updated_at)
    states = [_state("A"), failed]
    claimed = _state("C", lines=[{"rate": Decimal("1.10")}])
    rows = [audit_row("c", 7, "post", "/record/v1/salesOrder?q=1", 204, "12", "A"),
            audit_row("c", None, "GET", "/x", 200)]

    def fill(name: str) -> list[list[tuple[Any, ...]]]:
        path = tmp_path / name
        store = Store(f"sqlite:///{path}")
        store.put_syncs(states, audit_rows=rows)
        store.claim("c", "send-orders", ["A", "C"], "me")
        store.put_syncs([claimed], release_claims=True)
        store.put_syncs([], audit_rows=rows[:1])
        store.close()
        with sqlite3.connect(path) as db:  # the stored text itself
            return [db.execute(f"SELECT * FROM {table} ORDER BY 1, 2, 3").fetchall()
                    for table in ("sync_state", "audit")]

    fast = fill("fast.db")
    monkeypatch.setattr(sync_module, "direct_usable", lambda dialect: False)
    plain = fill("plain.db")
    assert len(fast[0]) == 3 and len(fast[1]) == 3
    # the same rows, but for the claim's expiry (the time each claim was made)
    assert [r[:13] for r in fast[0]] == [r[:13] for r in plain[0]]
    assert [r[12:] for r in fast[0]] == [("me", r[13]) if r[2] == "A" else (None, None)
                                        for r in fast[0]]
    assert fast[1] == plain[1]


def test_a_refused_row_is_the_same_error_as_before(tmp_path) -> None:
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    with pytest.raises(sa.exc.IntegrityError):
        store.put_syncs([blank_state("c", "send-orders", "A")])  # no updated_at
    assert store.get_sync("c", "send-orders", "A") is None
