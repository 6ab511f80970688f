"""The store, on SQLite and PostgreSQL alike (the `store` fixture runs each test on both)."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa

from flx.errors import AbortError, ConfigError, RetryableError
from flx.records.validate import content_hash
from flx.store import engine as store_engine
from flx.store.store import Store
from flx.store.tables import MIGRATIONS, audit_record_index, schema_version, utcnow
from flx.store.tables import audit as audit_table

OP = "send-orders"


def order(order_id: str, **extra: object) -> dict[str, object]:
    return {"id": order_id, "lines": [{"id": "L1", "sku": "SKU", "quantity": 1}], **extra}


def ids(store: Store, **kwargs: object) -> list[str]:
    return [str(r["id"]) for r, _ in store.candidates("prod", OP, "order", **kwargs)]  # type: ignore[arg-type]


# --- records ---------------------------------------------------------------------------------


def test_upsert_counts_inserted_updated_unchanged(store: Store) -> None:
    first = store.upsert_records("order", [order("A"), order("B")])
    assert (first.inserted, first.updated, first.unchanged) == (2, 0, 0)
    again = store.upsert_records("order", [order("A"), order("B", status="cancelled"), order("C")])
    assert (again.inserted, again.updated, again.unchanged) == (1, 1, 1)
    assert store.get_record("order", "B") == order("B", status="cancelled")
    assert store.count_records("order") == 3
    assert store.get_record("order", "nope") is None
    assert store.get_record("shipment", "A") is None  # kinds are separate


def test_reimport_updates_the_record_and_keeps_its_sync_history(store: Store) -> None:
    store.upsert_records("order", [order("A")])
    store.set_sync("prod", OP, "A", status="sent", remote_ids={"sales_order": "812"},
                   content_hash=content_hash(order("A")), count_attempt=True)
    imported = store.record_info("order", "A")
    store.upsert_records("order", [order("A", channel="amazon")])
    assert store.get_record("order", "A") == order("A", channel="amazon")
    state = store.get_sync("prod", OP, "A")
    assert state is not None
    assert (state.status, state.remote_ids, state.attempts) == ("sent", {"sales_order": "812"}, 1)
    info = store.record_info("order", "A")
    assert imported is not None and info is not None
    assert info["imported_at"] == imported["imported_at"]
    assert info["content_hash"] == content_hash(order("A", channel="amazon"))


def test_money_is_stored_exactly_as_given(store: Store) -> None:
    record = order("A", tax_total=Decimal("3.20"), shipping={"amount": "5.00"},
                   fee=Decimal("0.1234"))
    store.upsert_records("order", [record])
    stored = store.get_record("order", "A")
    assert stored is not None
    assert stored["shipping"] == {"amount": "5.00"}
    assert Decimal(repr(stored["tax_total"])) == Decimal("3.20")
    assert Decimal(repr(stored["fee"])) == Decimal("0.1234")
    # what candidates hand out hashes to what was stored: the runner relies on this
    assert content_hash(stored) == content_hash(record)


def test_iter_records_streams_in_id_order_and_can_select_ids(store: Store) -> None:
    store.upsert_records("order", [order(i) for i in ["ORD-3", "ORD-1", "ORD-2", "ORD-10"]])
    assert [r["id"] for r in store.iter_records("order", batch=2)] == [
        "ORD-1", "ORD-10", "ORD-2", "ORD-3"]
    assert [r["id"] for r in store.iter_records("order", ids=["ORD-3", "X", "ORD-1"])] == [
        "ORD-1", "ORD-3"]


def test_a_record_without_a_text_id_is_refused_and_nothing_is_written(store: Store) -> None:
    with pytest.raises(ValueError, match="needs a text id"):
        store.upsert_records("order", [order("A"), {"lines": []}])
    assert store.count_records("order") == 0
    with pytest.raises(ValueError, match="is not a record kind"):
        store.upsert_records("Invoice!", [order("A")])


def test_an_exception_inside_a_transaction_leaves_nothing_written(store: Store) -> None:
    store.upsert_records("order", [order("KEEP")])
    with pytest.raises(RuntimeError, match="crash"):
        with store.transaction():
            store.upsert_records("order", [order("A"), order("KEEP", status="changed")])
            store.set_sync("prod", OP, "A", status="sent", remote_ids={"sales_order": "1"})
            store.cache_put_many("prod", "item", {"SKU": "5"})
            raise RuntimeError("crash")
    assert store.get_record("order", "A") is None
    assert store.get_record("order", "KEEP") == order("KEEP")
    assert store.get_sync("prod", OP, "A") is None
    assert store.cache_get_many("prod", "item", ["SKU"]) == {}


# --- candidates --------------------------------------------------------------------------------


@pytest.fixture
def five(store: Store) -> Store:
    store.upsert_records("order", [order(f"O{i}") for i in range(1, 6)])
    return store


def test_records_never_tried_are_candidates_in_id_order(five: Store) -> None:
    found = list(five.candidates("prod", OP, "order"))
    assert [r["id"] for r, _ in found] == ["O1", "O2", "O3", "O4", "O5"]
    assert all(state is None for _, state in found)
    assert ids(five, limit=2) == ["O1", "O2"]


@pytest.mark.parametrize("status", ["pending", "waiting", "in_flight"])
def test_open_statuses_are_candidates(five: Store, status: str) -> None:
    five.set_sync("prod", OP, "O2", status=status)
    found = dict((r["id"], s) for r, s in five.candidates("prod", OP, "order"))
    assert found["O2"] is not None and found["O2"].status == status


@pytest.mark.parametrize("status", ["sent", "linked", "skipped"])
def test_done_records_only_with_include_done(five: Store, status: str) -> None:
    five.set_sync("prod", OP, "O2", status=status)
    assert "O2" not in ids(five)
    assert "O2" not in ids(five, only=["O2"])
    assert ids(five, include_done=True) == ["O1", "O2", "O3", "O4", "O5"]


def test_failed_records_wait_for_their_retry_time(five: Store) -> None:
    now = utcnow()
    digest = content_hash(order("O2"))
    five.set_sync("prod", OP, "O2", status="failed", content_hash=digest,
                  next_retry_at=now + timedelta(minutes=10))
    assert "O2" not in ids(five, now=now)
    assert "O2" in ids(five, now=now + timedelta(minutes=10))


def test_a_failed_record_without_retry_time_waits_for_a_change(five: Store) -> None:
    five.set_sync("prod", OP, "O2", status="failed", content_hash=content_hash(order("O2")))
    assert "O2" not in ids(five, now=utcnow() + timedelta(days=365))
    five.upsert_records("order", [order("O2", note="fixed the SKU")])
    assert "O2" in ids(five)


def test_only_restricts_and_takes_failed_records_whatever_their_retry_time(five: Store) -> None:
    five.set_sync("prod", OP, "O4", status="failed", content_hash=content_hash(order("O4")),
                  next_retry_at=utcnow() + timedelta(days=1))
    assert ids(five, only=["O4", "O1", "missing"]) == ["O1", "O4"]


def test_other_connections_operations_and_kinds_do_not_interfere(five: Store) -> None:
    five.set_sync("other", OP, "O1", status="sent")
    five.set_sync("prod", "send-shipments", "O2", status="sent")
    five.upsert_records("shipment", [{"id": "O0", "order_id": "O1", "items": []}])
    assert ids(five) == ["O1", "O2", "O3", "O4", "O5"]


def test_candidates_page_through_large_sets_without_skipping(store: Store) -> None:
    store.upsert_records("order", [order(f"ORD-{i:04d}") for i in range(2500)])
    for i in range(0, 2500, 3):
        store.set_sync("prod", OP, f"ORD-{i:04d}", status="sent")
    got = [r["id"] for r, _ in store.candidates("prod", OP, "order", batch=7)]
    expected = [f"ORD-{i:04d}" for i in range(2500) if i % 3]
    assert got == expected
    assert len(ids(store, only=[f"ORD-{i:04d}" for i in range(2500)])) == len(expected)


# --- set_sync ---------------------------------------------------------------------------------


def test_set_sync_merges_remote_ids(store: Store) -> None:
    store.set_sync("prod", OP, "A", status="in_flight", remote_ids={"sales_order": "812"})
    store.set_sync("prod", OP, "A", status="sent", remote_ids={"purchase_order:FR-2": "77"})
    state = store.get_sync("prod", OP, "A")
    assert state is not None
    assert state.remote_ids == {"sales_order": "812", "purchase_order:FR-2": "77"}
    store.set_sync("prod", OP, "A", status="sent", remote_ids={"purchase_order:FR-2": None})
    assert store.get_sync("prod", OP, "A").remote_ids == {"sales_order": "812"}  # type: ignore[union-attr]


def test_attempts_and_first_failure_are_tracked(store: Store) -> None:
    error = {"class": "outage", "message": "NetSuite answered 503"}
    first = store.set_sync("prod", OP, "A", status="failed", error=error, count_attempt=True,
                           content_hash="h1")
    assert first.attempts == 1 and first.first_failed_at is not None
    second = store.set_sync("prod", OP, "A", status="failed", error=error, count_attempt=True)
    assert second.attempts == 2
    assert second.first_failed_at == first.first_failed_at  # the first failure is kept
    assert second.content_hash == "h1"  # kept when not given
    checkpoint = store.set_sync("prod", OP, "A", status="in_flight", error=error)
    assert checkpoint.attempts == 2  # not an attempt
    done = store.set_sync("prod", OP, "A", status="sent", count_attempt=True)
    assert (done.attempts, done.first_failed_at, done.error) == (3, None, None)
    assert store.get_sync("prod", OP, "A") == done


def test_an_unknown_status_is_refused(store: Store) -> None:
    with pytest.raises(ValueError, match="unknown sync status 'done'"):
        store.set_sync("prod", OP, "A", status="done")


def test_iter_sync_and_summary(store: Store) -> None:
    for rid, status in [("C", "failed"), ("A", "failed"), ("B", "sent")]:
        store.set_sync("prod", OP, rid, status=status)
    assert [s.record_id for s in store.iter_sync("prod", OP, statuses=["failed"])] == ["A", "C"]
    assert {(r["status"], r["count"]) for r in store.sync_summary("prod")} == {
        ("failed", 2), ("sent", 1)}


def test_concurrent_workers_all_land(store: Store) -> None:
    def work(n: int) -> None:
        for i in range(25):
            store.set_sync("prod", OP, f"W{n}-{i}", status="sent", remote_ids={"n": n})
            store.audit("prod", None, "POST", "/x", 204)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(list(store.iter_sync("prod", OP))) == 150
    assert len(store.audit_entries(limit=1000)) == 150


# --- claims ------------------------------------------------------------------------------------


def test_claims_split_work_between_workers(five: Store) -> None:
    mine = five.claim("prod", OP, ["O1", "O2", "O3"], "w1")
    theirs = five.claim("prod", OP, ["O2", "O3", "O4"], "w2")
    assert (mine, theirs) == (["O1", "O2", "O3"], ["O4"])
    assert ids(five, owner="w2") == ["O4", "O5"]
    assert ids(five, owner="w1") == ["O1", "O2", "O3", "O5"]
    five.set_sync("prod", OP, "O1", status="failed", next_retry_at=utcnow())  # ends the claim
    five.release_claims("prod", OP, ["O2"], "w1")
    assert five.claim("prod", OP, ["O1", "O2", "O3"], "w2") == ["O1", "O2"]
    later = utcnow() + timedelta(hours=1)
    assert five.claim("prod", OP, ["O3"], "w2", now=later) == ["O3"]  # w1's claim expired


def test_concurrent_claims_never_overlap(store_url: str) -> None:
    stores = [Store(store_url) for _ in range(4)]
    wanted = [f"R{i:03d}" for i in range(200)]
    results: dict[int, list[str]] = {}

    def claim(n: int) -> None:
        results[n] = stores[n].claim("prod", OP, wanted, f"worker-{n}")

    try:
        threads = [threading.Thread(target=claim, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        for s in stores:
            s.close()
    claimed = [rid for got in results.values() for rid in got]
    assert sorted(claimed) == wanted  # every record exactly once


# --- cache, runs, audit ------------------------------------------------------------------------


def test_lookup_cache(store: Store) -> None:
    store.cache_put_many("prod", "item", {"SKU-1": "11", "SKU-2": "12"})
    store.cache_put_many("prod", "item", {"SKU-2": "22"})
    store.cache_put_many("other", "item", {"SKU-1": "99"})
    assert store.cache_get_many("prod", "item", ["SKU-1", "SKU-2", "SKU-3"]) == {
        "SKU-1": "11", "SKU-2": "22"}
    assert store.cache_clear("prod", "item") == 2
    assert store.cache_get_many("prod", "item", ["SKU-1"]) == {}
    assert store.cache_get_many("other", "item", ["SKU-1"]) == {"SKU-1": "99"}


def test_runs_are_recorded_newest_first(store: Store) -> None:
    first = store.start_run("prod", OP, dry_run=False)
    second = store.start_run("prod", "send-shipments", dry_run=True)
    store.finish_run(first, {"sent": 3, "failed": 1}, "partial")
    runs = store.recent_runs()
    assert [r["id"] for r in runs] == [second, first]
    assert runs[1]["counts"] == {"sent": 3, "failed": 1} and runs[1]["status"] == "partial"
    assert runs[1]["finished_at"] >= runs[1]["started_at"]
    assert runs[0]["status"] == "running" and runs[0]["dry_run"] is True
    assert [r["id"] for r in store.recent_runs(operation=OP)] == [first]
    assert store.recent_runs(connection="other") == []


def test_audit_keeps_the_path_and_never_a_secret(store: Store, store_url: str) -> None:
    secret = "tok3n-S3CRET-value"
    store.audit("prod", 7, "post", f"https://user:{secret}@1234.suitetalk.api.netsuite.com"
                f"/services/rest/record/v1/salesOrder?access_token={secret}#{secret}", 204,
                remote_id="812", record_id="ORD-1")
    store.audit("prod", 7, "PATCH", f"/record/v1/salesOrder/812?sig={secret}", 204)
    entries = store.audit_entries(connection="prod", run_id=7)
    assert [(e["method"], e["path"]) for e in entries] == [
        ("PATCH", "/record/v1/salesOrder/812"),
        ("POST", "/services/rest/record/v1/salesOrder")]
    assert entries[1]["remote_id"] == "812" and entries[1]["record_id"] == "ORD-1"
    # there is nowhere to put headers or bodies, and nothing of the secret reached the database
    assert set(audit_table.c.keys()) == {"id", "at", "connection", "run_id", "method", "path",
                                         "status", "remote_id", "record_id"}
    with store.engine.connect() as conn:
        dumped = repr(conn.execute(sa.select(audit_table)).all())
    assert secret not in dumped


# --- locks -------------------------------------------------------------------------------------


def test_a_lock_has_one_owner_until_it_expires(store: Store) -> None:
    now = utcnow()
    assert store.acquire_lock("run:prod:send-orders", "a", 60, now=now)
    assert not store.acquire_lock("run:prod:send-orders", "b", 60, now=now)
    assert store.acquire_lock("run:prod:send-orders", "a", 60, now=now)  # renew
    assert store.lock_holder("run:prod:send-orders", now=now) == "a"
    assert not store.release_lock("run:prod:send-orders", "b")  # not b's to release
    assert not store.acquire_lock("run:prod:send-orders", "b", 60, now=now + timedelta(seconds=59))
    assert store.acquire_lock("run:prod:send-orders", "b", 60,
                              now=now + timedelta(seconds=61))  # a's lock expired
    assert store.release_lock("run:prod:send-orders", "b")
    assert store.lock_holder("run:prod:send-orders") is None
    assert store.acquire_lock("run:prod:send-orders", "a", 60)


def test_only_one_of_several_processes_gets_a_lock(store_url: str, tmp_path: Path) -> None:
    Store(store_url).close()  # create the schema first; the race is about the lock
    # A barrier, not a clock: each process says it is connected, then waits for "go", which
    # is sent once all are ready; a loaded machine cannot make one start before the others.
    script = textwrap.dedent("""
        import sys
        from flx.store.store import Store
        url, owner = sys.argv[1], sys.argv[2]
        with Store(url) as store:
            store.count_records("order")  # connect and check the schema before the race
            print("ready", flush=True)
            sys.stdin.readline()
            print("won" if store.acquire_lock("the-lock", owner, 300) else "lost", flush=True)
    """)
    root = Path(__file__).resolve().parents[2]
    procs = [subprocess.Popen([sys.executable, "-c", script, store_url, f"p{n}"],
                              cwd=root, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for n in range(4)]
    for proc in procs:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", \
            proc.stderr.read() if proc.stderr else ""
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()
    outcomes = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outcomes.append(out.strip())
    assert sorted(outcomes) == ["lost", "lost", "lost", "won"]


# --- opening -----------------------------------------------------------------------------------


def test_reopening_keeps_data_and_schema_version(store_url: str) -> None:
    with Store(store_url) as first:
        first.upsert_records("order", [order("A")])
    with Store(store_url) as second:
        assert second.get_record("order", "A") == order("A")
        with second.engine.connect() as conn:
            assert conn.scalar(sa.select(schema_version.c.version)) == len(MIGRATIONS)


def test_a_store_of_schema_version_1_is_brought_up_to_date(store_url: str) -> None:
    with Store(store_url) as first:  # a database as flx's first schema left it
        first.upsert_records("order", [order("A")])
        with first.engine.begin() as conn:
            audit_record_index.drop(conn)
            conn.execute(sa.text("ALTER TABLE runs DROP COLUMN error"))
            conn.execute(sa.text("DROP TABLE plugin_state"))
            # the first schema's index on statuses, without the record id
            conn.execute(sa.text("DROP INDEX ix_sync_state_status_id"))
            conn.execute(sa.text("CREATE INDEX ix_sync_state_status "
                                 "ON sync_state (connection, operation, status)"))
            conn.execute(sa.update(schema_version).values(version=1))
    with Store(store_url) as second:
        second.audit("prod", 1, "POST", "/record/v1/salesOrder", 204, "7", record_id="A")
        assert [e["remote_id"] for e in second.audit_entries(record_id="A")] == ["7"]
        run = second.start_run("prod", "send-orders", False)
        second.finish_run(run, {"sent": 0}, "aborted", error={"class": "authentication",
                                                              "message": "refused"})
        assert second.recent_runs()[0]["error"] == {"class": "authentication",
                                                    "message": "refused"}
        assert second.get_record("order", "A") == order("A")
        assert second.state_put("connection:prod", "cursor", "7") == 1
        with second.engine.connect() as conn:
            assert conn.scalar(sa.select(schema_version.c.version)) == len(MIGRATIONS) >= 6
            names = {i["name"] for i in sa.inspect(conn).get_indexes("audit")}
            sync_indexes = {i["name"] for i in sa.inspect(conn).get_indexes("sync_state")}
        assert "ix_audit_record" in names
        assert "ix_sync_state_status_id" in sync_indexes
        assert "ix_sync_state_status" not in sync_indexes


def test_a_store_from_a_newer_flx_is_refused(store_url: str) -> None:
    with Store(store_url) as first:
        first.count_records("order")
        with first.engine.begin() as conn:
            conn.execute(sa.update(schema_version).values(version=99))
    with Store(store_url) as second, pytest.raises(AbortError, match="newer flx"):
        second.count_records("order")


def test_sqlite_runs_in_wal_mode(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'sub' / 'flx.db'}") as store:  # parent dir created
        store.count_records("order")
        with store.engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1


def test_in_memory_sqlite_is_shared_by_threads() -> None:
    with Store("sqlite://") as store:
        worker = threading.Thread(target=store.upsert_records, args=("order", [order("A")]))
        worker.start()
        worker.join()
        assert store.get_record("order", "A") == order("A")


def test_urls_pick_the_driver_and_hide_the_password() -> None:
    store = Store("postgres://flx:hunter2@127.0.0.1:1/flx")
    assert store.engine.dialect.driver == "psycopg"
    assert "hunter2" not in repr(store) and "hunter2" not in store.url
    with pytest.raises(AbortError) as caught:
        store.count_records("order")  # nothing listens on port 1
    assert "cannot open the store" in caught.value.message
    assert "hunter2" not in str(caught.value)
    store.close()
    with pytest.raises(ConfigError, match="does not support"):
        Store("mysql://root@localhost/flx")
    with pytest.raises(ConfigError, match="not a database URL"):
        Store("flx.db")


def test_a_store_locked_by_another_process_says_so(tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_engine, "BUSY_TIMEOUT_MS", 100)  # do not wait 30 s in a test
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        store.count_records("order")
        other = sqlite3.connect(tmp_path / "flx.db", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")  # another process holds the write lock
        try:
            with pytest.raises(RetryableError, match="is busy: another flx process"):
                store.upsert_records("order", [order("A")])
        finally:
            other.execute("ROLLBACK")
            other.close()
        store.upsert_records("order", [order("A")])  # free again
        assert store.count_records("order") == 1


def test_a_store_folder_that_cannot_be_created_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    with pytest.raises(ConfigError, match="cannot create the folder"):
        Store(f"sqlite:///{tmp_path / 'a-file' / 'flx.db'}")
