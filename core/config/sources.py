"""The `[sources.NAME]` tables of flx.toml: each checked against its source's settings schema
(`Source.settings_schema`), its `schedule` read as a cadence, its secrets (`x-secret`) kept out
of problems and refused when written in a file others can read. Problems are
`"<toml path>: <what is wrong>"` lines, reported with the rest of the file's.
"""

from __future__ import annotations

import difflib
import os
import stat
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, SchemaError

from flx.config.cadence import parse_cadence
from flx.config.checks import schema_problems, table
from flx.config.interpolate import is_literal, toml_path, unresolved_reference
from flx.plugins import Plugins
from flx.source import Source, SourceConfig

__all__ = ["SOURCE_CORE_KEYS", "build_sources", "source_secret_exposure", "source_secrets"]

# Core's keys of a source table; the rest are the source's settings.
SOURCE_CORE_KEYS = ("plugin", "schedule", "enabled")

Where = tuple[str | int, ...]


def build_sources(resolved: dict[str, Any], plugins: Plugins,
                  skip: set[Where]) -> tuple[dict[str, SourceConfig], list[str]]:
    """Every `[sources.NAME]` table as a SourceConfig, and the problems found in them. A key
    whose `${VAR}` is not set (in `skip`) is left None, as a connection's is."""
    sources: dict[str, SourceConfig] = {}
    problems: list[str] = []
    for name, tbl in table(resolved, "sources").items():
        if not isinstance(tbl, dict) or not isinstance(tbl.get("plugin"), str):
            continue  # the core schema already reported it
        prefix: Where = ("sources", name)
        plugin = tbl["plugin"]
        source = plugins.sources.get(plugin)
        if source is None:
            known = sorted(plugins.sources)
            close = difflib.get_close_matches(plugin, known, n=1)
            tip = f"; did you mean {close[0]!r}?" if close else ""
            problems.append(f"{toml_path((*prefix, 'plugin'))}: no installed plugin provides "
                            f"the source {plugin!r} (installed: {', '.join(known) or 'none'})"
                            f"{tip}")
            continue
        settings = {k: v for k, v in tbl.items() if k not in SOURCE_CORE_KEYS}
        try:
            schema = dict(source.settings_schema)
            Draft202012Validator.check_schema(schema)
        except SchemaError as exc:
            problems.append(f"{toml_path(prefix)}: the {plugin!r} plugin ships an invalid "
                            f"settings schema ({exc.message}); report this to its authors")
            continue
        validator = Draft202012Validator(schema,
                                         format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems += schema_problems(validator, settings, prefix,
                                    [(k,) for k in source.secret_keys], skip)
        schedule = tbl.get("schedule")
        if isinstance(schedule, str) and (*prefix, "schedule") not in skip:
            try:
                parse_cadence(schedule)
            except ValueError as exc:
                problems.append(f"{toml_path((*prefix, 'schedule'))}: {exc}")
        settings = {k: (None if (*prefix, k) in skip else v) for k, v in settings.items()}
        sources[name] = SourceConfig(
            name=name, plugin=plugin, settings={**_defaults(source), **settings},
            schedule=schedule if isinstance(schedule, str) else None,
            enabled=tbl.get("enabled") is not False, secret_keys=source.secret_keys,
            secret_cursor=source.secret_cursor)
    return sources, problems


def _defaults(source: Source) -> dict[str, Any]:
    props = source.settings_schema.get("properties", {})
    return {k: v["default"] for k, v in props.items() if isinstance(v, dict) and "default" in v}


def source_secrets(resolved: dict[str, Any], raw: dict[str, Any],
                   plugins: Plugins) -> list[str]:
    """The secret values of every source table that hold one (for masking problems)."""
    out = []
    raw_tables = table(raw, "sources")
    for name, tbl in table(resolved, "sources").items():
        source = plugins.sources.get(str(tbl.get("plugin"))) if isinstance(tbl, dict) else None
        if source is None:
            continue
        raw_table = table(raw_tables, name)
        out += [str(tbl[k]) for k in source.secret_keys if tbl.get(k) is not None
                and not unresolved_reference(tbl[k], raw_table.get(k))]
    return out


def source_secret_exposure(file: Path, raw: dict[str, Any], plugins: Plugins,
                           reported: set[Where]) -> list[str]:
    """A source's secret written in a file that group/others may read: one problem each,
    with the variable to use instead (as for a connection's secrets)."""
    if os.name != "posix":
        return []  # no POSIX mode bits to check
    mode = stat.S_IMODE(file.stat().st_mode)
    if not mode & 0o077:
        return []
    out = []
    for name, tbl in table(raw, "sources").items():
        source = plugins.sources.get(str(tbl.get("plugin"))) if isinstance(tbl, dict) else None
        if source is None:
            continue
        for key in sorted(source.secret_keys):
            where: Where = ("sources", name, key)
            if key in tbl and is_literal(tbl[key]) and where not in reported:
                var = f"{name}_{key}".upper().replace("-", "_")
                out.append(
                    f"{toml_path(where)}: a secret is written in {file.name}, which other users "
                    f"can read (mode {mode:03o}); run `chmod 600 {file.name}`, or write "
                    f"`${{{var}}}` in its place and set that environment variable")
    return out
