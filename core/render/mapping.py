"""Mapping profiles: a client's choices for one connector, as a validated JSON file.

A profile is found by name in the connector's `mappings_package` (`<name>.json`, "default"
when none is given) or by path (relative to flx.toml's folder). It is checked against
`schemas/mapping.schema.json` plus the connector's own `mapping_schema`; every problem is
reported at once, including template expressions that do not compile, so that a typo fails the
run before anything is sent instead of failing every record one by one.
"""

from __future__ import annotations

import copy
import difflib
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator, SchemaError

from flx.connector import Connector
from flx.errors import ConfigError, MappingError, PluginError
from flx.render.renderer import Renderer, check_expression
from flx.render.sandbox import escaping_links

__all__ = ["DEFAULT_PROFILE", "Profile", "apply_schema_defaults", "load_profile",
           "mapping_problem", "profile_names", "validate_profile"]

DEFAULT_PROFILE = "default"

# Filled in when a profile leaves them out, so plugins can read them without guessing. A
# connector's own keys get their defaults from its mapping schema (apply_schema_defaults).
_DEFAULTS: dict[str, Any] = {
    "tables": {},
    "header": {},
    "custom_fields": {"body": {}, "column": {}},
    "options": {},
}
# Sections whose strings may be template expressions.
_EXPRESSION_SECTIONS = ("header", "custom_fields", "shipment", "vendor_bill", "customer")


@dataclass
class Profile:
    """A loaded profile. `data` is what plugins read (as `runtime.profile`)."""

    data: dict[str, Any]
    source: str
    template_dirs: list[Path] = field(default_factory=list)

    @property
    def name(self) -> str:
        return str(self.data.get("name", ""))

    def table(self, name: str) -> dict[str, Any]:
        return dict((self.data.get("tables") or {}).get(name) or {})

    def lookup(self, table: str, key: str, *, record_id: str, what: str | None = None) -> Any:
        """A value from a table, or a MappingError that says which entry to add."""
        value = self.table(table).get(str(key))
        if value in (None, ""):
            raise MappingError(
                f"{what or table} {key!r} has no entry in tables.{table} of mapping profile "
                f"{self.name or self.source}", record_id=record_id,
                hint=f'add "{key}": "<id>" to tables.{table} in {self.source}')
        return value

    def option(self, key: str, default: Any = None) -> Any:
        return (self.data.get("options") or {}).get(key, default)


@cache
def _core_schema() -> dict[str, Any]:
    text = resources.files("flx.schemas").joinpath("mapping.schema.json").read_text("utf-8")
    return dict(json.loads(text))


def profile_names(connector: Connector) -> list[str]:
    """The profiles a connector ships (names without .json)."""
    if not connector.mappings_package:
        return []
    try:
        root = resources.files(connector.mappings_package)
    except ModuleNotFoundError:
        return []
    return sorted(p.name[:-5] for p in root.iterdir() if p.name.endswith(".json"))


def _looks_like_path(value: str) -> bool:
    return value.endswith(".json") or "/" in value or "\\" in value or value.startswith(".")


def _profile_path(value: str, base_dir: Path | None) -> Path:
    path = Path(value).expanduser()
    return path if path.is_absolute() else (base_dir or Path.cwd()) / path


def mapping_problem(connector: Connector, name_or_path: str, *,
                    base_dir: Path | None = None) -> str | None:
    """Why `mapping = "..."` in flx.toml names no profile, or None when it does: a path must
    be an existing file (relative to `base_dir`, flx.toml's folder, as the runner reads it),
    a name must be one the connector ships ("default" always is). Checked when the config is
    loaded; the profile's content is checked when an operation loads it."""
    if _looks_like_path(name_or_path):
        path = _profile_path(name_or_path, base_dir)
        if path.is_file():
            return None
        what = "does not exist" if not path.exists() else "is not a file"
        return (f"mapping profile file {path} {what} (a relative path is read from the "
                "folder of flx.toml)")
    names = profile_names(connector)
    if name_or_path == DEFAULT_PROFILE or name_or_path in names:
        return None
    close = difflib.get_close_matches(name_or_path, names, n=1)
    if close:
        tip = f"; did you mean {close[0]!r}?"
    elif _profile_path(f"{name_or_path}.json", base_dir).is_file():
        tip = f"; did you mean your file {name_or_path + '.json'!r}?"
    else:
        tip = "; a profile of your own is a path ending in .json"
    return (f"{name_or_path!r} is not a mapping profile the {connector.name!r} connector ships "
            f"(shipped: {', '.join(names) or 'none'}) nor a file{tip}")


