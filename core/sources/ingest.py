"""The one way records enter the store, whoever brings them (`flx import`'s files, a source's
pages): each record examined (flx.records.examine: hostile values, schema, kind rules), the
valid ones upserted in batches by kind inside a transaction, the others refused one by one
with their place, path and message, and counts that say only what was committed.

`ingest_page` stores a source's page and its cursor in one transaction: a crash keeps the
whole page and its cursor, or nothing of either, so a pull never skips a page nor keeps half
of one. A refused record does not hold its page back: the cursor moves past it (its problem
is reported, and the source offers the record again once it is corrected at its origin).
"""

from __future__ import annotations

import json
import sys
from contextlib import ExitStack
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flx.errors import PluginError
from flx.operations.builtin import builtin_operations
from flx.operations.registry import Operations
from flx.records.examine import Examined, examine_record
from flx.records.messages import Problem
from flx.records.safe_json import safe_text
from flx.source import Page
from flx.store.store import ImportCounts, Prepared, Store

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

__all__ = ["BATCH", "ImportProblem", "Ingest", "IngestCounts", "ingest_page", "record_kinds"]

BATCH = 1000  # records a store write (what is held in memory)
_PLAIN = (str, int, float, bool, type(None), Decimal)


@dataclass(frozen=True)
class ImportProblem:
    """One reason a record (or a whole file) was not imported."""

    file: str  # the file, or the source's name
    location: str  # "orders[3]", "line 7", "page 2, records[4]", or "" for the whole file
    path: str  # JSON path inside the record, "$" for the record itself
    message: str
    code: str = "invalid"
    record_id: str | None = None
    kind: str | None = None

    def __str__(self) -> str:
        where = self.file + (f" {self.location}" if self.location else "")
        if self.record_id:
            where += f" ({self.kind or 'record'} {self.record_id})"
        path = f" {self.path}" if self.path and self.path != "$" else ""
        return f"{where}{path}: {self.message}"

    def to_dict(self) -> dict[str, Any]:
        return {"file": self.file, "location": self.location, "kind": self.kind,
                "record_id": self.record_id, "path": self.path, "message": self.message,
                "code": self.code}


class _Rollback(Exception):
    """Ends a dry run's transaction: everything was counted, nothing is kept."""


class Ingest:
    """Stores examined records for its caller: batched by kind, written inside one transaction
    that `commit` ends, and counted only once committed (a crash before the commit leaves the
    counts as untouched as the store)."""

    def __init__(self, store: Store, kinds: Iterable[str]) -> None:
        self.store = store
        self.kinds = tuple(kinds)
        self.pending: dict[str, list[Prepared]] = {kind: [] for kind in self.kinds}
        self.written = {kind: ImportCounts() for kind in self.kinds}  # not yet committed
        self.rejected = dict.fromkeys(self.kinds, 0)
        self.transaction: ExitStack | None = None

    def add(self, kind: str, examined: Examined) -> None:
        """Store a valid record (examined without problems) with the next commit."""
        assert examined.record_id and examined.text and examined.content_hash
        batch = self.pending[kind]
        batch.append(Prepared(examined.record_id, examined.text, examined.content_hash))
        if len(batch) >= BATCH:
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        """Write what is pending, in the transaction of the current chunk."""
        batch, self.pending[kind] = self.pending[kind], []
        if not batch:
            return
        self._begin()
        self.written[kind] = self.written[kind] + self.store.upsert_records(kind, batch)

    def _begin(self) -> None:
        if self.transaction is None:
            self.transaction = ExitStack()
            self.transaction.enter_context(self.store.transaction())

    def commit(self, *, cursor: tuple[str, Any] | None = None, rollback: bool = False,
               ) -> tuple[dict[str, ImportCounts], dict[str, int]]:
        """Write what is pending and commit it, with `cursor` (source, cursor) saved in the
        same transaction; or, with `rollback`, count it and keep nothing. Returns what was
        (or, rolled back, would have been) stored and refused per kind, and starts afresh."""
        for kind in self.kinds:
            self._flush(kind)
        if cursor is not None and not rollback:
            self._begin()
            self.store.save_cursor(*cursor)
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            if rollback:
                transaction.__exit__(_Rollback, _Rollback(), None)
            else:
                transaction.close()
        written, rejected = self.written, self.rejected
        self.written = {kind: ImportCounts() for kind in self.kinds}
        self.rejected = dict.fromkeys(self.kinds, 0)
        return written, rejected

    def abort(self, kind: type[BaseException] | None, exc: BaseException | None,
              tb: TracebackType | None) -> None:
        """Drop what was written since the last commit (called while `exc` propagates)."""
        if self.transaction is not None:
            transaction, self.transaction = self.transaction, None
            transaction.__exit__(kind, exc, tb)


