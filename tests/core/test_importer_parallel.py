"""A big NDJSON file is examined by worker processes: the report and the store are exactly
what examining it here gives, in file order (problems, duplicates, hostile lines, counts)."""

from __future__ import annotations

import json
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import flx.records.examine as import_lines
from flx.sources.files import import_files
from flx.store.store import Store


def order(order_id: str, quantity: Any = 1) -> dict[str, Any]:
    return {"kind": "order", "id": order_id,
            "lines": [{"id": "L1", "sku": "SKU-1", "quantity": quantity}]}


def lines() -> list[str]:
    out = []
    for i in range(1, 1201):
        if i % 97 == 0:
            out.append(json.dumps(order(f"ORD-{i - 1}")))  # the id of the line before: twice
        elif i % 89 == 0:
            out.append(json.dumps(order(f"ORD-{i}", quantity=0)))  # invalid
        elif i % 83 == 0:
            out.append(f'{{"kind": "order", "id": "ORD-{i}", "x": 1e5000}}')  # hostile
        elif i % 79 == 0:
            out.append("{not json")
        elif i % 73 == 0:
            out.append("")
        else:
            out.append(json.dumps(order(f"ORD-{i}")))
    return out


def imported(path: Path, url: str, parallel: bool,
             monkeypatch: pytest.MonkeyPatch) -> tuple[list[str], dict[str, Any], list[Any]]:
    monkeypatch.setattr(import_lines, "PARALLEL_FROM", 0 if parallel else 1 << 60)
    monkeypatch.setattr(import_lines, "BLOCK", 50)  # many blocks in flight
    monkeypatch.setattr(import_lines.os, "cpu_count", lambda: 2)
    with Store(url) as store:
        report = import_files([path], store)
        records = list(store.iter_records("order"))
    return [str(p) for p in report.problems], report.to_dict()["kinds"], records


def test_workers_import_exactly_what_one_process_does(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "orders.ndjson"
    path.write_text("\n".join(lines()) + "\n", encoding="utf-8")
    pools: list[int] = []

    class Pool(ProcessPoolExecutor):
        def __init__(self, workers: int, **options: Any) -> None:
            pools.append(workers)
            super().__init__(workers, **options)

    monkeypatch.setattr(import_lines, "ProcessPoolExecutor", Pool)
    serial = imported(path, f"sqlite:///{tmp_path / 'serial.db'}", False, monkeypatch)
    assert pools == []
    parallel = imported(path, f"sqlite:///{tmp_path / 'parallel.db'}", True, monkeypatch)
    assert pools == [2]  # two worker processes did the examining
    assert parallel == serial
    problems, kinds, records = parallel
    assert kinds["order"]["inserted"] == len(records) > 1000
    assert any("duplicate order id 'ORD-96' in this file (first at line 96)" in p
               for p in problems)
    assert any("line 83 (order ORD-83) $.x: x is too large a number" in p for p in problems)
    assert any(p.endswith("line 79: malformed JSON at column 2: Expecting property name "
                          "enclosed in double quotes") for p in problems)
