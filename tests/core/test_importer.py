"""`flx import` as a user sees it: what gets stored, and how each problem is reported."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import flx.sources.files as importer
from flx.sources.files import ImportReport, import_files
from flx.store.store import Store


def order(order_id: str, quantity: Any = 1, **extra: Any) -> dict[str, Any]:
    return {"id": order_id, "lines": [{"id": "L1", "sku": "SKU-1", "quantity": quantity}],
            **extra}


def shipment(shipment_id: str, order_id: str = "ORD-1") -> dict[str, Any]:
    return {"id": shipment_id, "order_id": order_id, "items": [{"sku": "SKU-1", "quantity": 1}]}


def bill(bill_id: str) -> dict[str, Any]:
    return {"id": bill_id, "order_id": "ORD-1", "fulfillment_request_id": "FR-2",
            "number": "INV-1", "items": [{"sku": "SKU-1", "quantity": 1, "cost": "9.00"}]}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def write_lines(path: Path, lines: list[Any]) -> Path:
    path.write_text("\n".join(x if isinstance(x, str) else json.dumps(x) for x in lines) + "\n",
                    encoding="utf-8")
    return path


def messages(report: ImportReport) -> list[str]:
    return [str(p) for p in report.problems]


def counts(report: ImportReport, kind: str) -> dict[str, int]:
    return report.to_dict()["kinds"][kind]


def test_a_json_document_is_imported(tmp_path: Path, store: Store) -> None:
    path = write_json(tmp_path / "records.json", {
        "orders": [order("ORD-1"), order("ORD-2")], "shipments": [shipment("SH-1")],
        "vendor_bills": [bill("VB-1")]})
    report = import_files([path], store)
    assert report.ok, messages(report)
    assert counts(report, "order") == {"inserted": 2, "updated": 0, "unchanged": 0,
                                       "rejected": 0}
    assert counts(report, "shipment")["inserted"] == 1
    assert counts(report, "vendor_bill")["inserted"] == 1
    assert store.get_record("order", "ORD-2") == order("ORD-2")
    assert report.to_dict()["files"] == [str(path)]


def test_ndjson_takes_flat_and_wrapped_records(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "records.ndjson", [
        {"kind": "order", **order("ORD-1")},
        "",
        {"kind": "shipment", "record": shipment("SH-1")},
        {"kind": "vendor_bill", **bill("VB-1")},
    ])
    report = import_files([path], store)
    assert report.ok, messages(report)
    assert store.get_record("order", "ORD-1") == order("ORD-1")  # "kind" is not stored
    assert store.get_record("shipment", "SH-1") == shipment("SH-1")
    assert store.count_records("vendor_bill") == 1


def test_ndjson_is_recognised_by_its_first_line(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "export.txt", [{"kind": "order", **order("ORD-1")}])
    assert import_files([path], store).ok
    assert store.get_record("order", "ORD-1") is not None


def test_reimport_counts_unchanged_and_updated_and_keeps_history(tmp_path: Path,
                                                                 store: Store) -> None:
    path = write_json(tmp_path / "a.json", {"orders": [order("ORD-1"), order("ORD-2")]})
    import_files([path], store)
    store.set_sync("prod", "send-orders", "ORD-2", status="sent", remote_ids={"sales_order": "9"})
    write_json(path, {"orders": [order("ORD-1"), order("ORD-2", quantity=2)]})
    report = import_files([path], store)
    assert counts(report, "order") == {"inserted": 0, "updated": 1, "unchanged": 1,
                                       "rejected": 0}
    assert store.get_record("order", "ORD-2") == order("ORD-2", quantity=2)
    state = store.get_sync("prod", "send-orders", "ORD-2")
    assert state is not None and state.remote_ids == {"sales_order": "9"}


def test_money_keeps_its_exact_value(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "a.json"
    path.write_text('{"orders": [{"id": "ORD-1", "tax_total": 0.30, "shipping": {"amount": '
                    '"5.00"}, "lines": [{"id": "L1", "sku": "S", "quantity": 3.0, '
                    '"unit_price": 19.9875}]}]}', encoding="utf-8")
    assert import_files([path], store).ok
    stored = store.get_record("order", "ORD-1")
    assert stored is not None
    assert stored["tax_total"] == 0.3 and stored["shipping"]["amount"] == "5.00"
    assert stored["lines"][0]["quantity"] == 3 and isinstance(stored["lines"][0]["quantity"], int)
    assert repr(stored["lines"][0]["unit_price"]) == "19.9875"


def test_each_invalid_record_is_reported_and_the_valid_ones_stored(tmp_path: Path,
                                                                   store: Store) -> None:
    path = write_json(tmp_path / "orders.json", {"orders": [
        order("ORD-1"),
        order("ORD-2", quantity=1.5),
        order("ORD-3", quantity=-2),
        order("ORD-4", tax_total="12,50"),
        {"id": "ORD-5"},
        order("ORD-6"),
    ]})
    report = import_files([path], store)
    assert not report.ok
    assert messages(report) == [
        f"{path} orders[1] (order ORD-2) $.lines[0].quantity: "
        "quantity must be a whole number of units, got 1.5",
        f"{path} orders[2] (order ORD-3) $.lines[0].quantity: quantity cannot be negative, got -2",
        f"{path} orders[3] (order ORD-4) $.tax_total: tax_total must be a decimal amount such as "
        "19.99 (digits and one dot; no currency sign, thousands separator or exponent), "
        "got '12,50'",
        f"{path} orders[4] (order ORD-5) $.lines: lines is required",
    ]
    assert [p.code for p in report.problems] == ["quantity", "quantity", "money", "required"]
    assert counts(report, "order") == {"inserted": 2, "updated": 0, "unchanged": 0,
                                       "rejected": 4}
    assert [r["id"] for r in store.iter_records("order")] == ["ORD-1", "ORD-6"]
    problem = report.to_dict()["problems"][0]
    assert problem == {"file": str(path), "location": "orders[1]", "kind": "order",
                       "record_id": "ORD-2", "path": "$.lines[0].quantity",
                       "message": "quantity must be a whole number of units, got 1.5",
                       "code": "quantity"}


def test_duplicate_ids_in_one_file(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [
        {"kind": "order", **order("ORD-1")},
        {"kind": "shipment", **shipment("ORD-1")},  # another kind: not a duplicate
        {"kind": "order", **order("ORD-1", quantity=2)},
    ])
    report = import_files([path], store)
    assert messages(report) == [
        f"{path} line 3 (order ORD-1) $.id: duplicate order id 'ORD-1' in this file (first at "
        "line 1); only the first was imported: give each record once per file"]
    assert store.get_record("order", "ORD-1") == order("ORD-1")
    assert store.get_record("shipment", "ORD-1") is not None


def test_malformed_json_document_names_line_and_column(tmp_path: Path, store: Store) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"orders": [\n  {"id": "ORD-1"}\n  {"id": "ORD-2"}\n]}\n', encoding="utf-8")
    good = write_json(tmp_path / "good.json", {"orders": [order("ORD-9")]})
    report = import_files([bad, good], store)
    assert messages(report) == [
        f"{bad}: malformed JSON at line 3, column 3: Expecting ',' delimiter"]
    assert report.problems[0].code == "malformed_json"
    assert [r["id"] for r in store.iter_records("order")] == ["ORD-9"]  # the next file goes on


def test_malformed_ndjson_lines_are_skipped_alone(tmp_path: Path, store: Store) -> None:
    path = tmp_path / "a.ndjson"
    path.write_bytes(b'{"kind": "order", "id": "ORD-1",\n'
                     + json.dumps({"kind": "order", **order("ORD-2")}).encode() + b"\n"
                     + b'{"kind": "order", "id": "caf\xe9"}\n'
                     + b'[1, 2]\n')
    report = import_files([path], store)
    assert messages(report) == [
        f"{path} line 1: malformed JSON at column 33: Expecting property name enclosed in "
        "double quotes",
        f"{path} line 3: the line is not UTF-8 text (bad byte at column 29)",
        f"{path} line 4: each line must be a JSON object with a \"kind\", got a list",
    ]
    assert report.to_dict()["unreadable"] == 3
    assert store.get_record("order", "ORD-2") is not None


def test_huge_or_non_finite_numbers_are_rejected_naming_their_place(tmp_path: Path,
                                                                    store: Store) -> None:
    # 1e400 is a valid JSON number (it would crash the send with InvalidOperation); NaN and
    # Infinity are not JSON but some exporters write them: each is one record's problem.
    doc = tmp_path / "orders.json"
    doc.write_text('{"orders": [{"id": "ORD-1", "lines": [{"id": "L1", "sku": "S", '
                   '"quantity": 1e400}]}, {"id": "ORD-2", "tax_total": NaN, "lines": [{"id": '
                   '"L1", "sku": "S", "quantity": 1}]}, {"id": "ORD-3", "lines": [{"id": "L1", '
                   '"sku": "S", "quantity": 2}]}]}')
    lines = write_lines(tmp_path / "orders.ndjson", [
        '{"kind": "order", "id": "ORD-4", "lines": [{"id": "L1", "sku": "S", '
        '"quantity": Infinity}]}'])
    report = import_files([doc, lines], store)
    assert messages(report) == [
        f"{doc} orders[0] (order ORD-1) $.lines[0].quantity: quantity must be at most "
        "1,000,000, got 1E+400",
        f"{doc} orders[1] (order ORD-2) $.tax_total: tax_total must be a finite number, "
        "got NaN",
        f"{lines} line 1 (order ORD-4) $.lines[0].quantity: quantity must be a finite number, "
        "got Infinity",
    ]
    assert [r["id"] for r in store.iter_records("order")] == ["ORD-3"]  # the rest goes in


def test_a_bill_with_nothing_to_bill_is_rejected(tmp_path: Path, store: Store) -> None:
    empty = bill("VB-0")
    empty["items"] = [{"sku": "SKU-1", "quantity": 0}, {"sku": "SKU-2", "quantity": 0}]
    path = write_json(tmp_path / "bills.json", {"vendor_bills": [empty, bill("VB-1")]})
    report = import_files([path], store)
    assert messages(report) == [
        f"{path} vendor_bills[0] (vendor_bill VB-0) $.items: nothing to bill: every item has "
        "quantity 0 (list the units this invoice bills, or do not import it)"]
    assert counts(report, "vendor_bill")["inserted"] == 1


def test_wrong_top_level_shapes_name_the_allowed_keys(tmp_path: Path, store: Store) -> None:
    listed = write_json(tmp_path / "list.json", [order("ORD-1")])
    typo = write_json(tmp_path / "typo.json", {"order": [order("ORD-2")],
                                               "orders": [order("ORD-3")],
                                               "shipments": {"id": "SH-1"}})
    empty = tmp_path / "empty.json"
    empty.write_text("\n", encoding="utf-8")
    report = import_files([listed, typo, empty], store)
    allowed = '"orders", "shipments", "vendor_bills"'
    assert messages(report) == [
        f"{listed}: expected a JSON object with the keys {allowed}, got a list; for one record "
        "a line use NDJSON (a .ndjson file)",
        f"{typo} order: unknown top-level key 'order': its records were not imported "
        f"(allowed keys: {allowed})",
        f"{typo} shipments: shipments must be a list of records, got an object",
        f"{empty}: the file is empty; expected a JSON object such as {{\"orders\": [...]}}",
    ]
    assert [r["id"] for r in store.iter_records("order")] == ["ORD-3"]


def test_unknown_kinds_list_the_known_ones(tmp_path: Path, store: Store) -> None:
    path = write_lines(tmp_path / "a.ndjson", [{"kind": "invoice", "id": "X-1"},
                                               {"id": "X-2"}])
    report = import_files([path], store)
    kinds = '"order", "shipment", "vendor_bill"'
    assert messages(report) == [
        f"{path} line 1 (record X-1): unknown record kind: the line has kind 'invoice'; "
        f"use one of {kinds}",
        f"{path} line 2 (record X-2): unknown record kind: the line has no \"kind\"; "
        f"use one of {kinds}",
    ]
    assert [p.code for p in report.problems] == ["unknown_kind", "unknown_kind"]


def test_a_missing_file_is_reported(tmp_path: Path, store: Store) -> None:
    report = import_files([tmp_path / "nope.json"], store)
    assert messages(report) == [f"{tmp_path / 'nope.json'}: file not found"]


def test_a_crash_mid_file_keeps_whole_chunks_and_a_reimport_completes_it(
        tmp_path: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    first = write_json(tmp_path / "first.json", {"orders": [order("ORD-0")]})
    path = write_lines(tmp_path / "big.ndjson",
                       [{"kind": "order", **order(f"ORD-{i}")} for i in range(1, 8)])
    monkeypatch.setattr(importer, "COMMIT_EVERY", 2)
    real = store.upsert_records
    calls: list[int] = []

    def failing(kind: str, records: list[dict[str, Any]]) -> Any:
        calls.append(len(records))
        if len(calls) == 4:
            raise OSError("disk full")
        return real(kind, records)

    monkeypatch.setattr(store, "upsert_records", failing)
    with pytest.raises(OSError, match="disk full"):
        import_files([first, path], store)
    assert calls == [1, 2, 2, 2]  # committed in chunks; two were written before the crash
    stored = [r["id"] for r in store.iter_records("order")]
    assert stored == ["ORD-0", "ORD-1", "ORD-2", "ORD-3", "ORD-4"]
    assert all(r == order(r["id"]) for r in store.iter_records("order"))  # whole records
    monkeypatch.setattr(store, "upsert_records", real)
    report = import_files([path], store)  # the same file again: the rest, no duplicate
    assert report.ok
    assert counts(report, "order") == {"inserted": 3, "updated": 0, "unchanged": 4,
                                       "rejected": 0}
    assert store.count_records("order") == 8


def test_large_files_are_committed_in_chunks(tmp_path: Path, store: Store,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = write_lines(tmp_path / "big.ndjson",
                       [{"kind": "order", **order(f"ORD-{i:02d}")} for i in range(25)])
    monkeypatch.setattr(importer, "COMMIT_EVERY", 10)
    sizes: list[int] = []
    real = store.upsert_records

    def spy(kind: str, records: list[dict[str, Any]]) -> Any:
        sizes.append(len(records))
        return real(kind, records)

    monkeypatch.setattr(store, "upsert_records", spy)
    report = import_files([path], store)
    assert report.ok and sizes == [10, 10, 5]
    assert store.count_records("order") == 25
