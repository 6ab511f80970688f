"""The store's tables, column types and migrations (SQLAlchemy Core; SQLite and PostgreSQL).

Migrations are a list of steps; `schema_version` holds how many have run. A new step is
appended, never edited, so a database created by any earlier flx can be brought forward.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

__all__ = ["metadata", "records", "sync_state", "lookup_cache", "runs", "audit", "locks",
           "plugin_state", "source_state", "schema_version", "MIGRATIONS", "UTCDateTime",
           "utcnow"]


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC on both databases (so SQLite's text timestamps sort and compare
    correctly); read back timezone-aware. A naive value passed in is taken to be UTC."""

    impl = sa.DateTime(timezone=False)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):  # defensive: a row written by another tool
            value = datetime.fromisoformat(value)
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _key(length: int) -> sa.types.TypeEngine[str]:
    # Byte-order ("C") collation on PostgreSQL, so ids sort the same as on SQLite and in
    # Python, and keyset pagination (id > last) walks an index in that order.
    return sa.String(length).with_variant(sa.String(length, collation="C"), "postgresql")


_BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")  # SQLite autoincrements INTEGER

metadata = sa.MetaData()

records = sa.Table(
    "records", metadata,
    sa.Column("kind", sa.String(32), primary_key=True),
    sa.Column("id", _key(255), primary_key=True),
    sa.Column("data", sa.JSON(), nullable=False),
    sa.Column("content_hash", sa.String(64), nullable=False),
    sa.Column("imported_at", UTCDateTime(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

sync_state = sa.Table(
    "sync_state", metadata,
    sa.Column("connection", sa.String(100), primary_key=True),
    sa.Column("operation", sa.String(50), primary_key=True),
    sa.Column("record_id", _key(255), primary_key=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("remote_ids", sa.JSON(), nullable=False),
    sa.Column("attempts", sa.Integer(), nullable=False, default=0),
    sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("content_hash", sa.String(64), nullable=True),
    sa.Column("first_failed_at", UTCDateTime(), nullable=True),
    sa.Column("last_attempt_at", UTCDateTime(), nullable=True),
    sa.Column("next_retry_at", UTCDateTime(), nullable=True),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
    # multi-worker claims (Store.claim): who works on the record now, and until when
    sa.Column("claimed_by", sa.String(200), nullable=True),
    sa.Column("claim_expires_at", UTCDateTime(), nullable=True),
    # Covers listing one status in id order (flx errors, status, the dashboard) without reads
    # of the table itself.
    sa.Index("ix_sync_state_status_id", "connection", "operation", "status", "record_id"),
)

lookup_cache = sa.Table(
    "lookup_cache", metadata,
    sa.Column("connection", sa.String(100), primary_key=True),
    sa.Column("kind", sa.String(100), primary_key=True),
    sa.Column("key", _key(512), primary_key=True),
    sa.Column("remote_id", sa.Text(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

runs = sa.Table(
    "runs", metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("operation", sa.String(50), nullable=False),
    sa.Column("dry_run", sa.Boolean(), nullable=False),
    sa.Column("started_at", UTCDateTime(), nullable=False),
    sa.Column("finished_at", UTCDateTime(), nullable=True),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("counts", sa.JSON(none_as_null=True), nullable=True),
    # Added by schema version 3: why an aborted run stopped ({"class", "message"}).
    sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
    sa.Index("ix_runs_connection", "connection", "operation", "id"),
)

# Path only: never headers, bodies or query strings (those may carry secrets or PII).
audit = sa.Table(
    "audit", metadata,
    sa.Column("id", _BigId, primary_key=True, autoincrement=True),
    sa.Column("at", UTCDateTime(), nullable=False),
    sa.Column("connection", sa.String(100), nullable=False),
    sa.Column("run_id", sa.BigInteger(), nullable=True),
    sa.Column("method", sa.String(10), nullable=False),
    sa.Column("path", sa.Text(), nullable=False),
    sa.Column("status", sa.Integer(), nullable=False),
    sa.Column("remote_id", sa.String(100), nullable=True),
    sa.Column("record_id", sa.String(255), nullable=True),
    sa.Index("ix_audit_run", "run_id"),
    sa.Index("ix_audit_connection_at", "connection", "at"),
)

# Added by schema version 2 (`flx show ID` reads a record's writes).
audit_record_index = sa.Index("ix_audit_record", audit.c.record_id)

locks = sa.Table(
    "locks", metadata,
    sa.Column("name", sa.String(200), primary_key=True),
    sa.Column("owner", sa.String(200), nullable=False),
    sa.Column("expires_at", UTCDateTime(), nullable=False),
)

# Added by schema version 4: what plugins keep between runs (rotating OAuth tokens, cursors,
# sequence numbers), per scope ("connection:NAME", "source:NAME"). `version` counts writes, for
# compare-and-set; `secret` values are never shown.
plugin_state = sa.Table(
    "plugin_state", metadata,
    sa.Column("scope", _key(200), primary_key=True),
    sa.Column("key", _key(200), primary_key=True),
    sa.Column("value", sa.Text(), nullable=False),
    sa.Column("secret", sa.Boolean(), nullable=False, default=False),
    sa.Column("version", sa.Integer(), nullable=False),
    sa.Column("updated_at", UTCDateTime(), nullable=False),
)

# Added by schema version 5: where each `[sources.NAME]` resumes (`cursor`, written in the
# transaction of the page it follows) and how its last pull went.
source_state = sa.Table(
    "source_state", metadata,
    sa.Column("source", sa.String(100), primary_key=True),
    sa.Column("cursor", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("cursor_at", UTCDateTime(), nullable=True),
    sa.Column("last_pull_at", UTCDateTime(), nullable=True),
    sa.Column("last_status", sa.String(20), nullable=True),
    sa.Column("counts", sa.JSON(none_as_null=True), nullable=True),
    sa.Column("error", sa.JSON(none_as_null=True), nullable=True),
)

schema_version = sa.Table(
    "schema_version", metadata,
    sa.Column("version", sa.Integer(), nullable=False),
)


def _v1_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=[records, sync_state, lookup_cache, runs, audit, locks])


def _v2_audit_by_record(conn: Connection) -> None:
    audit_record_index.create(conn, checkfirst=True)


def _v3_run_error(conn: Connection) -> None:
    if "error" not in {c["name"] for c in sa.inspect(conn).get_columns("runs")}:
        conn.execute(sa.text("ALTER TABLE runs ADD COLUMN error "
                             + sa.JSON().compile(dialect=conn.dialect)))


def _v4_plugin_state(conn: Connection) -> None:
    plugin_state.create(conn, checkfirst=True)


def _v5_source_state(conn: Connection) -> None:
    source_state.create(conn, checkfirst=True)


def _v6_status_index(conn: Connection) -> None:
    conn.execute(sa.text("DROP INDEX IF EXISTS ix_sync_state_status"))
    for index in sync_state.indexes:
        if index.name == "ix_sync_state_status_id":
            index.create(conn, checkfirst=True)


Migration = Callable[[Connection], None]
MIGRATIONS: list[Migration] = [_v1_initial, _v2_audit_by_record, _v3_run_error,
                               _v4_plugin_state, _v5_source_state, _v6_status_index]
"""Step N (1-based) brings a database from version N-1 to N. Append only."""


def migrate(conn: Connection) -> int:
    """Run the steps this database has not seen, inside the caller's transaction. Returns the
    version reached. Raises RuntimeError for a database made by a newer flx."""
    schema_version.create(conn, checkfirst=True)
    current = conn.scalar(sa.select(sa.func.max(schema_version.c.version))) or 0
    if current > len(MIGRATIONS):
        raise RuntimeError(
            f"the store was created by a newer flx (schema version {current}; this flx knows "
            f"up to {len(MIGRATIONS)})")
    for step in MIGRATIONS[current:]:
        step(conn)
    if current < len(MIGRATIONS):
        conn.execute(sa.delete(schema_version))
        conn.execute(sa.insert(schema_version).values(version=len(MIGRATIONS)))
    return len(MIGRATIONS)
