"""Build the plugin manager: specs, built-ins, the `flx` entry-point group, and the connector
registry each plugin fills through `register_connectors`."""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass, field, replace
from importlib import metadata
from typing import Any

import pluggy

from flx import hookspecs
from flx.connector import Connector
from flx.errors import PluginError
from flx.model import Connection
from flx.operations.registry import Operation, Operations
from flx.source import Source

PROJECT = "flx"
AUTOLOAD_ENV = "FLX_DISABLE_PLUGIN_AUTOLOAD"
PLUGINS_ENV = "FLX_PLUGINS"
# Built-in plugins, by name and "module:factory": loaded with any plugin set (autoload or not)
# and not listed by `flx plugins`. Named, not imported here, so that core's upper layers may
# implement hooks without this module depending on them.
DEFAULT_PLUGINS: tuple[tuple[str, str], ...] = (
    ("flx.alerts", "flx.ops.alerts:WebhookNotifier"),  # idle unless [alerts] webhook_url
    ("flx.operations", "flx.operations.builtin"),  # send-orders, -shipments, -vendor-bills
)
BUILTIN_PLUGINS = frozenset(name for name, _ in DEFAULT_PLUGINS)
# Hooks of flx before connectors were objects -> the Connector method that replaced each. A
# plugin still implementing one is refused with that hint rather than silently never called.
RETIRED_HOOKS = {"send_orders": "send", "send_shipments": "send", "send_vendor_bills": "send",
                 "render_payloads": "render", "test_connection": "check"}

hookimpl = hookspecs.hookimpl


@dataclass
class Plugins:
    """The plugin manager plus what the plugins registered."""

    pm: pluggy.PluginManager
    connectors: dict[str, Connector] = field(default_factory=dict)
    operations: Operations = field(default_factory=Operations)
    sources: dict[str, Source] = field(default_factory=dict)

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
        if operation not in self.operations:
            raise PluginError(f"unknown operation {operation!r}",
                              hint=f"use one of: {', '.join(self.operations.names())}")
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
                "sources": [{"name": s.name, "description": s.description}
                            for s in self.sources.values() if s.plugin_name == name],
            })
        return rows


def build_plugins(*extra: Any, autoload: bool | None = None) -> Plugins:
    """A fresh plugin manager. `extra` plugins (modules or objects) are registered first, as
    tests do; entry points load unless FLX_DISABLE_PLUGIN_AUTOLOAD is set."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(hookspecs)
    for plugin in extra:
        pm.register(plugin)
    for name, target in DEFAULT_PLUGINS:  # "module:factory" registers an instance, else the module
        module, _, factory = target.partition(":")
        plugin = importlib.import_module(module)
        pm.register(getattr(plugin, factory)() if factory else plugin, name=name)
    if autoload is None:
        autoload = not os.environ.get(AUTOLOAD_ENV)
    if autoload:
        pm.load_setuptools_entrypoints(PROJECT)
    for module_name in _listed_modules():
        pm.register(_import_plugin(module_name), name=module_name)
    _refuse_retired_hooks(pm)
    pm.check_pending()
    plugins = Plugins(pm)
    # flx's own first: a plugin's clash with them is reported as that plugin's.
    impls = sorted(pm.hook.register_operations.get_hookimpls(),
                   key=lambda impl: pm.get_name(impl.plugin) not in BUILTIN_PLUGINS)
    for impl in impls:
        plugin_name = pm.get_name(impl.plugin) or impl.plugin_name
        impl.function(register=_operation_registrar(plugins, plugin_name))
    plugins.operations.validate()
    for impl in pm.hook.register_connectors.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or impl.plugin_name
        impl.function(register=_registrar(plugins, plugin_name, impl.plugin))
    for impl in pm.hook.register_sources.get_hookimpls():
        plugin_name = pm.get_name(impl.plugin) or impl.plugin_name
        impl.function(register=_source_registrar(plugins, plugin_name, impl.plugin))
    return plugins


def _refuse_retired_hooks(pm: pluggy.PluginManager) -> None:
    for hook, method in RETIRED_HOOKS.items():
        caller = getattr(pm.hook, hook, None)
        for impl in caller.get_hookimpls() if caller is not None else ():
            raise PluginError(
                f"plugin {impl.plugin_name!r} implements the {hook} hook, which flx no longer "
                f"calls: its connector's Connector.{method} method does that now",
                hint="implement Connector.send/render/check on the connector the plugin "
                     "registers (docs/plugins.md), and upgrade the plugin")


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
        unknown = [op for op in connector.operations if op not in plugins.operations]
        if unknown:
            raise PluginError(
                f"connector {connector.name!r} declares unknown operations {unknown}",
                hint=f"registered operations: {', '.join(plugins.operations.names())}; install "
                     "the plugin that registers the others")
        stray = [op for op in connector.rules if op not in connector.operations]
        if stray:
            raise PluginError(f"connector {connector.name!r} has rules for operations it does "
                              f"not declare: {stray}", hint="add them to `operations`")
        connector.plugin_name = plugin_name
        if not connector.version:
            connector.version = _version_of(plugin)
        plugins.connectors[connector.name] = connector
    return register


def _operation_registrar(plugins: Plugins, plugin_name: str) -> Any:
    def register(operation: Operation) -> None:
        if not isinstance(operation, Operation):
            raise PluginError(f"plugin {plugin_name!r} registered {operation!r}, not an "
                              "Operation", hint="call register(Operation(...))")
        if not operation.plugin_name:
            operation = replace(operation, plugin_name=plugin_name)
        plugins.operations.add(operation)
    return register


def _source_registrar(plugins: Plugins, plugin_name: str, plugin: Any) -> Any:
    def register(source: Source) -> None:
        if not isinstance(source, Source):
            raise PluginError(f"plugin {plugin_name!r} registered {source!r}, not a Source",
                              hint="subclass flx.Source and register an instance of it")
        if source.name in plugins.sources:
            raise PluginError(f"two plugins register the source {source.name!r}")
        source.plugin_name = plugin_name
        if not source.version:
            source.version = _version_of(plugin)
        plugins.sources[source.name] = source
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
