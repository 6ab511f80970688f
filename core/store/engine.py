"""Opening the store's database from a URL alone: SQLite (default) or PostgreSQL (psycopg 3).

SQLite is set up for a worker pool and for several processes on one file: WAL (readers never
block the writer), a busy timeout, foreign keys, and transactions begun by us rather than by
the sqlite3 module, so a write transaction starts with BEGIN IMMEDIATE (takes the write lock
up front; no deadlock when a reader later wants to write) and reads start with plain BEGIN.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

from flx.errors import ConfigError
from flx.records.validate import normalize

__all__ = ["normalize_url", "create_store_engine", "masked", "BEGIN_OPTION", "pg_connect_args"]

BUSY_TIMEOUT_MS = 30_000
BEGIN_OPTION = "flx_begin"  # execution option read by the SQLite "begin" listener


def normalize_url(url: str) -> URL:
    """`postgresql://` / `postgres://` use psycopg 3; `sqlite:///path` a file (":memory:" or
    `sqlite://` an in-memory database). Anything else is refused with a fix."""
    try:
        parsed = make_url(url.strip())
    except sa.exc.ArgumentError:
        raise ConfigError(
            "the store url is not a database URL",
            hint="use sqlite:///flx.db or postgresql://user@host:5432/dbname in [store] url",
        ) from None
    backend = parsed.get_backend_name()
    if backend in ("postgresql", "postgres"):
        return parsed.set(drivername="postgresql+psycopg")
    if backend == "sqlite" and parsed.get_driver_name() in ("pysqlite", ""):
        return parsed.set(drivername="sqlite+pysqlite")
    raise ConfigError(
        f"the store url uses {parsed.drivername!r}, which flx does not support",
        hint="use sqlite:///flx.db or postgresql://user@host:5432/dbname in [store] url",
    )


def masked(url: URL) -> str:
    """The URL as it may be shown: password replaced by ***."""
    return url.render_as_string(hide_password=True)


def _json_default(value: Any) -> Any:
    # Same rules as flx.records.validate.canonical_json, so stored data hashes as it was given.
    if isinstance(value, Decimal):
        return normalize(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


class JsonText(str):
    """JSON already written (by flx.records.validate.canonical_json): stored as it is, so a record
    is serialised once to be hashed and stored."""

    __slots__ = ()


def _dumps(value: Any) -> str:
    if type(value) is JsonText:
        return str(value)
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_json_default,
                      allow_nan=False)


def is_memory_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


def create_store_engine(url: URL, *, pool_size: int = 10) -> Engine:
    """On PostgreSQL a bounded pool: at most `pool_size` connections, never more (a thread
    that finds them all busy waits for one), each checked on checkout, so a connection the
    server dropped is replaced instead of failing the next statement."""
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    target, args = pg_connect_args(url)
    return sa.create_engine(
        target, json_serializer=_dumps, pool_size=pool_size, max_overflow=0, pool_timeout=120,
        pool_pre_ping=True, connect_args=args,
    )


def pg_connect_args(url: URL) -> tuple[URL, dict[str, Any]]:
    """The URL to connect to and psycopg's arguments: a connect timeout, `flx` as the
    application name in pg_stat_activity unless the URL names one (?application_name=...),
    and `?prepare_threshold=none` (taken out of the URL) to never use server-side prepared
    statements, for PgBouncer in transaction mode before 1.21."""
    args: dict[str, Any] = {"connect_timeout": 10}
    if "application_name" not in url.query:
        args["application_name"] = "flx"
    threshold = url.query.get("prepare_threshold")
    if threshold is not None:
        value = threshold if isinstance(threshold, str) else threshold[0]
        if value.strip().lower() in ("none", "off", "never"):
            args["prepare_threshold"] = None
        elif value.strip().isdigit():
            args["prepare_threshold"] = int(value)
        else:
            raise ConfigError(f"prepare_threshold={value!r} in the store url is not a number",
                              hint="use ?prepare_threshold=none (never prepare: PgBouncer in "
                                   "transaction mode) or a whole number")
        url = url.difference_update_query(["prepare_threshold"])
    return url, args


def _sqlite_engine(url: URL) -> Engine:
    memory = is_memory_sqlite(url)
    if memory:
        # One shared connection: every thread must see the same in-memory database. The Store
        # serialises all access to it (see Store._conn).
        engine = sa.create_engine(url, json_serializer=_dumps, poolclass=StaticPool,
                                  connect_args={"check_same_thread": False})
    else:
        path = Path(str(url.database)).expanduser()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ConfigError(
                f"cannot create the folder {path.parent} for the store: {exc.strerror}",
                hint="point [store] url in flx.toml at a folder you may write to") from None
        _create_private(path)
        engine = sa.create_engine(
            url, json_serializer=_dumps, pool_size=10, max_overflow=10,
            connect_args={"check_same_thread": False, "timeout": BUSY_TIMEOUT_MS / 1000},
        )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, record: Any) -> None:
        dbapi_conn.isolation_level = None  # we emit BEGIN ourselves (see _on_begin)
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        if not memory:
            _use_wal(cursor)
            cursor.execute("PRAGMA synchronous=NORMAL")  # safe with WAL; far fewer fsyncs
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: sa.Connection) -> None:
        # On the driver: every store transaction begins here, and SQLAlchemy's execution
        # set-up would cost more than the BEGIN itself. Errors are said as SQLAlchemy says them.
        sql = f"BEGIN {conn.get_execution_options().get(BEGIN_OPTION, 'DEFERRED')}"
        try:
            conn.connection.driver_connection.execute(sql)  # type: ignore[union-attr]
        except sqlite3.Error as exc:
            raise sa.exc.DBAPIError.instance(sql, None, exc, sqlite3.Error) from exc

    return engine


def _create_private(path: Path) -> None:
    """Create a new store file readable by its owner only (it holds customer data). SQLite
    gives its -wal, -shm and -journal files the mode of the database file, so they follow.
    An existing file keeps the mode its owner chose."""
    try:
        os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    except FileExistsError:
        pass
    except OSError:
        pass  # SQLite reports a folder it cannot write to in its own words


def _use_wal(cursor: Any) -> None:
    """Switch the file to WAL once (the mode is stored in the file). Switching needs the file
    to itself, and several processes opening a new store at the same moment can find it busy
    without waiting: try again briefly rather than fail."""
    if str(cursor.execute("PRAGMA journal_mode").fetchone()[0]).lower() == "wal":
        return
    for attempt in range(50):
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == 49:
                raise
            time.sleep(0.1)
