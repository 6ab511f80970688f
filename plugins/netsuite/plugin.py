"""The NetSuite plugin, loaded through the `flx` entry-point group: it registers the NetSuite
connector (flx_netsuite/connector.py, which core calls for `plugin = "netsuite"` connections)
and the `flx emulator` and `flx demo` commands."""

from __future__ import annotations

import typer

from flx import RegisterConnector, hookimpl
from flx_netsuite.connector import netsuite_connector


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    register(netsuite_connector())


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from flx_netsuite.demo import add_demo_command
    from flx_netsuite.emulator.cli import add_emulator_command

    add_emulator_command(app)
    add_demo_command(app)
