"""Load flx.toml: find it, read it, put `${VAR}`s in from the environment, validate it against
schemas/config.schema.json plus each connector's connection schema, and refuse a secret written
in a file that other users can read.

Every problem found is collected and reported in one ConfigError, each as
`"<toml path>: <what is wrong>"`, so a user fixes the file in one pass instead of one error
per attempt.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import stat
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, SchemaError, ValidationError

from core.errors import ConfigError
from core.model import OPERATIONS, Connection, Connector
from core.plugins import Plugins
from core.redact import Redactor

CONFIG_ENV = "FLX_CONFIG"
CONFIG_NAME = "flx.toml"
DEFAULT_STORE_URL = "sqlite:///flx.db"

# `$${` is a literal `${`; `${NAME}` is a variable; a `${` that matches neither is an error.
_REFERENCE = re.compile(r"\$\$\{|\$\{([^}]*)\}|\$\{")
_VAR_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# A value that is nothing but one `${...}` (closed or not): a variable name, never a secret.
_ONLY_REFERENCE = re.compile(r"\$\{[^}$]*\}?")
_UNCLOSED = re.compile(r"\$\{\s*[A-Za-z0-9_]+\s*")
_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
# Values in the core schema that are (or may contain) secrets.
_CORE_SECRETS = (("store", "url"), ("alerts", "webhook_url"))

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


# --- reading and interpolating ---------------------------------------------------------------


def toml_path(parts: Iterable[str | int]) -> str:
    """`["connections", "prod", "channels", 0]` -> `connections.prod.channels[0]`."""
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            key = part if _BARE_KEY.fullmatch(part) else json.dumps(part)
            out += f".{key}" if out else key
    return out or "(top level)"


def _table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`doc[key]` when it is a table; anything else (already reported by the schema) is {}."""
    value = doc.get(key)
    return dict(value) if isinstance(value, dict) else {}


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


def _references(value: str) -> list[str]:
    return [m[1] for m in _REFERENCE.finditer(value) if m[0] != "$${" and m[1] is not None]


def _is_literal(value: Any) -> bool:
    """True when any character of the value is written in the file itself (not `${VAR}`)."""
    if not isinstance(value, str):
        return value is not None
    rest = _REFERENCE.sub(lambda m: "" if m[1] is not None else m[0], value)
    return bool(rest.strip())


class _Interpolator:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.problems: list[str] = []
        self.missing: dict[tuple[str | int, ...], list[str]] = {}
        self.bad: set[tuple[str | int, ...]] = set()  # keys with a malformed reference

    def resolve(self, value: Any, path: tuple[str | int, ...] = ()) -> Any:
        if isinstance(value, dict):
            return {k: self.resolve(v, (*path, k)) for k, v in value.items()}
        if isinstance(value, list):
            return [self.resolve(v, (*path, i)) for i, v in enumerate(value)]
        if isinstance(value, str) and "$" in value:
            return _REFERENCE.sub(lambda m: self._one(m, path, value), value)
        return value

    def _one(self, m: re.Match[str], path: tuple[str | int, ...], value: str) -> str:
        if m[0] == "$${":
            return "${"
        name = m[1]
        if name is None and _UNCLOSED.fullmatch(value):
            # The whole value is `${NAME` without its brace: a name, safe to show.
            self.problems.append(
                f"{toml_path(path)}: {value!r} is missing its closing '}}' "
                f"(write ${{{value[2:].strip()}}})")
            self.bad.add(path)
            return m[0]
        if name is None or not _VAR_NAME.fullmatch(name.strip()):
            self.problems.append(
                f"{toml_path(path)}: {m[0]!r} is not a valid variable reference "
                "(write ${NAME} with letters, digits and _, or $${ for a literal ${)")
            self.bad.add(path)
            return m[0]
        name = name.strip()
        if name not in self.env:
            self.missing.setdefault(path, []).append(name)
            return m[0]
        return self.env[name]


# --- validation ------------------------------------------------------------------------------


