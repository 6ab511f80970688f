"""`flx import`: read record files, validate every record, store the valid ones, and report
each invalid one with its file, place (`orders[3]` or `line 7`), JSON path and message.

Two file forms (docs/records.md):
- a JSON document `{"orders": [...], "shipments": [...], "vendor_bills": [...]}` (any subset);
- NDJSON (`.ndjson` / `.jsonl`, or any file whose first line is an object with a "kind"):
  one record a line, either flat `{"kind": "order", "id": ...}` or wrapped
  `{"kind": "order", "record": {...}}`. NDJSON is streamed, never loaded whole.

Each file is one transaction: a crash mid-file leaves nothing of that file written. JSON
numbers are parsed as Decimal so money is checked exactly as written.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

from core.model import RECORD_KINDS
from core.records import Problem, validate_record
from core.store import ImportCounts, Store

__all__ = ["import_files", "ImportReport", "ImportProblem", "LIST_KEYS"]

LIST_KEYS = {"orders": "order", "shipments": "shipment", "vendor_bills": "vendor_bill"}
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
BATCH = 1000


@dataclass(frozen=True)
class ImportProblem:
    """One reason a record (or a whole file) was not imported."""

    file: str
    location: str  # "orders[3]", "line 7", or "" for the whole file
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


@dataclass
class ImportReport:
    """What an import did: counts per kind, and every problem."""

    accepted: dict[str, ImportCounts] = field(
        default_factory=lambda: {kind: ImportCounts() for kind in RECORD_KINDS})
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(RECORD_KINDS, 0))
    problems: list[ImportProblem] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    unreadable: int = 0  # NDJSON lines that were not a record of a known kind

    @property
    def ok(self) -> bool:
        """True when every record of every file was imported."""
        return not self.problems

    @property
    def rejected_total(self) -> int:
        return sum(self.rejected.values())

    def to_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "files": list(self.files),
            "kinds": {kind: {**self.accepted[kind].to_dict(), "rejected": self.rejected[kind]}
                      for kind in RECORD_KINDS},
            "unreadable": self.unreadable,
            "problems": [p.to_dict() for p in self.problems],
        }


class _FileError(Exception):
    """The file as a whole cannot be read; nothing of it is imported."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def import_files(paths: list[Path], store: Store) -> ImportReport:
    """Import each file in turn (each in its own transaction) and report on all of them."""
    report = ImportReport()
    for path in paths:
        path = Path(path)
        report.files.append(str(path))
        try:
            _FileImport(path, store, report).run()
        except _FileError as exc:
            report.problems.append(ImportProblem(str(path), "", "", str(exc), exc.code))
    return report


