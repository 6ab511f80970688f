"""`flx init`: write a commented starter flx.toml (mode 600) and nothing else.

The example connection is generated from the connector's own connection schema (its
descriptions, examples and defaults), so any connector gets a useful starter file: the one
`--connector` names, else the first installed by name. Secrets are always written as
`${VARIABLE}`."""

from __future__ import annotations

import json
import os
import re
import textwrap
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer

from flx.cli.context import get_state
from flx.config.load import config_location
from flx.connector import Connector
from flx.errors import ConfigError
from flx.model import Starter
from flx.plugins import Plugins
from flx.render.mapping import DEFAULT_PROFILE, profile_names

HEADER = """\
# flx configuration. Every key is described in docs/configuration.md.
#
# Secrets never belong in this file as plain text: write "${VARIABLE}" and set the variable in
# the environment flx runs in. flx refuses a plain-text secret in a file other users can read.

[store]
# Where flx keeps imported records, sync state and run history. A relative SQLite path is
# relative to this file. Several workers on several machines share a PostgreSQL database:
#   url = "postgresql://flx:${FLX_DB_PASSWORD}@db.internal:5432/flx"
url = "sqlite:///flx.db"

# [alerts]
# webhook_url = "${FLX_ALERT_WEBHOOK_URL}"   # receives a JSON POST after runs
# on = ["failures", "auth", "outage"]
"""

OPERATION_BLOCK = """\
enabled = true
# mapping = "other.json"       # this operation only: another profile than the connection's
# channels = ["shopify"]       # only these sales channels (omitted or empty: all)
# sources = ["main-store"]     # only these sources (omitted or empty: all)
# link_existing = true         # a record already there (external id, or order number) is linked
# schedule = "every 30 minutes"
# batch_size = 250
"""


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(str(value))  # a JSON string is a valid TOML basic string


def env_prefix(connector: Connector) -> str:
    prefix = connector.extra.get("env_prefix")  # a connector's own short form, e.g. "NS"
    return str(prefix or re.sub(r"[^A-Za-z0-9]+", "_", connector.name).upper())


def _comment(text: str) -> list[str]:
    return [f"# {line}" for line in textwrap.wrap(" ".join(text.split()), 94)]


def profile_file_name(connector: Connector) -> str:
    return f"{connector.name}-mapping.json"


def _connection_block(connector: Connector, name: str = "prod",
                      given: dict[str, Any] | None = None) -> list[str]:
    schema = connector.connection_schema
    props: dict[str, Any] = {k: v for k, v in schema.get("properties", {}).items()
                             if k not in ("plugin", "operations")}  # core's keys, written below
    required = [k for k in schema.get("required", []) if k in props]
    order = required + [k for k in props if k not in required]
    prefix = env_prefix(connector)
    lines = [f"[connections.{name}]", f"plugin = {toml_value(connector.name)}"]
    for key in order:
        spec = props[key] if isinstance(props[key], dict) else {}
        variable = toml_value(f"${{{prefix}_{key.upper()}}}")
        examples = spec.get("examples") or []
        if given and key in given:
            value, active = toml_value(given[key]), True
        elif spec.get("x-secret"):
            value, active = variable, key in required
        elif key in required:
            value, active = (toml_value(examples[0]) if examples else variable), True
        elif "default" in spec:
            value, active = toml_value(spec["default"]), False
        else:
            value, active = (toml_value(examples[0]) if examples else '""'), False
        if spec.get("description"):
            lines += _comment(spec["description"])
        lines.append(f"{'' if active else '# '}{key} = {value}")
    if DEFAULT_PROFILE in profile_names(connector):
        lines += _comment("The mapping profile (JSON, next to this file) every operation below "
                          "uses: the client's vendor, warehouse, channel and ship method ids "
                          "and choices (docs/mappings.md). `flx init` wrote it; it is yours "
                          "to edit.")
        lines.append(f"mapping = {toml_value(profile_file_name(connector))}")
    for op in connector.operations:
        lines += ["", f"[connections.{name}.operations.{op}]", OPERATION_BLOCK.rstrip("\n")]
    return lines


def chosen_connector(plugins: Plugins, name: str | None = None) -> Connector | None:
    """The connector the starter file is for: the one named (`--connector`), else the first
    installed one by name (the only one, usually)."""
    if name is not None:
        return plugins.connector(name)  # an unknown name: PluginError listing the installed
    names = sorted(plugins.connectors)
    return plugins.connectors[names[0]] if names else None


