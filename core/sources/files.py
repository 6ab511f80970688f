"""`flx import`: read record files, validate every record, store the valid ones, and report
each invalid one with its file, place (`orders[3]` or `line 7`), JSON path and message.

Two file forms (docs/records.md):
- a JSON document `{"orders": [...], "shipments": [...], "vendor_bills": [...]}` (any subset);
- NDJSON (`.ndjson` / `.jsonl`, or any file whose first line is an object with a "kind"):
  one record a line, either flat `{"kind": "order", "id": ...}` or wrapped
  `{"kind": "order", "record": {...}}`. NDJSON is streamed, never loaded whole.
The kinds and list keys are those of the registered operations (a plugin's operation adds
its own, e.g. "refunds" of kind "refund", checked against its record_schema).

Records are committed in chunks of COMMIT_EVERY, each chunk whole: a crash mid-file leaves
whole records only, and importing the file again stores the rest (a record already stored is
counted unchanged). JSON is read by flx.records.safe_json: numbers exactly as written, and nothing
hostile (deep nesting, huge numbers, duplicate keys, lone surrogates, control characters)
can crash or stall an import; each such value refuses its own record, naming its path.

An id given twice in one file is rejected naming the place of the first. To keep memory flat,
a file's ids are remembered only as 64-bit digests (about 0.1 KB a record); a digest seen
again makes the record a suspect, and only when there are suspects is the file read a second
time, to confirm each one by its real id and name the first place (`_resolve_suspects`).

What each record holds is worked out by flx.records.examine (in worker processes for a big
NDJSON file); this module keeps the file's order, the duplicates, the counts and the writes.
"""

from __future__ import annotations

import gc
import hashlib
import json
import sys
from collections.abc import Generator, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

from flx.operations.builtin import builtin_operations
from flx.operations.registry import Operations
from flx.records import safe_json
from flx.records.examine import Examined, Kinds, examine_record, examined_lines
from flx.records.examine import kind_of as _kind_of
from flx.records.safe_json import safe_text
from flx.records.validate import Problem
from flx.sources.ingest import ImportProblem, Ingest
from flx.store.store import ImportCounts, Store

__all__ = ["import_files", "ImportReport", "ImportProblem", "ImportProgress", "LIST_KEYS"]

LIST_KEYS = builtin_operations().list_keys()  # the built-in lists: {"orders": "order", ...}
NDJSON_SUFFIXES = (".ndjson", ".jsonl")
COMMIT_EVERY = 5000  # records a transaction: a short write lock, few commits
PROGRESS_EVERY = 250  # records between two progress reports

# each entry of a file, examined, in order
Entries = Generator[Examined, None, None]


class ImportProgress(Protocol):
    """Told how many records there are (file by file, as soon as known) and how many are
    done; `flx import` draws a bar with it."""

    def add_total(self, records: int) -> None: ...

    def advance(self, records: int) -> None: ...


@dataclass
class ImportReport:
    """What an import did: counts per kind, and every problem."""

    accepted: dict[str, ImportCounts] = field(
        default_factory=lambda: {kind: ImportCounts() for kind in LIST_KEYS.values()})
    rejected: dict[str, int] = field(default_factory=lambda: dict.fromkeys(LIST_KEYS.values(), 0))
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
                      for kind in self.accepted},
            "unreadable": self.unreadable,
            "problems": [p.to_dict() for p in self.problems],
        }


