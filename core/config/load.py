"""Load flx.toml: find it, read it, put `${VAR}`s in from the environment, validate it against
schemas/config.schema.json plus each connector's connection schema, and refuse a secret written
in a file that other users can read. This module holds `Config` and the load itself; the
`${VAR}` syntax is in core/config/interpolate.py, the individual checks in core/config/checks.py.

Every problem found is collected and reported in one ConfigError, each as
`"<toml path>: <what is wrong>"`, so a user fixes the file in one pass instead of one error
per attempt.
"""

from __future__ import annotations

import difflib
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonschema import SchemaError

from flx.config.checks import (
    connector_validator,
    core_validator,
    fill_operation,
    hint_for,
    operation_problems,
    schema_problems,
    secret_exposure,
    settings_defaults,
)
from flx.config.checks import table as _table
from flx.config.interpolate import Interpolator, toml_path, unresolved_reference
from flx.config.redact import Redactor
from flx.config.sources import build_sources, source_secret_exposure, source_secrets
from flx.connector import Connector
from flx.errors import ConfigError
from flx.model import Connection
from flx.operations.builtin import builtin_operations
from flx.operations.registry import Operations
from flx.plugins import Plugins
from flx.source import SourceConfig

CONFIG_ENV = "FLX_CONFIG"
CONFIG_NAME = "flx.toml"
DEFAULT_STORE_URL = "sqlite:///flx.db"

# Values in the core schema that are (or may contain) secrets.
_CORE_SECRETS = (("store", "url"), ("alerts", "webhook_url"), ("serve", "token"))

__all__ = ["CONFIG_ENV", "CONFIG_NAME", "DEFAULT_STORE_URL", "Config", "config_location",
           "load_config", "toml_path"]


@dataclass
class Config:
    """A loaded flx.toml. `raw` is the parsed file with `${VAR}`s still unresolved."""

    path: Path
    store_url: str
    connections: dict[str, Connection]
    alerts: dict[str, Any]
    raw: dict[str, Any]
    # Only filled by a lenient load (`strict_env=False`): connection name -> missing variables.
    missing_env: dict[str, list[str]] = field(default_factory=dict)
    extra_secrets: list[str] = field(default_factory=list, repr=False)
    sources: dict[str, SourceConfig] = field(default_factory=dict)
    # Lenient load only: source name -> missing variables (as `missing_env` for connections).
    missing_source_env: dict[str, list[str]] = field(default_factory=dict)
    # The registered operations (the plugins' registry; the built-in three by default).
    operations: Operations = field(default_factory=builtin_operations, repr=False)

    @property
    def base_dir(self) -> Path:
        return self.path.parent

    def resolve_path(self, value: str | Path) -> Path:
        """A path written in flx.toml, relative to the file's own folder."""
        p = Path(value).expanduser()
        return p if p.is_absolute() else self.base_dir / p

    def connection(self, name: str) -> Connection:
        if name not in self.connections:
            known = sorted(self.connections)
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean {close[0]!r}?" if close else (
                f"add a [connections.{name}] table to {self.path}, or use one of the names above"
                if known else f"add a [connections.{name}] table to {self.path} (see `flx init`)")
            raise ConfigError(f"no connection named {name!r} in {self.path}",
                              problems=[f"known connections: {', '.join(known) or 'none'}"],
                              hint=hint)
        missing = self.missing_env.get(name)
        if missing:
            raise ConfigError(
                f"connection {name!r} needs environment variables that are not set",
                problems=missing, hint="export the variables (or put them in your service's "
                "environment file) and run the command again")
        return self.connections[name]

    def source(self, name: str) -> SourceConfig:
        """The `[sources.NAME]` table; an unknown name or unset variables are refused."""
        if name not in self.sources:
            known = sorted(self.sources)
            close = difflib.get_close_matches(name, known, n=1)
            raise ConfigError(
                f"no source named {name!r} in {self.path}",
                problems=[f"known sources: {', '.join(known) or 'none'}"],
                hint=f"did you mean {close[0]!r}?" if close else
                f"add a [sources.{name}] table to {self.path} (see docs/configuration.md)")
        missing = self.missing_source_env.get(name)
        if missing:
            raise ConfigError(
                f"source {name!r} needs environment variables that are not set",
                problems=missing, hint="export the variables (or put them in your service's "
                "environment file) and run the command again")
        return self.sources[name]

    def operation_settings(self, connection: str | Connection,
                           operation: str) -> dict[str, Any] | None:
        """The operation's table with defaults filled, or None when it is absent or disabled."""
        conn = connection if isinstance(connection, Connection) else self.connection(connection)
        settings = conn.operations.get(operation)
        if settings is None or settings.get("enabled") is False:
            return None
        return settings

    def secrets(self) -> list[str]:
        """Every secret value this configuration holds, for a Redactor."""
        values = list(self.extra_secrets)
        for conn in self.connections.values():
            values.extend(conn.secrets())
        for source in self.sources.values():
            values.extend(source.secrets())
        return values

    def redactor(self) -> Redactor:
        return Redactor(self.secrets())