@dataclass
class IngestCounts:
    """What storing one page (or a whole pull) did, per kind, and each record refused."""

    accepted: dict[str, ImportCounts] = field(default_factory=dict)
    rejected: dict[str, int] = field(default_factory=dict)
    problems: list[ImportProblem] = field(default_factory=list)
    records: int = 0  # entries the page held, refused ones included

    @classmethod
    def of(cls, kinds: Iterable[str]) -> IngestCounts:
        """Zero of each kind (so that every kind is reported, in the registry's order)."""
        kinds = tuple(kinds)
        return cls({kind: ImportCounts() for kind in kinds}, dict.fromkeys(kinds, 0))

    def add(self, other: IngestCounts) -> None:
        for kind in other.accepted:
            self.accepted[kind] = self.accepted.get(kind, ImportCounts()) + other.accepted[kind]
            self.rejected[kind] = self.rejected.get(kind, 0) + other.rejected.get(kind, 0)
        self.problems.extend(other.problems)
        self.records += other.records

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values()) + self.unreadable

    @property
    def unreadable(self) -> int:
        """Entries refused before their kind was known (not a (kind, record) pair)."""
        return sum(1 for p in self.problems if p.kind is None)

    def kinds(self) -> dict[str, dict[str, int]]:
        """Per kind: inserted (new), updated, unchanged, rejected."""
        return {kind: {**self.accepted[kind].to_dict(), "rejected": self.rejected.get(kind, 0)}
                for kind in self.accepted}


def record_kinds(operations: Operations | None = None) -> dict[str, str]:
    """kind -> its record schema as JSON text, for every kind the registry's operations send
    (by default flx's own): what a page may hold."""
    ops = operations if operations is not None else builtin_operations()
    return {op.kind: json.dumps(op.record_schema) for op in ops}


def ingest_page(store: Store, page: Page, *, source: str, dry_run: bool = False,
                kinds: dict[str, str] | None = None) -> IngestCounts:
    """Store the valid records of `page` and its cursor as where `source` resumes, in one
    transaction; refuse each invalid record alone. `kinds`: the record kinds a page may hold
    and their schemas (`record_kinds(plugins.operations)`; by default flx's own). In a dry run
    everything is counted as it would be stored, and nothing is kept (the cursor stays)."""
    kinds = kinds if kinds is not None else record_kinds()
    cursor = _checked_cursor(page, source)
    counts = IngestCounts.of(kinds)
    ingest = Ingest(store, kinds)
    where = safe_text(str(page.where or "page"))
    entries = page.records if isinstance(page.records, list | tuple) else None
    if entries is None:
        raise PluginError(f"source {source!r} yielded a page whose records are "
                          f"{type(page.records).__name__}, not a list of (kind, record) pairs",
                          hint="report this to the source plugin's authors")
    seen: dict[tuple[str, str], str] = {}  # (kind, id) -> place, within the page
    try:
        for index, entry in enumerate(entries):
            place = f"{where}, records[{index}]"
            counts.records += 1
            examined = _examine(entry, place, kinds)
            kind, record_id = examined.kind, examined.record_id
            problems = list(examined.problems)
            if kind is not None and record_id is not None and not problems:
                first = seen.setdefault((kind, record_id), place)
                if first != place:
                    problems.append(Problem(
                        "$.id", f"duplicate {kind} id {safe_text(record_id)!r} in this page "
                        f"(first at {first}); only the first was stored", "duplicate_record"))
            if problems:
                if kind is not None:
                    ingest.rejected[kind] += 1
                counts.problems += [ImportProblem(
                    source, place, p.path, p.message, p.code,
                    None if record_id is None else safe_text(record_id), kind)
                    for p in problems]
                continue
            assert kind is not None
            ingest.add(kind, examined)
        counts.problems += _unbuilt(page, source, where, ingest.rejected)
        written, rejected = ingest.commit(cursor=(source, cursor), rollback=dry_run)
    except BaseException:
        ingest.abort(*sys.exc_info())
        raise
    counts.accepted, counts.rejected = written, rejected
    return counts