def load_profile(connector: Connector, name_or_path: str | None = None, *,
                 base_dir: Path | None = None) -> Profile:
    """Load, validate and complete a profile; ConfigError lists every problem."""
    wanted = name_or_path or DEFAULT_PROFILE
    if _looks_like_path(wanted):
        path = _profile_path(wanted, base_dir)
        if not path.is_file():
            raise ConfigError(f"mapping profile file {path} does not exist",
                              hint="correct `mapping = ...` in flx.toml (a relative path is "
                                   "read from flx.toml's folder)")
        text, source, folder = path.read_text("utf-8"), str(path), path.parent
    else:
        packaged, source, folder = _packaged(connector, wanted)
        if packaged is None:
            if wanted == DEFAULT_PROFILE:  # a connector without shipped profiles: all defaults
                return Profile(_complete({"name": DEFAULT_PROFILE}, connector),
                               f"{connector.name}:default")
            names = profile_names(connector)
            raise ConfigError(
                f"connector {connector.name!r} ships no mapping profile named {wanted!r}",
                problems=[f"shipped profiles: {', '.join(names) or 'none'}"],
                hint="use one of the shipped names, or a path to your own .json profile")
        text = packaged
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"mapping profile {source} is not valid JSON",
                          problems=[f"line {exc.lineno} column {exc.colno}: {exc.msg}"],
                          hint="fix the JSON syntax (a trailing comma is a common cause)"
                          ) from None
    problems = validate_profile(data, connector)
    template_dirs: list[Path] = []
    if isinstance(data, dict) and isinstance(data.get("templates"), str):
        tdir = _template_dir(folder, data["templates"])
        if tdir is None:
            problems.append(f"$.templates: folder {data['templates']!r} not found next to "
                            f"{source}")
        else:
            template_dirs.append(tdir)
            problems += escaping_links(tdir) + _override_problems(tdir, connector)
    if problems:
        count = f"{len(problems)} problem{'s' * (len(problems) > 1)}"
        raise ConfigError(f"mapping profile {source} has {count}", problems=problems,
                          hint="see docs/mappings.md for every setting")
    data.setdefault("name", Path(source).stem if _looks_like_path(source) else wanted)
    return Profile(_complete(data, connector), source, template_dirs)


def _packaged(connector: Connector, name: str) -> tuple[str | None, str, Any]:
    if not connector.mappings_package:
        return None, name, None
    try:
        root = resources.files(connector.mappings_package)
    except ModuleNotFoundError:
        raise ConfigError(f"connector {connector.name!r} names a mappings package "
                          f"{connector.mappings_package!r} that cannot be imported") from None
    node = root.joinpath(f"{name}.json")
    if not node.is_file():
        return None, name, root
    return node.read_text("utf-8"), f"{connector.mappings_package}:{name}.json", root


def _template_dir(folder: Any, relative: str) -> Path | None:
    if folder is None:
        return None
    node = folder.joinpath(relative) if not isinstance(folder, Path) else folder / relative
    # Overrides are read by a FileSystemLoader: the folder must be a real directory.
    path = Path(str(node))
    return path.resolve() if path.is_dir() else None


def _override_problems(folder: Path, connector: Connector) -> list[str]:
    """Every file of an override folder must replace a template of the connector: a file
    named `salesorder.json.j2` (or without `.j2`) would otherwise be ignored in silence and
    the shipped template used. Hidden files, and `_partials` (for `{% include %}`), pass."""
    if not connector.templates_package:
        known: list[str] = []
    else:
        try:
            known = Renderer([connector.templates_package]).list_templates()
        except PluginError:
            return []  # the plugin itself is broken; that error comes when it renders
    problems = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        rel = path.relative_to(folder).as_posix()
        if rel in known or any(part.startswith((".", "_")) for part in rel.split("/")):
            continue
        close = _closest_templates(rel, known)
        tip = (f"; did you mean {' or '.join(repr(c) for c in close)}?" if close
               else f"; its templates: {', '.join(known) or 'none'}")
        problems.append(f"$.templates: {rel} in {folder} matches no template of the "
                        f"{connector.name!r} connector, so it would be ignored{tip}")
    return problems


