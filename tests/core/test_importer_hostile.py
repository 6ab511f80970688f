"""`flx import` on hostile input, through the CLI and on both stores: each hostile value
refuses its own record with the place, the JSON path and the fix; the other records and the
files after it are stored; exit 3. Nothing crashes, hangs or is half-written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.plugins import build_plugins
from flx.store.store import Store

DEEP = 100_000  # far past what any parser's recursion can take


def order(order_id: str, **extra: Any) -> dict[str, Any]:
    return {"id": order_id, "lines": [{"id": "L1", "sku": "SKU-1", "quantity": 1}], **extra}


def line(text: str) -> str:
    """An NDJSON line for order ORD-X whose `custom_fields` (or more) is `text`."""
    return ('{"kind": "order", "id": "ORD-X", "lines": [{"id": "L1", "sku": "SKU-1", '
            f'"quantity": 1}}], {text}}}')


@pytest.fixture
def config(tmp_path: Path, store_url: str) -> Path:
    path = tmp_path / "flx.toml"
    path.write_text(f'[store]\nurl = "{store_url}"\n', encoding="utf-8")
    return path


def flx_import(config: Path, *args: str) -> Any:
    app = build_app(build_plugins(autoload=False))
    return CliRunner().invoke(app, ["--config", str(config), "import", *args])


def stored(store_url: str) -> list[str]:
    with Store(store_url) as store:
        return [r["id"] for r in store.iter_records("order")]


# (what, the hostile part of the line, path, words of the message that say what and the fix)
CASES = [
    ("NUL in a name", '"customer": {"first_name": "Ann\\u0000e"}', "$.customer.first_name",
     "first_name holds the control character U+0000 at character 4, which accounting "
     "systems refuse: remove it (tab and line breaks are allowed)"),
    ("escape character in a SKU", '"custom_fields": {"sku2": "A\\u001bB"}',
     "$.custom_fields.sku2", "control character U+001B"),
    ("lone surrogate", '"custom_fields": {"note": "x\\ud800"}', "$.custom_fields.note",
     "note holds an unpaired UTF-16 surrogate (\\ud800 at character 2), which is not text: "
     "the exporter wrote half a character; fix its encoding or remove it"),
    ("lone low surrogate in a key", '"custom_fields": {"\\udc00k": 1}',
     '$.custom_fields["\\udc00k"]', "the key holds an unpaired UTF-16 surrogate"),
    ("1e5000", '"custom_fields": {"big": 1e5000}', "$.custom_fields.big",
     "big is too large a number to read (1e5000): at most 100 digits and an exponent within "
     "±400; write it as text in quotes if it is an identifier"),
    ("1e1000000", '"custom_fields": {"big": 1e1000000}', "$.custom_fields.big",
     "too large a number to read (1e1000000)"),
    ("a tiny unit price", '"total": 1E-999999999', "$.total",
     "total is too large a number to read (1E-999999999)"),
    ("5,000 digits", '"custom_fields": {"n": ' + "7" * 5000 + "}", "$.custom_fields.n",
     "(5,000 characters)): at most 100 digits"),
    ("nested 100 deep", '"custom_fields": ' + "[" * 100 + "]" * 100,
     "$.custom_fields" + "[0]" * 63, "nested more than 64 levels deep: flatten this value"),
    ("a key twice", '"custom_fields": {"a": 1, "a": 2}', "$.custom_fields.a",
     "the key 'a' is given more than once in one object: give each key once"),
]


@pytest.mark.parametrize("what, text, path, words", CASES, ids=[c[0] for c in CASES])
def test_a_hostile_value_refuses_its_record_only(tmp_path: Path, config: Path, store_url: str,
                                                 what: str, text: str, path: str,
                                                 words: str) -> None:
    first = tmp_path / "first.ndjson"
    first.write_text("\n".join([
        json.dumps({"kind": "order", **order("ORD-1")}), line(text),
        json.dumps({"kind": "order", **order("ORD-3")})]) + "\n", encoding="utf-8")
    later = tmp_path / "later.json"
    later.write_text(json.dumps({"orders": [order("ORD-4")]}), encoding="utf-8")
    result = flx_import(config, str(first), str(later))
    assert result.exit_code == 3, result.output
    assert f"rejected: {first} line 2 (order ORD-X) {path}: " in result.stdout, result.stdout
    assert words in result.stdout
    assert "1 problem(s)" in result.stdout
    assert stored(store_url) == ["ORD-1", "ORD-3", "ORD-4"]


def test_a_line_nested_too_deep_to_parse_is_reported_and_the_rest_stored(
        tmp_path: Path, config: Path, store_url: str) -> None:
    path = tmp_path / "orders.ndjson"
    path.write_text("\n".join([
        line('"custom_fields": ' + "[" * DEEP + "]" * DEEP),
        json.dumps({"kind": "order", **order("ORD-2")})]) + "\n", encoding="utf-8")
    result = flx_import(config, str(path))
    assert result.exit_code == 3, result.output
    assert (f"rejected: {path} line 1: a value is nested far more than 64 levels deep; a "
            "record nests at most 64 levels: flatten it") in result.stdout
    assert stored(store_url) == ["ORD-2"]


def test_a_document_record_nested_too_deep_is_refused_alone(tmp_path: Path, config: Path,
                                                             store_url: str) -> None:
    deep = '{"id": "ORD-2", "x": ' + "[" * DEEP + '"]}"' + "]" * DEEP + "}"
    path = tmp_path / "orders.json"
    path.write_text('{"orders": [' + json.dumps(order("ORD-1")) + ", " + deep + ", "
                    + json.dumps(order("ORD-3")) + "]}", encoding="utf-8")
    result = flx_import(config, str(path))
    assert result.exit_code == 3, result.output
    assert (f"rejected: {path} orders[1]: nested far more than 64 levels deep: flatten it (or "
            "leave it out)") in result.stdout
    assert stored(store_url) == ["ORD-1", "ORD-3"]


def test_a_document_that_is_one_deep_value_is_refused_and_the_next_file_imported(
        tmp_path: Path, config: Path, store_url: str) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * DEEP + "]" * DEEP, encoding="utf-8")
    later = tmp_path / "later.json"
    later.write_text(json.dumps({"orders": [order("ORD-1")]}), encoding="utf-8")
    result = flx_import(config, str(deep), str(later))
    assert result.exit_code == 3, result.output
    assert f"rejected: {deep}: a value is nested far more than 64 levels deep" in result.stdout
    assert stored(store_url) == ["ORD-1"]


def test_a_top_level_list_given_twice_refuses_the_file(tmp_path: Path, config: Path,
                                                       store_url: str) -> None:
    twice = tmp_path / "twice.json"
    twice.write_text('{"orders": [' + json.dumps(order("ORD-1")) + '], "orders": ['
                     + json.dumps(order("ORD-2")) + "]}", encoding="utf-8")
    later = tmp_path / "later.json"
    later.write_text(json.dumps({"orders": [order("ORD-3")]}), encoding="utf-8")
    result = flx_import(config, str(twice), str(later))
    assert result.exit_code == 3, result.output
    assert (f"rejected: {twice}: the key 'orders' is given more than once at the top level: "
            "put all its records in one list") in result.stdout
    assert stored(store_url) == ["ORD-3"]  # not the second list silently, not half of it


def test_a_poisoned_id_is_printed_escaped_and_json_output_says_the_code(
        tmp_path: Path, config: Path, store_url: str) -> None:
    path = tmp_path / "orders.json"
    path.write_text('{"orders": [{"id": "ORD-\\u0000\\ud800", "lines": [{"id": "L1", '
                    '"sku": "S", "quantity": 1}]}, ' + json.dumps(order("ORD-2")) + "]}",
                    encoding="utf-8")
    result = flx_import(config, str(path))
    assert result.exit_code == 3
    assert "(order ORD-\\u0000\\ud800) $.id: id holds the control character U+0000" in \
        result.stdout
    result = flx_import(config, str(path), "--json")
    assert result.exit_code == 3
    report = json.loads(result.stdout)
    assert [(p["location"], p["record_id"], p["path"], p["code"])
            for p in report["problems"]] == [
        ("orders[0]", "ORD-\\u0000\\ud800", "$.id", "control_character")]
    assert report["kinds"]["order"]["rejected"] == 1
    assert stored(store_url) == ["ORD-2"]


def test_tab_and_line_breaks_are_text(tmp_path: Path, config: Path, store_url: str) -> None:
    path = tmp_path / "orders.json"
    path.write_text(json.dumps({"orders": [order("ORD-1", custom_fields={
        "gift_message": "Happy\tbirthday,\r\nAnn", "emoji": "\U0001f600"})]}),
        encoding="utf-8")
    result = flx_import(config, str(path))
    assert result.exit_code == 0, result.output
    with Store(store_url) as store:
        assert store.get_record("order", "ORD-1") == order("ORD-1", custom_fields={
            "gift_message": "Happy\tbirthday,\r\nAnn", "emoji": "\U0001f600"})


def test_the_progress_bar_shows_the_total_on_a_terminal_only(tmp_path: Path,
                                                             store_url: str) -> None:
    path = tmp_path / "orders.ndjson"
    path.write_text("".join(json.dumps({"kind": "order", **order(f"ORD-{i}")}) + "\n"
                            for i in range(600)), encoding="utf-8")
    config = tmp_path / "flx.toml"
    config.write_text(f'[store]\nurl = "{store_url}"\n', encoding="utf-8")
    flx = [sys.executable, "-m", "flx.cli.main", "--config", str(config), "import"]
    terminal = {**os.environ, "TTY_COMPATIBLE": "1", "COLUMNS": "120"}
    shown = subprocess.run([*flx, str(path)], capture_output=True, text=True, env=terminal,
                           timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "importing" in shown.stderr and "/600" in shown.stderr and "left" in shown.stderr
    assert shown.stdout.startswith("order: 0 inserted, 0 updated, 600 unchanged") or \
        shown.stdout.startswith("order: 600 inserted")
    quiet = subprocess.run([*flx, str(path), "--json"], capture_output=True, text=True,
                           env=terminal, timeout=120)
    assert quiet.returncode == 0 and quiet.stderr == ""
    assert json.loads(quiet.stdout)["kinds"]["order"]["unchanged"] == 600
    piped = subprocess.run([*flx, str(path)], capture_output=True, text=True,
                           env={k: v for k, v in os.environ.items() if k != "TTY_COMPATIBLE"},
                           timeout=120)
    assert piped.returncode == 0 and piped.stderr == ""
