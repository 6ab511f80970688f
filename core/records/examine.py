"""What `flx import` learns of each record before storing it: its id, its problems, and for a
valid record the canonical JSON and content hash the store keeps (`Examined`).

This is most of an import's work and needs nothing but the record, so a big NDJSON file is
examined in blocks of lines by worker processes (one per CPU, up to MAX_WORKERS) while this
process stores the results in file order; small files and JSON documents are examined here.
"""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import signal
from collections import deque
from collections.abc import Generator, Iterable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from flx.records import safe_json
from flx.records.messages import Problem
from flx.records.validate import canonical_json, validate_record

__all__ = ["Examined", "Kinds", "examine_record", "examined_lines", "id_of", "kind_of"]

PARALLEL_FROM = 8 << 20  # bytes of NDJSON from which workers pay for their start (~0.5 s)
MAX_WORKERS = 4
BLOCK = 500  # lines a worker examines at a time

# The record kinds an import takes (those of the registered operations), each with its JSON
# Schema as JSON text (None: the schema flx ships for the kind). Plain data: it goes to the
# worker processes as it is.
Kinds = Mapping[str, str | None]
_worker_kinds: Kinds = {}  # a worker process's, set when it starts


@dataclass(frozen=True, slots=True)
class Examined:
    where: str  # "orders[3]" or "line 7"
    kind: str | None  # None: an NDJSON line that is not a record (`problems` says why)
    record_id: str | None
    problems: tuple[Problem, ...]  # empty: valid
    text: str | None = None  # a valid record's canonical JSON, as stored
    content_hash: str | None = None


def examine_record(kind: str, where: str, record: Any, suspect: bool,
                   schema: str | None = None) -> Examined:
    record_id = id_of(record)
    # A hostile value is the record's only problem: the schema is not asked about it.
    problems = safe_json.problems(record) if suspect else []
    if not problems:
        problems = validate_record(kind, record, finite=not suspect, schema=schema)
    if problems:
        return Examined(where, kind, record_id, tuple(problems))
    text = canonical_json(record)
    return Examined(where, kind, record_id, (), text, hashlib.sha256(text.encode()).hexdigest())


def examine_line(reader: safe_json.Reader, number: int, raw: bytes,
                 kinds: Kinds) -> Examined | None:
    """One NDJSON line (None when blank)."""
    where = f"line {number}"

    def unreadable(message: str, code: str, record_id: str | None = None) -> Examined:
        return Examined(where, None, record_id, (Problem("$", message, code),))

    try:
        line = raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        return unreadable(f"the line is not UTF-8 text (bad byte at column {exc.start + 1})",
                          "encoding")
    line = line.rstrip("\r\n")
    if not line.strip():
        return None
    try:
        parsed = reader.loads(line)
    except json.JSONDecodeError as exc:
        return unreadable(f"malformed JSON at column {exc.pos + 1}: {exc.msg}",
                          "malformed_json")
    except safe_json.TooDeep as exc:
        return unreadable(f"{exc}; a record nests at most {safe_json.MAX_DEPTH} levels: "
                          "flatten it", "too_deep")
    entry = parsed.value
    if not isinstance(entry, dict):
        return unreadable(f"each line must be a JSON object with a \"kind\", got "
                          f"{kind_of(entry)}", "shape")
    kind = entry.get("kind")
    if not isinstance(kind, str) or kind not in kinds:
        said = "no \"kind\"" if "kind" not in entry else f"kind {kind!r}"
        known = ", ".join(f'"{k}"' for k in kinds)
        return unreadable(f"unknown record kind: the line has {said}; use one of {known}",
                          "unknown_kind", id_of(entry))
    if set(entry) == {"kind", "record"}:
        return examine_record(kind, where, entry["record"], parsed.suspect, kinds[kind])
    del entry["kind"]  # the line's own object: the rest is the record
    return examine_record(kind, where, entry, parsed.suspect, kinds[kind])


def examine_lines(block: list[tuple[int, bytes]]) -> list[Examined]:
    """A block of numbered lines (what a worker process is given)."""
    reader = safe_json.Reader()
    return [e for number, raw in block
            if (e := examine_line(reader, number, raw, _worker_kinds)) is not None]


def examined_lines(path: Path, kinds: Kinds, *,
                   parallel: bool = True) -> Generator[Examined, None, None]:
    """Every non-blank line of an NDJSON file, examined, in file order (raises OSError)."""
    workers = min(MAX_WORKERS, os.cpu_count() or 1)
    with path.open("rb") as handle:
        lines = enumerate(handle, start=1)
        if not parallel or workers < 2 or path.stat().st_size < PARALLEL_FROM:
            reader = safe_json.Reader()
            for number, raw in lines:
                if (examined := examine_line(reader, number, raw, kinds)) is not None:
                    yield examined
            return
        # spawn, not fork: this process may run threads (a progress bar, a store pool)
        pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=_worker_start, initargs=(dict(kinds),))
        try:
            pending: deque[Future[list[Examined]]] = deque()
            for block in _blocks(lines, BLOCK):
                pending.append(pool.submit(examine_lines, block))
                if len(pending) > 2 * workers:  # a bounded read-ahead: memory stays flat
                    yield from pending.popleft().result()
            while pending:
                yield from pending.popleft().result()
        except BaseException:  # Ctrl-C, a store error: the blocks read ahead are dropped
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown()


def _worker_start(kinds: dict[str, str | None]) -> None:
    global _worker_kinds
    _worker_kinds = kinds
    # Ctrl-C is this process's to handle: a worker finishes its block and is let go.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _blocks(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    iterator = iter(items)
    while block := list(islice(iterator, size)):
        yield block


def id_of(record: Any) -> str | None:
    value = record.get("id") if isinstance(record, dict) else None
    return value if isinstance(value, str) and value else None


def kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, str):
        return "text"
    if value is None:
        return "null"
    return "a number" if not isinstance(value, bool) else "true/false"
