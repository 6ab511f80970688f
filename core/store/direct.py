"""Statements on a run's hot path, compiled once and run straight on the database driver.

A checkpoint is a one-row upsert and an audit row or two. SQLAlchemy's set-up of every
execution (its context, events and result object) costs more CPU than SQLite's own work for
such a write, and a run makes one or two of them per record. `DirectWrite` compiles a statement
once and runs it with the driver cursor's `executemany`, each value passed through the bind
processor SQLAlchemy itself would apply (JSON text, UTC timestamps): the rows stored are the
ones `conn.execute` would store. Positional paramstyles only (SQLite); other databases keep
`conn.execute`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect

__all__ = ["DirectWrite", "usable"]


def usable(dialect: Dialect) -> bool:
    return dialect.paramstyle == "qmark"


class DirectWrite:
    """`statement` compiled for `dialect`; `run(conn, rows)` takes tuples in `keys` order."""

    def __init__(self, statement: Any, keys: Sequence[str], dialect: Dialect) -> None:
        compiled = statement.compile(dialect=dialect, column_keys=list(keys))
        order = compiled.positiontup
        if order is None:
            raise ValueError(f"{dialect.name}: named parameters; use conn.execute")
        self.sql = compiled.string
        self._error: type[Exception] = dialect.loaded_dbapi.Error
        processors: dict[str, Callable[[Any], Any]] = dict(compiled._bind_processors)
        # Per placeholder: (index in a row, processor) or, for a value fixed in the
        # statement (`claimed_by = NULL`), (None, its processed value).
        self._slots: list[tuple[int | None, Any]] = []
        for name in order:
            process = processors.get(name)
            if name in keys:
                self._slots.append((list(keys).index(name), process))
            else:
                value = compiled.binds[name].effective_value
                self._slots.append((None, process(value) if process else value))

    def params(self, row: Sequence[Any]) -> tuple[Any, ...]:
        return tuple((process(row[i]) if process is not None else row[i]) if i is not None
                     else process for i, process in self._slots)

    def run(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        driver = conn.connection.driver_connection
        assert driver is not None
        cursor = driver.cursor()
        try:
            cursor.executemany(self.sql, [self.params(row) for row in rows])
        except self._error as exc:  # said as SQLAlchemy would (the store translates those)
            raise sa.exc.DBAPIError.instance(self.sql, None, exc, self._error) from exc
        finally:
            cursor.close()
