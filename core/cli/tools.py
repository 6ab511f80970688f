"""`flx demo [--connector NAME] [OPTIONS]` and `flx emulator [--connector NAME] [OPTIONS]`.

Which systems have a demo or an emulator is up to the connectors: each declares the command in
`extra["commands"]` (a tool name -> a function returning a click command), and core only picks
the connector and hands it the rest of the command line, options and `--help` included. Core
never names a connector: without `--connector`, the first connector in alphabetical order
that has the tool runs, so adding a connector never changes what a bare `flx demo` does
unless it sorts first."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import click
import typer

from flx.errors import PluginError

if TYPE_CHECKING:
    from flx.plugins import Plugins

TOOLS = {"demo": "Run the whole flow against a bundled emulator (no account needed).",
         "emulator": "Serve a bundled emulator of an accounting system on loopback."}
EXTRA_KEY = "commands"


def providers(plugins: Plugins, tool: str) -> dict[str, Callable[[], click.Command]]:
    """Connector name -> its command factory for `tool`, in alphabetical order."""
    found = {}
    for name in sorted(plugins.connectors):
        factory = (plugins.connectors[name].extra.get(EXTRA_KEY) or {}).get(tool)
        if callable(factory):
            found[name] = factory
    return found


def _help(tool: str, names: list[str]) -> str:
    default = names[0] if names else "none"
    return (f"{TOOLS[tool]}\n\nConnectors with one: {', '.join(names) or 'none installed'}; "
            f"without --connector, {default} (the first alphabetically). The connector's own "
            f"options follow: `flx {tool} --connector NAME --help` lists them.")


def register(app: typer.Typer, plugins: Plugins) -> None:
    for tool in TOOLS:
        names = list(providers(plugins, tool))
        if names:
            _add(app, plugins, tool, names)


def _add(app: typer.Typer, plugins: Plugins, tool: str, names: list[str]) -> None:
    @app.command(tool, help=_help(tool, names), add_help_option=False,
                 context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
    def command(
        ctx: typer.Context,
        connector: str | None = typer.Option(
            None, "--connector", metavar="NAME", help=f"Whose {tool}: {', '.join(names)}."),
    ) -> Any:
        found = providers(plugins, tool)
        name = connector or next(iter(found))
        if name not in found:
            raise PluginError(f"no connector named {name!r} has a `flx {tool}`",
                              hint=f"use --connector with one of: {', '.join(found)}")
        if not connector and ctx.args and ctx.args[0] in ("--help", "-h") and len(found) > 1:
            typer.echo(_help(tool, list(found)) + "\n")
        prog = f"{ctx.find_root().info_name or 'flx'} {tool}"
        if connector:
            prog += f" --connector {connector}"
        return found[name]().main(args=list(ctx.args), prog_name=prog, standalone_mode=True)
