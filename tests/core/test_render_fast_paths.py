"""The render hot path's shortcuts (core/render/sandbox.py, core/render/filters.py) give what
the general sandbox checks and the stdlib encoder give, and refuse what they refuse."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from flx.errors import TemplateError
from flx.render.filters import dumps
from flx.render.renderer import Renderer
from flx.render.sandbox import RenderLimits


def _render(tmp_path, text: str, context: dict, limits: RenderLimits | None = None) -> str:
    (tmp_path / "t.j2").write_text(text)
    return Renderer([], [tmp_path], limits).render_text("t.j2", context, record_id="R1",
                                                        record_kind="order")


@pytest.mark.parametrize("value", [4.99, 0.0, -0.0, 12.0, 1e300, 1e-07, 123456789.125])
def test_a_float_is_written_as_json_writes_it(value: float) -> None:
    assert dumps(value) == json.dumps(value)
    assert dumps({"a": [value]}) == json.dumps({"a": [value]}, separators=(",", ":"))


@pytest.mark.parametrize("value", [float("nan"), float("inf"), Decimal("NaN"), Decimal("Inf")])
def test_a_value_json_cannot_carry_is_refused(value: object) -> None:
    with pytest.raises(ValueError):
        dumps(value)


def test_strings_and_decimals_alone_are_written_as_inside_a_payload() -> None:
    for value in ['a"b\u00e9\n\u2028', Decimal("1.10"), Decimal("1E+2"), Decimal("-0")]:
        assert "[" + dumps(value) + "]" == dumps([value])
    assert dumps(Decimal("1.10")) == "1.10"


def test_dict_views_and_loop_fields_render_as_before(tmp_path) -> None:
    text = ("{% for k, v in header.items() %}{{ k }}={{ v | json }}"
            "{{ ',' if not loop.last }}{% endfor %};"
            "{% for k in header.keys() %}{{ loop.index }}/{{ loop.length }}{% endfor %};"
            "{{ header.values() | list | length }};{{ header.get('b') }};{{ lines.items }}")
    out = _render(tmp_path, text, {"header": {"a": 1, "b": Decimal("2.50")},
                                   "lines": {"items": "a field, not the method"}})
    assert out == "a=1,b=2.50;1/22/2;2;2.50;a field, not the method"


def test_the_shortcuts_keep_the_time_limit(tmp_path) -> None:
    text = ("{% for i in range(100000) %}{% for k in header.items() %}{{ k }}{% endfor %}"
            "{% endfor %}")
    with pytest.raises(TemplateError, match="limits.seconds"):
        _render(tmp_path, text, {"header": {str(i): i for i in range(50)}},
                RenderLimits(seconds=0.05, output_chars=10**9, loop_iterations=10**9))


@pytest.mark.parametrize("expr", ["header.update({'a': 2})", "header.__class__",
                                  "header.pop('a')", "loop_var.__init__"])
def test_what_the_sandbox_refused_is_still_refused(tmp_path, expr: str) -> None:
    with pytest.raises(TemplateError):
        _render(tmp_path, "{% for loop_var in [1] %}{{ " + expr + " }}{% endfor %}",
                {"header": {"a": 1}})
