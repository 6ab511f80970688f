"""Plugin state: small named values a plugin keeps between runs (a rotating OAuth refresh
token, a cursor, a sequence number), per scope ("connection:NAME", "source:NAME").

Every write bumps the row's `version`, so a writer that read version N can write "only if it
is still N" (compare-and-set): two processes refreshing the same token cannot both win. A
mixin of Store, like SyncMixin.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from flx.errors import RetryableError
from flx.store.sync import reconnecting
from flx.store.tables import plugin_state, utcnow

__all__ = ["StateValue", "StateConflict", "StateMixin", "MAX_SCOPE", "MAX_KEY"]

MAX_SCOPE = MAX_KEY = 200  # the columns' lengths


class StateConflict(RetryableError):
    """Another writer changed the value since it was read: read it again and decide anew."""


@dataclass(frozen=True)
class StateValue:
    value: str
    version: int
    secret: bool
    updated_at: datetime


def _where(scope: str, key: str) -> sa.ColumnElement[bool]:
    return sa.and_(plugin_state.c.scope == scope, plugin_state.c.key == key)


def _check_names(scope: str, key: str) -> None:
    if not scope or len(scope) > MAX_SCOPE or not key or len(key) > MAX_KEY:
        raise ValueError(f"plugin state scope and key must be 1 to {MAX_KEY} characters "
                         f"(got scope {scope[:40]!r}, key {key[:40]!r})")


class StateMixin:
    if TYPE_CHECKING:
        def _conn(self, *, write: bool) -> AbstractContextManager[Connection]: ...
        def _insert(self, table: sa.Table) -> Any: ...

    @reconnecting
    def state_get(self, scope: str, key: str) -> StateValue | None:
        with self._conn(write=False) as conn:
            row = conn.execute(sa.select(plugin_state).where(_where(scope, key))).first()
        return _value(row) if row is not None else None

    @reconnecting
    def state_items(self, scope: str) -> dict[str, StateValue]:
        """Every value of a scope, by key (in key order)."""
        with self._conn(write=False) as conn:
            rows = conn.execute(sa.select(plugin_state).where(plugin_state.c.scope == scope)
                                .order_by(plugin_state.c.key)).all()
        return {str(row.key): _value(row) for row in rows}

    def state_put(self, scope: str, key: str, value: str, *, secret: bool = False,
                  expect_version: int | None = None) -> int:
        """Write `value` and return its new version. `expect_version`: None writes whatever
        is there; 0 writes only if the key does not exist; N only if the stored version is
        still N. Otherwise StateConflict, and nothing is written."""
        _check_names(scope, key)
        if not isinstance(value, str):
            raise TypeError(f"plugin state values are strings (key {key!r} got "
                            f"{type(value).__name__}); encode other values, e.g. as JSON")
        now = utcnow()
        with self._conn(write=True) as conn:
            if expect_version is None:
                stmt = self._insert(plugin_state).values(
                    scope=scope, key=key, value=value, secret=secret, version=1, updated_at=now)
                conn.execute(stmt.on_conflict_do_update(
                    index_elements=[plugin_state.c.scope, plugin_state.c.key],
                    set_={"value": value, "secret": secret, "updated_at": now,
                          "version": plugin_state.c.version + 1}))
                return int(conn.scalar(sa.select(plugin_state.c.version)
                                       .where(_where(scope, key))) or 0)
            if expect_version == 0:
                stmt = self._insert(plugin_state).values(
                    scope=scope, key=key, value=value, secret=secret, version=1, updated_at=now)
                # RETURNING, not rowcount: psycopg reports -1 for a skipped conflicting insert
                written = conn.execute(stmt.on_conflict_do_nothing()
                                       .returning(plugin_state.c.version)).first() is not None
            else:
                written = bool(conn.execute(sa.update(plugin_state).where(
                    _where(scope, key), plugin_state.c.version == expect_version,
                ).values(value=value, secret=secret, updated_at=now,
                         version=expect_version + 1)).rowcount)
            if not written:
                raise _conflict(conn, scope, key, expect_version)
            return expect_version + 1

    def state_delete(self, scope: str, key: str, *, expect_version: int | None = None) -> bool:
        """Remove a key; True when it was there. With `expect_version`, only if the stored
        version is still that (else StateConflict)."""
        with self._conn(write=True) as conn:
            query = sa.delete(plugin_state).where(_where(scope, key))
            if expect_version is not None:
                query = query.where(plugin_state.c.version == expect_version)
            deleted = bool(conn.execute(query).rowcount)
            if not deleted and expect_version:
                raise _conflict(conn, scope, key, expect_version)
            return deleted

    @reconnecting
    def state_scopes(self, prefix: str = "") -> list[str]:
        """The scopes holding any value, starting with `prefix` (for `flx status`)."""
        query = sa.select(plugin_state.c.scope).distinct().order_by(plugin_state.c.scope)
        with self._conn(write=False) as conn:
            return [str(s) for s in conn.scalars(query) if str(s).startswith(prefix)]


def _value(row: Any) -> StateValue:
    return StateValue(value=str(row.value), version=int(row.version), secret=bool(row.secret),
                      updated_at=row.updated_at)


def _conflict(conn: Connection, scope: str, key: str, expected: int) -> StateConflict:
    found = conn.scalar(sa.select(plugin_state.c.version).where(_where(scope, key)))
    now = "it does not exist" if found is None else f"it is at version {found}"
    return StateConflict(
        f"plugin state {key!r} of {scope} changed meanwhile: expected version {expected}, "
        f"{now} (another flx process wrote it)",
        hint="read the value again and retry; hold PluginState.lock() around "
             "read-modify-write sequences such as a token refresh")