# --- locating the file -----------------------------------------------------------------------


def config_location(path: str | Path | None = None,
                    env: Mapping[str, str] | None = None) -> tuple[Path, str]:
    """Where the config file is (or would be) and why: explicit path, $FLX_CONFIG, ./flx.toml."""
    env = os.environ if env is None else env
    if path:
        return Path(path).expanduser(), "--config"
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]).expanduser(), f"${CONFIG_ENV}"
    return Path.cwd() / CONFIG_NAME, "the current folder"


def _find(path: str | Path | None, env: Mapping[str, str]) -> Path:
    location, source = config_location(path, env)
    if location.is_file():
        return location.resolve()
    if source == "the current folder":
        raise ConfigError(
            "no configuration file found",
            problems=["--config PATH: not given", f"${CONFIG_ENV}: not set",
                      f"./{CONFIG_NAME}: not found in {Path.cwd()}"],
            hint=f"run `flx init` to write a starter {CONFIG_NAME}, or pass --config PATH")
    what = "does not exist" if not location.exists() else "is not a file"
    raise ConfigError(f"config file {location} (from {source}) {what}",
                      hint="correct the path, or run `flx init` to write one there")


# --- reading ---------------------------------------------------------------------------------


def _parse(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        # Python 3.11 keeps the position only in the message: "... (at line 3, column 7)".
        m = re.search(r"^(.*) \(at line (\d+), column (\d+)\)$", str(exc))
        where, reason = (f"line {m[2]}, column {m[3]}", m[1]) if m else ("", str(exc))
        raise ConfigError(f"{path} is not valid TOML" + (f" ({where})" if where else ""),
                          problems=[f"{where}: {reason}" if where else reason],
                          hint="fix the TOML syntax at that place (quotes, '=', brackets)"
                          ) from None


# --- the whole load --------------------------------------------------------------------------


def load_config(path: str | Path | None = None, *, plugins: Plugins,
                env: Mapping[str, str] | None = None, strict_env: bool = True) -> Config:
    """Find, read, interpolate and validate flx.toml.

    `strict_env=False` tolerates unset variables inside connections (the CLI uses it, so one
    connection's missing credentials do not stop work on another); such a connection has
    None for those keys and refuses `Config.connection(name)`."""
    env = os.environ if env is None else env
    file = _find(path, env)
    raw = _parse(file)
    interp = Interpolator(env)
    resolved = interp.resolve(raw)
    problems = list(interp.problems)
    missing: dict[str, list[str]] = {}
    missing_sources: dict[str, list[str]] = {}
    for where, names in interp.missing.items():
        if where[:1] == ("serve",):
            continue  # only `flx serve` needs its token, and says so (flx.serve.security)
        lenient = not strict_env and len(where) > 2 and where[0] in ("connections", "sources")
        line = (f"{toml_path(where)}: environment variable {names[0]} is not set"
                if len(names) == 1 else
                f"{toml_path(where)}: environment variables {', '.join(names)} are not set")
        if lenient:
            into = missing if where[0] == "connections" else missing_sources
            into.setdefault(str(where[1]), []).append(line)
        else:
            problems.append(line)
    # Keys whose variable is missing or malformed: that problem is reported, and no follow-on
    # schema noise (or "a secret is written in the file") about the same key.
    skip = set(interp.missing) | interp.bad

    problems += schema_problems(core_validator(plugins.operations.names()), resolved, (),
                                _CORE_SECRETS, skip)
    problems += secret_exposure(file, raw, plugins, skip)
    problems += source_secret_exposure(file, raw, plugins, skip)

    connections: dict[str, Connection] = {}
    conn_tables = resolved.get("connections")
    for name, table in (conn_tables.items() if isinstance(conn_tables, dict) else ()):
        if not isinstance(table, dict) or not isinstance(table.get("plugin"), str):
            continue  # the core schema already reported it
        conn, conn_problems = _build_connection(name, table, plugins, skip, file)
        problems += conn_problems
        if conn is not None:
            connections[name] = conn

    sources, source_problems = build_sources(resolved, plugins, skip)
    problems += source_problems

    store_url, store_secrets = _store_url(resolved, file, problems, skip)
    if problems:
        # Belt and braces: a schema message may quote a whole table, secrets included.
        redactor = Redactor([*store_secrets, *_resolved_secrets(resolved, raw, plugins),
                             *source_secrets(resolved, raw, plugins)])
        problems = sorted(dict.fromkeys(redactor.text(p) for p in problems))
        raise ConfigError(f"{file} has {len(problems)} problem{'s' * (len(problems) > 1)}",
                          problems=problems, hint=hint_for(problems, file))

    alerts = _table(resolved, "alerts")
    secrets = list(store_secrets)
    if isinstance(alerts.get("webhook_url"), str) and ("alerts", "webhook_url") not in skip:
        secrets.append(alerts["webhook_url"])
    token = _table(resolved, "serve").get("token")
    if isinstance(token, str) and ("serve", "token") not in skip:
        secrets.append(token)
    return Config(path=file, store_url=store_url, connections=connections, alerts=alerts,
                  raw=raw, missing_env=missing, extra_secrets=secrets,
                  operations=plugins.operations, sources=sources,
                  missing_source_env=missing_sources)


def _resolved_secrets(resolved: dict[str, Any], raw: dict[str, Any],
                      plugins: Plugins) -> list[str]:
    out = []
    hook = _table(resolved, "alerts").get("webhook_url")
    if isinstance(hook, str) and not unresolved_reference(hook, _table(raw, "alerts").get(
            "webhook_url")):
        out.append(hook)
    tables, raw_tables = resolved.get("connections"), _table(raw, "connections")
    for name, table in (tables.items() if isinstance(tables, dict) else ()):
        if not isinstance(table, dict):
            continue
        raw_table = _table(raw_tables, name)
        connector = plugins.connectors.get(str(table.get("plugin")))
        if connector is not None:
            out += [str(table[k]) for k in connector.secret_keys if table.get(k) is not None
                    and not unresolved_reference(table[k], raw_table.get(k))]
    return out


def _build_connection(name: str, table: dict[str, Any], plugins: Plugins,
                      skip: set[tuple[str | int, ...]],
                      file: Path) -> tuple[Connection | None, list[str]]:
    prefix: tuple[str | int, ...] = ("connections", name)
    plugin = table["plugin"]
    if plugin not in plugins.connectors:
        known = sorted(plugins.connectors)
        close = difflib.get_close_matches(plugin, known, n=1)
        tip = f"; did you mean {close[0]!r}?" if close else ""
        return None, [f"{toml_path((*prefix, 'plugin'))}: no installed plugin provides "
                      f"{plugin!r} (installed: {', '.join(known) or 'none'}){tip}"]
    connector = plugins.connectors[plugin]
    settings = {k: v for k, v in table.items() if k not in CONNECTION_CORE_KEYS}
    problems: list[str] = []
    try:
        validator = connector_validator(connector)
    except SchemaError as exc:
        return None, [f"{toml_path(prefix)}: the {plugin!r} plugin ships an invalid connection "
                      f"schema ({exc.message}); report this to the plugin's authors"]
    problems += schema_problems(validator, settings, prefix,
                                [(k,) for k in connector.secret_keys], skip)

    operations: dict[str, dict[str, Any]] = {}
    op_tables = table.get("operations")
    for op, op_table in (op_tables.items() if isinstance(op_tables, dict) else ()):
        if not isinstance(op_table, dict) or op not in plugins.operations:
            continue  # the core schema reports these
        if op not in connector.operations:
            problems.append(
                f"{toml_path((*prefix, 'operations', op))}: the {plugin!r} plugin does not "
                f"provide {op!r} (it provides: {', '.join(connector.operations) or 'nothing'})")
            continue
        problems += operation_problems((*prefix, "operations", op), op_table, connector,
                                       skip, file.parent)
        operations[op] = fill_operation({**shared_mapping(table), **op_table})
    problems += connection_mapping_problems(prefix, table, connector, skip, file.parent)
    # A missing variable leaves its key unset rather than holding the text "${VAR}".
    settings = {k: (None if (*prefix, k) in skip else v) for k, v in settings.items()}
    conn = Connection(name=name, plugin=plugin,
                      settings={**settings_defaults(connector), **settings},
                      operations=operations, secret_keys=connector.secret_keys)
    return conn, problems


# Core's keys of a connection table; the rest are the connector's settings.
CONNECTION_CORE_KEYS = ("plugin", "operations", "mapping")


def shared_mapping(table: dict[str, Any]) -> dict[str, Any]:
    """The connection's own `mapping`, which every operation without one of its own uses:
    one line to change for a client's profile."""
    mapping = table.get("mapping")
    return {"mapping": mapping} if isinstance(mapping, str) and mapping else {}


def connection_mapping_problems(prefix: tuple[str | int, ...], table: dict[str, Any],
                                connector: Connector, skip: set[tuple[str | int, ...]],
                                base_dir: Path) -> list[str]:
    mapping = table.get("mapping")
    if "mapping" not in table or (*prefix, "mapping") in skip:
        return []
    if not isinstance(mapping, str) or not mapping:
        return [f"{toml_path((*prefix, 'mapping'))}: a mapping profile is a name or a path "
                "to a JSON file"]
    from flx.render.mapping import mapping_problem  # late: keeps `import flx.config.load` light

    problem = mapping_problem(connector, mapping, base_dir=base_dir)
    return [f"{toml_path((*prefix, 'mapping'))}: {problem}"] if problem else []


def _store_url(resolved: dict[str, Any], file: Path, problems: list[str],
               skip: set[tuple[str | int, ...]]) -> tuple[str, list[str]]:
    url = _table(resolved, "store").get("url", DEFAULT_STORE_URL)
    if not isinstance(url, str) or ("store", "url") in skip:
        return DEFAULT_STORE_URL, []
    from sqlalchemy.engine import make_url  # only needed here; keeps `import flx.config.load` light
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        problems.append("store.url: not a database URL (write sqlite:///flx.db or "
                        "postgresql://user@host/dbname)")
        return url, []
    secrets = [parsed.password] if parsed.password else []
    db = parsed.database
    if parsed.get_backend_name() == "sqlite" and db and db != ":memory:" \
            and not db.startswith("file:"):
        db_path = Path(db).expanduser()
        if not db_path.is_absolute():  # relative to flx.toml, not to wherever flx was started
            parsed = parsed.set(database=str(file.parent / db_path))
        url = parsed.render_as_string(hide_password=False)
    return url, [str(s) for s in secrets]
