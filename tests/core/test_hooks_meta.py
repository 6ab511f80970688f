"""Keep the plugin surface honest: every hook and every Connector method is explained,
documented and tested; hooks that became Connector methods are refused with a hint."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flx import hookspecs
from flx.connector import Connector
from flx.errors import PluginError
from flx.plugins import RETIRED_HOOKS, build_plugins, hookimpl

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake  # noqa: E402

SPECS = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "flx_spec")}
METHODS = {name: fn for name, fn in vars(Connector).items()
           if inspect.isfunction(fn) and not name.startswith("_")}


def test_there_are_hookspecs_and_connector_methods() -> None:
    assert {"register_connectors", "register_commands", "run_finished"} <= set(SPECS)
    assert {"send", "render", "check", "profile_gaps", "record_url"} <= set(METHODS)


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_has_a_docstring(name: str) -> None:
    doc = inspect.getdoc(SPECS[name]) or ""
    assert len(doc.split()) >= 8, f"{name} needs a docstring saying when it is called"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_is_documented_with_its_signature(name: str) -> None:
    docs = (REPO / "docs" / "plugins.md").read_text()
    params = list(inspect.signature(SPECS[name]).parameters)
    match = re.search(rf"\b{name}\(([^)]*)\)", docs)
    assert match, f"docs/plugins.md does not document {name}(...)"
    documented = [p.strip().split(":")[0].strip() for p in match.group(1).split(",") if p]
    assert documented == params, f"docs/plugins.md shows {name}({match.group(1)})"


@pytest.mark.parametrize("name", sorted(SPECS))
def test_hookspec_is_exercised_by_a_test(name: str) -> None:
    tests = [p for p in (REPO / "tests").rglob("test_*.py") if p.resolve() != Path(__file__)]
    hits = [p for p in tests if name in p.read_text()]
    assert hits, f"no test under tests/ exercises the {name} hook"


def test_no_hook_is_firstresult() -> None:
    # Calls that one connector answers are Connector methods, dispatched by connection.plugin.
    assert [n for n, fn in SPECS.items() if fn.flx_spec.get("firstresult")] == []


@pytest.mark.parametrize("name", sorted(METHODS))
def test_connector_method_is_documented_and_exercised(name: str) -> None:
    doc = inspect.getdoc(METHODS[name]) or ""
    assert len(doc.split()) >= 8, f"Connector.{name} needs a docstring saying when it is called"
    params = [p for p in inspect.signature(METHODS[name]).parameters if p != "self"]
    docs = (REPO / "docs" / "plugins.md").read_text()
    assert re.search(rf"\b{name}\(self, {', '.join(params)}", docs), \
        f"docs/plugins.md does not show {name}(self, {', '.join(params)} ...)"
    # the test connector overrides it, and some test calls it
    assert name in vars(type(fake.connector())), f"fakebooks does not implement {name}"
    tests = [p for p in (REPO / "tests").rglob("test_*.py") if p.resolve() != Path(__file__)]
    assert any(f".{name}(" in p.read_text() for p in tests), f"no test calls Connector.{name}"


class OldStylePlugin:
    """A plugin written against the hooks that connectors' methods replaced."""

    @hookimpl
    def register_connectors(self, register):  # type: ignore[no-untyped-def]
        register(Connector(name="oldbooks", connection_schema={"type": "object"},
                           operations=("send-orders",)))

    @hookimpl
    def send_orders(self, connection, orders, runtime):  # type: ignore[no-untyped-def]
        return None


def test_a_plugin_implementing_a_retired_hook_is_refused_with_the_fix() -> None:
    assert set(RETIRED_HOOKS) == {"send_orders", "send_shipments", "send_vendor_bills",
                                  "render_payloads", "test_connection"}
    with pytest.raises(PluginError) as err:
        build_plugins(OldStylePlugin(), autoload=False)
    assert "implements the send_orders hook, which flx no longer calls" in err.value.message
    assert "Connector.send" in err.value.message
    assert "implement Connector.send/render/check" in (err.value.hint or "")


def test_plugin_commands_are_registered() -> None:
    plugins = build_plugins(fake, autoload=False)
    app = typer.Typer()

    @app.callback()
    def main() -> None:
        """flx"""

    plugins.hook.register_commands(app=app)
    result = CliRunner().invoke(app, ["fakebooks-hello"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "hello from fakebooks"
