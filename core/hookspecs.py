"""The hooks a plugin may implement. Core calls them with keyword arguments only, never at
import time. They register things (connectors, commands) or broadcast (run_finished): sending,
rendering and checking are methods of the registered Connector, which core calls for the
connections whose `plugin` names it (flx/connector.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    import typer

    from flx.connector import RegisterConnector
    from flx.model import Connection
    from flx.operations.registry import RegisterOperation
    from flx.source import RegisterSource

hookspec = pluggy.HookspecMarker("flx")
hookimpl = pluggy.HookimplMarker("flx")  # re-exported as flx.hookimpl


@hookspec
def register_connectors(register: RegisterConnector) -> None:
    """Called once when the plugin manager is built. Call `register(connector)` with an
    instance of your `flx.Connector` subclass for each accounting system the plugin connects
    to; core validates what arrives and calls its send/render/check methods."""


@hookspec
def register_commands(app: typer.Typer) -> None:
    """Called when the CLI is built. Add extra commands to the typer `app`."""


@hookspec
def run_finished(report: dict[str, Any], connection: Connection, config: Any) -> None:
    """Called after every `flx run` (and scheduled run) with the run's JSON report and the
    loaded flx.toml (flx.config.load.Config; an implementation may leave it out of its
    signature). For alerts; must not raise (an exception is logged and ignored)."""


@hookspec
def register_operations(register: RegisterOperation) -> None:
    """Called once when the plugin manager is built, before `register_connectors`. Call
    `register(Operation(...))` for each operation the plugin adds (flx's own three come from
    a built-in plugin); core validates what arrives."""


@hookspec
def register_sources(register: RegisterSource) -> None:
    """Called once when the plugin manager is built. Call `register(MySource(name=...))` for
    each kind of source the plugin pulls records from (`[sources.NAME] plugin = ...`)."""
