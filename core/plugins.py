"""Build the plugin manager: specs, built-ins, the `flx` entry-point group, and the connector
registry each plugin fills through `register_connectors`."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field
from importlib import metadata
from typing import Any

import pluggy

from flx import hookspecs
from flx.errors import PluginError
from flx.model import OPERATIONS, Connection, Connector

PROJECT = "flx"
AUTOLOAD_ENV = "FLX_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "FLX_PLUGINS"
# Built-in plugins, by name and "module:factory": loaded with any plugin set (autoload or not)
# and not listed by `flx plugins`. Named, not imported here, so that core's upper layers may
# implement hooks without this module depending on them.
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("flx.alerts", "flx.ops.alerts:WebhookNotifier"),  # idle unless [alerts] webhook_url
)
BUILTIN_PLUGINS = frozenset(name for name, _ in DEFAULT_PLUGINS)

hookimpl = hookspecs.hookimpl


@dataclass
class Plugins:
    """The plugin manager plus what the plugins registered."""

    pm: pluggy.PluginManager
    connectors: dict[str, Connector] = field(default_factory=dict)

    @property
    def hook(self) -> Any:
        return self.pm.hook

    def connector(self, name: str) -> Connector:
        try:
            return self.connectors[name]
        except KeyError:
            known = ", ".join(sorted(self.connectors)) or "none"
            raise PluginError(
                f"no plugin provides the connector {name!r} (installed: {known})",
                hint="install the plugin package, or correct `plugin = ...` in flx.toml",
            ) from None

    def require_operation(self, connection: Connection, operation: str) -> Connector:
        if operation not in OPERATIONS:
            raise PluginError(f"unknown operation {operation!r}",
                              hint=f"use one of: {', '.join(OPERATIONS)}")
        connector = self.connector(connection.plugin)
        if operation not in connector.operations:
            raise PluginError(
                f"connection {connection.name!r} uses {connector.name!r}, which does not provide "
                f"{operation!r} (it provides: {', '.join(connector.operations) or 'nothing'})",
                hint="pick a connection whose plugin supports this operation",
            )
        return connector

    def describe(self) -> list[dict[str, Any]]:
        """One row per plugin: name, version, connectors and their operations."""
        rows = []
        for name, plugin in self.pm.list_name_plugin():
            if plugin is None or name in BUILTIN_PLUGINS:  # built-ins are part of flx itself
                continue
            dist = dict((p, d) for p, d in self.pm.list_plugin_distinfo()).get(plugin)
            version = dist.version if dist is not None else ""
            connectors = [c for c in self.connectors.values() if c.plugin_name == name]
            rows.append({
                "plugin": name,
                "version": version,
                "connectors": [{"name": c.name, "operations": list(c.operations),
                                "description": c.description} for c in connectors],
            })
        return rows


def build_plugins(*extra: Any, autoload: bool | None = None) -> Plugins:
    """A fresh plugin manager. `extra` plugins (modules or objects) are registered first, as
    tests do; entry points load unless FLX_DISABLE_PLUGIN_AUTOLOAD is set."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in extra:
        pm.register(plugin)
    for name, target in DEFAULT_PLUGINS:
        module, _, factory = target.partition(":")
        pm.register(getattr(importlib.import_module(module), factory)(), name=name)
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if autoload:
        pm.load_setuptools_entrypoints(PROJECT)
    for module_name in _listed_modules():
        pm.register(_import_plugin(module_name), name=module_name)
    pm.check_pending()
    plugins = Plugins(pm)
    for impl in pm.hook.register_connectors.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or impl.plugin_name
        impl.function(register=_registrar(plugins, plugin_name, impl.plugin))
    return plugins


def _listed_modules() -> list[str]:
    """FLX_PLUGINS: extra plugin modules, comma-separated, for a plugin that is not installed
    as a distribution (a client's local connector, a plugin under development)."""
    return [m.strip() for m in os.environ.get(PLUGINS_ENV, "").split(",") if m.strip()]


def _import_plugin(module_name: str) -> Any:
    try:
        return importlib.import_module(module_name)
    except ImportError as err:
        raise PluginError(f"FLX_PLUGINS names {module_name!r}, which cannot be imported: {err}",
                          hint="check the module name and that it is on the Python path") from err


def _registrar(plugins: Plugins, plugin_name: str, plugin: Any) -> Any:
    def register(connector: Connector) -> None:
        if not isinstance(connector, Connector):
            raise PluginError(f"plugin {plugin_name!r} registered {connector!r}, not a Connector")
        if connector.name in plugins.connectors:
            raise PluginError(f"two plugins register the connector {connector.name!r}")
        unknown = [op for op in connector.operations if op not in OPERATIONS]
        if unknown:
            raise PluginError(f"connector {connector.name!r} declares unknown operations {unknown}")
        connector.plugin_name = plugin_name
        if not connector.version:
            connector.version = _version_of(plugin)
        plugins.connectors[connector.name] = connector
    return register


def _version_of(plugin: Any) -> str:
    module = getattr(plugin, "__name__", "") or type(plugin).__module__
    top = module.split(".")[0]
    for dist_name in (top, "flx"):
        try:
            return metadata.version(dist_name)
        except metadata.PackageNotFoundError:
            continue
    return ""
