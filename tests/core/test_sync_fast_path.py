"""The fast path of sync writes: `next_state` + `Store.put_syncs` must leave exactly the row
`set_sync` leaves, claims and audit rows included, and checkpoints of the runtime ride on it.
Runs on SQLite and PostgreSQL (the `store` fixture of conftest.py)."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from unittest import mock

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flx.connector import Connector
from flx.model import Connection
from flx.run.runtime import Runtime
from flx.store.store import Store, SyncState, audit_row
from flx.store.sync import KEEP, SYNC_STATUSES, blank_state, next_state
from flx.store.tables import sync_state

CONN, OP = "prod", "send-orders"
CLOCK = datetime(2030, 5, 17, 8, 30, tzinfo=UTC)

# --- strategies ---------------------------------------------------------------------------------

texts = st.text(st.characters(codec="utf-8", exclude_characters="\x00"), max_size=6)
scalars = st.one_of(texts, st.integers(-(2**31), 2**31), st.booleans())
moments = st.datetimes(min_value=datetime(2001, 1, 1), max_value=datetime(2099, 12, 31),
                       timezones=st.sampled_from([UTC, timezone(timedelta(hours=-5)),
                                                  timezone(timedelta(hours=5, minutes=30))]))
maybe_moment = st.none() | moments
statuses = st.sampled_from(sorted(SYNC_STATUSES))
hashes = st.none() | st.text("0123456789abcdef", min_size=1, max_size=64)
errors = st.none() | st.dictionaries(texts, st.none() | scalars, max_size=3)

priors = st.none() | st.builds(
    SyncState, connection=st.just(CONN), operation=st.just(OP), record_id=st.just("?"),
    status=statuses, remote_ids=st.dictionaries(texts, scalars, max_size=3),
    attempts=st.integers(0, 9), error=errors, content_hash=hashes,
    first_failed_at=maybe_moment, last_attempt_at=maybe_moment, next_retry_at=maybe_moment,
    updated_at=moments)

updates = st.fixed_dictionaries({
    "status": st.none() | statuses,
    "remote_ids": st.none() | st.dictionaries(texts, st.none() | scalars, max_size=3),
    "error": errors | st.just(KEEP),
    "content_hash": hashes,
    "count_attempt": st.booleans(),
    "next_retry_at": maybe_moment,
})


def row(store: Store, record_id: str, operation: str = OP) -> SyncState:
    state = store.get_sync(CONN, operation, record_id)
    assert state is not None, f"no sync row for {record_id}"
    return state


def seed(store: Store, state: SyncState) -> None:
    """Write a row as some earlier flx would have left it (not through the code under test)."""
    fields = {k: getattr(state, k) for k in (
        "connection", "operation", "record_id", "status", "remote_ids", "attempts", "error",
        "content_hash", "first_failed_at", "last_attempt_at", "next_retry_at", "updated_at")}
    with store.engine.begin() as conn:
        conn.execute(sa.insert(sync_state).values(**fields))


# --- next_state + put_syncs == set_sync ---------------------------------------------------------


# The store fixture is shared by the examples: each example uses record ids of its own.
@settings(max_examples=20, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(prior=priors, steps=st.lists(updates, min_size=1, max_size=5))
def test_fast_path_leaves_the_row_set_sync_leaves(store: Store, prior: SyncState | None,
                                                  steps: list[dict[str, Any]]) -> None:
    key = uuid.uuid4().hex[:12]
    slow_id, fast_id = f"slow-{key}", f"fast-{key}"
    if prior is not None:
        seed(store, replace(prior, record_id=slow_id))
        seed(store, replace(prior, record_id=fast_id))
    # What the runner holds after its claim; from then on it never reads the row again.
    held = store.get_sync(CONN, OP, fast_id) or blank_state(CONN, OP, fast_id)
    now = CLOCK
    for step, update in enumerate(steps):
        now = CLOCK + timedelta(seconds=step, microseconds=1001 * step)
        with mock.patch("flx.store.sync.utcnow", return_value=now):
            returned = store.set_sync(CONN, OP, slow_id, **update)
        held = next_state(held, **update, now=now)
        store.put_syncs([held])

    slow, fast = row(store, slow_id), row(store, fast_id)
    assert slow.updated_at == now  # the clock really was frozen for set_sync
    assert replace(fast, record_id=slow_id) == slow
    assert fast == held  # what the runtime keeps in hand is what the store holds
    assert replace(returned, record_id=fast_id) == held


def test_next_state_rejects_an_unknown_status() -> None:
    with pytest.raises(ValueError, match="unknown sync status 'snet'"):
        next_state(blank_state(CONN, OP, "A"), status="snet")


# --- put_syncs: claims, audit rows, one transaction ---------------------------------------------


def holders(store: Store) -> dict[str, str | None]:
    with store.engine.connect() as conn:
        rows = conn.execute(sa.select(sync_state.c.record_id, sync_state.c.claimed_by))
        return {r.record_id: r.claimed_by for r in rows}


def test_put_syncs_ends_claims_only_when_asked(store: Store) -> None:
    assert store.claim(CONN, OP, ["A", "B"], "worker-1") == ["A", "B"]
    a = next_state(blank_state(CONN, OP, "A"), status="in_flight", remote_ids={"draft": "1"})
    store.put_syncs([a])
    assert holders(store) == {"A": "worker-1", "B": "worker-1"}
    assert store.claim(CONN, OP, ["A"], "worker-2") == []  # still held: a checkpoint

    done = next_state(a, status="sent", remote_ids={"order": "7"}, error=None)
    store.put_syncs([done], release_claims=True)
    assert holders(store) == {"A": None, "B": "worker-1"}  # only the rows written
    assert store.get_sync(CONN, OP, "A") == done
    assert store.claim(CONN, OP, ["A", "B"], "worker-2") == ["A"]


def test_put_syncs_writes_its_audit_rows(store: Store) -> None:
    run_id = store.start_run(CONN, OP, False)
    rows = [audit_row(CONN, run_id, "post", "/api/orders?token=s3cret", 201, "17", "A"),
            audit_row(CONN, run_id, "PATCH", "https://user:pw@x.test/api/orders/17", 204, "17")]
    store.put_syncs([next_state(blank_state(CONN, OP, "A"), status="sent")], audit_rows=rows)
    store.put_syncs([], audit_rows=[audit_row(CONN, run_id, "DELETE", "/api/x/1", 204)])

    entries = store.audit_entries(connection=CONN, run_id=run_id)
    assert sorted((e["method"], e["path"], e["status"], e["remote_id"], e["record_id"])
                  for e in entries) == [
        ("DELETE", "/api/x/1", 204, None, None),
        ("PATCH", "/api/orders/17", 204, "17", None),
        ("POST", "/api/orders", 201, "17", "A")]
    assert row(store, "A").status == "sent"


def test_put_syncs_that_fails_writes_neither_rows_nor_audit_rows(store: Store) -> None:
    before = next_state(blank_state(CONN, OP, "A"), status="in_flight", remote_ids={"d": "1"})
    store.put_syncs([before])
    good = next_state(before, status="sent", remote_ids={"order": "7"}, error=None)
    new = next_state(blank_state(CONN, OP, "C"), status="sent")
    broken = replace(next_state(blank_state(CONN, OP, "B"), status="sent"), updated_at=None)

    with pytest.raises(sa.exc.IntegrityError):  # updated_at may not be NULL
        store.put_syncs([good, new, broken],
                        audit_rows=[audit_row(CONN, None, "POST", "/api/orders", 201, "7")])

    assert store.get_sync(CONN, OP, "A") == before
    assert store.get_sync(CONN, OP, "B") is None and store.get_sync(CONN, OP, "C") is None
    assert store.audit_entries(connection=CONN) == []


# --- the runtime: checkpoints and buffered audit rows -------------------------------------------


def runtime_for(store: Store) -> Runtime:
    connection = Connection(name=CONN, plugin="fakebooks", settings={})
    connector = Connector(name="fakebooks", connection_schema={}, operations=(OP,))
    return Runtime(store=store, connection=connection, connector=connector, operation=OP,
                   run_id=store.start_run(CONN, OP, False))


def audit_paths(store: Store) -> list[str]:
    return sorted(e["path"] for e in store.audit_entries(connection=CONN))


def test_checkpoint_of_a_record_in_hand_stores_it_with_the_writes_before_it(
        store: Store) -> None:
    prior = next_state(blank_state(CONN, OP, "A"), status="failed", error={"message": "x"},
                       count_attempt=True)
    store.put_syncs([prior])
    runtime = runtime_for(store)
    runtime.remember_states({"A": store.get_sync(CONN, OP, "A"), "B": None})

    runtime._audit("POST", "/api/orders", 201, "7")
    runtime.checkpoint("A", status="in_flight", remote_ids={"order": "7"})
    runtime.checkpoint("B", remote_ids={"draft": "D"})

    a, b = row(store, "A"), row(store, "B")
    assert audit_paths(store) == ["/api/orders"]
    assert (a.status, a.remote_ids, a.error, a.attempts) == (
        "in_flight", {"order": "7"}, {"message": "x"}, 1)  # the error is kept
    assert (b.status, b.remote_ids) == ("pending", {"draft": "D"})
    assert runtime.state("A") == a and runtime.state("B") == b
    assert runtime.take_states(["A", "B"]) == {"A": a, "B": b}


def test_checkpoint_of_another_record_reads_and_writes_it(store: Store) -> None:
    store.put_syncs([next_state(blank_state(CONN, "send-shipments", "S"), status="waiting",
                                error={"message": "no order yet"})])
    runtime = runtime_for(store)
    runtime._audit("POST", "/api/shipments", 201, "9")
    runtime.checkpoint("S", status="in_flight", remote_ids={"shipment": "9"},
                       operation="send-shipments")
    saved = row(store, "S", "send-shipments")
    assert (saved.status, saved.remote_ids, saved.error) == (
        "in_flight", {"shipment": "9"}, {"message": "no order yet"})
    assert audit_paths(store) == ["/api/shipments"]


def test_close_writes_the_audit_rows_no_checkpoint_took(store: Store) -> None:
    runtime = runtime_for(store)
    runtime._audit("POST", "/api/orders", 201, "7")
    runtime._audit("POST", "/api/orders", 201, "8")
    runtime.close()
    entries = store.audit_entries(connection=CONN, run_id=runtime.run_id)
    assert sorted(e["remote_id"] for e in entries) == ["7", "8"]
    runtime.close()  # nothing twice
    assert len(store.audit_entries(connection=CONN)) == 2
