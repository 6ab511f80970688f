"""The NetSuite plugin, loaded through the `flx` entry-point group: it registers the NetSuite
connector (flx_netsuite/connector.py, which core calls for `plugin = "netsuite"` connections).
Its `flx demo` and `flx emulator` are declared on the connector (extra["commands"])."""

from __future__ import annotations

from flx import RegisterConnector, hookimpl
from flx_netsuite.connector import netsuite_connector


@hookimpl
def register_connectors(register: RegisterConnector) -> None:
    register(netsuite_connector())

