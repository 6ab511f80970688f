"""The small value types that cross the line between core and a connector plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

# The operations core knows. Each names the record kind it sends; a connector says which it has.
OPERATIONS: dict[str, str] = {
    "send-orders": "order",
    "send-shipments": "shipment",
    "send-vendor-bills": "vendor_bill",
}
RECORD_KINDS = ("order", "shipment", "vendor_bill")

# Sync states of one record for one connection + operation.
#   pending   not sent yet (or re-queued)
#   waiting   not eligible yet (a prerequisite is missing); `last_error` says why
#   in_flight a write was started; on restart the plugin reconciles before writing again
#   sent      created remotely by flx
#   linked    found already present remotely and linked, not created
#   failed    the last attempt failed; `error_class` says how
#   skipped   resolved by a person outside flx: never sent again
SyncStatus = Literal["pending", "waiting", "in_flight", "sent", "linked", "failed", "skipped"]
DONE_STATUSES = frozenset({"sent", "linked", "skipped"})

ResultStatus = Literal["sent", "linked", "failed", "waiting", "dry_run"]


@dataclass
class Connection:
    """A `[connections.NAME]` table of flx.toml, with `${VAR}`s resolved.

    `settings` holds the plugin's own keys (secrets included, resolved); never print it:
    use `redacted()`."""

    name: str
    plugin: str
    settings: dict[str, Any]
    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    secret_keys: frozenset[str] = frozenset()

    def operation(self, name: str) -> dict[str, Any]:
        return self.operations.get(name, {})

    def secrets(self) -> list[str]:
        return [str(self.settings[k]) for k in self.secret_keys if self.settings.get(k)]

    def redacted(self) -> dict[str, Any]:
        return {k: ("********" if k in self.secret_keys and v else v)
                for k, v in self.settings.items()}


@dataclass
class RecordResult:
    """What a plugin reports for one record it was handed.

    `remote_ids` is merged into the record's stored remote ids (e.g. {"sales_order": "812"}).
    `error` carries a FlxError for a failure; `message` is shown to the user."""

    record_id: str
    status: ResultStatus
    remote_ids: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    error: Exception | None = None
    warnings: list[str] = field(default_factory=list)
    requests: int = 0
    payloads: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class CheckResult:
    """One line of `flx connections test`: what was checked, whether it passed, the fix."""

    name: str
    ok: bool
    detail: str = ""
    fix: str = ""


@dataclass
class Connector:
    """What a plugin declares through `register_connectors(register)`.

    templates: a package (dotted name) whose `templates/` folder holds `*.j2` files.
    payload_schemas: template name -> JSON Schema the rendered payload must satisfy.
    mappings_package: dotted package holding `<profile>.json` mapping profiles.
    connection_schema: JSON Schema of the plugin's keys in `[connections.NAME]`; properties
    with `"x-secret": true` are redacted everywhere."""

    name: str
    connection_schema: Mapping[str, Any]
    operations: tuple[str, ...]
    templates_package: str | None = None
    payload_schemas: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    mappings_package: str | None = None
    description: str = ""
    plugin_name: str = ""
    version: str = ""
    defaults: Mapping[str, Any] = field(default_factory=dict)
    mapping_schema: Mapping[str, Any] | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def secret_keys(self) -> frozenset[str]:
        props = self.connection_schema.get("properties", {})
        return frozenset(k for k, v in props.items() if isinstance(v, dict) and v.get("x-secret"))


RegisterConnector = Callable[[Connector], None]


@dataclass(frozen=True)
class Starter:
    """What a connector's emulator needs in flx.toml (Connector.extra["emulator_starter"])."""

    settings: dict[str, Any]  # written as they are: the emulator's tokens are public
    profile: str  # the shipped profile holding the emulator's ids
    command: str  # how to start it