def _closest_templates(name: str, known: list[str]) -> list[str]:
    # Case slips and a missing `.j2` are the usual mistakes: look for those first.
    lowered = {k.lower(): k for k in known}
    for candidate in (name.lower(), f"{name.lower()}.j2"):
        if candidate in lowered:
            return [lowered[candidate]]
    close = difflib.get_close_matches(name.lower(), list(lowered), n=2, cutoff=0.6)
    return [lowered[c] for c in close]


def validate_profile(data: Any, connector: Connector | None = None) -> list[str]:
    """Every problem of a parsed profile as "JSON path: message" (empty list: valid)."""
    problems = _schema_problems(Draft202012Validator(_core_schema()), data)
    extra = connector.mapping_schema if connector is not None else None
    if connector is not None and extra:
        try:
            Draft202012Validator.check_schema(extra)
            problems += _schema_problems(Draft202012Validator(extra), data)
        except SchemaError as exc:
            problems.append(f"the {connector.name!r} connector ships an invalid mapping "
                            f"schema ({exc.message}); report this to its authors")
    if not isinstance(data, dict):
        return problems
    known = set(_core_schema()["properties"]) | set((extra or {}).get("properties", {}))
    for key in data:
        if key not in known:
            close = difflib.get_close_matches(key, sorted(known), n=1)
            tip = f" (did you mean {close[0]!r}?)" if close else ""
            problems.append(f"$.{key}: unknown setting{tip}")
    for path, expr in _expressions(data):
        problem = check_expression(expr)
        if problem:
            problems.append(f"{path}: {problem} in {expr!r}")
    return sorted(dict.fromkeys(problems))


def _schema_problems(validator: Draft202012Validator, data: Any) -> list[str]:
    problems = []
    for error in validator.iter_errors(data):
        if error.validator == "additionalProperties" and error.validator_value is False \
                and isinstance(error.instance, Mapping):
            # A misspelt key, said in words with the nearest known one, like a top-level one.
            known = sorted((error.schema or {}).get("properties", {}))
            for key in error.instance:
                if key not in known:
                    close = difflib.get_close_matches(str(key), known, n=1)
                    tip = f" (did you mean {close[0]!r}?)" if close else (
                        f" (known: {', '.join(known)})" if known else "")
                    problems.append(f"{error.json_path}.{key}: unknown setting{tip}")
            continue
        problems.append(f"{error.json_path}: {error.message}")
    return problems


def _expressions(data: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    def walk(value: Any, path: str) -> Iterator[tuple[str, str]]:
        if isinstance(value, Mapping):
            for k, v in value.items():
                yield from walk(v, f"{path}.{k}")
        elif isinstance(value, list):
            for i, v in enumerate(value):
                yield from walk(v, f"{path}[{i}]")
        elif isinstance(value, str) and ("{{" in value or "{%" in value):
            yield path, value
    for section in _EXPRESSION_SECTIONS:
        if section in data:
            yield from walk(data[section], f"$.{section}")


def _complete(data: dict[str, Any], connector: Connector) -> dict[str, Any]:
    out = _fill(copy.deepcopy(data), _DEFAULTS)
    return apply_schema_defaults(connector.mapping_schema or {}, out)


def apply_schema_defaults(schema: Mapping[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """`data` with the `default` of each top-level property of `schema` it leaves out; a
    default that is an object also fills the keys a given object leaves out (one level:
    `"customer": {"on_missing": "fail"}` keeps the default `match`)."""
    props = schema.get("properties") if isinstance(schema, Mapping) else None
    defaults = {k: v["default"] for k, v in (props or {}).items()
                if isinstance(v, Mapping) and "default" in v}
    return _fill(data, defaults)


def _fill(out: dict[str, Any], defaults: Mapping[str, Any]) -> dict[str, Any]:
    for key, default in defaults.items():
        if key not in out:
            out[key] = copy.deepcopy(default)
        elif isinstance(default, dict) and isinstance(out[key], dict):
            for sub, value in default.items():
                out[key].setdefault(sub, copy.deepcopy(value))
    return out
