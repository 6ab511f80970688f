"""The QuickBooks Online connector, registered through the `flx` entry-point group."""

from __future__ import annotations

import typer

from flx import RegisterConnector, hookimpl

from .connector import quickbooks_connector

CONNECTOR = quickbooks_connector()


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    register(CONNECTOR)


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from .authorize import add_commands

    add_commands(app)
