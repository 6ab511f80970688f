"""Hypothesis fuzzing of `flx import` (flx.sources.files): every malformed input is rejected with a
message that says where, nothing crashes, and nothing is half-written.

Four angles: valid orders broken in one documented way each (docs/records.md), whole files
of garbage (JSON documents and NDJSON lines), arbitrary JSON values as records, and hostile
values (docs/records.md, "Hostile input") planted anywhere in valid orders. The store is
checked from the outside: exactly the records not reported are stored, as given. Derandomized
with a fixed budget: the same examples every run, in a few seconds."""

from __future__ import annotations

import copy
import json
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.generate import generate
from flx.records.validate import normalize
from flx.sources.files import LIST_KEYS, ImportReport, import_files
from flx.store.store import Store

ORDERS = generate(12, seed=3, prefix="FZ").orders
FUZZ = settings(max_examples=60, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

Mutation = Callable[[dict[str, Any]], None]


def _set(path: tuple[Any, ...], value: Any) -> Mutation:
    def apply(order: dict[str, Any]) -> None:
        target: Any = order
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value
    return apply


def _drop(path: tuple[Any, ...]) -> Mutation:
    def apply(order: dict[str, Any]) -> None:
        target: Any = order
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
    return apply


def _over_route(order: dict[str, Any]) -> None:
    order["fulfillment_requests"][0]["items"][0]["quantity"] += 50


def _duplicate_line(order: dict[str, Any]) -> None:
    order["lines"].append(copy.deepcopy(order["lines"][0]))


# Each breaks a rule of docs/records.md; (what, how). None of them can leave a valid order.
MUTATIONS: list[tuple[str, Mutation]] = [
    ("id missing", _drop(("id",))), ("id is a number", _set(("id",), 1001)),
    ("id empty", _set(("id",), "")), ("id padded", _set(("id",), " ORD-1 ")),
    ("lines missing", _drop(("lines",))), ("lines empty", _set(("lines",), [])),
    ("lines not a list", _set(("lines",), "L1")),
    ("line sku missing", _drop(("lines", 0, "sku"))),
    ("line id missing", _drop(("lines", 0, "id"))),
    ("quantity zero", _set(("lines", 0, "quantity"), 0)),
    ("quantity negative", _set(("lines", 0, "quantity"), -2)),
    ("quantity fractional", _set(("lines", 0, "quantity"), 1.5)),
    ("quantity as text", _set(("lines", 0, "quantity"), "3")),
    ("quantity boolean", _set(("lines", 0, "quantity"), True)),
    ("price negative", _set(("lines", 0, "unit_price"), "-1.00")),
    ("price exponent", _set(("lines", 0, "unit_price"), "1e3")),
    ("price with currency sign", _set(("lines", 0, "unit_price"), "$5.00")),
    ("price too precise", _set(("lines", 0, "unit_price"), "12.345678")),
    ("shipping to a tenth of a cent", _set(("shipping", "amount"), "5.001")),
    ("tax not a number", _set(("tax_total",), "abc")),
    ("date only", _set(("placed_at",), "2026-11-20")),
    ("no time zone", _set(("placed_at",), "2026-11-20T14:03:00")),
    ("month 13", _set(("placed_at",), "2026-13-01T00:00:00Z")),
    ("currency lowercase", _set(("currency",), "usd")),
    ("request type unknown", _set(("fulfillment_requests", 0, "type"), "warehouse")),
    ("request id missing", _drop(("fulfillment_requests", 0, "id"))),
    ("request items empty", _set(("fulfillment_requests", 0, "items"), [])),
    ("routing to no line", _set(("fulfillment_requests", 0, "items", 0, "order_line_id"),
                                "NOPE")),
    ("routed quantity zero", _set(("fulfillment_requests", 0, "items", 0, "quantity"), 0)),
    ("over-routed line", _over_route), ("duplicate line id", _duplicate_line),
]


@contextmanager
def workspace() -> Iterator[tuple[Path, Store]]:
    """A fresh folder and store per example (hypothesis reuses the test's fixtures)."""
    with tempfile.TemporaryDirectory(prefix="flx-fuzz-") as tmp, \
            Store(f"sqlite:///{tmp}/flx.db") as store:
        yield Path(tmp), store


def stored_orders(store: Store) -> dict[str, dict[str, Any]]:
    return {r["id"]: r for r in store.iter_records("order")}


def assert_reported_well(report: ImportReport) -> None:
    for problem in report.problems:
        assert problem.message.strip(), problem
        assert problem.file and (problem.location or problem.code in (
            "malformed_json", "empty", "shape", "encoding", "file")), problem


@FUZZ
@given(picks=st.lists(st.tuples(st.integers(0, len(ORDERS) - 1),
                                st.sampled_from(range(len(MUTATIONS))) | st.none()),
                      min_size=1, max_size=8))
def test_each_broken_order_is_rejected_with_a_message_and_the_rest_are_stored(
        picks: list[tuple[int, int | None]]) -> None:
    orders, broken = [], {}
    for position, (index, mutation) in enumerate(picks):
        order = copy.deepcopy(ORDERS[index])
        order["id"] = f"{order['id']}-{position}"
        if mutation is not None:
            MUTATIONS[mutation][1](order)
            broken[position] = MUTATIONS[mutation][0]
        orders.append(order)
    with workspace() as (folder, store):
        path = folder / "orders.json"
        path.write_text(json.dumps({"orders": orders}))
        report = import_files([path], store)
        assert_reported_well(report)
        reported = {p.location for p in report.problems}
        for position, what in broken.items():
            assert f"orders[{position}]" in reported, f"{what} was not reported"
        kept = stored_orders(store)
        expected = {o["id"]: o for i, o in enumerate(orders) if i not in broken}
        assert set(kept) == set(expected)  # nothing broken stored, nothing valid lost
        for order_id, order in expected.items():
            assert kept[order_id] == normalize(order)  # stored as given, not partially
        assert report.rejected["order"] == len(broken)


@FUZZ
@given(mutation=st.sampled_from([i for i, (what, _) in enumerate(MUTATIONS)
                                 if not what.startswith("id ")]))
def test_a_broken_reimport_leaves_the_stored_order_untouched(mutation: int) -> None:
    original = copy.deepcopy(ORDERS[0])
    with workspace() as (folder, store):
        first = folder / "first.json"
        first.write_text(json.dumps({"orders": [original]}))
        assert import_files([first], store).ok
        broken = copy.deepcopy(original)
        MUTATIONS[mutation][1](broken)
        second = folder / "second.json"
        second.write_text(json.dumps({"orders": [broken]}))
        report = import_files([second], store)
        assert_reported_well(report)
        assert not report.ok, MUTATIONS[mutation][0]
        assert stored_orders(store) == {original["id"]: normalize(original)}


def _benign(raw: bytes) -> bool:
    """Inputs that rightly import nothing and report nothing: blank lines only, or a JSON
    object whose lists are all empty."""
    lines = [line.decode("utf-8", "replace").strip() for line in raw.split(b"\n")]
    if not any(lines):
        return True
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except ValueError:
        return False
    return isinstance(data, dict) and all(
        k in LIST_KEYS and v == [] for k, v in data.items())


@FUZZ
@given(raw=st.binary(max_size=300) | st.text(max_size=300).map(str.encode),
       suffix=st.sampled_from([".json", ".ndjson", ".txt"]))
def test_garbage_files_never_crash_and_are_always_explained(raw: bytes, suffix: str) -> None:
    with workspace() as (folder, store):
        path = folder / f"input{suffix}"
        path.write_bytes(raw)
        report = import_files([path], store)  # must not raise, whatever the bytes
        assert_reported_well(report)
        kept = stored_orders(store)
        assert report.accepted["order"].total == len(kept)
        if not kept and not report.problems:
            assert _benign(raw), f"{raw!r} imported nothing and said nothing"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=12)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4),
    max_leaves=12)