def emulator_starter(connector: Connector | None, env: Mapping[str, str]) -> Starter:
    """The connector's settings and profile for its local emulator (`flx init --emulator`)."""
    make = connector.extra.get("emulator_starter") if connector else None
    if not callable(make):
        what = f"the {connector.name!r} connector" if connector else "no installed connector"
        raise typer.BadParameter(f"{what} has no emulator to point a connection at",
                                 param_hint="'--emulator'")
    starter: Starter = make(env)
    return starter


def starter_config(plugins: Plugins, given: dict[str, Any] | None = None,
                   connector_name: str | None = None) -> str:
    """The text of a starter flx.toml for the installed connectors; `given` settings are
    written as they are (the emulator's)."""
    names = sorted(plugins.connectors)
    picked = chosen_connector(plugins, connector_name)
    chosen = picked.name if picked else None
    parts = [HEADER]
    if chosen is None:
        parts.append(
            "# No connector plugin is installed (see `flx plugins`). A connection looks like:\n"
            "# [connections.prod]\n# plugin = \"CONNECTOR\"\n"
            "# ...the plugin's settings...\n"
            "# [connections.prod.operations.send-orders]\n# enabled = true\n")
    else:
        connector = plugins.connectors[chosen]
        others = [n for n in names if n != chosen]
        if others:
            parts.append(f"# Other installed connectors: {', '.join(others)} "
                         "(add a [connections.NAME] table with plugin = \"...\").\n")
        parts.append("\n".join(_connection_block(connector, given=given)) + "\n")
    return "\n".join(parts)


def write_private(path: Path, text: str, *, force: bool) -> None:
    """Write `text` to `path` with mode 600, atomically; never overwrite unless forced."""
    if path.exists() and not force:
        raise ConfigError(f"{path} already exists; nothing was written",
                          hint="pass --force to replace it, or --config PATH to write elsewhere")
    if not path.parent.is_dir():
        raise ConfigError(f"folder {path.parent} does not exist",
                          hint="create the folder first, or choose another --config PATH")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o600)  # the umask may have narrowed it further; never widened
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def profile_text(connector: Connector, name: str) -> str:
    """A shipped profile's JSON, as the user's own copy starts from it."""
    root = resources.files(str(connector.mappings_package))
    return root.joinpath(f"{name}.json").read_text(encoding="utf-8")


def init_command(
    ctx: typer.Context,
    force: Annotated[bool, typer.Option("--force", help="Replace existing files.")] = False,
    emulator: Annotated[bool, typer.Option(
        "--emulator", help="Point the connection at a running `flx emulator` (its account, "
                           "base_url and public demo tokens).")] = False,
    connector_name: Annotated[str | None, typer.Option(
        "--connector", help="The installed connector to write the connection for (`flx "
                            "plugins` lists them); default: the first by name.")] = None,
) -> None:
    """Write a starter flx.toml (mode 600) and the mapping profile it names.

    The file is commented; secrets are written as ${VARIABLES}. The profile, a copy of the
    connector's default one next to flx.toml, is used by every operation of the connection."""
    state = get_state(ctx)
    path, _ = config_location(state.config_path, state.env)
    connector = chosen_connector(state.plugins, connector_name)
    starter = emulator_starter(connector, state.env) if emulator else None
    text = starter_config(state.plugins, starter.settings if starter else None,
                          connector.name if connector else None)
    shipped = starter.profile if starter else DEFAULT_PROFILE
    profile_path = path.parent / profile_file_name(connector) if connector and \
        shipped in profile_names(connector) else None
    if profile_path is not None and profile_path.exists() and not force:
        raise ConfigError(f"{profile_path} already exists; nothing was written",
                          hint="pass --force to replace it and flx.toml, or --config PATH to "
                               "write elsewhere")
    write_private(path, text, force=force)
    state.echo(f"wrote {path} (mode 600)")
    if connector is not None and profile_path is not None:
        profile_path.write_text(profile_text(connector, shipped), encoding="utf-8")
        state.echo(f"wrote {profile_path} (the mapping profile of every operation; a copy of "
                   f"the shipped {shipped!r} profile)")
    variables = sorted(set(re.findall(r"^[a-z_]+ = \"\$\{([A-Z0-9_]+)\}\"", text, re.M)))
    if starter is not None:
        state.echo(f"next: start the emulator in another terminal (`{starter.command}`), then "
                   "run `flx connections test prod`")
    elif variables:
        state.echo("next: set these environment variables, then run `flx connections test "
                   "prod`:")
        for var in variables:
            state.echo(f"  export {var}=...")



def register(app: typer.Typer) -> None:
    app.command("init")(init_command)