class _FileError(Exception):
    """The file as a whole cannot be read; nothing of it is imported."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


def import_files(paths: list[Path], store: Store, progress: ImportProgress | None = None,
                 *, parallel: bool = True, operations: Operations | None = None) -> ImportReport:
    """Import each file in turn and report on all of them: a file that cannot be read is one
    problem, and the files after it are still imported. A big NDJSON file is read by worker
    processes (flx.records.examine) unless `parallel` is False; they are spawned, so a script
    that calls this must do so under `if __name__ == "__main__":`. `operations`: the
    registry whose kinds are taken (the plugins'; by default the built-in ones)."""
    form = _Form.of(operations or builtin_operations())
    report = ImportReport({kind: ImportCounts() for kind in form.kinds},
                          dict.fromkeys(form.kinds, 0))
    paths = [Path(path) for path in paths]
    if progress is not None:  # NDJSON totals at once (a quick count), documents once parsed
        progress.add_total(sum(_count_lines(path) for path in paths if _is_ndjson(path)))
    with _no_cycle_collection():
        for path in paths:
            report.files.append(str(path))
            try:
                _FileImport(path, store, report, progress, parallel, form).run()
            except _FileError as exc:
                report.problems.append(ImportProblem(str(path), "", "", str(exc), exc.code))
    return report


@dataclass(frozen=True)
class _Form:
    """What an import file may hold: the lists of a JSON document and the kinds of NDJSON."""

    list_keys: dict[str, str]  # "orders" -> "order"
    kinds: Kinds  # kind -> its schema as JSON text

    @classmethod
    def of(cls, operations: Operations) -> _Form:
        return cls(operations.list_keys(),
                   {op.kind: json.dumps(op.record_schema) for op in operations})


@contextmanager
def _no_cycle_collection() -> Iterator[None]:
    """Parsed records are trees (no reference cycles): reference counting frees them, and
    the cycle collector, which would walk the thousands of records held per chunk again and
    again, costs a quarter of an import's time for nothing."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass(frozen=True, slots=True)
class _Suspect:
    """A record whose (kind, id) digest was seen before in its file: a duplicate unless the
    digest came from another id. Its duplicate problem is at `problem` until resolved."""

    kind: str
    record_id: str
    problem: int  # index in _FileImport.problems
    valid: bool  # stored, if it turns out not to be a duplicate


class _FileImport:
    def __init__(self, path: Path, store: Store, report: ImportReport,
                 progress: ImportProgress | None, parallel: bool, form: _Form) -> None:
        self.path, self.store, self.report, self.progress = path, store, report, progress
        self.parallel, self.form = parallel, form
        self.name = str(path)
        self.ndjson = False
        self.data: dict[str, Any] = {}  # a JSON document, kept for a second look
        self.stored_ids: set[int] = set()  # _id_digest of each (kind, id) stored from the file
        self.suspects: dict[str, _Suspect] = {}  # by place
        self.suspect_ids: set[int] = set()  # the digests that came more than once
        self.suspect = False  # the document may hold something hostile
        self.ingest = Ingest(store, form.kinds)  # writes the chunk in hand, counts the committed
        self.problems: list[ImportProblem] = []
        self.unreadable = 0
        self.taken = 0  # entries read since the last commit

    def run(self) -> None:
        if not self.path.is_file():
            raise _FileError("file not found" if not self.path.exists() else "not a file",
                             "file")
        self.ndjson = _is_ndjson(self.path)
        entries = self._ndjson(self.parallel) if self.ndjson else self._document()
        try:
            with closing(entries):  # stops a file's worker processes whatever happens
                for examined in entries:
                    self._take(examined)
                    self.taken += 1
                    if self.taken >= COMMIT_EVERY:
                        self._commit()
                    elif self.progress is not None and self.taken % PROGRESS_EVERY == 0:
                        self.progress.advance(PROGRESS_EVERY)
            self._resolve_suspects()
            self._commit()
        except BaseException:
            self.ingest.abort(*sys.exc_info())  # what was written since the last commit goes
            raise
        self.report.problems.extend(self.problems)
        self.report.unreadable += self.unreadable

    def _commit(self) -> None:
        """Commit what was written since the last commit, then count it (a crash before the
        commit leaves the report as untouched as the store)."""
        written, rejected = self.ingest.commit()
        for kind in self.form.kinds:
            self.report.accepted[kind] = self.report.accepted[kind] + written[kind]
            self.report.rejected[kind] += rejected[kind]
        if self.progress is not None and self.taken % PROGRESS_EVERY:
            self.progress.advance(self.taken % PROGRESS_EVERY)  # the rest was said already
        self.taken = 0

    # --- reading -------------------------------------------------------------------------------

    def _document(self) -> Entries:
        text = _read_text(self.path)
        if not text.strip():
            raise _FileError("the file is empty; expected a JSON object such as "
                             '{"orders": [...]}', "empty")
        reader = safe_json.Reader()
        try:
            try:
                parsed = reader.loads(text, extra_depth=2)  # {"orders": [record, ...]}
            except safe_json.TooDeep:  # one record, surely: read them one by one
                parsed = reader.by_element(text)
        except json.JSONDecodeError as exc:
            raise _FileError(f"malformed JSON at line {exc.lineno}, column {exc.colno}: "
                             f"{exc.msg}", "malformed_json") from None
        except safe_json.TooDeep as exc:
            raise _FileError(f"{exc}; records nest at most {safe_json.MAX_DEPTH} levels: "
                             "fix the exporter (nothing of this file was imported)",
                             "too_deep") from None
        data = parsed.value
        list_keys = self.form.list_keys
        allowed = ", ".join(f'"{k}"' for k in list_keys)
        if not isinstance(data, dict):
            raise _FileError(
                f"expected a JSON object with the keys {allowed}, got {_kind_of(data)}; for "
                f"one record a line use NDJSON (a .ndjson file)", "shape")
        twice = [key for key in getattr(data, "duplicates", ()) if key in list_keys]
        if twice:
            raise _FileError(
                f"the key {twice[0]!r} is given more than once at the top level: put all its "
                "records in one list (a JSON reader would keep only one of the lists; nothing "
                "of this file was imported)", "duplicate_key")
        self.data, self.suspect = data, parsed.suspect
        unknown = [k for k in data if k not in list_keys]
        for key in unknown:
            self.problems.append(ImportProblem(
                self.name, safe_text(str(key)), "$", f"unknown top-level key {key!r}: its "
                f"records were not imported (allowed keys: {allowed})", "shape"))
        if self.progress is not None:
            self.progress.add_total(sum(len(v) for k, v in data.items()
                                        if k in list_keys and isinstance(v, list)))
        return self._document_entries(data)

    def _document_entries(self, data: dict[str, Any], quiet: bool = False) -> Entries:
        for key, kind in self.form.list_keys.items():
            if key not in data:
                continue
            items = data[key]
            if not isinstance(items, list):
                if not quiet:
                    self.problems.append(ImportProblem(
                        self.name, key, "$", f"{key} must be a list of records, got "
                        f"{_kind_of(items)}", "shape"))
                continue
            for index, record in enumerate(items):
                yield examine_record(kind, f"{key}[{index}]", record, self.suspect,
                                     self.form.kinds[kind])

    def _ndjson(self, parallel: bool = True) -> Entries:
        try:
            self.path.open("rb").close()
        except OSError as exc:
            raise _FileError(f"cannot read the file: {exc.strerror}", "file") from None
        return examined_lines(self.path, self.form.kinds, parallel=parallel)

    # --- storing -------------------------------------------------------------------------------

    def _take(self, examined: Examined) -> None:
        kind, where, record_id = examined.kind, examined.where, examined.record_id
        problems = list(examined.problems)
        if kind is None:  # an NDJSON line that is not a record of a known kind
            for p in problems:
                self._problem(where, None, record_id, p.path, p.message, p.code)
            self.unreadable += 1
            return
        digest = None if record_id is None else _id_digest(kind, record_id)
        if digest in self.stored_ids:
            # Taken for a duplicate until _resolve_suspects confirms it and names the first.
            assert record_id is not None and digest is not None
            self.suspects[where] = _Suspect(kind, record_id, len(self.problems), not problems)
            self.suspect_ids.add(digest)
            problems.insert(0, _duplicate(kind, record_id, "?"))
        if problems:
            self.ingest.rejected[kind] += 1
            for p in problems:
                self._problem(where, kind, record_id, p.path, p.message, p.code)
            return
        assert digest is not None  # a valid record has a text id
        self.stored_ids.add(digest)
        self.ingest.add(kind, examined)

    def _resolve_suspects(self) -> None:
        """A second look at the file, only when some id digest came twice: each suspect is a
        duplicate if an earlier record of the file with its real (kind, id) was stored, and
        then its problem names that place; otherwise (another id with the same digest) its
        problem is dropped and the record is stored. Reading stops after the last suspect."""
        if not self.suspects:
            return
        firsts: dict[tuple[str, str], str] = {}  # stored (kind, id) among suspect digests
        dropped: set[int] = set()
        left = len(self.suspects)
        entries = (self._ndjson(parallel=False) if self.ndjson
                   else self._document_entries(self.data, quiet=True))
        with closing(entries):
            for examined in entries:
                kind, where, record_id = examined.kind, examined.where, examined.record_id
                if kind is None or record_id is None or \
                        _id_digest(kind, record_id) not in self.suspect_ids:
                    continue
                suspect = self.suspects.get(where)
                if suspect is None:
                    if not examined.problems:  # stored by _take
                        firsts[(kind, record_id)] = where
                    continue
                if (suspect.kind, suspect.record_id) != (kind, record_id):
                    break
                left -= 1
                first = firsts.get((kind, record_id))
                if first is not None:
                    problem = self.problems[suspect.problem]
                    self.problems[suspect.problem] = replace(
                        problem, message=_duplicate(kind, record_id, first).message)
                else:
                    dropped.add(suspect.problem)
                    if suspect.valid:
                        firsts[(kind, record_id)] = where
                        self.ingest.rejected[kind] -= 1
                        self.ingest.add(kind, examined)
                if not left:
                    break
        if left:
            raise _FileError("the file changed while it was imported; import it again once "
                             "it is complete", "file")
        if dropped:
            self.problems = [p for i, p in enumerate(self.problems) if i not in dropped]

    def _problem(self, where: str, kind: str | None, record_id: str | None, path: str,
                 message: str, code: str) -> None:
        self.problems.append(ImportProblem(
            self.name, where, path, message, code,
            None if record_id is None else safe_text(record_id), kind))


def _duplicate(kind: str, record_id: str, first: str) -> Problem:
    return Problem("$.id", f"duplicate {kind} id {record_id!r} in this file (first at {first}); "
                   "only the first was imported: give each record once per file",
                   "duplicate_record")


def _id_digest(kind: str, record_id: str) -> int:
    # 64 bits instead of the (kind, id) itself: a set of these costs about 0.1 KB a record.
    # Equal digests of different ids are possible (if very unlikely): the caller confirms.
    data = f"{kind}\0{record_id}".encode("utf-8", "surrogatepass")  # ids may hold lone surrogates
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "big")


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
        entry = safe_json.loads(first).value
    except (OSError, UnicodeDecodeError, ValueError):
        return False
    return isinstance(entry, dict) and "kind" in entry


def _count_lines(path: Path) -> int:
    """Lines in the file, counted in big blocks (about 0.1 s for 100 MB)."""
    count, last = 0, b"\n"
    try:
        with path.open("rb") as handle:
            while block := handle.read(1 << 20):
                count += block.count(b"\n")
                last = block[-1:]
    except OSError:
        return 0
    return count + (last != b"\n")
