"""The "fakebooks" test connector: it proves that core knows no accounting system.

It implements every send/render/test hook against an in-memory `Ledger` reached only through
`runtime.http_client` (so core's dry-run guard and audit trail are exercised), ships its own
templates and mapping profiles as package data, and registers one CLI command.
Register it with `build_plugins(tests.fake_plugin.plugin, autoload=False)`."""

from tests.fake_plugin.ledger import Ledger

NAME = "fakebooks"
PACKAGE = __name__

__all__ = ["NAME", "PACKAGE", "Ledger"]
