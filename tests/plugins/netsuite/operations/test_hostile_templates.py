"""Templates and profile expressions run in a bounded sandbox: a runaway one fails its
records with an error naming the template and the limit, never hangs a run; override
folders are read only from inside."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from flx.errors import ConfigError, TemplateError
from flx.render.renderer import Renderer
from tests.plugins.netsuite.operations.conftest import Workspace

GOOD = ["ORD-1001", "ORD-1002", "ORD-1003"]  # ORD-1004 fails on purpose (an unknown SKU)


def override(workspace: Workspace, prefix: str, name: str = "salesOrder.json.j2") -> Path:
    """The shipped template with `prefix` in front, in the profile's override folder."""
    shipped = resources.files("flx_netsuite").joinpath(f"templates/{name}").read_text()
    folder = workspace.path / "tpl"
    folder.mkdir(exist_ok=True)
    (folder / name).write_text(prefix + shipped)
    workspace.profile["templates"] = "tpl"
    return folder


def send_orders(workspace: Workspace, data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    code, output = workspace.import_records(orders=data["orders"])
    assert code == 0, output
    return workspace.rows(workspace.run("send-orders"))


@pytest.mark.parametrize(("body", "limit"), [
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "loop_iterations|seconds"),  # a loaded machine may hit the clock first
    ("{% set ns = namespace(s='xx') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}"
     "{% endfor %}", "output_chars"),
    ("{{ 'x' * 3000000 }}{{ 'y' * 3000000 }}", "output_chars"),
    ("{% for i in range(5) %}{{ 'a'.ljust(999999999) }}{% endfor %}", "output_chars"),
    ("{{ '%999999999d' % 1 }}", "output_chars"),
    ("{{ ((2 ** 100) ** 100) ** 100 }}", "number_digits"),
    ("{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = [ns.l, ns.l] %}"
     "{% endfor %}{{ ns.l }}", "output_chars"),
    ("{% set ns = namespace(d={}) %}{% for i in range(40) %}{% set ns.d = {'a': ns.d, "
     "'b': ns.d} %}{% endfor %}{{ ns.d | json }}", "output_chars"),
    ("{% set ns = namespace(n=namespace()) %}{% for i in range(40) %}{% set ns.n = "
     "namespace(a=ns.n, b=ns.n) %}{% endfor %}{{ ns.n }}", "output_chars|seconds"),
    ("{% macro f(n) %}{% if n %}{{ f(n - 1) }}{{ f(n - 1) }}{% endif %}{% endmacro %}"
     "{{ f(60) }}", "seconds"),
])
def test_a_runaway_template_fails_its_record_not_the_run(workspace: Workspace, data: dict[str, Any],
                                                         body: str, limit: str) -> None:
    override(workspace, "{%- if order.id == 'ORD-1002' %}" + body + "{% endif -%}\n")
    workspace.profile["limits"] = {"seconds": 0.5}
    rows = send_orders(workspace, data)
    failed = rows["ORD-1002"]
    assert failed["status"] == "failed"
    assert failed["error_class"] == "template"
    assert failed["message"].startswith("template salesOrder.json.j2"), failed
    # Sizing a deeply shared value takes time: a slow machine may stop it on time first.
    hit = next((name for name in limit.split("|") if f"limits.{name}" in failed["message"]),
               None)
    assert hit is not None, failed
    assert f"raise limits.{hit} in the mapping profile" in failed["hint"]
    assert {rid: rows[rid]["status"] for rid in ("ORD-1001", "ORD-1003")} == {
        "ORD-1001": "sent", "ORD-1003": "sent"}
    assert all(so["externalId"] != "ORD-1002" for so in workspace.records("salesOrder"))


@pytest.mark.parametrize(("expr", "limit"), [
    ("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
     "limits.loop_iterations = 1000000"),
    ("{% set s = 'x' * 999999 %}{% for i in range(100000) %}{{ s }}{% endfor %}",
     "limits.output_chars = 5000000"),
    ("{{ (2 ** 100) ** 100 }}", "limits.number_digits = 1000"),
])
def test_a_runaway_profile_expression_fails_each_record_with_the_setting(
        workspace: Workspace, data: dict[str, Any], expr: str, limit: str) -> None:
    workspace.profile["custom_fields"]["body"]["custbody_flx_source"] = expr
    rows = send_orders(workspace, data)
    for rid in GOOD:
        assert rows[rid]["status"] == "failed"
        assert rows[rid]["error_class"] == "template"
        assert "custbody_flx_source" in rows[rid]["message"]
        assert limit in rows[rid]["message"], rows[rid]
    assert not workspace.records("salesOrder")


def test_limits_are_set_in_the_profile(workspace: Workspace, data: dict[str, Any]) -> None:
    override(workspace, "{%- for line in order.lines %}{% for i in range(10) %}"
                        "{% endfor %}{% endfor -%}\n")
    workspace.profile["limits"] = {"loop_iterations": 10}
    rows = send_orders(workspace, data)
    # ORD-1001 has two lines (22 iterations), ORD-1002 and ORD-1003 one (11).
    assert "limits.loop_iterations = 10" in rows["ORD-1001"]["message"]
    workspace.profile["limits"] = {"loop_iterations": 1000}
    rows = workspace.rows(workspace.run("send-orders", "--only", "ORD-1001"))
    assert rows["ORD-1001"]["status"] == "sent"