class _FileImport:
    def __init__(self, path: Path, store: Store, report: ImportReport) -> None:
        self.path, self.store, self.report = path, store, report
        self.name = str(path)
        self.seen: dict[tuple[str, str], str] = {}  # (kind, id) -> where it first appeared
        self.pending: dict[str, list[dict[str, Any]]] = {kind: [] for kind in RECORD_KINDS}
        self.counts = {kind: ImportCounts() for kind in RECORD_KINDS}
        self.rejected = dict.fromkeys(RECORD_KINDS, 0)
        self.problems: list[ImportProblem] = []
        self.unreadable = 0

    def run(self) -> None:
        if not self.path.is_file():
            raise _FileError("file not found" if not self.path.exists() else "not a file",
                             "file")
        entries = self._ndjson() if _is_ndjson(self.path) else self._document()
        with self.store.transaction():
            for kind, location, record in entries:
                self._take(kind, location, record)
            for kind in RECORD_KINDS:
                self._flush(kind)
        # Only after the commit: a crash above leaves the report as untouched as the store.
        for kind in RECORD_KINDS:
            self.report.accepted[kind] = self.report.accepted[kind] + self.counts[kind]
            self.report.rejected[kind] += self.rejected[kind]
        self.report.problems.extend(self.problems)
        self.report.unreadable += self.unreadable

    # --- reading -------------------------------------------------------------------------------

    def _document(self) -> Iterator[tuple[str | None, str, Any]]:
        text = _read_text(self.path)
        if not text.strip():
            raise _FileError("the file is empty; expected a JSON object such as "
                             '{"orders": [...]}', "empty")
        try:
            data = _loads(text)
        except json.JSONDecodeError as exc:
            raise _FileError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg}", "malformed_json") from None
        except ValueError as exc:
            raise _FileError(str(exc), "malformed_json") from None
        allowed = ", ".join(f'"{k}"' for k in LIST_KEYS)
        if not isinstance(data, dict):
            raise _FileError(
                f"expected a JSON object with the keys {allowed}, got {_kind_of(data)}; for "
                f"one record a line use NDJSON (a .ndjson file)", "shape")
        unknown = [k for k in data if k not in LIST_KEYS]
        for key in unknown:
            self.problems.append(ImportProblem(
                self.name, str(key), "$", f"unknown top-level key {key!r}: its records were "
                f"not imported (allowed keys: {allowed})", "shape"))
        return self._document_entries(data)

    def _document_entries(self, data: dict[str, Any]) -> Iterator[tuple[str | None, str, Any]]:
        for key, kind in LIST_KEYS.items():
            if key not in data:
                continue
            items = data[key]
            if not isinstance(items, list):
                self.problems.append(ImportProblem(
                    self.name, key, "$", f"{key} must be a list of records, got "
                    f"{_kind_of(items)}", "shape"))
                continue
            for index, record in enumerate(items):
                yield kind, f"{key}[{index}]", record

    def _ndjson(self) -> Iterator[tuple[str | None, str, Any]]:
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise _FileError(f"cannot read the file: {exc.strerror}", "file") from None
        return self._ndjson_lines(handle)

    def _ndjson_lines(self, handle: Any) -> Iterator[tuple[str | None, str, Any]]:
        kinds = ", ".join(f'"{k}"' for k in RECORD_KINDS)
        with handle:
            for number, raw in enumerate(handle, start=1):
                where = f"line {number}"
                try:
                    line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    self._problem(where, None, None, "$", "the line is not UTF-8 text (bad "
                                  f"byte at column {exc.start + 1})", "encoding")
                    self.unreadable += 1
                    continue
                line = line.rstrip("\r\n")
                if not line.strip():
                    continue
                try:
                    entry = _loads(line)
                except json.JSONDecodeError as exc:
                    self._problem(where, None, None, "$", f"malformed JSON at column "
                                  f"{exc.pos + 1}: {exc.msg}", "malformed_json")
                    self.unreadable += 1
                    continue
                except ValueError as exc:
                    self._problem(where, None, None, "$", str(exc), "malformed_json")
                    self.unreadable += 1
                    continue
                if not isinstance(entry, dict):
                    self._problem(where, None, None, "$", "each line must be a JSON object "
                                  f"with a \"kind\", got {_kind_of(entry)}", "shape")
                    self.unreadable += 1
                    continue
                kind = entry.get("kind")
                if kind not in RECORD_KINDS:
                    said = "no \"kind\"" if "kind" not in entry else f"kind {kind!r}"
                    self._problem(where, None, _id_of(entry), "$", f"unknown record kind: "
                                  f"the line has {said}; use one of {kinds}", "unknown_kind")
                    self.unreadable += 1
                    continue
                if set(entry) == {"kind", "record"}:
                    yield kind, where, entry["record"]
                else:
                    yield kind, where, {k: v for k, v in entry.items() if k != "kind"}

    # --- storing -------------------------------------------------------------------------------

    def _take(self, kind: str | None, where: str, record: Any) -> None:
        assert kind is not None
        record_id = _id_of(record)
        problems: list[Problem] = validate_record(kind, record)
        if record_id is not None and (kind, record_id) in self.seen:
            first = self.seen[(kind, record_id)]
            problems.insert(0, Problem("$.id", f"duplicate {kind} id {record_id!r} in this "
                                       f"file (first at {first}); only the first was imported: "
                                       "give each record once per file", "duplicate_record"))
        if problems:
            self.rejected[kind] += 1
            for p in problems:
                self._problem(where, kind, record_id, p.path, p.message, p.code)
            return
        assert record_id is not None  # a valid record has a text id
        self.seen[(kind, record_id)] = where
        batch = self.pending[kind]
        batch.append(record)
        if len(batch) >= BATCH:
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        batch = self.pending[kind]
        if batch:
            self.counts[kind] = self.counts[kind] + self.store.upsert_records(kind, batch)
            self.pending[kind] = []

    def _problem(self, where: str, kind: str | None, record_id: str | None, path: str,
                 message: str, code: str) -> None:
        self.problems.append(ImportProblem(self.name, where, path, message, code, record_id,
                                           kind))


def _loads(text: str) -> Any:
    return json.loads(text, parse_float=Decimal, parse_constant=_non_finite)


def _non_finite(name: str) -> Decimal:
    # NaN / Infinity are not JSON, but some exporters write them: read them as what they say,
    # so that validation rejects the record naming the field (records._non_finite), instead
    # of refusing the whole file or line without saying where.
    return Decimal(name)


def _read_text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _FileError(f"the file is not UTF-8 text (bad byte at offset {exc.start})",
                         "encoding") from None
    except OSError as exc:
        raise _FileError(f"cannot read the file: {exc.strerror}", "file") from None


def _is_ndjson(path: Path) -> bool:
    """By suffix; otherwise a file whose first line is a complete object with a "kind"."""
    if path.suffix.lower() in NDJSON_SUFFIXES:
        return True
    if path.suffix.lower() == ".json":
        return False
    try:
        with path.open("r", encoding="utf-8-sig") as handle:
            first = handle.readline(1_000_000)
        entry = json.loads(first)
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(entry, dict) and "kind" in entry


def _id_of(record: Any) -> str | None:
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "a number" if not isinstance(value, bool) else "true/false"
