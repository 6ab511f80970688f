"""The store's record import: bulk upserts of records by kind and id (one part of `Store`).

Records are written as their canonical JSON, a chunk at a time: new ones in one multi-row
INSERT (a COPY on PostgreSQL), changed ones in one UPDATE, unchanged ones not at all.
"""

from __future__ import annotations

import hashlib
import re
import sqlite3
from collections.abc import Iterable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from flx.records.validate import canonical_json
from flx.store.engine import JsonText
from flx.store.sync import BATCH, chunks
from flx.store.tables import records, utcnow

__all__ = ["ImportCounts", "ImportMixin", "Prepared", "check_kind"]


@dataclass
class ImportCounts:
    """What `upsert_records` did: new records, changed records, records seen unchanged."""

    inserted: int = 0
    updated: int = 0
    unchanged: int = 0

    @property
    def total(self) -> int:
        return self.inserted + self.updated + self.unchanged

    def __add__(self, other: ImportCounts) -> ImportCounts:
        return ImportCounts(self.inserted + other.inserted, self.updated + other.updated,
                            self.unchanged + other.unchanged)

    def to_dict(self) -> dict[str, int]:
        return {"inserted": self.inserted, "updated": self.updated, "unchanged": self.unchanged}


class Prepared(NamedTuple):
    """A record already serialised: its id, `canonical_json` and `content_hash`."""

    id: str
    text: str
    content_hash: str


# Kinds come from the registered operations and are validated there; the store only keeps
# them to what its `kind` column holds.
_KIND = re.compile(r"[a-z][a-z_]{0,31}\Z")


def check_kind(kind: str) -> None:
    if not isinstance(kind, str) or not _KIND.match(kind):
        raise ValueError(f"{kind!r} is not a record kind (lower-case letters and '_', at most "
                         "32, for example vendor_bill)")


