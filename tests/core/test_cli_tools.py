"""`flx demo` and `flx emulator` are core's, and each connector brings its own through
`extra["commands"]`: --connector picks it (default: the first alphabetically that has one),
and the rest of the command line, --help included, is the connector command's."""

from __future__ import annotations

from typing import Any

import click
import typer
from typer.testing import CliRunner

from flx import Connector
from flx.cli.main import build_app
from flx.plugins import build_plugins, hookimpl


def tool(label: str) -> Any:
    def command() -> click.Command:
        group = typer.Typer(add_completion=False)

        @group.command()
        def run(times: int = typer.Option(1, help="How often to say it."),
                fail: bool = False) -> None:
            """A tool of one connector."""
            for _ in range(times):
                typer.echo(f"{label} says hello")
            raise typer.Exit(4 if fail else 0)

        return typer.main.get_command(group)

    return command


class Two:
    """zeta has a demo and an emulator, alpha only a demo, gamma neither."""

    @hookimpl
    def register_connectors(self, register: Any) -> None:
        for name, commands in (("zeta", {"demo": tool("zeta demo"),
                                         "emulator": tool("zeta emulator")}),
                               ("alpha", {"demo": tool("alpha demo")}), ("gamma", {})):
            register(Connector(name=name, connection_schema={}, operations=(),
                               extra={"commands": commands}))


def flx(*args: str, plugin: Any = None) -> Any:
    app = build_app(build_plugins(plugin or Two(), autoload=False))
    return CliRunner().invoke(app, list(args))


def test_without_connector_the_first_alphabetically_runs_with_its_options() -> None:
    result = flx("demo", "--times", "2")
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == ["alpha demo says hello"] * 2


def test_connector_picks_and_its_exit_code_is_kept() -> None:
    result = flx("demo", "--connector", "zeta", "--fail")
    assert result.exit_code == 4 and result.output == "zeta demo says hello\n"
    assert flx("emulator").output == "zeta emulator says hello\n"


def test_a_connector_without_the_tool_is_refused_with_the_ones_that_have_it() -> None:
    result = flx("emulator", "--connector", "alpha")
    assert result.exit_code == 1
    assert "no connector named 'alpha' has a `flx emulator`" in result.output
    assert "zeta" in result.output and "gamma" not in result.output


def test_help_names_the_connectors_the_default_and_the_connectors_options() -> None:
    result = flx("demo", "--help")
    assert result.exit_code == 0
    assert "Connectors with one: alpha, zeta; without --connector, alpha" in result.output
    assert "--times" in result.output
    zeta = flx("emulator", "--connector", "zeta", "--help").output
    assert "Usage: flx emulator --connector zeta" in zeta and "How often" in zeta
    listing = flx("--help").output
    assert "demo" in listing and "emulator" in listing


def test_no_command_when_no_connector_has_the_tool() -> None:
    class Plain:
        @hookimpl
        def register_connectors(self, register: Any) -> None:
            register(Connector(name="plain", connection_schema={}, operations=()))

    result = flx("demo", plugin=Plain())
    assert result.exit_code == 2 and "demo" in result.output


def test_the_installed_connectors_bring_theirs() -> None:
    app = build_app()
    for args, expected in ((["demo", "--help"], "netsuite, quickbooks"),
                           (["demo", "--connector", "quickbooks", "--help"], "--workdir"),
                           (["emulator", "--connector", "quickbooks", "--help"], "--requestid"),
                           (["emulator", "--help"], "--fault-rate")):
        result = CliRunner().invoke(app, args)
        assert result.exit_code == 0 and expected in result.output, (args, result.output)
