"""Keep the plugin surface honest: every hook is explained, documented and tested."""

from __future__ import annotations

import inspect
import re
import sys
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from flx import hookspecs
from flx.plugins import build_plugins
from flx.run.runner import HOOKS

REPO = Path(__file__).resolve().parents[2]
if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake  # noqa: E402

SPECS = {name: fn for name, fn in inspect.getmembers(hookspecs, inspect.isfunction)
         if hasattr(fn, "flx_spec")}


def test_there_are_hookspecs() -> None:
    assert len(SPECS) >= 8, sorted(SPECS)


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
    # A hook counts as exercised when a test names it, or runs the operation that calls it.
    aliases = {name} | {f'"{op}"' for op, (hook, _) in HOOKS.items() if hook == name}
    tests = [p for p in (REPO / "tests").rglob("test_*.py") if p.resolve() != Path(__file__)]
    hits = [p for p in tests if any(a in p.read_text() for a in aliases)]
    assert hits, f"no test under tests/ exercises the {name} hook"


def test_fake_connector_implements_every_firstresult_hook() -> None:
    firstresult = {n for n, fn in SPECS.items() if fn.flx_spec.get("firstresult")}
    implemented = {n for n in SPECS if hasattr(getattr(fake, n, None), "flx_impl")}
    assert firstresult <= implemented, firstresult - implemented


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