def test_a_limit_outside_its_range_is_a_config_error(workspace: Workspace,
                                                     data: dict[str, Any]) -> None:
    workspace.profile["limits"] = {"seconds": 0, "loop_iteration": 5}
    code, output = workspace.flx("run", "send-orders", "--connection", "ns")
    assert code != 0
    assert "$.limits.seconds" in output and "loop_iteration" in output, output


def test_schedule_does_not_hang_on_a_runaway_profile(workspace: Workspace,
                                                     data: dict[str, Any]) -> None:
    workspace.profile["header"]["memo"] = \
        "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
    workspace.operation_settings["send-orders"] = {"schedule": "every 5 minutes"}
    code, output = workspace.import_records(orders=data["orders"])
    assert code == 0, output
    code, output = workspace.flx("schedule", "--once")
    assert code == 3, output
    assert not workspace.records("salesOrder")


def test_an_override_folder_link_leading_out_is_refused(workspace: Workspace,
                                                        data: dict[str, Any]) -> None:
    """A link to / and `{% include "<link>/proc/self/environ" %}` would put the process's
    environment, NetSuite secrets included, into a memo: the profile is refused first."""
    folder = override(workspace, '{%- set leak = "" %}', "salesOrder.json.j2")
    os.symlink("/", folder / "_root")
    text = (folder / "salesOrder.json.j2").read_text()
    (folder / "salesOrder.json.j2").write_text(text.replace(
        '"memo": {{ memo | json }}',
        '"memo": {{ (memo ~ "{% include "_root/proc/self/environ" %}") | json }}'))
    code, output = workspace.flx("run", "send-orders", "--connection", "ns")
    assert code != 0
    assert "_root" in output and "outside the folder" in output, output
    assert not workspace.records("salesOrder")


def test_templates_cannot_include_through_a_link_or_dotdot(tmp_path: Path) -> None:
    """The loader itself refuses, whatever checked the folder before (a link made later)."""
    folder = tmp_path / "tpl"
    folder.mkdir()
    (tmp_path / "secret.txt").write_text("TOKEN_SECRET=abc")
    os.symlink("/", folder / "root")
    os.symlink(tmp_path / "secret.txt", folder / "secret.j2")
    (folder / "a.json.j2").write_text('{"x": "{% include "root/proc/self/environ" %}"}')
    (folder / "b.json.j2").write_text('{"x": "{% include "../secret.txt" %}"}')
    (folder / "c.json.j2").write_text('{"x": "{% include "secret.j2" %}"}')
    renderer = Renderer([], [folder])
    for name in ("a.json.j2", "c.json.j2"):
        with pytest.raises(TemplateError, match="leads out of the override folder") as err:
            renderer.render_json(name, {"order": {"id": "O-1"}}, record_id="O-1")
        assert "abc" not in str(err.value)
    with pytest.raises(TemplateError, match="not found"):
        renderer.render_json("b.json.j2", {"order": {"id": "O-1"}}, record_id="O-1")
    with pytest.raises(ConfigError, match="leads out of the override folder"):
        renderer.render_json("secret.j2", {}, record_id="O-1")


@pytest.mark.parametrize(("name", "operation", "shipped", "changed", "field"), [
    ("salesOrder.json.j2", "send-orders", '"externalId": {{ external_id | json }}',
     '"externalId": "FIXED"', "externalId"),
    ("salesOrder.json.j2", "send-orders", '"otherRefNum": {{ order_number | json }}',
     '"otherRefNum": "FIXED"', "otherRefNum"),
    ("customer.json.j2", "send-orders", '"externalId": {{ external_id | json }}',
     '"externalId": {{ (external_id ~ "-x") | json }}', "externalId"),
    ("itemFulfillment.json.j2", "send-shipments", '"externalId": {{ external_id | json }}',
     '"externalId": "FIXED"', "externalId"),
    ("vendorBill.json.j2", "send-vendor-bills", '"tranId": {{ bill.number | json }}',
     '"tranId": "INV-1"', "tranId"),
])
def test_a_template_may_not_change_the_fields_flx_finds_its_records_by(
        workspace: Workspace, data: dict[str, Any], name: str, operation: str, shipped: str,
        changed: str, field: str) -> None:
    code, output = workspace.import_records(**data)
    assert code == 0, output
    if operation != "send-orders":
        assert workspace.run("send-orders")["exit_code"] == 3  # ORD-1004 fails on purpose
        if operation == "send-vendor-bills":
            workspace.run("send-shipments")
    folder = override(workspace, "", name)
    text = (folder / name).read_text()
    assert shipped in text
    (folder / name).write_text(text.replace(shipped, changed))
    kind = name.split(".")[0]
    before = len(workspace.records(kind))
    rows = workspace.rows(workspace.run(operation))
    refused = [r for r in rows.values() if r["status"] == "failed"
               and r["error_class"] != "reference"]  # ORD-1004's unknown SKU comes first
    assert refused
    for row in rows.values():
        # An order whose customer exists already renders no customer payload.
        assert row in refused or row["status"] == "waiting" or row["error_class"] == \
            "reference" or (kind == "customer" and row["remote_ids"]["customer_match"] != \
                            "created"), row
    for row in refused:
        assert row["error_class"] == "template", row
        assert row["message"].startswith(f"template {name} sets {field} of "), row
        assert "flx finds the records it writes by" in row["message"]
        assert f"override of {name}" in row["hint"]
    assert len(workspace.records(kind)) == before  # nothing sent, nothing "found" instead