@FUZZ
@given(records=st.lists(json_values | st.fixed_dictionaries({"id": st.text(max_size=6)},
                                                            optional={"lines": json_values}),
                        min_size=1, max_size=6))
def test_arbitrary_json_records_are_stored_only_when_nothing_is_reported(
        records: list[Any]) -> None:
    with workspace() as (folder, store):
        path = folder / "orders.json"
        path.write_text(json.dumps({"orders": records}))
        report = import_files([path], store)
        assert_reported_well(report)
        reported = {p.location for p in report.problems}
        kept = stored_orders(store)
        for index, record in enumerate(records):
            if f"orders[{index}]" not in reported:
                assert isinstance(record, dict) and record["id"] in kept
        assert len(kept) == report.accepted["order"].total


@FUZZ
@given(lines=st.lists(st.sampled_from(range(len(ORDERS))) | st.text(max_size=40),
                      min_size=1, max_size=10))
def test_ndjson_bad_lines_are_reported_by_line_and_good_lines_are_stored(
        lines: list[int | str]) -> None:
    text_lines, good, bad = [], set(), set()
    for number, entry in enumerate(lines, start=1):  # one physical line per entry
        if isinstance(entry, int):
            order = {**copy.deepcopy(ORDERS[entry]), "id": f"NJ-{number}"}
            text_lines.append(json.dumps({"kind": "order", **order}))
            good.add(order["id"])
        else:
            text = "".join(" " if c in "\r\n" else c for c in entry)
            text_lines.append(text)
            if text.strip():  # blank lines are allowed in NDJSON
                bad.add(f"line {number}")
    with workspace() as (folder, store):
        path = folder / "records.ndjson"
        path.write_bytes(("\n".join(text_lines) + "\n").encode("utf-8", "surrogatepass"))
        report = import_files([path], store)
        assert_reported_well(report)
        assert set(stored_orders(store)) == good
        assert report.accepted["order"].total == len(good)
        assert bad <= {p.location for p in report.problems}