def _unbuilt(page: Page, source: str, where: str,
             rejected: dict[str, int]) -> list[ImportProblem]:
    """The page's records the source could not build (`Page.problems`), as refused records."""
    found = []
    for err in getattr(page, "problems", None) or []:
        kind = (getattr(err, "context", None) or {}).get("kind")
        kind = kind if kind in rejected else None
        if kind is not None:
            rejected[kind] += 1
        hint = getattr(err, "hint", None)
        message = safe_text(str(getattr(err, "message", err)) + (f"; fix: {hint}" if hint
                                                                   else ""))
        record_id = getattr(err, "record_id", None)
        found.append(ImportProblem(source, where, getattr(err, "path", None) or "$", message,
                                   getattr(err, "error_class", "invalid"),
                                   None if record_id is None else safe_text(str(record_id)),
                                   kind))
    return found


def _examine(entry: Any, place: str, kinds: dict[str, str]) -> Examined:
    """A page entry, examined as the importer examines a record of a file; an entry that is
    not a (kind, record) pair of a known kind is refused without a kind."""
    if not isinstance(entry, tuple | list) or len(entry) != 2:
        return Examined(place, None, None, (Problem(
            "$", f"a page entry must be a (kind, record) pair, got "
            f"{safe_text(type(entry).__name__)}", "shape"),))
    kind, record = entry
    record_id = record.get("id") if isinstance(record, dict) else None
    record_id = record_id if isinstance(record_id, str) and record_id else None
    if not isinstance(kind, str) or kind not in kinds:
        return Examined(place, None, record_id, (Problem(
            "$", f"unknown record kind {safe_text(repr(kind))}; use one of "
            f"{', '.join(kinds)}", "unknown_kind"),))
    odd = _not_json(record, "$")
    if odd is not None:
        return Examined(place, kind, record_id, (odd,))
    # A record built by a plugin is as untrusted as a file: the hostile-value checks run too.
    return examine_record(kind, place, record, True, kinds[kind])


def _not_json(value: Any, path: str, depth: int = 0) -> Problem | None:
    """The first value a JSON document could not hold (a date object, bytes, a set), which
    flx would otherwise store as whatever text it prints as."""
    if depth > 64:
        return None  # the hostile-value checks name values nested this deep
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str):
                return Problem(path, f"the key {safe_text(repr(key))} is not text", "shape")
            found = _not_json(item, f"{path}.{key}", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _not_json(item, f"{path}[{index}]", depth + 1)
            if found is not None:
                return found
        return None
    if isinstance(value, _PLAIN):
        return None
    return Problem(path, f"a {safe_text(type(value).__name__)} is not a JSON value: give text, "
                   "a number, true/false, null, a list or an object", "shape")


def _checked_cursor(page: Any, source: str) -> Any:
    """The page's cursor, refused (the pull stops before this page) unless JSON can hold it
    exactly: it is what the next pull resumes from."""
    if not isinstance(page, Page):
        raise PluginError(f"source {source!r} yielded {safe_text(type(page).__name__)}, not a "
                          "Page", hint="report this to the source plugin's authors")
    try:
        text = json.dumps(page.cursor, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise PluginError(
            f"source {source!r} yielded a cursor that JSON cannot hold ({safe_text(str(exc))}); "
            "nothing of that page was stored",
            hint="report this to the source plugin's authors: a cursor is text, a number, "
                 "a list or an object") from None
    return json.loads(text)
