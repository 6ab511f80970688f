"""`flx connections list | test NAME`."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from core.cli.context import EXIT_ERROR, CliState, get_state
from core.errors import PluginError
from core.model import CheckResult

_VARIABLE = re.compile(r"variables? ([A-Za-z0-9_, ]+) (?:is|are) not set")
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def describe_connections(state: CliState) -> list[dict[str, Any]]:
    """Each connection with its settings (secrets masked) and operations."""
    config = state.config()
    rows = []
    for name, conn in sorted(config.connections.items()):
        enabled = [op for op, s in conn.operations.items() if s.get("enabled") is not False]
        rows.append({
            "name": name,
            "plugin": conn.plugin,
            "settings": state.redactor.data(conn.redacted()),
            "operations": conn.operations,
            "enabled_operations": enabled,
            "missing_env": config.missing_env.get(name, []),
        })
    return rows


def _settings_text(settings: dict[str, Any]) -> str:
    return "\n".join(f"{k} = {'(not set)' if v is None else v}" for k, v in settings.items())


def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List connections, settings (secrets masked), operations."""
    state = get_state(ctx)
    state.json_mode = as_json
    rows = describe_connections(state)
    if as_json:
        state.emit_json({"connections": rows})
        return
    if not rows:
        state.echo(f"no connections in {state.config().path} "
                   "(add a [connections.NAME] table; `flx init` writes an example)")
        return
    table = Table("connection", "plugin", "settings", "operations", "notes")
    for row in rows:
        missing = [v for m in row["missing_env"] for v in _VARIABLE.findall(m)]
        notes = f"not set: {', '.join(missing)}" if missing else ""
        table.add_row(row["name"], row["plugin"], _settings_text(row["settings"]),
                      "\n".join(row["enabled_operations"]) or "(none enabled)", notes)
    state.out.print(table)


def run_checks(state: CliState, name: str) -> list[CheckResult]:
    """Call the owning plugin's `test_connection` hook; read-only by contract."""
    from core.runtime import Runtime

    connection = state.connection(name)
    connector = state.plugins.connector(connection.plugin)
    runtime = Runtime(store=state.store(), connection=connection, connector=connector,
                      transport=state.transport)
    results = state.plugins.hook.test_connection(connection=connection, runtime=runtime)
    if results is None:
        raise PluginError(
            f"no plugin answered the connection test for {name!r} (plugin {connection.plugin!r})",
            hint=f"the {connection.plugin!r} plugin does not implement test_connection; "
                 "report it to its authors")
    return list(results)


def test_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The connection, as in [connections.NAME].")],
    as_json: JsonOption = False,
) -> None:
    """Check credentials, permissions and reachability.

    Only read-only calls are made. Exit code 1 when any check fails."""
    state = get_state(ctx)
    state.json_mode = as_json
    results = run_checks(state, name)
    failed = [r for r in results if not r.ok]
    if as_json:
        state.emit_json({"connection": name, "ok": not failed,
                         "checks": [vars(r) for r in results]})
    else:
        state.out.print(Text(f"connection {name}", style="bold"))
        for r in results:
            mark = Text("  ✓ ", style="green") if r.ok else Text("  ✗ ", style="red")
            line = mark + Text(state.redactor.text(r.name))
            if r.detail:
                line += Text(f"  {state.redactor.text(r.detail)}", style="dim" if r.ok else "")
            state.out.print(line)
            if r.fix and not r.ok:
                state.out.print(Text(f"      fix: {state.redactor.text(r.fix)}"))
        summary = (f"{len(failed)} of {len(results)} checks failed" if failed
                   else f"all {len(results)} checks passed")
        state.out.print(Text(summary, style="red" if failed else "green"))
    if failed:
        raise typer.Exit(EXIT_ERROR)


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="List and test connections.", no_args_is_help=True)
    group.command("list")(list_command)
    group.command("test")(test_command)
    app.add_typer(group, name="connections")
