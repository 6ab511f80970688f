"""The shared concurrency budget: several processes on one PostgreSQL store never hold more
slots than the account's limit, and a dead process gives its slots back."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

from sqlalchemy.engine import make_url

from core.budget import DatabaseBudget, database_budget
from core.store import Store


def test_workers_sharing_a_budget_never_exceed_the_limit(postgres_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = make_url(postgres_url).set(drivername="postgresql+psycopg")
    # Three budgets = three independent sets of sessions, as three flx processes would have.
    budgets = [DatabaseBudget(url, name, 2) for _ in range(3)]
    holding, peak, lock = 0, 0, threading.Lock()
    done: list[int] = []

    def worker(budget: DatabaseBudget, n: int) -> None:
        nonlocal holding, peak
        for _ in range(5):
            budget.acquire()
            with lock:
                holding += 1
                peak = max(peak, holding)
            threading.Event().wait(0.002)
            with lock:
                holding -= 1
            budget.release()
        done.append(n)

    threads = [threading.Thread(target=worker, args=(budgets[i % 3], i)) for i in range(9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for budget in budgets:
        budget.close()
    assert len(done) == 9
    assert peak == 2


def test_a_closed_session_gives_its_slot_back(postgres_url: str) -> None:
    name = f"test:{uuid.uuid4().hex}"
    url = make_url(postgres_url).set(drivername="postgresql+psycopg")
    crashed, survivor = DatabaseBudget(url, name, 1), DatabaseBudget(url, name, 1)
    crashed.acquire()
    assert survivor.try_acquire() is False
    crashed.close()  # the process died: the server drops its session and its locks
    deadline = time.monotonic() + 5  # the server ends the session a moment after the close
    while not survivor.try_acquire():
        assert time.monotonic() < deadline, "the closed session's slot was never freed"
        time.sleep(0.01)
    survivor.release()
    survivor.close()


def test_sqlite_stores_have_no_shared_budget(tmp_path: Path) -> None:
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        assert database_budget(store, "netsuite:1", 5) is None
