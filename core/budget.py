"""A concurrency budget shared by every flx process that uses one PostgreSQL store.

NetSuite limits concurrent requests per account, not per process. With several workers on
several machines (design.md §9), each request takes one of `limit` slots first. A slot is a
PostgreSQL session-level advisory lock `(key, n)`: the server releases it by itself when a
process dies, so a crashed worker never leaks budget. SQLite stores are single-machine: there
the in-process limiter is the whole budget, and `database_budget()` returns None."""

from __future__ import annotations

import random
import threading
import time
import zlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Connection
from sqlalchemy.pool import NullPool

if TYPE_CHECKING:
    from core.store import Store

POLL_START = 0.002
POLL_MAX = 0.05


class DatabaseBudget:
    """acquire()/release() one of `limit` slots named `name`, across processes."""

    def __init__(self, url: object, name: str, limit: int, *,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.key = zlib.crc32(name.encode()) & 0x7FFFFFFF
        self._engine = create_engine(url, poolclass=NullPool)  # type: ignore[call-overload]
        self._local = threading.local()
        self._sleep = sleep
        self._connections: list[Connection] = []
        self._guard = threading.Lock()

    def _session(self) -> Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            self._local.conn = conn
            self._local.held = []
            with self._guard:
                self._connections.append(conn)
        return conn

    def try_acquire(self) -> bool:
        conn = self._session()
        for slot in random.sample(range(self.limit), self.limit):
            taken = conn.execute(text("SELECT pg_try_advisory_lock(:k, :s)"),
                                 {"k": self.key, "s": slot}).scalar()
            if taken:
                self._local.held.append(slot)
                return True
        return False

    def acquire(self) -> None:
        delay = POLL_START
        while not self.try_acquire():
            self._sleep(delay * random.uniform(0.5, 1.0))
            delay = min(delay * 2, POLL_MAX)

    def release(self) -> None:
        slot = self._local.held.pop()
        self._session().execute(text("SELECT pg_advisory_unlock(:k, :s)"),
                                {"k": self.key, "s": slot})

    def close(self) -> None:
        with self._guard:
            for conn in self._connections:
                conn.close()
            self._connections.clear()
        self._engine.dispose()


_BUDGETS: dict[tuple[str, str], DatabaseBudget] = {}
_LOCK = threading.Lock()


def database_budget(store: Store, name: str, limit: int) -> DatabaseBudget | None:
    """The process-wide shared budget `name` on this store, or None on SQLite."""
    if getattr(store, "dialect", None) != "postgresql":
        return None
    key = (store.url, name)
    with _LOCK:
        budget = _BUDGETS.get(key)
        if budget is None or budget.limit != limit:
            budget = DatabaseBudget(store._url, name, limit)
            _BUDGETS[key] = budget
        return budget
