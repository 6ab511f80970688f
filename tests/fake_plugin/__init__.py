"""The "fakebooks" test connector: it proves that core knows no accounting system.

Its connector (a `flx.Connector` subclass) sends, renders and checks against an in-memory
`Ledger` reached only through `runtime.http_client` (so core's dry-run guard and audit trail
are exercised); the plugin ships templates and mapping profiles as package data, and
registers one CLI command.
Register it with `build_plugins(tests.fake_plugin.plugin, autoload=False)`."""

from tests.fake_plugin.ledger import Ledger

NAME = "fakebooks"
PACKAGE = __name__

__all__ = ["NAME", "PACKAGE", "Ledger"]
