"""The shared concurrency budget: several processes on one PostgreSQL store never hold more
slots than the account's limit, whatever their own settings; a 429 backs all of them off; a
dead process's slots come back only after its lease; a terminated connection costs nothing."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

from flx.store.budget import DatabaseBudget, database_budget, fair_share
from flx.store.store import Store


def _url(schema_url: str) -> object:
    return make_url(schema_url).set(drivername="postgresql+psycopg")


def _hammer(budgets: list[DatabaseBudget], threads_each: int, rounds: int) -> int:
    """Every budget's threads take and give back slots; returns the most held at once."""
    holding, peak, lock = 0, 0, threading.Lock()
    done: list[int] = []

    def worker(budget: DatabaseBudget, n: int) -> None:
        nonlocal holding, peak
        for _ in range(rounds):
            budget.acquire()
            with lock:
                holding += 1
                peak = max(peak, holding)
            time.sleep(0.005)
            with lock:
                holding -= 1
            budget.release()
        done.append(n)

    threads = [threading.Thread(target=worker, args=(b, i))
               for i, b in enumerate(b for b in budgets for _ in range(threads_each))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert len(done) == len(threads)
    return peak


def test_workers_with_different_local_limits_share_the_stated_account_limit(
        postgres_schema_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = _url(postgres_schema_url)
    # Three processes' budgets: local concurrency 2, 5 and 10, the account's limit stated as 3.
    budgets = [DatabaseBudget(url, name, local, stated_limit=3, explicit=True)
               for local in (2, 5, 10)]
    try:
        peak = _hammer(budgets, threads_each=6, rounds=15)
    finally:
        for budget in budgets:
            budget.close()
    assert peak == 3


def test_without_a_stated_limit_the_stored_one_holds_for_later_workers(
        postgres_schema_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = _url(postgres_schema_url)
    first = DatabaseBudget(url, name, 2)
    first.acquire()  # alive and working: a later worker set to 6 does not raise the limit
    later = DatabaseBudget(url, name, 6)
    try:
        later.renew_now()
        assert (later.account_limit, later.current) == (2, 2)
        first.release()
    finally:
        first.close()
        later.close()


def test_a_429_backs_off_every_worker_and_successes_win_it_back(
        postgres_schema_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = _url(postgres_schema_url)
    a = DatabaseBudget(url, name, 4, stated_limit=4, explicit=True)
    b = DatabaseBudget(url, name, 4, stated_limit=4, explicit=True)
    try:
        a.acquire()
        a.release()
        a.record_rate_limited()
        a.renew_now()
        assert a.current == 3
        b.acquire()
        b.release()
        assert b.current == 3  # b never saw a 429 itself
        for _ in range(20):
            b.record_success()
        b.renew_now()
        assert b.current == 4
    finally:
        a.close()
        b.close()


def test_a_dead_workers_slots_come_back_only_after_its_lease(postgres_schema_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = _url(postgres_schema_url)
    dead = DatabaseBudget(url, name, 1, stated_limit=1, explicit=True)
    dead.lease_seconds = 2.0  # normally the request timeout + START_WINDOW
    survivor = DatabaseBudget(url, name, 1, stated_limit=1, explicit=True)
    try:
        dead.acquire()
        # The process dies: no renewal, no goodbye; its lease stays in the store.
        dead._closed = True
        dead._wake.set()
        assert dead._thread is not None
        dead._thread.join(5)
        dead._engine.dispose()
        started = time.monotonic()
        assert survivor.try_acquire() is False
        while not survivor.try_acquire():
            assert time.monotonic() - started < 10, "the dead worker's slot never came back"
            time.sleep(0.05)
        waited = time.monotonic() - started
        survivor.release()
    finally:
        survivor.close()
    assert 1.0 < waited < 6  # not before its requests could have finished, soon after


def test_terminated_connections_are_replaced(postgres_url: str,
                                             postgres_schema_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    app = f"flx_test_{uuid.uuid4().hex[:12]}"  # only this test's connections are killed
    url = make_url(postgres_schema_url).set(drivername="postgresql+psycopg") \
        .update_query_dict({"application_name": app})
    budget = DatabaseBudget(url, name, 2)
    try:
        budget.acquire()
        budget.release()
        admin = make_url(postgres_url).set(drivername="postgresql").render_as_string(
            hide_password=False)
        with psycopg.connect(admin, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s", (app,)).fetchone()
        assert killed is not None and killed[0] == 1
        assert _hammer([budget], threads_each=3, rounds=5) <= 2
    finally:
        budget.close()


def test_fair_shares_add_up_to_the_limit() -> None:
    holders = ["a", "b", "c"]
    assert [fair_share(5, holders, h) for h in holders] == [2, 2, 1]
    assert sum(fair_share(7, holders, h) for h in holders) == 7


def test_sqlite_stores_have_no_shared_budget(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        assert database_budget(store, "netsuite:1", 5) is None


_CHILD = """
import os, sys
from sqlalchemy.engine import make_url
from flx.store.budget import _BUDGETS, DatabaseBudget
budget = DatabaseBudget(make_url(sys.argv[1]), sys.argv[2], 3)
_BUDGETS[("test", sys.argv[2])] = budget
budget.acquire()
budget.release()
budget.renew_now()
budget.acquire()  # in flight when the process ends
if sys.argv[3] == "killed":
    os._exit(0)
"""


def test_a_process_that_ends_gives_its_slots_back_and_a_killed_one_keeps_them(
        postgres_schema_url: str) -> None:
    import os
    import subprocess
    import sys

    import sqlalchemy as sa

    url = make_url(postgres_schema_url).set(drivername="postgresql+psycopg")
    root = Path(__file__).resolve().parents[2]
    engine = sa.create_engine(url)
    try:
        for how, left in (("ended", 0), ("killed", 1)):
            name = f"test:{uuid.uuid4().hex}"
            subprocess.run([sys.executable, "-c", _CHILD,
                            url.render_as_string(hide_password=False), name, how],
                           check=True, timeout=120, cwd=root,
                           env={**os.environ, "PYTHONPATH": str(root)})
            with engine.connect() as conn:
                leases = conn.execute(sa.text(
                    "SELECT count(*) FROM flx_budget_leases WHERE name = :n"), {"n": name})
                assert leases.scalar() == left, how
    finally:
        engine.dispose()