@cache
def _core_validator() -> Draft202012Validator:
    text = resources.files("schemas").joinpath("config.schema.json").read_text("utf-8")
    return Draft202012Validator(json.loads(text),
                                format_checker=Draft202012Validator.FORMAT_CHECKER)


def _schema_problems(validator: Draft202012Validator, instance: Any,
                     prefix: tuple[str | int, ...], secret_paths: Iterable[tuple[str, ...]],
                     skip: set[tuple[str | int, ...]]) -> list[str]:
    secret_paths = list(secret_paths)
    out = []
    for error in validator.iter_errors(instance):
        rel = tuple(error.absolute_path)
        full = (*prefix, *rel)
        if any(full[: len(s)] == s for s in skip):
            continue  # its variable is missing; that problem is already reported
        message = _friendly(error)
        if any(rel[: len(s)] == s for s in secret_paths):
            # jsonschema quotes the offending value; a secret's value is never shown.
            message = message.replace(repr(error.instance), "'********'")
        out.append(f"{toml_path(full)}: {message}")
    return out


def _friendly(error: ValidationError) -> str:
    """jsonschema's words, made plainer where they tend to puzzle: typo'd keys and patterns."""
    schema = error.schema if isinstance(error.schema, dict) else {}
    if error.validator == "additionalProperties" and isinstance(error.instance, dict):
        known = list(schema.get("properties", {}))
        extra = [k for k in error.instance if k not in known]
        parts = []
        for key in extra:
            close = difflib.get_close_matches(key, known, n=1)
            parts.append(f"unknown key {key!r}" + (f" (did you mean {close[0]!r}?)" if close
                                                   else ""))
        if parts:
            return "; ".join(parts)
    if error.validator == "pattern" and schema.get("examples"):
        examples = ", ".join(str(e) for e in schema["examples"])
        return f"{error.instance!r} is not in the expected form (for example: {examples})"
    return error.message


def _connector_validator(connector: Connector) -> Draft202012Validator:
    schema = dict(connector.connection_schema)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _fill_operation(table: Mapping[str, Any]) -> dict[str, Any]:
    props = _core_validator().schema["$defs"]["operation"]["properties"]
    defaults = {k: v["default"] for k, v in props.items() if "default" in v}
    return {**json.loads(json.dumps(defaults)), **table}


def _operation_keys(connector: Connector) -> tuple[list[str], dict[str, Any] | None]:
    """The keys an operation table may hold: core's, plus those the connector declares in
    `Connector.extra["operation_schema"]` (a JSON Schema object; its `properties`)."""
    core = list(_core_validator().schema["$defs"]["operation"]["properties"])
    extra = connector.extra.get("operation_schema") if connector.extra else None
    if not isinstance(extra, Mapping):
        return core, None
    return core + [k for k in extra.get("properties", {}) if k not in core], dict(extra)


def _operation_problems(where: tuple[str | int, ...], table: Mapping[str, Any],
                        connector: Connector, skip: set[tuple[str | int, ...]],
                        base_dir: Path) -> list[str]:
    """What the core schema cannot see in an operation table: a typo'd key (`maping` would
    silently mean the default profile), a cadence `flx schedule` cannot read, a mapping
    profile that is neither shipped by the connector nor a file."""
    problems: list[str] = []
    known, extra_schema = _operation_keys(connector)
    for key in table:
        if key not in known:
            close = difflib.get_close_matches(key, known, n=1)
            tip = f" (did you mean {close[0]!r}?)" if close else (
                f" (known keys: {', '.join(known)})")
            problems.append(f"{toml_path(where)}: unknown key {key!r}{tip}")
    if extra_schema is not None:
        try:
            Draft202012Validator.check_schema(extra_schema)
            validator = Draft202012Validator(
                {**extra_schema, "additionalProperties": True},
                format_checker=Draft202012Validator.FORMAT_CHECKER)
            own = {k: v for k, v in table.items() if k in extra_schema.get("properties", {})}
            problems += _schema_problems(validator, own, where, (), skip)
        except SchemaError as exc:
            problems.append(f"{toml_path(where)}: the {connector.name!r} plugin ships an invalid "
                            f"operation schema ({exc.message}); report this to its authors")
    schedule = table.get("schedule")
    if isinstance(schedule, str) and (*where, "schedule") not in skip:
        from core.schedule import parse_cadence  # late: croniter is only needed here

        try:
            parse_cadence(schedule)
        except ValueError as exc:
            problems.append(f"{toml_path((*where, 'schedule'))}: {exc}")
    mapping = table.get("mapping")
    if isinstance(mapping, str) and mapping and (*where, "mapping") not in skip:
        from core.mapping import mapping_problem  # late: keeps `import core.config` light

        problem = mapping_problem(connector, mapping, base_dir=base_dir)
        if problem:
            problems.append(f"{toml_path((*where, 'mapping'))}: {problem}")
    return problems


