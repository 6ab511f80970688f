"""Before anything reaches the accounting system: the mapping profile an operation uses loads
(its keys, its templates) and covers what the waiting records use.

Which table entries a record needs is the connector's knowledge: `Connector.profile_gaps(
operation, profile, records) -> list[str]`, one warning per missing entry with its fix.
`--dry-run`, `flx render` and `flx connections test` call it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from flx.connector import Connector
from flx.errors import FlxError

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.store.store import Store

# A record in one of these states is not sent again: the profile no longer matters to it.
SETTLED = ("sent", "linked", "skipped")


@dataclass
class ProfileCheck:
    operation: str
    profile: str = ""  # its name and where it was read from
    problems: list[str] = field(default_factory=list)  # the profile does not load
    hint: str = ""
    warnings: list[str] = field(default_factory=list)  # waiting records it does not cover


def waiting_records(store: Store, connection: str, operation: str,
                    kind: str) -> Iterator[dict[str, Any]]:
    """Records of the operation's kind not yet settled for this connection (new, queued,
    failed or waiting), streamed."""
    settled = {s.record_id for s in store.iter_sync(connection, operation, statuses=SETTLED)}
    for record in store.iter_records(kind):
        if str(record.get("id")) not in settled:
            yield record


def profile_gaps(connector: Connector, operation: str, profile: dict[str, Any],
                 records: Iterable[dict[str, Any]]) -> list[str]:
    return [str(w) for w in connector.profile_gaps(operation, profile, records)]


def check_profile(config: Config, plugins: Plugins, connection_name: str, operation: str,
                  store: Store) -> ProfileCheck:
    """Load the operation's profile (every problem of its keys and template overrides) and
    list the table entries its waiting records lack."""
    from flx.run.prepare import prepare_operation

    check = ProfileCheck(operation)
    try:
        connection, connector, _, profile, renderer = prepare_operation(
            config, plugins, operation, connection_name)
    except FlxError as exc:
        check.problems = [exc.message, *getattr(exc, "problems", [])]
        check.hint = exc.hint or ""
        return check
    check.profile = profile_label(profile)
    check.problems = template_problems(renderer)
    if check.problems:
        check.hint = "fix the template syntax in the profile's templates folder"
    check.warnings = profile_gaps(connector, operation, profile.data,
                                  waiting_records(store, connection.name, operation,
                                                  plugins.operations[operation].kind))
    return check


def template_problems(renderer: Any) -> list[str]:
    """Every template the operation may render compiles (the profile's overrides first): a
    syntax error is found now, not by the first record that needs the template."""
    problems = []
    for name in renderer.list_templates():
        try:
            renderer.template(name)
        except FlxError as exc:
            problems.append("; ".join([exc.message, *getattr(exc, "problems", [])]))
    return problems


def profile_label(profile: Any) -> str:
    name = str(profile.data.get("name") or "")
    source = str(getattr(profile, "source", "") or "")
    return f"{name} ({source})" if source and source != name else name