class ImportMixin:
    """Record import for `Store` (which provides `_conn` and `_sqlite`)."""

    _sqlite: bool
    if TYPE_CHECKING:
        def _conn(self, *, write: bool) -> AbstractContextManager[Connection]: ...

    def _insert(self, table: sa.Table) -> Any:
        """INSERT with ON CONFLICT support for the current dialect (same API on both)."""
        return (sqlite.insert(table) if self._sqlite else postgresql.insert(table))

    def upsert_records(self, kind: str,
                       items: Iterable[dict[str, Any]] | Iterable[Prepared]) -> ImportCounts:
        """Insert new records and update changed ones (by kind + id), in one transaction.
        A record whose content is unchanged is not written. Sync history is never touched."""
        check_kind(kind)
        counts = ImportCounts()
        with self._conn(write=True) as conn:
            for chunk in chunks(items, BATCH):
                counts = counts + self._upsert_chunk(conn, kind, chunk)
        return counts

    def _upsert_chunk(self, conn: Connection, kind: str,
                      chunk: list[Any]) -> ImportCounts:
        prepared: dict[str, tuple[Any, str]] = {}
        for item in chunk:
            if isinstance(item, Prepared):  # serialised by the caller (the importer)
                prepared[item.id] = (JsonText(item.text), item.content_hash)
                continue
            record_id = item.get("id") if isinstance(item, dict) else None
            if not isinstance(record_id, str) or not record_id:
                raise ValueError(f"a {kind} record needs a text id, got {record_id!r}")
            # Stored as its canonical JSON (keys sorted; Decimals written as `normalize`
            # does), the text `content_hash` hashes: one serialisation for both.
            text = canonical_json(item)
            prepared[record_id] = (JsonText(text), hashlib.sha256(text.encode()).hexdigest())
        ids = list(prepared)
        # PostgreSQL: one array parameter, not 1,000 (quoting them cost 25 µs a record)
        known = records.c.id.in_(ids) if self._sqlite else records.c.id == sa.any_(
            sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.String())))
        existing = dict(conn.execute(
            sa.select(records.c.id, records.c.content_hash)
            .where(records.c.kind == kind, known)).all())
        now = utcnow()
        new = [(rid, data, digest) for rid, (data, digest) in prepared.items()
               if rid not in existing]
        changed = [{"b_kind": kind, "b_id": rid, "b_data": data, "b_hash": digest, "b_now": now}
                   for rid, (data, digest) in prepared.items()
                   if rid in existing and existing[rid] != digest]
        if new:
            self._insert_records(conn, kind, new, now)
        if changed:
            conn.execute(
                sa.update(records)
                .where(records.c.kind == sa.bindparam("b_kind"),
                       records.c.id == sa.bindparam("b_id"))
                .values(data=sa.bindparam("b_data", type_=records.c.data.type),
                        content_hash=sa.bindparam("b_hash"),
                        updated_at=sa.bindparam("b_now", type_=records.c.updated_at.type)),
                changed)
        return ImportCounts(len(new), len(changed), len(prepared) - len(new) - len(changed))

    def _insert_records(self, conn: Connection, kind: str,
                        rows: list[tuple[str, JsonText, str]], now: datetime) -> None:
        """INSERT of (id, data, content_hash) rows straight to the driver, values made ready by
        the columns' own types, nothing compiled per row: on SQLite one statement with a row
        of values each (at most BATCH rows: 6,000 parameters), on PostgreSQL a COPY. A
        concurrent importer may have inserted the same id meanwhile: it is updated instead."""
        dialect = conn.dialect

        def ready(column: sa.Column[Any]) -> Any:
            process = column.type.dialect_impl(dialect).bind_processor(dialect)
            return process or (lambda value: value)

        data, stamp = ready(records.c.data), ready(records.c.imported_at)(now)
        if not self._sqlite:
            self._copy_records(conn, kind, rows, stamp)
            return
        mark = "?" if dialect.paramstyle == "qmark" else "%s"
        row = f"({', '.join([mark] * 6)})"
        # SQLite before 3.32 takes at most 999 parameters a statement
        size = 150 if self._sqlite and sqlite3.sqlite_version_info < (3, 32) else BATCH
        for part in chunks(rows, size):
            sql = (f"INSERT INTO records (kind, id, data, content_hash, imported_at, "
                   f"updated_at) VALUES {', '.join([row] * len(part))} ON CONFLICT (kind, id) "
                   "DO UPDATE SET data = excluded.data, content_hash = excluded.content_hash, "
                   "updated_at = excluded.updated_at")
            values: list[Any] = []
            for rid, text, digest in part:
                values += (kind, rid, data(text), digest, stamp, stamp)
            conn.exec_driver_sql(sql, tuple(values))

    @staticmethod
    def _copy_records(conn: Connection, kind: str, rows: list[tuple[str, JsonText, str]],
                      stamp: Any) -> None:
        """PostgreSQL: the rows COPYed into a temporary table, then inserted from it in one
        statement (three times quicker than INSERT ... VALUES); the table lives until the
        commit, so it works behind a transaction-mode pooler too."""
        import psycopg

        columns = "kind, id, data, content_hash, imported_at, updated_at"
        conn.exec_driver_sql("CREATE TEMPORARY TABLE IF NOT EXISTS flx_import_rows "
                             "(LIKE records) ON COMMIT DROP")
        driver = conn.connection.driver_connection
        assert driver is not None
        copy_sql = f"COPY flx_import_rows ({columns}) FROM STDIN"
        try:
            with driver.cursor() as cursor, cursor.copy(copy_sql) as copy:
                for rid, text, digest in rows:
                    copy.write_row((kind, rid, str(text), digest, stamp, stamp))
        except psycopg.OperationalError as exc:  # a lost connection: said as the store's
            raise sa.exc.OperationalError(copy_sql, None, exc) from exc
        conn.exec_driver_sql(
            f"INSERT INTO records ({columns}) SELECT {columns} FROM flx_import_rows "
            "ON CONFLICT (kind, id) DO UPDATE SET data = excluded.data, "
            "content_hash = excluded.content_hash, updated_at = excluded.updated_at")
        conn.exec_driver_sql("DELETE FROM flx_import_rows")
