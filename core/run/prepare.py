"""What every run, render and profile check starts from: the connection, its connector, the
operation's settings, the mapping profile and a renderer bound to the profile's templates."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flx.connector import Connector
from flx.errors import ConfigError
from flx.model import Connection
from flx.render.mapping import Profile, load_profile
from flx.render.renderer import Renderer
from flx.render.sandbox import RenderLimits

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.plugins import Plugins


def prepare_operation(config: Config, plugins: Plugins, operation: str, connection_name: str,
                      *, require_enabled: bool = True,
                      ) -> tuple[Connection, Connector, dict[str, Any], Profile, Renderer]:
    connection = config.connection(connection_name)
    connector = plugins.require_operation(connection, operation)
    settings = config.operation_settings(connection, operation)
    if settings is None:
        if require_enabled:
            table = f"[connections.{connection.name}.operations.{operation}]"
            where = getattr(config, "path", "flx.toml")
            present = operation in connection.operations
            raise ConfigError(
                f"{operation} is not enabled for connection {connection.name!r}",
                hint=f"set enabled = true in the {table} table of {where}" if present else
                f"add a {table} table to {where}")
        settings = dict(connection.operation(operation))
    profile = load_profile(connector, settings.get("mapping"),
                           base_dir=getattr(config, "base_dir", None))
    packages = [connector.templates_package] if connector.templates_package else []
    return connection, connector, dict(settings), profile, Renderer(
        packages, profile.template_dirs, RenderLimits.from_profile(profile.data.get("limits")))
