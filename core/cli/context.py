"""What every command shares: the plugins (built once), the config and store (opened on first
use), the redactor, the consoles, and the one place where errors become exit codes.

Plugin commands reach it with `core.cli.context.get_state(ctx)` (ctx: typer.Context)."""

from __future__ import annotations

import json
import logging
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console
from typer.core import TyperGroup

from core.errors import ConfigError, FlxError
from core.redact import Redactor, install_log_redaction

if TYPE_CHECKING:
    import httpx

    from core.config import Config
    from core.model import Connection
    from core.plugins import Plugins
    from core.store import Store

EXIT_OK = 0
EXIT_ERROR = 1  # before or outside records: config, auth, network, plugin
EXIT_USAGE = 2  # click/typer's own usage errors
EXIT_RECORDS_FAILED = 3  # the run finished but some records failed

log = logging.getLogger("flx")

# Usage errors' base class: click's, or the copy recent typer versions carry with them.
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


@dataclass
class CliState:
    """Per-invocation state shared by every command (ctx.obj)."""

    plugins: Plugins
    config_path: Path | None = None
    verbose: bool = False
    transport: httpx.BaseTransport | None = None  # tests and the demo inject one
    json_mode: bool = False
    redactor: Redactor = field(default_factory=Redactor)
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    _config: Config | None = None
    _store: Store | None = None
    _log_handler: logging.Handler | None = None
    _log_level: int = logging.NOTSET
    _closers: list[Callable[[], None]] = field(default_factory=list)

    # Created per invocation: rich looks up sys.stdout/sys.stderr when it writes.
    out: Console = field(default_factory=lambda: Console(markup=False, highlight=False))
    err: Console = field(default_factory=lambda: Console(stderr=True, markup=False,
                                                         highlight=False))

    def config(self) -> Config:
        """The loaded flx.toml, read once per command.

        Unset variables of a connection only stop commands that use that connection
        (`Config.connection` refuses it), so `flx status` or a run on another connection
        does not need every connection's credentials."""
        if self._config is None:
            from core.config import load_config

            self._config = load_config(self.config_path, plugins=self.plugins, env=self.env,
                                       strict_env=False)
            self.redactor.add(*self._config.secrets())
        return self._config

    def connection(self, name: str) -> Connection:
        return self.config().connection(name)

    def store(self) -> Store:
        if self._store is None:
            from core.store import Store

            self._store = Store(self.config().store_url)
            close = getattr(self._store, "close", None)
            if callable(close):
                self._closers.append(close)
        return self._store

    def emit_json(self, data: Any) -> None:
        """Exactly one JSON document on stdout, secrets masked."""
        text = json.dumps(self.redactor.data(_plain(data)), indent=2, default=_json_default,
                          ensure_ascii=False)
        typer.echo(self.redactor.text(text))

    def echo(self, text: str = "", *, err: bool = False) -> None:
        typer.echo(self.redactor.text(text), err=err)

    def setup_logging(self) -> None:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(levelname)s %(name)s: %(message)s"))
        log.addHandler(handler)
        self._log_level = log.level
        log.setLevel(logging.DEBUG if self.verbose else logging.INFO)
        self._log_handler = handler
        handler.setLevel(logging.DEBUG if self.verbose else logging.WARNING)
        install_log_redaction(self.redactor, log)

    def close(self) -> None:
        for closer in reversed(self._closers):
            try:
                closer()
            except Exception:  # closing must never hide the command's own outcome
                log.debug("error while closing", exc_info=True)
        self._closers.clear()
        if self._log_handler is not None:
            log.removeHandler(self._log_handler)
            log.setLevel(self._log_level)
            self._log_handler = None


def _plain(data: Any) -> Any:
    to_dict = getattr(data, "to_dict", None)
    return to_dict() if callable(to_dict) else data


def get_state(ctx: typer.Context) -> CliState:
    state = ctx.find_object(CliState)
    if state is None:
        raise RuntimeError("this command must run under the `flx` app (core.cli.main.build_app)")
    return state


def pick_connection(state: CliState, name: str | None, operation: str | None = None) -> str:
    """The named connection, or the only one that could be meant when none is named."""
    if name:
        return name
    config = state.config()
    names = sorted(config.connections)
    if operation:
        names = [n for n in names if config.connections[n].operations.get(operation, {})
                 .get("enabled", False)]
    if len(names) == 1:
        return names[0]
    what = f"with {operation} enabled " if operation else ""
    raise ConfigError(
        f"say which connection to use: {len(names)} connections {what}are configured",
        problems=[f"connections {what}: {', '.join(names) or 'none'}"],
        hint="pass --connection NAME" if names else
        f"add a [connections.NAME] table to {config.path} (see `flx init`)")


def report_error(state: CliState | None, exc: BaseException) -> None:
    """Print an error the way users read it: `error: ...`, the problems, the fix."""
    redactor = state.redactor if state else Redactor()
    verbose = state.verbose if state else False
    if isinstance(exc, FlxError):
        text = f"error: {exc}"
    else:  # a bug, not the user's doing: say so, and how to see more
        text = f"error: unexpected {type(exc).__name__}: {exc}"
        if not verbose:
            text += "\n  (run again with --verbose to see the traceback)"
    if verbose:
        tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        typer.echo(redactor.text(tb), err=True)
    typer.echo(redactor.text(text), err=True)
    if state is not None and state.json_mode:
        data = exc.to_dict() if isinstance(exc, FlxError) else {
            "class": "internal", "message": f"{type(exc).__name__}: {exc}"}
        state.emit_json({"error": data})


class FlxGroup(TyperGroup):
    """The root command group: turns every error raised below it into a message and an exit
    code, so each command (plugin commands included) gets the same treatment."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's click Context (vendored since typer 0.2x)
        try:
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise  # typer's own: exit codes, usage errors (2)
        except Exception as exc:  # FlxError, or a bug: a message and exit 1, not a traceback
            report_error(ctx.find_object(CliState), exc)
            raise typer.Exit(EXIT_ERROR) from None


def _json_default(value: Any) -> Any:
    # Amounts are Decimal: show them as numbers (a 2-4 decimal amount round-trips exactly).
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