def _settings_defaults(connector: Connector) -> dict[str, Any]:
    # Schema `default`s, then connector.defaults for keys the schema declares.
    props = connector.connection_schema.get("properties", {})
    out = {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}
    out.update({k: v for k, v in connector.defaults.items() if k in props})
    return out


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
    interp = _Interpolator(env)
    resolved = interp.resolve(raw)
    problems = list(interp.problems)
    missing: dict[str, list[str]] = {}
    for where, names in interp.missing.items():
        lenient = not strict_env and len(where) > 2 and where[0] == "connections"
        line = (f"{toml_path(where)}: environment variable {names[0]} is not set"
                if len(names) == 1 else
                f"{toml_path(where)}: environment variables {', '.join(names)} are not set")
        if lenient:
            missing.setdefault(str(where[1]), []).append(line)
        else:
            problems.append(line)
    # Keys whose variable is missing or malformed: that problem is reported, and no follow-on
    # schema noise (or "a secret is written in the file") about the same key.
    skip = set(interp.missing) | interp.bad

    problems += _schema_problems(_core_validator(), resolved, (), _CORE_SECRETS, skip)
    problems += _secret_exposure(file, raw, plugins, skip)

    connections: dict[str, Connection] = {}
    conn_tables = resolved.get("connections")
    for name, table in (conn_tables.items() if isinstance(conn_tables, dict) else ()):
        if not isinstance(table, dict) or not isinstance(table.get("plugin"), str):
            continue  # the core schema already reported it
        conn, conn_problems = _build_connection(name, table, plugins, skip, file)
        problems += conn_problems
        if conn is not None:
            connections[name] = conn

    store_url, store_secrets = _store_url(resolved, file, problems, skip)
    if problems:
        # Belt and braces: a schema message may quote a whole table, secrets included.
        redactor = Redactor([*store_secrets, *_resolved_secrets(resolved, raw, plugins)])
        problems = sorted(dict.fromkeys(redactor.text(p) for p in problems))
        raise ConfigError(f"{file} has {len(problems)} problem{'s' * (len(problems) > 1)}",
                          problems=problems, hint=_hint_for(problems, file))

    alerts = _table(resolved, "alerts")
    secrets = list(store_secrets)
    if isinstance(alerts.get("webhook_url"), str) and ("alerts", "webhook_url") not in skip:
        secrets.append(alerts["webhook_url"])
    return Config(path=file, store_url=store_url, connections=connections, alerts=alerts,
                  raw=raw, missing_env=missing, extra_secrets=secrets)


