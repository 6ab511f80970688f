"""The renderer as a template author and an ops person meet it: strict, sandboxed, exact."""

from __future__ import annotations

import json
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from flx.errors import ConfigError, PluginError, TemplateError
from flx.render.renderer import Renderer, dumps

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

ORDER = {
    "id": "ORD-1", "number": "1001", "channel": "shopify", "placed_at": "2026-11-20T23:30:00-05:00",
    "customer": {"email": "jane@example.com", "company": None},
    "lines": [{"id": "L1", "sku": "SKU-1", "quantity": 3, "unit_price": "19.99"}],
    "shipments": [], "items": ["the field, not dict.items"],
}

SALES_ORDER = """{
  "externalId": {{ ("flx-" ~ order.id) | json }},
  "tranDate": {{ order.placed_at | date | json }},
  "memo": {{ memo | json }},
  "lines": [
  {%- for line in order.lines %}
    {"sku": {{ line.sku | json }}, "rate": {{ line.unit_price | money }},
     "amount": {{ ((line.unit_price | decimal) * line.quantity) | money }}}
  {%- endfor %}
  ],
  "email": {{ order.customer.email | json }}
}
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder


@pytest.fixture
def renderer(tmp_path: Path) -> Renderer:
    return Renderer([], [write(tmp_path / "tpl", "salesOrder.json.j2", SALES_ORDER)])


def render(renderer: Renderer, order: dict, **context) -> dict:
    return renderer.render_json("salesOrder.json.j2", {"order": order, "memo": "m", **context},
                                record_id=order["id"])


def test_renders_exact_amounts_and_dates(renderer: Renderer) -> None:
    payload = render(renderer, ORDER, memo='He said "hi"\nthen left')
    assert payload["lines"][0]["rate"] == Decimal("19.99")
    assert payload["lines"][0]["amount"] == Decimal("59.97")  # 3 x 19.99, never 59.970000001
    assert payload["tranDate"] == "2026-11-20"  # the date as the customer saw it
    assert payload["memo"] == 'He said "hi"\nthen left'  # | json quoted and escaped it


def test_missing_field_names_template_line_record_and_field(renderer: Renderer) -> None:
    order = {**ORDER, "customer": {"company": None}}
    with pytest.raises(TemplateError) as err:
        render(renderer, order)
    assert err.value.message == ("template salesOrder.json.j2 line 11: order ORD-1 has no "
                                 "field 'email'")
    assert err.value.record_id == "ORD-1"
    assert err.value.hint and "default" in err.value.hint


def test_null_parent_is_explained(renderer: Renderer) -> None:
    with pytest.raises(TemplateError, match=r"line 11: order ORD-1 has no field 'email' "
                                            r"\(the value above it is null\)"):
        render(renderer, {**ORDER, "customer": None})


@pytest.mark.parametrize("expr", [
    "{{ ''.__class__.__mro__ }}",
    "{{ cycler.__init__.__globals__ }}",
    "{{ order.__class__ }}",
    "{{ order['__class__'] }}",
    "{{ (order.lines | first).__class__.__subclasses__() }}",
    "{{ 'x' * 100000000 }}",
    "{{ 10 ** 100000 }}",
])
def test_sandbox_refuses_python_internals(tmp_path: Path, expr: str) -> None:
    renderer = Renderer([], [write(tmp_path, "evil.json.j2", '{"x": "' + expr + '"}')])
    with pytest.raises(TemplateError, match=r"unsafe template operation|limits\.output_chars"):
        renderer.render_json("evil.json.j2", {"order": ORDER}, record_id="ORD-1")


def test_templates_cannot_mutate_the_record(tmp_path: Path) -> None:
    renderer = Renderer([], [write(tmp_path, "t.json.j2",
                                   '{"x": {{ order.lines.append(1) | json }}}')])
    with pytest.raises(TemplateError):
        renderer.render_json("t.json.j2", {"order": ORDER}, record_id="ORD-1")
    assert len(ORDER["lines"]) == 1


def test_override_folder_wins_over_package_templates(tmp_path: Path) -> None:
    # the fake connector ships order.json.j2; a client folder replaces just that one.
    packaged = Renderer(["flx.testing.fakebooks"])
    assert "order.json.j2" in packaged.list_templates()
    override = write(tmp_path / "client", "order.json.j2", '{"client": true}')
    renderer = Renderer(["flx.testing.fakebooks"], [override])
    assert renderer.render_json("order.json.j2", {}, record_id="ORD-1") == {"client": True}
    assert renderer.has_template("shipment.json.j2")  # the others still come from the package


def test_invalid_json_shows_the_rendered_line(tmp_path: Path) -> None:
    renderer = Renderer([], [write(tmp_path, "t.json.j2",
                                   '{\n  "id": "{{ order.id }}",\n  "memo": "{{ memo }}"\n}')])
    with pytest.raises(TemplateError) as err:
        renderer.render_json("t.json.j2", {"order": ORDER, "memo": 'say "hi"'},
                             record_id="ORD-1")
    assert "rendered line 3" in err.value.message
    assert '"memo": "say "hi""' in err.value.message  # the offending line, as rendered
    assert "| json" in (err.value.hint or "")


def test_schema_errors_are_all_listed_with_json_paths(renderer: Renderer) -> None:
    schema = {"type": "object", "required": ["entity"],
              "properties": {"lines": {"items": {"properties": {"sku": {"maxLength": 3}}}},
                             "memo": {"type": "integer"}}}
    with pytest.raises(TemplateError) as err:
        renderer.render_json("salesOrder.json.j2", {"order": ORDER, "memo": "m"},
                             record_id="ORD-1", schema=schema)
    text = err.value.message
    assert "$: 'entity' is a required property" in text
    assert "$.lines[0].sku: 'SKU-1' is too long" in text
    assert "$.memo: 'm' is not of type 'integer'" in text


def test_syntax_error_is_a_config_error_with_the_line(tmp_path: Path) -> None:
    renderer = Renderer([], [write(tmp_path, "t.json.j2", '{\n"a": {{ order.id }\n}')])
    with pytest.raises(ConfigError) as err:
        renderer.render_json("t.json.j2", {"order": ORDER}, record_id="ORD-1")
    assert "t.json.j2" in err.value.message
    assert err.value.problems[0].startswith("line 2:")


def test_record_items_field_is_not_dict_items(tmp_path: Path) -> None:
    renderer = Renderer([], [write(tmp_path, "t.json.j2", '{"items": {{ order.items | json }}}')])
    payload = renderer.render_json("t.json.j2", {"order": ORDER}, record_id="ORD-1")
    assert payload == {"items": ["the field, not dict.items"]}


@pytest.mark.parametrize(("value", "expected"), [
    ("19.99", "19.99"), ("1.005", "1.01"), ("2.675", "2.68"), (19.99, "19.99"),
    (0.1 + 0.2, "0.30"), (3, "3.00"), (Decimal("-0.001"), "0.00"), ("  7.5 ", "7.50"),
])
def test_money_filter_is_decimal_half_up(tmp_path: Path, value, expected: str) -> None:
    renderer = Renderer([], [write(tmp_path, "t.json.j2", '{"a": "{{ v | money }}"}')])
    assert renderer.render_json("t.json.j2", {"v": value}, record_id="R")["a"] == expected


@pytest.mark.parametrize(("value", "message"), [
    (None, "money: expected an amount, got null"),
    ("ten", "money: 'ten' is not an amount"),
    ("NaN", "not a finite amount"),
])
def test_money_filter_refuses_non_amounts(tmp_path: Path, value, message: str) -> None:
    renderer = Renderer([], [write(tmp_path, "t.json.j2", '{"a": {{ v | money }}}')])
    with pytest.raises(TemplateError, match=message):
        renderer.render_json("t.json.j2", {"v": value, "order": {"id": "R"}}, record_id="R")


def test_date_filter(tmp_path: Path) -> None:
    renderer = Renderer([], [write(
        tmp_path, "t.json.j2",
        '{"a": {{ t | date | json }}, "b": {{ t | date(tz="UTC") | json }},'
        ' "c": {{ "2026-01-02" | date | json }}}')])
    out = renderer.render_json("t.json.j2", {"t": "2026-11-20T23:30:00-05:00"}, record_id="R")
    assert out == {"a": "2026-11-20", "b": "2026-11-21", "c": "2026-01-02"}
    with pytest.raises(TemplateError, match="not an RFC 3339 time"):
        renderer.render_json("t.json.j2", {"t": "20/11/2026"}, record_id="R")


def test_json_filter_and_default_if_none(tmp_path: Path) -> None:
    renderer = Renderer([], [write(
        tmp_path, "t.json.j2",
        '{"a": {{ v | json }}, "b": {{ n | default_if_none("x") | json }},'
        ' "c": {{ v | tojson }}}')])
    value = {"amount": Decimal("10.10"), "text": "tab\there", "ok": True, "none": None}
    out = renderer.render_json("t.json.j2", {"v": value, "n": None}, record_id="R")
    assert out == {"a": value, "b": "x", "c": value}
    with pytest.raises(TemplateError, match="has no field 'missing'"):
        # default_if_none replaces null only: a missing field still fails loudly
        Renderer([], [write(tmp_path, "u.json.j2", '{"b": {{ o.missing | default_if_none(1) }}}')]
                 ).render_json("u.json.j2", {"o": {"id": "R"}}, record_id="R")


def test_dumps_keeps_decimals_exact() -> None:
    text = dumps({"a": Decimal("0.10"), "b": [Decimal("12345678901234567.89")], "c": "é"})
    assert text == '{"a":0.10,"b":[12345678901234567.89],"c":"é"}'
    assert json.loads(text, parse_float=Decimal)["b"][0] == Decimal("12345678901234567.89")


def test_render_value_keeps_type_of_single_expressions() -> None:
    renderer = Renderer()
    ctx = {"order": {**ORDER, "custom_fields": {"gift": True}}}
    assert renderer.render_value("{{ order.custom_fields.gift }}", ctx, "ORD-1") is True
    assert renderer.render_value("Order {{ order.number }}", ctx, "ORD-1") == "Order 1001"
    assert renderer.render_value({"a": ["{{ order.number }}", 5]}, ctx, "ORD-1") == {
        "a": ["1001", 5]}
    with pytest.raises(TemplateError) as err:
        renderer.render_value("{{ order.custom_fields.gift_message }}", ctx, "ORD-1",
                              where="custom_fields.body.custbody_gift")
    assert err.value.message == ("custom_fields.body.custbody_gift: order ORD-1 has no field "
                                 "'gift_message'")


def test_a_failing_profile_value_names_its_setting_and_a_fix_that_works() -> None:
    renderer = Renderer()
    ctx = {"order": {**ORDER, "id": "ORD-1001"}}  # no custom_fields at all
    setting = "custom_fields.body.custbody_gift_message"
    guarded = "{{ order.custom_fields.gift_message | default('') }}"
    with pytest.raises(TemplateError) as err:
        renderer.render_value(guarded, ctx, "ORD-1001", where=setting)
    assert err.value.message == (f"{setting}: order ORD-1001 has no field 'custom_fields'")
    # `| default('')` is already there and does not help: the parent object is missing.
    hint = err.value.hint or ""
    assert "`(order.custom_fields | default({})).gift_message | default('')`" in hint
    assert "`| default('')`" not in hint
    fixed = "{{ (order.custom_fields | default({})).gift_message | default('') }}"
    assert renderer.render_value(fixed, ctx, "ORD-1001", where=setting) == ""
    # A missing last field: `| default('')` is the fix.
    with pytest.raises(TemplateError) as err:
        renderer.render_value("{{ order.memo }}", ctx, "ORD-1001", where="header.memo")
    assert err.value.message == "header.memo: order ORD-1001 has no field 'memo'"
    assert "`order.memo | default('')`" in (err.value.hint or "")


def test_missing_template_is_a_plugin_error(tmp_path: Path) -> None:
    renderer = Renderer(["flx.testing.fakebooks"], [tmp_path])
    assert not renderer.has_template("invoice.json.j2")
    with pytest.raises(PluginError) as err:
        renderer.render_json("invoice.json.j2", {}, record_id="R")
    assert err.value.message == "template 'invoice.json.j2' not found"
    assert "flx.testing.fakebooks:templates/" in (err.value.hint or "")
