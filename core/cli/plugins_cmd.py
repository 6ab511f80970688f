"""`flx plugins`: what is installed, in which version, and what each connector can do."""

from __future__ import annotations

from typing import Annotated, Any

import typer
from rich.table import Table

from flx.cli.context import get_state
from flx.plugins import Plugins

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def plugin_rows(plugins: Plugins) -> list[dict[str, Any]]:
    """One row per connector and per source (and one per plugin that registers neither)."""
    rows: list[dict[str, Any]] = []
    for entry in plugins.describe():
        connectors, sources = entry["connectors"], entry.get("sources", [])
        if not connectors and not sources:
            rows.append({"plugin": entry["plugin"], "version": entry["version"],
                         "connector": None, "source": None, "operations": [],
                         "description": ""})
        for c in connectors:
            connector = plugins.connectors.get(c["name"])
            version = entry["version"] or (connector.version if connector else "")
            rows.append({"plugin": entry["plugin"], "version": version, "connector": c["name"],
                         "source": None, "operations": c["operations"],
                         "description": c["description"]})
        for src in sources:
            source = plugins.sources.get(src["name"])
            version = entry["version"] or (source.version if source else "")
            rows.append({"plugin": entry["plugin"], "version": version, "connector": None,
                         "source": src["name"], "operations": [],
                         "description": src["description"]})
    return rows


def plugins_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List plugins, versions, connectors and their operations, and sources."""
    state = get_state(ctx)
    state.json_mode = as_json
    rows = plugin_rows(state.plugins)
    if as_json:
        state.emit_json({"plugins": rows})
        return
    if not rows:
        state.echo("no plugins installed (connectors come from packages in the 'flx' "
                   "entry-point group)")
        return
    table = Table("plugin", "version", "connector", "operations", "source", "description")
    for row in rows:
        table.add_row(row["plugin"], row["version"] or "-", row["connector"] or "-",
                      ", ".join(row["operations"]) or "-", row["source"] or "-",
                      row["description"])
    state.out.print(table)


def register(app: typer.Typer) -> None:
    app.command("plugins")(plugins_command)
