"""Mapping profiles: found by name or path, validated all at once, completed with defaults."""

from __future__ import annotations

import json
import sys
from importlib import resources
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from flx.connector import Connector
from flx.errors import ConfigError, MappingError
from flx.plugins import build_plugins
from flx.render.mapping import (
    Profile,
    apply_schema_defaults,
    load_profile,
    profile_names,
    validate_profile,
)

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin.plugin import connector as fake_connector  # noqa: E402


@pytest.fixture
def connector() -> Connector:
    return fake_connector()


def write(tmp_path: Path, data: object, name: str = "acme.json") -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_mapping_schema_is_a_valid_2020_12_schema() -> None:
    schema = json.loads(resources.files("flx.schemas").joinpath("mapping.schema.json").read_text())
    Draft202012Validator.check_schema(schema)


def test_default_profile_by_name_is_completed_with_defaults(connector: Connector) -> None:
    profile = load_profile(connector, None)
    assert profile.name == "default"
    assert profile.source == "flx.testing.fakebooks.mappings:default.json"
    assert profile.data["tables"]["vendors"] == {"V-A": "501"}
    # keys the file leaves out are filled, so plugins never guess (a connector's own keys by
    # its mapping schema's defaults: tests/plugins/netsuite/test_mapping_defaults.py)
    assert profile.data["custom_fields"] == {
        "body": {"custbody_gift": "{{ order.custom_fields.gift_message | default('') }}"},
        "column": {}}
    assert profile.data["options"] == {"memo_prefix": "flx"}
    assert "sku_level" not in profile.data and "customer" not in profile.data
    assert profile_names(connector) == ["default"]


def test_unknown_profile_name_lists_the_shipped_ones(connector: Connector) -> None:
    with pytest.raises(ConfigError) as err:
        load_profile(connector, "acme")
    assert "no mapping profile named 'acme'" in err.value.message
    assert err.value.problems == ["shipped profiles: default"]


def test_profile_by_relative_path_and_its_template_folder(connector: Connector,
                                                          tmp_path: Path) -> None:
    (tmp_path / "acme-templates").mkdir()
    write(tmp_path, {"name": "acme", "templates": "acme-templates",
                     "custom_fields": {"column": {"custcol_x": "1"}}})
    profile = load_profile(connector, "acme.json", base_dir=tmp_path)
    assert profile.template_dirs == [(tmp_path / "acme-templates").resolve()]
    assert profile.data["custom_fields"] == {"column": {"custcol_x": "1"}, "body": {}}


def test_invalid_profile_lists_every_error(connector: Connector, tmp_path: Path) -> None:
    write(tmp_path, {
        "tabels": {},
        "tables": {"vendors": ["V-A"]},
        "header": {"memo": "{{ order.number "},
        "options": {"memo_prefix": 5},
        "templates": "nope",
    })
    with pytest.raises(ConfigError) as err:
        load_profile(connector, str(tmp_path / "acme.json"))
    problems = err.value.problems
    expected = [
        "$.tabels: unknown setting (did you mean 'tables'?)",
        "$.tables.vendors: ['V-A'] is not of type 'object'",
        "$.options.memo_prefix: 5 is not of type 'string'",  # from the connector's schema
        "$.templates: folder 'nope' not found",
    ]
    for line in expected:
        assert any(p.startswith(line) for p in problems), (line, problems)
    assert any(p.startswith("$.header.memo: template syntax error") for p in problems)
    assert len(problems) == len(expected) + 1
    assert f"{tmp_path / 'acme.json'} has 5 problems" in err.value.message


def test_json_syntax_error_gives_line_and_column(connector: Connector, tmp_path: Path) -> None:
    write(tmp_path, '{\n  "name": "acme",\n}')
    with pytest.raises(ConfigError) as err:
        load_profile(connector, "acme.json", base_dir=tmp_path)
    assert err.value.problems[0].startswith("line 3 column 1:")


