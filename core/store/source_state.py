"""The store's source state (one part of `Store`): per `[sources.NAME]`, the cursor a pull
resumes from and how the last pull went.

`save_cursor` is meant to run inside the transaction that stores a page's records
(flx.sources.ingest), so the cursor never gets ahead of, nor falls behind, what is stored.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from flx.store.sync import reconnecting
from flx.store.tables import source_state, utcnow

__all__ = ["SourceStateMixin"]


class SourceStateMixin:
    """Source cursors and pull outcomes for `Store` (which provides `_conn` and `_insert`)."""

    if TYPE_CHECKING:
        def _conn(self, *, write: bool) -> AbstractContextManager[Connection]: ...

        def _insert(self, table: sa.Table) -> Any: ...

    def _put_source(self, conn: Connection, name: str, values: dict[str, Any]) -> None:
        stmt = self._insert(source_state).values(source=name, **values)
        conn.execute(stmt.on_conflict_do_update(
            index_elements=[source_state.c.source],
            set_={key: getattr(stmt.excluded, key) for key in values}))

    @reconnecting
    def source_cursor(self, name: str) -> Any:
        """Where the next pull of source `name` starts (None: from the beginning)."""
        with self._conn(write=False) as conn:
            return conn.scalar(sa.select(source_state.c.cursor)
                               .where(source_state.c.source == name))

    def save_cursor(self, name: str, cursor: Any) -> None:
        """Keep `cursor` as where source `name` resumes; call it inside the transaction that
        stores the records it follows."""
        with self._conn(write=True) as conn:
            self._put_source(conn, name, {"cursor": cursor, "cursor_at": utcnow()})

    def start_pull(self, name: str, started_at: datetime) -> None:
        """A real (not dry) pull of `name` began: `running` until `finish_pull` says more."""
        with self._conn(write=True) as conn:
            self._put_source(conn, name, {"last_pull_at": started_at, "last_status": "running",
                                          "error": None})

    @reconnecting
    def finish_pull(self, name: str, counts: dict[str, Any], status: str,
                    error: dict[str, Any] | None = None) -> None:
        """How the pull begun by `start_pull` ended. `error`: why it stopped ({"class",
        "message"}, already redacted)."""
        with self._conn(write=True) as conn:
            self._put_source(conn, name, {"last_status": status, "counts": counts,
                                          "error": error})

    @reconnecting
    def source_states(self) -> list[dict[str, Any]]:
        """Every source the store knows, by name: cursor, cursor_at, last_pull_at,
        last_status, counts, error."""
        with self._conn(write=False) as conn:
            rows = conn.execute(sa.select(source_state).order_by(source_state.c.source))
            return [dict(row._mapping) for row in rows]
