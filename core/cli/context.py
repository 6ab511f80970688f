"""What every command shares: the plugins (built once), the config and store (opened on first
use), the redactor, the consoles, and the one place where errors become exit codes.

Plugin commands reach it with `flx.cli.context.get_state(ctx)` (ctx: typer.Context)."""

from __future__ import annotations

import json
import logging
import os
import sys
import textwrap
import traceback
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.console import Console

from flx.cli.usage import HumaneGroup, known_connection, print_help_for_bare
from flx.config.redact import Redactor, install_log_redaction
from flx.errors import ConfigError, FlxError

if TYPE_CHECKING:
    import httpx

    from flx.config.load import Config
    from flx.model import Connection
    from flx.plugins import Plugins
    from flx.store.store import Store

EXIT_OK = 0
EXIT_ERROR = 1  # before or outside records: config, auth, network, plugin
EXIT_USAGE = 2  # click/typer's own usage errors
EXIT_RECORDS_FAILED = 3  # the run finished but some records failed

log = logging.getLogger("flx")

# Usage errors' base class: click's, or the copy recent typer versions carry with them.
_CLICK_EXCEPTION: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")
_USAGE_ERROR: type[Exception] = next(
    c for c in typer.BadParameter.__mro__ if c.__name__ == "UsageError")


# --- a reader that went away (`flx status | head -1`) ------------------------------------------


def discard_output(stream: Any) -> None:
    """Point `stream`'s file descriptor at /dev/null: once the reader of a pipe is gone, the
    rest of the output (and the interpreter's final flush) goes nowhere instead of failing."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError):  # no descriptor (a test's StringIO)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def _stdout_gone() -> bool:
    """True when stdout is a pipe whose reader has closed it (poll reports an error on it)."""
    import select

    if not hasattr(select, "poll"):
        return True  # no poll() (Windows): a broken pipe is then almost surely stdout's
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):
        return False  # not a real file: the broken pipe was something else
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


class QuietConsole(Console):
    """A rich Console that, when its pipe is closed, goes quiet instead of exiting 1 (rich's
    default, which also redirects stdout even for a stderr console)."""

    def on_broken_pipe(self) -> None:
        self.quiet = True
        discard_output(self.file)


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
    out: Console = field(default_factory=lambda: QuietConsole(markup=False, highlight=False))
    err: Console = field(default_factory=lambda: QuietConsole(stderr=True, markup=False,
                                                              highlight=False))
    stdout_closed: bool = False  # the reader went away; the command still finishes its work

    def config(self) -> Config:
        """The loaded flx.toml, read once per command.

        Unset variables of a connection only stop commands that use that connection
        (`Config.connection` refuses it), so `flx status` or a run on another connection
        does not need every connection's credentials."""
        if self._config is None:
            from flx.config.load import load_config

            self._config = load_config(self.config_path, plugins=self.plugins, env=self.env,
                                       strict_env=False)
            self.redactor.add(*self._config.secrets())
        return self._config

    def connection(self, name: str) -> Connection:
        return self.config().connection(name)

    def store(self) -> Store:
        if self._store is None:
            from flx.store.store import Store

            self._store = Store(self.config().store_url)
            close = getattr(self._store, "close", None)
            if callable(close):
                self._closers.append(close)
        return self._store

    def emit_json(self, data: Any) -> None:
        """Exactly one JSON document on stdout, secrets masked."""
        text = json.dumps(self.redactor.data(_plain(data)), indent=2, default=_json_default,
                          ensure_ascii=False)
        self._write(self.redactor.text(text), err=False)

    def wrapped(self, text: str, indent: str = "  ", subsequent: str | None = None) -> str:
        """`text` wrapped to the terminal (at least 40 columns) under an indent, the next lines
        under `subsequent` (default: the same indent); a long word (a URL) is never cut, and
        lines carry no padding at their ends (unlike a rich Padding)."""
        return textwrap.fill(text, width=max(40, self.out.width), initial_indent=indent,
                             subsequent_indent=indent if subsequent is None else subsequent,
                             break_long_words=False, break_on_hyphens=False)

    def echo(self, text: str = "", *, err: bool = False) -> None:
        self._write(self.redactor.text(text), err=err)

    def _write(self, text: str, *, err: bool) -> None:
        # A closed pipe is the reader's choice (`| head -1`), not a failure of the command:
        # the rest of the output is dropped and the command ends with its own exit code.
        if self.stdout_closed and not err:
            return
        try:
            typer.echo(text, err=err)
        except BrokenPipeError:
            if not err:
                self.stdout_closed = True
            discard_output(sys.stderr if err else sys.stdout)

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
        raise RuntimeError("this command must run under the `flx` app (flx.cli.main.build_app)")
    return state


