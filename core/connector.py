"""The connector base class: what a plugin registers for one accounting system.

A plugin subclasses `Connector`, fills in its declaration (name, schemas, templates ...) and
overrides the methods it supports; core calls the connector that `connection.plugin` names,
so no method ever sees another plugin's connection. `send` and `render` run with a
`Runtime` that carries the connection, the renderer, the mapping profile and the only HTTP
client a connector may use (dry-run guard, audit trail)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flx.errors import PluginError

if TYPE_CHECKING:
    from flx.model import AuthorizeRequest, CheckResult, Connection, RecordResult
    from flx.run.runtime import Runtime


@dataclass
class Connector:
    """What a plugin declares through `register_connectors(register)`, and what core calls.

    templates_package: a package (dotted name) whose `templates/` folder holds `*.j2` files.
    payload_schemas: template name -> JSON Schema the rendered payload must satisfy.
    mappings_package: dotted package holding `<profile>.json` mapping profiles.
    connection_schema: JSON Schema of the plugin's keys in `[connections.NAME]`; properties
    with `"x-secret": true` are redacted everywhere.
    extra: optional declarations core reads by key: "display_name" (how people call the
    system), "env_prefix" (of the `${VARIABLES}` `flx init` writes), "emulator_starter",
    "operation_schema"."""

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
    # operation -> its own eligibility rules, after the operation's (flx.operations.registry.Rule)
    rules: Mapping[str, tuple[Callable[..., Any], ...]] = field(default_factory=dict)

    @property
    def secret_keys(self) -> frozenset[str]:
        props = self.connection_schema.get("properties", {})
        return frozenset(k for k, v in props.items() if isinstance(v, dict) and v.get("x-secret"))

    def send(self, operation: str, records: Sequence[dict[str, Any]],
             runtime: Runtime) -> list[RecordResult]:
        """Send one batch of eligible records of `operation`; one RecordResult per record.
        Called once per batch during `flx run OPERATION` (and by the scheduler)."""
        raise self._missing("send", f"it cannot run {operation}")

    def render(self, operation: str, record: dict[str, Any],
               runtime: Runtime) -> list[dict[str, Any]]:
        """The exact payloads `operation` would send for `record`, as
        [{"name", "method", "path", "body"}], making read-only look-ups at most (`flx render`)."""
        raise self._missing("render", "`flx render` cannot preview its payloads")

    def check(self, runtime: Runtime, deep: bool = False) -> list[CheckResult]:
        """`flx connections test`: credentials, permissions and reachability, read-only (the
        dry-run guard refuses a write). With `deep`, also probe how the account behaves
        (`runtime.profile` is the connection's mapping profile). Core passes `deep` only when
        it is asked for, so an override may leave it out. Not overridden: an error, since a
        test that checks nothing must not read as passed."""
        raise self._missing("check", "`flx connections test` cannot check the connection")

    def authorize(self, runtime: Runtime, request: AuthorizeRequest) -> str:
        """`flx connections authorize NAME`: connect the connection to its account (an OAuth
        authorization-code flow, or a token imported with `request.refresh_token`) and keep
        what it yields in `runtime.kv`, never in flx.toml. Returns one line saying what was
        authorized. Not overridden: the connector needs no authorization step."""
        raise self._missing("authorize", "its connections are configured in flx.toml alone")

    def profile_gaps(self, operation: str, profile: Mapping[str, Any],
                     records: Iterable[dict[str, Any]]) -> list[str]:
        """The table entries of the mapping profile (its data) that `records` need and lack,
        one warning each with its fix. Read by `--dry-run`, `flx render` and
        `flx connections test`; `records` may be a long stream."""
        return []

    def record_url(self, record_type: str, remote_id: str, connection: Connection) -> str | None:
        """A link to the remote record (`record_type` as in RecordResult.remote_ids, e.g.
        "sales_order") in the accounting system's own UI, or None when there is none."""
        return None

    def _missing(self, method: str, consequence: str) -> PluginError:
        return PluginError(
            f"the {self.name!r} connector does not implement {method}: {consequence}",
            hint=f"its plugin must implement Connector.{method}; upgrade or report it to "
                 "its authors")


RegisterConnector = Callable[[Connector], None]
