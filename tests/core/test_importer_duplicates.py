"""`flx import` and ids given more than once in a file: the later record is rejected naming the
place of the first, and nothing else is ever taken for a duplicate."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import flx.sources.files as importer
from flx.sources.files import ImportReport, import_files
from flx.store.store import Store


def order(order_id: str, quantity: Any = 1) -> dict[str, Any]:
    return {"id": order_id, "lines": [{"id": "L1", "sku": "SKU-1", "quantity": quantity}]}


def shipment(shipment_id: str) -> dict[str, Any]:
    return {"id": shipment_id, "order_id": "ORD-1",
            "items": [{"sku": "SKU-1", "quantity": 1}]}


def write_lines(path: Path, entries: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in entries), encoding="utf-8")
    return path


def messages(report: ImportReport) -> list[str]:
    return [str(p) for p in report.problems]


def duplicate(path: Path, where: str, kind: str, record_id: str, first: str) -> str:
    return (f"{path} {where} ({kind} {record_id}) $.id: duplicate {kind} id {record_id!r} in "
            f"this file (first at {first}); only the first was imported: give each record "
            "once per file")


@pytest.fixture
def shared_digest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every id gets the same digest: as if each pair of ids collided."""
    monkeypatch.setattr(importer, "_id_digest", lambda kind, record_id: 7)


def test_a_duplicate_line_is_rejected_naming_the_first(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("ORD-1")},
        {"kind": "order", **order("ORD-2")},
        {"kind": "order", **order("ORD-1", quantity=2)},
        {"kind": "order", **order("ORD-3", quantity=-1)},
        {"kind": "order", **order("ORD-1", quantity=3)},
    ])
    report = import_files([path], store)
    assert messages(report) == [
        duplicate(path, "line 3", "order", "ORD-1", "line 1"),
        f"{path} line 4 (order ORD-3) $.lines[0].quantity: quantity cannot be negative, got -1",
        duplicate(path, "line 5", "order", "ORD-1", "line 1"),
    ]
    assert [p.code for p in report.problems] == ["duplicate_record", "quantity",
                                                 "duplicate_record"]
    assert report.rejected["order"] == 3 and report.accepted["order"].inserted == 2
    assert store.get_record("order", "ORD-1") == order("ORD-1")  # the first one, unchanged


def test_a_duplicate_in_a_json_document_names_its_index(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"orders": [order("ORD-1"), order("ORD-2"), order("ORD-2", 5)]}),
                    encoding="utf-8")
    report = import_files([path], store)
    assert messages(report) == [duplicate(path, "orders[2]", "order", "ORD-2", "orders[1]")]
    assert store.get_record("order", "ORD-2") == order("ORD-2")


def test_an_invalid_duplicate_gets_both_problems(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("ORD-1")},
        {"kind": "order", **order("ORD-1", quantity=0)},
    ])
    report = import_files([path], store)
    assert [p.code for p in report.problems] == ["duplicate_record", "quantity"]
    assert messages(report)[0] == duplicate(path, "line 2", "order", "ORD-1", "line 1")


def test_an_id_whose_first_record_was_rejected_is_not_a_duplicate(tmp_path: Path,
                                                                 store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("ORD-1", quantity=-1)},
        {"kind": "order", **order("ORD-1")},  # the corrected record: imported
        {"kind": "order", **order("ORD-1", quantity=2)},
    ])
    report = import_files([path], store)
    assert [p.code for p in report.problems] == ["quantity", "duplicate_record"]
    assert messages(report)[1] == duplicate(path, "line 3", "order", "ORD-1", "line 2")
    assert store.get_record("order", "ORD-1") == order("ORD-1")


def test_the_same_id_in_two_kinds_is_not_a_duplicate(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("X-1")},
        {"kind": "shipment", **shipment("X-1")},
    ])
    report = import_files([path], store)
    assert report.ok, messages(report)
    assert store.get_record("order", "X-1") == order("X-1")
    assert store.get_record("shipment", "X-1") == shipment("X-1")


def test_many_distinct_ids_are_all_stored(tmp_path: Path, store: Store) -> None:
    ids = [f"ORD-{i}" for i in range(3000)]
    path = write_lines(tmp_path / "a.ndjson", [{"kind": "order", **order(i)} for i in ids])
    report = import_files([path], store)
    assert report.ok, messages(report)[:3]
    assert report.accepted["order"].inserted == 3000
    assert {r["id"] for r in store.iter_records("order")} == set(ids)


@pytest.mark.usefixtures("shared_digest")
def test_ids_sharing_a_digest_are_told_apart_by_their_real_id(tmp_path: Path,
                                                              store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("ORD-1")},
        {"kind": "order", **order("ORD-2")},
        {"kind": "shipment", **shipment("ORD-1")},
        {"kind": "order", **order("ORD-3", quantity=-1)},
        {"kind": "order", **order("ORD-2", quantity=2)},
        {"kind": "order", **order("ORD-4")},
    ])
    report = import_files([path], store)
    assert messages(report) == [
        f"{path} line 4 (order ORD-3) $.lines[0].quantity: quantity cannot be negative, got -1",
        duplicate(path, "line 5", "order", "ORD-2", "line 2"),
    ]
    assert report.rejected["order"] == 2
    assert report.accepted["order"].inserted == 3 and report.accepted["shipment"].inserted == 1
    assert [r["id"] for r in store.iter_records("order")] == ["ORD-1", "ORD-2", "ORD-4"]
    assert store.get_record("order", "ORD-2") == order("ORD-2")


@pytest.mark.usefixtures("shared_digest")
def test_ids_sharing_a_digest_in_large_files_are_all_stored(tmp_path: Path, store: Store,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    monkeypatch.setattr(importer, "COMMIT_EVERY", 10)
    path = tmp_path / "a.json"
    path.write_text(json.dumps({"orders": [order(f"ORD-{i}") for i in range(25)]}),
                    encoding="utf-8")
    report = import_files([path], store)
    assert report.ok, messages(report)[:3]
    assert report.accepted["order"].inserted == 25 and store.count_records("order") == 25


def test_a_file_that_changes_while_imported_is_not_half_imported(
        tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("ORD-1")},
        {"kind": "order", **order("ORD-1", quantity=2)},
    ])
    resolve = importer._FileImport._resolve_suspects

    def truncate_first(self: Any) -> None:  # the exporter rewrites the file meanwhile
        write_lines(path, [{"kind": "order", **order("ORD-1")}])
        resolve(self)

    monkeypatch.setattr(importer._FileImport, "_resolve_suspects", truncate_first)
    report = import_files([path], store)
    assert messages(report) == [f"{path}: the file changed while it was imported; import it "
                                "again once it is complete"]
    assert store.count_records("order") == 0