def _resolved_secrets(resolved: dict[str, Any], raw: dict[str, Any],
                      plugins: Plugins) -> list[str]:
    out = []
    hook = _table(resolved, "alerts").get("webhook_url")
    if isinstance(hook, str) and not _unresolved_reference(hook, _table(raw, "alerts").get(
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
                    and not _unresolved_reference(table[k], raw_table.get(k))]
    return out


def _unresolved_reference(value: Any, raw_value: Any) -> bool:
    """A secret key still holding its own `${...}` text (malformed, so not substituted) holds
    a variable name, not a secret: the problem about it may show it."""
    return (isinstance(raw_value, str) and value == raw_value
            and _ONLY_REFERENCE.fullmatch(raw_value.strip()) is not None)


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
    settings = {k: v for k, v in table.items() if k not in ("plugin", "operations")}
    problems: list[str] = []
    try:
        validator = _connector_validator(connector)
    except SchemaError as exc:
        return None, [f"{toml_path(prefix)}: the {plugin!r} plugin ships an invalid connection "
                      f"schema ({exc.message}); report this to the plugin's authors"]
    problems += _schema_problems(validator, settings, prefix,
                                 [(k,) for k in connector.secret_keys], skip)

    operations: dict[str, dict[str, Any]] = {}
    op_tables = table.get("operations")
    for op, op_table in (op_tables.items() if isinstance(op_tables, dict) else ()):
        if not isinstance(op_table, dict) or op not in OPERATIONS:
            continue  # the core schema reports these
        if op not in connector.operations:
            problems.append(
                f"{toml_path((*prefix, 'operations', op))}: the {plugin!r} plugin does not "
                f"provide {op!r} (it provides: {', '.join(connector.operations) or 'nothing'})")
            continue
        problems += _operation_problems((*prefix, "operations", op), op_table, connector,
                                        skip, file.parent)
        operations[op] = _fill_operation(op_table)
    # A missing variable leaves its key unset rather than holding the text "${VAR}".
    settings = {k: (None if (*prefix, k) in skip else v) for k, v in settings.items()}
    conn = Connection(name=name, plugin=plugin,
                      settings={**_settings_defaults(connector), **settings},
                      operations=operations, secret_keys=connector.secret_keys)
    return conn, problems


def _store_url(resolved: dict[str, Any], file: Path, problems: list[str],
               skip: set[tuple[str | int, ...]]) -> tuple[str, list[str]]:
    url = _table(resolved, "store").get("url", DEFAULT_STORE_URL)
    if not isinstance(url, str) or ("store", "url") in skip:
        return DEFAULT_STORE_URL, []
    from sqlalchemy.engine import make_url  # only needed here; keeps `import core.config` light
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


def _secret_exposure(file: Path, raw: dict[str, Any], plugins: Plugins,
                     reported: set[tuple[str | int, ...]]) -> list[str]:
    """A secret written literally in a file that group/others may read is refused. Keys in
    `reported` (a malformed `${...}`) are skipped: one problem per mistake."""
    if os.name != "posix":
        return []  # no POSIX mode bits to check
    mode = stat.S_IMODE(file.stat().st_mode)
    if not mode & 0o077:
        return []
    exposed: list[tuple[tuple[str | int, ...], str]] = []
    for name, table in _table(raw, "connections").items():
        if not isinstance(table, dict) or table.get("plugin") not in plugins.connectors:
            continue
        for key in sorted(plugins.connectors[table["plugin"]].secret_keys):
            where: tuple[str | int, ...] = ("connections", name, key)
            if key in table and _is_literal(table[key]) and where not in reported:
                exposed.append((where, f"{name}_{key}".upper()))
    raw_url = _table(raw, "store").get("url")
    if isinstance(raw_url, str):
        try:
            password = urlsplit(raw_url).password
        except ValueError:
            password = None
        if password and _is_literal(password) and ("store", "url") not in reported:
            exposed.append((("store", "url"), "FLX_STORE_PASSWORD"))
    hook = _table(raw, "alerts").get("webhook_url")
    if hook is not None and _is_literal(hook) and ("alerts", "webhook_url") not in reported:
        exposed.append((("alerts", "webhook_url"), "FLX_ALERT_WEBHOOK_URL"))
    out = []
    for where, var in exposed:
        out.append(
            f"{toml_path(where)}: a secret is written in {file.name}, which other users can "
            f"read (mode {mode:03o}); run `chmod 600 {file.name}`, or write "
            f"`${{{var}}}` in its place and set that environment variable")
    return out


def _hint_for(problems: list[str], file: Path) -> str:
    if problems and all("other users can read" in p for p in problems):
        return f"chmod 600 {file}, or move the secrets to environment variables (${{VAR}})"
    if any(p.endswith(" not set") for p in problems):
        return (f"set the missing environment variables and correct {file}; "
                "see docs/configuration.md")
    return f"correct {file}; every key is described in docs/configuration.md"
