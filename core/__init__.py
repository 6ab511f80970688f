"""flx: the runtime that knows no accounting system.

The names below are the public API for plugins and embedding code. They load lazily, so
`import flx` stays cheap (the CLI starts without importing Jinja2, jsonschema or SQLAlchemy)
and no submodule is imported as a side effect of another.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flx import errors
    from flx.config.load import Config, load_config
    from flx.connector import Connector, RegisterConnector
    from flx.errors import (
        AbortError,
        AuthenticationError,
        ConfigError,
        DuplicateError,
        FlxError,
        MappingError,
        NetworkError,
        OutcomeUnknownError,
        PermissionDeniedError,
        PluginError,
        RateLimitError,
        RecordError,
        RecordValidationError,
        RemoteRejectedError,
        RemoteUnavailableError,
        RetryableError,
        TemplateError,
    )
    from flx.model import (
        DONE_STATUSES,
        AuthorizeRequest,
        CheckResult,
        Connection,
        RecordResult,
        Starter,
    )
    from flx.operations.registry import (
        Ineligible,
        Operation,
        Operations,
        OperationWords,
        RegisterOperation,
        RuleContext,
    )
    from flx.plugins import Plugins, build_plugins, hookimpl
    from flx.render.mapping import Profile, load_profile
    from flx.render.renderer import Renderer, dumps
    from flx.run.http import AUTH, READ_ONLY, WRITE_METHODS, DryRunRefused
    from flx.run.report import RunReport, print_run
    from flx.run.runner import render_operation, run_operation
    from flx.run.runtime import Runtime
    from flx.run.state import PluginState
    from flx.source import Page, RegisterSource, Source, SourceDemo, SourceRuntime
    from flx.store.budget import database_budget
    from flx.store.state import StateConflict, StateValue
    from flx.store.store import Store, SyncState

__all__ = [
    "errors", "hookimpl", "build_plugins", "Plugins",
    "DONE_STATUSES", "Operation", "Operations", "OperationWords", "RegisterOperation",
    "RuleContext",
    "Connection", "Connector", "RecordResult", "CheckResult", "RegisterConnector", "Starter",
    "AuthorizeRequest",
    "Runtime", "Renderer", "dumps", "Profile", "load_profile", "Ineligible",
    "run_operation", "render_operation", "RunReport", "print_run", "DryRunRefused",
    "READ_ONLY", "WRITE_METHODS", "database_budget",
    "AUTH", "PluginState", "StateConflict", "StateValue",
    "Store", "SyncState", "Config", "load_config",
    "Source", "Page", "SourceRuntime", "RegisterSource", "SourceDemo",
    "FlxError", "AbortError", "ConfigError", "AuthenticationError", "PermissionDeniedError",
    "PluginError", "RetryableError", "RateLimitError", "RemoteUnavailableError", "NetworkError",
    "OutcomeUnknownError", "RecordError", "RecordValidationError", "MappingError",
    "TemplateError", "RemoteRejectedError", "DuplicateError",
]

# Where each public name lives (module -> names); `errors` is the module itself.
_SOURCES: dict[str, tuple[str, ...]] = {
    "flx.plugins": ("hookimpl", "build_plugins", "Plugins"),
    "flx.model": ("DONE_STATUSES", "Connection", "RecordResult", "CheckResult", "Starter",
                  "AuthorizeRequest"),
    "flx.connector": ("Connector", "RegisterConnector"),
    "flx.run.runtime": ("Runtime",),
    "flx.render.renderer": ("Renderer", "dumps"),
    "flx.render.mapping": ("Profile", "load_profile"),
    "flx.operations.registry": ("Ineligible", "Operation", "Operations", "OperationWords",
                                "RegisterOperation", "RuleContext"),
    "flx.run.runner": ("run_operation", "render_operation"),
    "flx.run.report": ("RunReport", "print_run"),
    "flx.run.http": ("DryRunRefused", "READ_ONLY", "WRITE_METHODS", "AUTH"),
    "flx.run.state": ("PluginState",),
    "flx.store.state": ("StateConflict", "StateValue"),
    "flx.store.budget": ("database_budget",),
    "flx.store.store": ("Store", "SyncState"),
    "flx.config.load": ("Config", "load_config"),
    "flx.source": ("Source", "Page", "SourceRuntime", "RegisterSource", "SourceDemo"),
    "flx.errors": tuple(n for n in __all__ if n.endswith("Error")),
}
_EXPORTS = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("flx.errors")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'flx' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