def test_missing_profile_file(connector: Connector, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not exist"):
        load_profile(connector, "clients/acme.json", base_dir=tmp_path)


def test_connector_without_profiles_gets_defaults() -> None:
    bare = Connector(name="bare", connection_schema={}, operations=("send-orders",))
    profile = load_profile(bare, None)
    assert profile.data == {"name": "default", "tables": {}, "header": {},
                            "custom_fields": {"body": {}, "column": {}}, "options": {}}
    assert validate_profile({"connector_specific": 1}, bare) == [
        "$.connector_specific: unknown setting"]


def test_a_connectors_own_keys_get_its_mapping_schemas_defaults(tmp_path: Path) -> None:
    """What the connector's mapping schema declares with a `default` is filled like core's
    own keys; an object default fills the keys a given object leaves out (one level)."""
    schema = {"type": "object", "properties": {
        "lookup": {"type": "string", "default": "sku"},
        "policy": {"type": "object", "default": {"mode": "create", "order": ["a", "b"]}},
        "limits_of_mine": {"type": "object", "properties": {"n": {"default": 3}}}}}
    books = Connector(name="books", connection_schema={}, operations=("send-orders",),
                      mapping_schema=schema)
    assert apply_schema_defaults(schema, {"policy": {"mode": "fail"}}) == {
        "lookup": "sku", "policy": {"mode": "fail", "order": ["a", "b"]}}
    profile = load_profile(books, str(write(tmp_path, {"lookup": "upc"})))
    assert (profile.data["lookup"], profile.data["policy"]) == ("upc", {
        "mode": "create", "order": ["a", "b"]})
    assert "limits_of_mine" not in profile.data  # no default of its own: left out
    profile.data["policy"]["order"].append("c")  # a profile's copy, never the schema's
    assert schema["properties"]["policy"]["default"]["order"] == ["a", "b"]


def test_lookup_names_the_missing_table_entry() -> None:
    profile = Profile({"name": "acme", "tables": {"vendors": {"V-A": "501"}}}, "acme.json")
    assert profile.lookup("vendors", "V-A", record_id="ORD-1") == "501"
    with pytest.raises(MappingError) as err:
        profile.lookup("vendors", "V-B", record_id="ORD-1", what="vendor")
    assert err.value.message == ("vendor 'V-B' has no entry in tables.vendors of mapping "
                                 "profile acme")
    assert err.value.hint == 'add "V-B": "<id>" to tables.vendors in acme.json'


def test_every_shipped_profile_validates() -> None:
    # Conformance: a profile shipped by an installed connector must pass the core schema and
    # the connector's own.
    connectors = build_plugins().connectors.values()
    shipped = [(c, p) for c in connectors if c.mappings_package
               for p in resources.files(c.mappings_package).iterdir() if p.name.endswith(".json")]
    assert shipped, "no shipped mapping profiles found"
    for connector, path in shipped:
        problems = validate_profile(json.loads(path.read_text()), connector)
        assert problems == [], f"mappings/{connector.name}/{path.name}: {problems}"


def test_override_files_that_replace_no_template_are_problems(connector: Connector,
                                                               tmp_path: Path) -> None:
    # The fake connector's templates: order.json.j2, shipment.json.j2, vendor_bill.json.j2.
    folder = tmp_path / "acme-templates"
    folder.mkdir()
    (folder / "order.json.j2").write_text("{}")  # a real override
    (folder / "Shipment.json.j2").write_text("{}")  # wrong case: would be ignored
    (folder / "vendor_bill.json").write_text("{}")  # no .j2: would be ignored
    (folder / "invoice.txt").write_text("")
    (folder / "_macros.j2").write_text("")  # a partial of the client's own: fine
    (folder / ".DS_Store").write_text("")
    write(tmp_path, {"name": "acme", "templates": "acme-templates"})
    with pytest.raises(ConfigError) as err:
        load_profile(connector, "acme.json", base_dir=tmp_path)
    ignored = "matches no template of the 'fakebooks' connector, so it would be ignored"
    assert err.value.problems == [
        f"$.templates: Shipment.json.j2 in {folder.resolve()} {ignored}; did you mean "
        "'shipment.json.j2'?",
        f"$.templates: invoice.txt in {folder.resolve()} {ignored}; its templates: "
        "order.json.j2, shipment.json.j2, vendor_bill.json.j2",
        f"$.templates: vendor_bill.json in {folder.resolve()} {ignored}; did you mean "
        "'vendor_bill.json.j2'?",
    ]
    for name in ("Shipment.json.j2", "vendor_bill.json", "invoice.txt"):
        (folder / name).unlink()
    assert load_profile(connector, "acme.json", base_dir=tmp_path).template_dirs == [
        folder.resolve()]


def test_custom_field_keys_are_checked_not_ignored(connector: Connector, tmp_path: Path) -> None:
    write(tmp_path, {
        "custom_fields": {"bodyy": {"custbody_x": "1"}},
        "shipment": {"custom_fields": {"column": {"custcol_x": "1"}}, "heder": {}},
        "vendor_bill": {"custom_fields": {"body": {"custbody_ok": "1"}}},
    })
    with pytest.raises(ConfigError) as err:
        load_profile(connector, str(tmp_path / "acme.json"))
    problems = err.value.problems
    assert any(p.startswith("$.custom_fields.bodyy: unknown setting (did you mean 'body'?)")
               for p in problems), problems
    assert any(p.startswith("$.shipment.custom_fields.column: unknown setting") for p in problems)
    assert any(p.startswith("$.shipment.heder: unknown setting (did you mean 'header'?)")
               for p in problems), problems
    assert len(problems) == 3