# Raw JSON text that must refuse the record it is in (each a case of docs/records.md,
# "Hostile input"), and text that must not.
HOSTILE = [
    "1e5000", "-1e1000000", "1E-999999999", "9" * 5000, "0." + "0" * 120 + "1",
    "[" * 70 + "]" * 70, "[" * 3000 + "]" * 3000, '{"a": ' * 80 + "1" + "}" * 80,
    '"a\\u0000b"', '"\\u001b[31m"', '"\\u007f"', '"\\u0085"', '"\\ud800"', '"x\\udfff"',
    '{"k": 1, "k": 2}', '{"\\u0000": 1}', '{"\\ud83d": 1}', "NaN", "-Infinity",
]
BENIGN = ['"tab\\there"', '"line\\nbreak\\r\\n"', '"\\ud83d\\ude00"', '"caf\\u00e9"',
          "1e308", "5e-324", "-0.0", "1" * 100, '{"a": {"a": 1}}', "[" * 50 + "]" * 50]
SLOT = "@@PLANTED@@"


def planted(order: dict[str, Any], path: tuple[Any, ...]) -> str:
    """The order as JSON text with the value at `path` replaced by SLOT (set or added)."""
    target: Any = order
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = SLOT
    return json.dumps(order)


def places(value: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path in a record where a value can be put (each existing one, plus a new key in
    each object)."""
    out: list[tuple[Any, ...]] = []
    if isinstance(value, dict):
        out.append((*prefix, "planted"))
        for key, item in value.items():
            out += [(*prefix, key), *places(item, (*prefix, key))]
    elif isinstance(value, list):
        for index, item in enumerate(value):
            out += [(*prefix, index), *places(item, (*prefix, index))]
    return out


@settings(FUZZ, max_examples=200)
@given(data=st.data(), form=st.sampled_from(["json", "ndjson"]),
       count=st.integers(1, 6))
def test_hostile_values_refuse_their_record_only_and_nothing_is_half_written(
        data: st.DataObject, form: str, count: int) -> None:
    texts, expected, hostile = [], {}, {}
    for position in range(count):
        order = copy.deepcopy(ORDERS[data.draw(st.integers(0, len(ORDERS) - 1))])
        order["id"] = f"HX-{position}"
        kind = data.draw(st.sampled_from(["hostile", "benign", "none"]))
        if kind == "none":
            texts.append(json.dumps(order))
            expected[order["id"]] = copy.deepcopy(order)
            continue
        # hostile anywhere but the id; benign values where any value is allowed (new keys)
        path = data.draw(st.sampled_from([p for p in places(order) if p[0] != "id" and (
            kind == "hostile" or p[-1] == "planted")]))
        raw = data.draw(st.sampled_from(HOSTILE if kind == "hostile" else BENIGN))
        texts.append(planted(order, path).replace(json.dumps(SLOT), raw))
        if kind == "hostile":
            hostile[position] = raw
        else:
            expected[order["id"]] = json.loads(texts[-1], parse_float=Decimal)
    with workspace() as (folder, store):
        if form == "json":
            path = folder / "orders.json"
            path.write_text('{"orders": [' + ", ".join(texts) + "]}", encoding="utf-8")
            place = "orders[{}]".format
        else:
            path = folder / "orders.ndjson"
            path.write_text("".join('{"kind": "order", ' + t[1:] + "\n" for t in texts),
                            encoding="utf-8")
            place = lambda i: f"line {i + 1}"  # noqa: E731
        later = folder / "later.json"
        later.write_text(json.dumps({"orders": [{**ORDERS[0], "id": "LATER"}]}))
        report = import_files([path, later], store)  # must not raise, whatever was planted
        assert_reported_well(report)
        reported = {p.location for p in report.problems if p.file == str(path)}
        assert reported == {place(i) for i in hostile}, (hostile, report.problems)
        kept = stored_orders(store)
        assert kept.pop("LATER")["id"] == "LATER"  # the next file is imported
        assert set(kept) == set(expected)  # nothing hostile stored, nothing valid lost
        for order_id, order in expected.items():
            assert kept[order_id] == normalize(order)  # whole records, as given
        # a line too deep to parse has no known kind: it is counted unreadable
        assert report.rejected["order"] + report.unreadable == len(hostile)
