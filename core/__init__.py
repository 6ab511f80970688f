"""flx core: the runtime that knows no accounting system.

The names below are the public API for plugins and embedding code. They load lazily, so
`import core` stays cheap (the CLI starts without importing Jinja2, jsonschema or SQLAlchemy)
and no submodule is imported as a side effect of another.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core import errors
    from core.config import Config, load_config
    from core.eligibility import Ineligible
    from core.errors import (
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
    from core.http import DryRunRefused
    from core.mapping import Profile, load_profile
    from core.model import (
        DONE_STATUSES,
        OPERATIONS,
        RECORD_KINDS,
        CheckResult,
        Connection,
        Connector,
        RecordResult,
    )
    from core.plugins import Plugins, build_plugins, hookimpl
    from core.render import Renderer, dumps
    from core.report import RunReport, print_run
    from core.runner import render_operation, run_operation
    from core.runtime import Runtime
    from core.store import Store, SyncState

__all__ = [
    "errors", "hookimpl", "build_plugins", "Plugins",
    "OPERATIONS", "RECORD_KINDS", "DONE_STATUSES",
    "Connection", "Connector", "RecordResult", "CheckResult",
    "Runtime", "Renderer", "dumps", "Profile", "load_profile", "Ineligible",
    "run_operation", "render_operation", "RunReport", "print_run", "DryRunRefused",
    "Store", "SyncState", "Config", "load_config",
    "FlxError", "AbortError", "ConfigError", "AuthenticationError", "PermissionDeniedError",
    "PluginError", "RetryableError", "RateLimitError", "RemoteUnavailableError", "NetworkError",
    "OutcomeUnknownError", "RecordError", "RecordValidationError", "MappingError",
    "TemplateError", "RemoteRejectedError", "DuplicateError",
]

# Where each public name lives (module -> names); `errors` is the module itself.
_SOURCES: dict[str, tuple[str, ...]] = {
    "core.plugins": ("hookimpl", "build_plugins", "Plugins"),
    "core.model": ("OPERATIONS", "RECORD_KINDS", "DONE_STATUSES", "Connection", "Connector",
                   "RecordResult", "CheckResult"),
    "core.runtime": ("Runtime",),
    "core.render": ("Renderer", "dumps"),
    "core.mapping": ("Profile", "load_profile"),
    "core.eligibility": ("Ineligible",),
    "core.runner": ("run_operation", "render_operation"),
    "core.report": ("RunReport", "print_run"),
    "core.http": ("DryRunRefused",),
    "core.store": ("Store", "SyncState"),
    "core.config": ("Config", "load_config"),
    "core.errors": tuple(n for n in __all__ if n.endswith("Error")),
}
_EXPORTS = {name: module for module, names in _SOURCES.items() for name in names}


def __getattr__(name: str) -> Any:
    if name == "errors":
        return importlib.import_module("core.errors")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'core' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
