"""Usage, said the same way by every command: an unknown connection or operation is a usage
error (exit 2) with the nearest name; help shows human value names (`ID`, `N`, `PATH`, not
`<str>` or `<int range>`); bare `flx` and `flx connections` print their help."""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

import typer
from typer.core import TyperGroup

if TYPE_CHECKING:
    from flx.config.load import Config


class HasConfig(Protocol):
    """What usage checks need of the CLI's state (flx.cli.context.CliState)."""

    def config(self) -> Config: ...


def one_of(what: str, known: Sequence[str], value: str, param_hint: str | None = None) -> str:
    """`value` when it is one of `known`; else a usage error naming the nearest one."""
    if value in known:
        return value
    close = difflib.get_close_matches(value, list(known), n=1)
    tip = f"; did you mean {close[0]!r}?" if close else ""
    raise typer.BadParameter(
        f"{value!r} is not {what}; use one of {', '.join(known) or 'none'}{tip}",
        param_hint=param_hint)


def operation_names(ctx: typer.Context | None) -> tuple[str, ...]:
    """The registered operations' names: the plugins of the running app, else (shell
    completion, before the app's callback ran) those installed."""
    plugins = getattr(ctx.find_root().obj if ctx is not None else None, "plugins", None)
    if plugins is None:
        from flx.plugins import build_plugins

        plugins = build_plugins()
    return tuple(plugins.operations.names())


def check_operation(ctx: typer.Context, value: str | None) -> str | None:
    """Callback of every OPERATION argument: `send-order` gets "did you mean 'send-orders'"."""
    return None if value is None else one_of("an operation", operation_names(ctx), value)


def complete_operation(ctx: typer.Context, incomplete: str) -> list[str]:
    return [op for op in operation_names(ctx) if op.startswith(incomplete)]


def known_connection(state: HasConfig, value: str | None,
                     param_hint: str = "'--connection'") -> str | None:
    """A connection name given on the command line must be in flx.toml: a typo is a usage
    error (exit 2) with the nearest name, whichever command it was given to."""
    if value is None:
        return None
    config = state.config()
    if value in config.connections:
        return value
    known = sorted(config.connections)
    return one_of(f"a connection in {config.path}", known, value, param_hint)


# --- help --------------------------------------------------------------------------------------


# typer may carry its own copy of click: its classes are recognised by name, not imported.


def _names(obj: Any) -> set[str]:
    return {c.__name__ for c in type(obj).__mro__}


def _value_name(param: Any) -> str:
    desc = getattr(param, "type_descriptor", None)  # typer's own parameters
    if desc is not None:
        if desc.is_choice:
            return "|".join(str(getattr(c, "value", c)) for c in desc.choices or ())
        if desc.is_path:
            return "PATH"
        bare = str(desc.ranged_type_name if desc.is_ranged else param.bare_type())
    else:  # a plain click parameter (a plugin's own command)
        bare = type(getattr(param, "type", None)).__name__.lower()
    for word, name in (("int", "N"), ("float", "NUMBER"), ("path", "PATH")):
        if word in bare.lower():
            return name
    return "TEXT"


# Shown under "Examples:" in each core command's help (plugin commands carry their own).
EXAMPLES: dict[str, list[str]] = {
    "plugins": ["flx plugins", "flx plugins --json"],
    "init": ["flx init", "flx init --emulator      # then `flx emulator` in another terminal",
             "flx --config /srv/flx/flx.toml init --force"],
    "import": ["flx import orders.json", "flx import orders.ndjson shipments.ndjson --json"],
    "run": ["flx run send-orders --connection prod --dry-run",
            "flx run send-orders --connection prod",
            "flx run send-shipments -c prod --only SHP-1 --only SHP-2",
            "flx run send-orders -c prod --only ORD-1001 --force"],
    "render": ["flx render send-orders --connection prod --id ORD-1001",
               "flx render send-vendor-bills -c prod --id VB-1 --json"],
    "status": ["flx status", "flx status --connection prod --json"],
    "errors": ["flx errors", "flx errors --class reference --operation send-orders",
               "flx errors --class waiting --limit 200"],
    "retry": ["flx retry ORD-1004", "flx retry --all --class network"],
    "resolve": ['flx resolve ORD-1004 --note "entered by hand in NetSuite"'],
    "runs": ["flx runs", "flx runs --connection prod --operation send-orders --limit 5"],
    "show": ["flx show ORD-1002", "flx show ORD-1002 --json"],
    "schedule": ["flx schedule", "flx schedule --once        # from cron or a systemd timer",
                 "flx schedule --connection prod --log-format json"],
    "list": ["flx connections list", "flx connections list --json"],
    "test": ["flx connections test prod", "flx connections test prod --json"],
}


def add_examples(command: Any, name: str) -> None:
    """Append the command's examples to its help; click keeps a `\b` paragraph as written."""
    lines = EXAMPLES.get(name)
    if lines and "Examples:" not in (command.help or ""):
        command.help = ((command.help or "").rstrip() + "\n\nExamples:\n\n\b\n"
                        + "\n".join(f"  {line}" for line in lines))


def humanise(command: Any) -> Any:
    """Value names people read: an option's metavar from its type, an argument's from its
    name, and no `<type>` after either (typer's plain help prints Python's types)."""
    if getattr(command, "_flx_humanised", False):
        return command
    for param in getattr(command, "params", []):
        if param.param_type_name == "option":
            if param.metavar is None and not param.is_flag and not param.count:
                param.metavar = _value_name(param)
        elif param.param_type_name == "argument":
            name = param.metavar or (param.name or "value").upper()
            param.metavar = name
            many = "" if param.nargs == 1 or name.endswith("...") else "..."
            shown = name if param.required or name.startswith("[") else f"[{name}]"
            # Instance attributes: this command's arguments only, typer's classes untouched.
            param.display_type_rich = lambda ctx: None
            param._usage_display_name = lambda shown=shown + many: shown
    command._flx_humanised = True
    return command


def print_help_for_bare(ctx: Any, exc: Exception) -> bool:
    """`flx` or `flx connections` alone: their help, as with --help (exit 0). True when
    `exc` was that case."""
    if type(exc).__name__ != "NoArgsIsHelpError":
        return False
    sub = getattr(exc, "ctx", None) or ctx
    if sub is None:
        return False
    typer.echo(sub.get_help())
    return True


class HumaneGroup(TyperGroup):
    """A command group whose commands get human value names in their help, and which prints
    its help when given no command."""

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        command = super().get_command(ctx, cmd_name)
        if command is None:
            return None
        if not getattr(command, "_flx_humanised", False) and cmd_name in EXAMPLES:
            add_examples(command, cmd_name)
        return humanise(command)

    def make_context(self, info_name: str | None, args: list[str], parent: Any = None,
                     **extra: Any) -> Any:
        humanise(self)
        return super().make_context(info_name, args, parent=parent, **extra)
