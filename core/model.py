"""The small value types that cross the line between core and a connector plugin."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

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
class AuthorizeRequest:
    """What `flx connections authorize NAME` was given, for `Connector.authorize`.

    refresh_token: a token made elsewhere (an OAuth playground) to import instead of a flow.
    redirect_url: the address the browser ended on, when the redirect cannot reach flx.
    port: the loopback port of a redirect flow (http://localhost:PORT/callback).
    echo / prompt: how to talk to the person at the terminal."""

    refresh_token: str | None = None
    redirect_url: str | None = None
    port: int = 8765
    open_browser: bool = True
    echo: Callable[[str], Any] = print
    prompt: Callable[[str], str] = input


class ConnectorInfo(Protocol):
    """What the runtime and reports read of a connector (flx.connector.Connector has it);
    a Protocol so that this module and the runtime need not import the connector class."""

    name: str
    templates_package: str | None
    payload_schemas: Mapping[str, Mapping[str, Any]]
    extra: dict[str, Any]


@dataclass(frozen=True)
class Starter:
    """What a connector's emulator needs in flx.toml (Connector.extra["emulator_starter"])."""

    settings: dict[str, Any]  # written as they are: the emulator's tokens are public
    profile: str  # the shipped profile holding the emulator's ids
    command: str  # how to start it
