"""The `flx` command. The app is built inside `build_app()`, never at import time, so tests
(and plugins' tests) get a fresh app with the plugins they choose."""

from __future__ import annotations

import sys
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from flx.cli import connections, init, plugins_cmd, pull, records, schedule, serve, status
from flx.cli.context import EXIT_ERROR, CliState, FlxGroup, report_error
from flx.errors import FlxError, PluginError

if TYPE_CHECKING:
    import httpx

    from flx.plugins import Plugins

HELP = """Send commerce orders, shipments and vendor bills into your accounting system.

Exit codes: 0 done; 1 error before or outside records (config, credentials, network);
2 wrong usage; 3 the run finished but some records failed.

Examples:

\b
  flx init --emulator && flx connections test prod
  flx import orders.json     # or: flx pull (the sources in flx.toml)
  flx run send-orders --connection prod --dry-run
  flx status
  flx COMMAND --help        # each command's options and examples"""


def _version() -> str:
    try:
        return metadata.version("flx")
    except metadata.PackageNotFoundError:  # running from a checkout that is not installed
        return "unknown"


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"flx {_version()}")
        raise typer.Exit()


def build_app(plugins: Plugins | None = None, *,
              transport: httpx.BaseTransport | None = None) -> typer.Typer:
    """A fresh `flx` app. `plugins` defaults to every installed plugin (entry-point group
    "flx"); `transport` replaces the network for every HTTP client (tests, the demo)."""
    if plugins is None:
        from flx.plugins import build_plugins

        plugins = build_plugins()

    app = typer.Typer(
        cls=FlxGroup, name="flx", help=HELP, no_args_is_help=True, add_completion=True,
        # Rich tracebacks print local variables, which may hold secrets: never use them.
        pretty_exceptions_enable=False, rich_markup_mode=None,
        context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
    )

    @app.callback()
    def root(
        ctx: typer.Context,
        config: Annotated[Path | None, typer.Option(
            "--config", envvar="FLX_CONFIG", metavar="PATH", show_envvar=True,
            help="The flx.toml to use (default: ./flx.toml).")] = None,
        verbose: Annotated[bool, typer.Option(
            "--verbose", "-v", help="Show debug logs and tracebacks.")] = False,
        version: Annotated[bool, typer.Option(
            "--version", callback=_print_version, is_eager=True,
            help="Print the flx version and exit.")] = False,
    ) -> None:
        state = CliState(plugins=plugins, config_path=config, verbose=verbose,
                         transport=transport)
        state.setup_logging()
        ctx.obj = state
        ctx.call_on_close(state.close)

    plugins_cmd.register(app)
    init.register(app)
    connections.register(app)
    records.register(app)
    pull.register(app)
    status.register(app)
    schedule.register(app)
    serve.register(app)
    _add_plugin_commands(app, plugins)
    return app


def _add_plugin_commands(app: typer.Typer, plugins: Plugins) -> None:
    """Each plugin adds its commands on its own: one broken plugin must not take the core
    commands (or the other plugins' commands) down with it."""
    for impl in plugins.hook.register_commands.get_hookimpls():
        try:
            impl.function(app=app)
        except Exception as exc:
            typer.echo(f"warning: plugin {impl.plugin_name!r} could not add its commands: "
                       f"{type(exc).__name__}: {exc}", err=True)


def main() -> None:
    """Console-script entry point."""
    try:
        app = build_app()
    except FlxError as exc:
        report_error(None, exc)
        sys.exit(EXIT_ERROR)
    except Exception as exc:  # an installed plugin failed to import or register
        report_error(None, PluginError(
            f"a plugin failed to load: {type(exc).__name__}: {exc}",
            hint="fix or uninstall that plugin; FLX_DISABLE_PLUGIN_AUTOLOAD=1 starts flx "
                 "without installed plugins"))
        sys.exit(EXIT_ERROR)
    app(prog_name="flx")


if __name__ == "__main__":
    main()