def pick_connection(state: CliState, name: str | None, operation: str | None = None) -> str:
    """The named connection (a name not in flx.toml is a usage error with the nearest one),
    or the only one that could be meant when none is named."""
    if name:
        return str(known_connection(state, name))
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
    try:
        if verbose:
            tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
            typer.echo(redactor.text(tb), err=True)
        typer.echo(redactor.text(text), err=True)
    except BrokenPipeError:  # nobody reads stderr either: nothing more to tell
        discard_output(sys.stderr)
    if state is not None and state.json_mode:
        data = exc.to_dict() if isinstance(exc, FlxError) else {
            "class": "internal", "message": f"{type(exc).__name__}: {exc}"}
        state.emit_json({"error": data})


class FlxGroup(HumaneGroup):
    """The root command group: turns every error raised below it into a message and an exit
    code, so each command (plugin commands included) gets the same treatment."""

    def invoke(self, ctx: Any) -> Any:  # Any: typer's click Context (vendored since typer 0.2x)
        wants_json = _asks_for_json(ctx.args)  # the words after the command name, unparsed
        try:
            return super().invoke(ctx)
        except _USAGE_ERROR as exc:
            if print_help_for_bare(ctx, exc):  # `flx connections` alone: its help
                raise typer.Exit(EXIT_OK) from None
            # Said like every other error (`error: ...` and the fix) and exit 2; --json
            # callers also get the promised one JSON document on stdout.
            _report_usage(exc)
            if wants_json:
                _usage_json(ctx.find_object(CliState), exc)
            raise typer.Exit(EXIT_USAGE) from None
        except (typer.Exit, typer.Abort, _CLICK_EXCEPTION):
            raise  # typer's own: exit codes
        except BrokenPipeError as exc:
            if not _stdout_gone():
                report_error(ctx.find_object(CliState), exc)
                raise typer.Exit(EXIT_ERROR) from None
            discard_output(sys.stdout)  # the reader left (`| head`): nothing to report
            raise typer.Exit(EXIT_OK) from None
        except Exception as exc:  # FlxError, or a bug: a message and exit 1, not a traceback
            report_error(ctx.find_object(CliState), exc)
            raise typer.Exit(EXIT_ERROR) from None


    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        try:  # the root's own options (`flx --bogus`) are parsed here, before invoke
            return super().make_context(info_name, args, parent=parent, **extra)
        except _USAGE_ERROR as exc:
            if print_help_for_bare(None, exc):  # bare `flx`: its help
                raise typer.Exit(EXIT_OK) from None
            _report_usage(exc)
            raise typer.Exit(EXIT_USAGE) from None


def _usage_message(exc: Exception) -> tuple[str, str]:
    """Click's usage message in flx's words, and where to read the usage."""
    format_message = getattr(exc, "format_message", None)
    message = format_message() if callable(format_message) else str(exc)
    message = " ".join(message.replace("Value error, ", "").split())  # typer words it so
    sub = getattr(exc, "ctx", None)
    where = getattr(sub, "command_path", None) or "flx"
    return (message[:1].lower() + message[1:]), where


def _report_usage(exc: Exception) -> None:
    message, where = _usage_message(exc)
    try:
        typer.echo(f"error: {message}\n  fix: see `{where} --help`", err=True)
    except BrokenPipeError:
        discard_output(sys.stderr)


def _asks_for_json(args: Sequence[str]) -> bool:
    words = list(args)
    return "--json" in (words[: words.index("--")] if "--" in words else words)


def _usage_json(state: CliState | None, exc: Exception) -> None:
    message, where = _usage_message(exc)
    error: dict[str, Any] = {"error": {
        "class": "usage", "message": message, "hint": f"see `{where} --help`", "problems": []}}
    if state is not None:
        state.emit_json(error)
    else:
        typer.echo(json.dumps(error, indent=2))


def _json_default(value: Any) -> Any:
    # Amounts are Decimal: show them as numbers (a 2-4 decimal amount round-trips exactly).
    if isinstance(value, Decimal):
        return float(value)
    return str(value)
