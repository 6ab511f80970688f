"""The checks behind `load_config` (core/config/load.py), each returning problems as
`"<toml path>: <what is wrong>"` lines instead of raising, so that all are reported at once:
JSON Schema validation in plain words, an operation table's keys, cadence and mapping
profile, a connector's setting defaults, and a secret written in a file others can read.
"""

from __future__ import annotations

import difflib
import json
import os
import stat
from collections.abc import Iterable, Mapping
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jsonschema import Draft202012Validator, SchemaError, ValidationError

from flx.config.interpolate import is_literal, toml_path
from flx.connector import Connector
from flx.plugins import Plugins

__all__ = ["connector_validator", "core_validator", "fill_operation", "hint_for",
           "operation_problems", "schema_problems", "secret_exposure", "settings_defaults",
           "table"]


def table(doc: Mapping[str, Any], key: str) -> dict[str, Any]:
    """`doc[key]` when it is a table; anything else (already reported by the schema) is {}."""
    value = doc.get(key)
    return dict(value) if isinstance(value, dict) else {}


# --- JSON Schema, in plain words -------------------------------------------------------------


@cache
def core_validator(operations: tuple[str, ...] = ()) -> Draft202012Validator:
    """schemas/config.schema.json, its operation tables' names being the registered
    operations (the file cannot know what plugins register)."""
    text = resources.files("flx.schemas").joinpath("config.schema.json").read_text("utf-8")
    schema = json.loads(text)
    if operations:
        tables = schema["$defs"]["connection"]["properties"]["operations"]
        tables["propertyNames"] = {"enum": list(operations)}
        tables["properties"] = {op: {"$ref": "#/$defs/operation"} for op in operations}
        tables.pop("additionalProperties", None)  # an unknown name is one problem, not two
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


def schema_problems(validator: Draft202012Validator, instance: Any,
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
    if error.validator == "not" and schema.get("x-not-message"):
        return f"{error.instance!r} {schema['x-not-message']}"
    if error.validator == "pattern" and schema.get("examples"):
        examples = ", ".join(str(e) for e in schema["examples"])
        return f"{error.instance!r} is not in the expected form (for example: {examples})"
    return error.message


def connector_validator(connector: Connector) -> Draft202012Validator:
    schema = dict(connector.connection_schema)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, format_checker=Draft202012Validator.FORMAT_CHECKER)


# --- operation tables and connection defaults ------------------------------------------------


def fill_operation(table: Mapping[str, Any]) -> dict[str, Any]:
    props = core_validator().schema["$defs"]["operation"]["properties"]
    defaults = {k: v["default"] for k, v in props.items() if "default" in v}
    return {**json.loads(json.dumps(defaults)), **table}


def _operation_keys(connector: Connector) -> tuple[list[str], dict[str, Any] | None]:
    """The keys an operation table may hold: core's, plus those the connector declares in
    `Connector.extra["operation_schema"]` (a JSON Schema object; its `properties`)."""
    core = list(core_validator().schema["$defs"]["operation"]["properties"])
    extra = connector.extra.get("operation_schema") if connector.extra else None
    if not isinstance(extra, Mapping):
        return core, None
    return core + [k for k in extra.get("properties", {}) if k not in core], dict(extra)


def operation_problems(where: tuple[str | int, ...], table: Mapping[str, Any],
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
            problems += schema_problems(validator, own, where, (), skip)
        except SchemaError as exc:
            problems.append(f"{toml_path(where)}: the {connector.name!r} plugin ships an invalid "
                            f"operation schema ({exc.message}); report this to its authors")
    schedule = table.get("schedule")
    if isinstance(schedule, str) and (*where, "schedule") not in skip:
        from flx.config.cadence import parse_cadence  # late: croniter is only needed here

        try:
            parse_cadence(schedule)
        except ValueError as exc:
            problems.append(f"{toml_path((*where, 'schedule'))}: {exc}")
    mapping = table.get("mapping")
    if isinstance(mapping, str) and mapping and (*where, "mapping") not in skip:
        from flx.render.mapping import mapping_problem  # late: keeps `import flx.config.load` light

        problem = mapping_problem(connector, mapping, base_dir=base_dir)
        if problem:
            problems.append(f"{toml_path((*where, 'mapping'))}: {problem}")
    return problems


def settings_defaults(connector: Connector) -> dict[str, Any]:
    # Schema `default`s, then connector.defaults for keys the schema declares.
    props = connector.connection_schema.get("properties", {})
    out = {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}
    out.update({k: v for k, v in connector.defaults.items() if k in props})
    return out


# --- secrets in a readable file, and the closing hint ----------------------------------------


def secret_exposure(file: Path, raw: dict[str, Any], plugins: Plugins,
                    reported: set[tuple[str | int, ...]]) -> list[str]:
    """A secret written literally in a file that group/others may read is refused. Keys in
    `reported` (a malformed `${...}`) are skipped: one problem per mistake."""
    if os.name != "posix":
        return []  # no POSIX mode bits to check
    mode = stat.S_IMODE(file.stat().st_mode)
    if not mode & 0o077:
        return []
    exposed: list[tuple[tuple[str | int, ...], str]] = []
    for name, conn_table in table(raw, "connections").items():
        if not isinstance(conn_table, dict) or conn_table.get("plugin") not in plugins.connectors:
            continue
        for key in sorted(plugins.connectors[conn_table["plugin"]].secret_keys):
            where: tuple[str | int, ...] = ("connections", name, key)
            if key in conn_table and is_literal(conn_table[key]) and where not in reported:
                exposed.append((where, f"{name}_{key}".upper()))
    raw_url = table(raw, "store").get("url")
    if isinstance(raw_url, str):
        try:
            password = urlsplit(raw_url).password
        except ValueError:
            password = None
        if password and is_literal(password) and ("store", "url") not in reported:
            exposed.append((("store", "url"), "FLX_STORE_PASSWORD"))
    hook = table(raw, "alerts").get("webhook_url")
    if hook is not None and is_literal(hook) and ("alerts", "webhook_url") not in reported:
        exposed.append((("alerts", "webhook_url"), "FLX_ALERT_WEBHOOK_URL"))
    token = table(raw, "serve").get("token")
    if token is not None and is_literal(token) and ("serve", "token") not in reported:
        exposed.append((("serve", "token"), "FLX_SERVE_TOKEN"))
    out = []
    for where, var in exposed:
        out.append(
            f"{toml_path(where)}: a secret is written in {file.name}, which other users can "
            f"read (mode {mode:03o}); run `chmod 600 {file.name}`, or write "
            f"`${{{var}}}` in its place and set that environment variable")
    return out


def hint_for(problems: list[str], file: Path) -> str:
    if problems and all("other users can read" in p for p in problems):
        return f"chmod 600 {file}, or move the secrets to environment variables (${{VAR}})"
    if any(p.endswith(" not set") for p in problems):
        return (f"set the missing environment variables and correct {file}; "
                "see docs/configuration.md")
    return f"correct {file}; every key is described in docs/configuration.md"
