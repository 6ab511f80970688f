"""`flx flxpoint-writeback SOURCE --connection NAME`: the write-back of writeback.py as a
command (it reads flx.toml and the store itself, as a scheduled job would)."""

from __future__ import annotations

import json
from typing import Annotated

import httpx
import typer

from flx import ConfigError, Store, build_plugins, load_config

from .client import DEFAULT_RATE, FlxpointClient
from .writeback import write_back


def add_writeback_command(app: typer.Typer) -> None:
    @app.command("flxpoint-writeback")
    def flxpoint_writeback(
        ctx: typer.Context,
        source: Annotated[str, typer.Argument(help="The [sources.NAME] whose Flxpoint account "
                                                   "is written to.")],
        connection: Annotated[str, typer.Option(
            "--connection", help="The connection whose results are written back.")],
        dry_run: Annotated[bool, typer.Option("--dry-run", help="Say what would be written; "
                                                                "write nothing.")] = False,
        as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
        = False,
    ) -> None:
        """Write the accounting ids of sent orders, dropship POs and vendor bills back to
        Flxpoint (needs `writeback = true` in [sources.NAME])."""
        config = load_config(ctx.find_root().params.get("config"), plugins=build_plugins(),
                             strict_env=False)
        settings = config.source(source).settings
        if not settings.get("writeback"):
            raise ConfigError(f"write-back is off for source {source!r}",
                              hint=f"add `writeback = true` to [sources.{source}] in "
                                   f"{config.path} to let flx write to Flxpoint")
        config.connection(connection)  # an unknown connection is said with its fix
        with httpx.Client(base_url=str(settings["base_url"]), timeout=60.0) as http, \
                Store(config.store_url) as store:
            client = FlxpointClient(http, token=str(settings.get("api_token") or ""),
                                    rate=float(settings.get("rate_limit") or DEFAULT_RATE))
            report = write_back(client, store, source, connection, dry_run=dry_run)
        if as_json:
            typer.echo(json.dumps({**report.to_dict(), "dry_run": dry_run}))
        else:
            verb = "would write" if dry_run else "wrote"
            typer.echo(f"{verb} {len(report.written)} accounting id(s) to Flxpoint; "
                       f"{report.unchanged} already there; {len(report.failed)} failed")
            for failure in report.failed:
                typer.echo(f"  {failure['record']}: {failure['message']}\n"
                           f"    fix: {failure['hint']}")
        raise typer.Exit(3 if report.failed else 0)
