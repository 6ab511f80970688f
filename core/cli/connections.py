"""`flx connections list | test NAME | authorize NAME`."""

from __future__ import annotations

import re
from typing import Annotated, Any

import typer
from rich.text import Text

from flx.cli.context import EXIT_ERROR, CliState, get_state
from flx.cli.usage import HumaneGroup, known_connection
from flx.model import CheckResult

_VARIABLE = re.compile(r"variables? ([A-Za-z0-9_, ]+) (?:is|are) not set")
JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]


def describe_connections(state: CliState) -> list[dict[str, Any]]:
    """Each connection with its settings (secrets masked) and operations."""
    config = state.config()
    rows = []
    for name, conn in sorted(config.connections.items()):
        enabled = [op for op, s in conn.operations.items() if s.get("enabled") is not False]
        rows.append({
            "name": name,
            "plugin": conn.plugin,
            "settings": state.redactor.data(conn.redacted()),
            "operations": conn.operations,
            "enabled_operations": enabled,
            "missing_env": config.missing_env.get(name, []),
        })
    return rows


def list_command(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List connections, settings (secrets masked), operations.

    One block per connection: its name and plugin, the variables that are not set, its
    operations, then every setting in effect on a line of its own, wrapped to the terminal."""
    state = get_state(ctx)
    state.json_mode = as_json
    rows = describe_connections(state)
    if as_json:
        state.emit_json({"connections": rows})
        return
    if not rows:
        state.echo(f"no connections in {state.config().path} "
                   "(add a [connections.NAME] table; `flx init` writes an example)")
        return
    for index, row in enumerate(rows):
        if index:
            state.echo()
        _print_connection(state, row)


def _print_connection(state: CliState, row: dict[str, Any]) -> None:
    """One connection as a block that reads at 80 columns: nothing is cut (a table column
    would cut `http://127.0.0…` and `send-vendor-bi…`, the values one is looking for)."""
    name = row["name"]
    unset = _unset_variables(name, row["missing_env"])
    variables = list(dict.fromkeys(v for names in unset.values() for v in names))
    _echo_wrapped(state, f"{name}  (plugin {row['plugin']})", indent="")
    if variables:
        they = "it is" if len(variables) == 1 else "they are"
        _echo_wrapped(state, f"not set: {', '.join(variables)}; commands that use {name} "
                      f"refuse to run until {they} exported (other connections still run)")
    else:
        for line in row["missing_env"]:  # a form flx does not parse: say it as it is
            _echo_wrapped(state, f"not set: {line}")
    enabled = row["enabled_operations"]
    disabled = [op for op in row["operations"] if op not in enabled]
    operations = "operations: " + (", ".join(enabled) or "none enabled")
    if disabled:
        operations += f" (disabled: {', '.join(disabled)})"
    _echo_wrapped(state, operations)
    for key, value in row["settings"].items():
        if value is None:
            value = f"(not set: {', '.join(unset[key])})" if unset.get(key) else "(not set)"
        _echo_wrapped(state, f"{key} = {value}")


def _unset_variables(name: str, missing: list[str]) -> dict[str, list[str]]:
    """Setting key -> the variables it refers to that are not set, from the config's
    "connections.NAME.KEY: environment variable X is not set" lines."""
    unset: dict[str, list[str]] = {}
    for line in missing:
        where = line.partition(": ")[0].removeprefix(f"connections.{name}.")
        for found in _VARIABLE.findall(line):
            unset.setdefault(where, []).extend(v.strip() for v in found.split(",") if v.strip())
    return unset


# --- output that reads at 80 columns and on any terminal encoding ------------------------------

# What a terminal that cannot show a character gets instead (then '?' for anything else).
_ASCII = str.maketrans({"✓": "ok", "✗": "FAIL", "—": "-", "–": "-", "…": "...", "→": "->",
                        "‘": "'", "’": "'", "“": '"', "”": '"', "•": "-"})


def _encoding(state: CliState) -> str:
    return getattr(state.out, "encoding", None) or "utf-8"


def _can_print(state: CliState, text: str) -> bool:
    """Whether stdout's encoding carries `text` (not with PYTHONIOENCODING=ascii, or a C
    locale on an old Python)."""
    try:
        text.encode(_encoding(state))
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _printable(state: CliState, text: str) -> str:
    """`text` as stdout can carry it: as is, or in ASCII stand-ins and '?' (never a crash)."""
    if _can_print(state, text):
        return text
    text = text.translate(_ASCII)
    try:
        return text.encode(_encoding(state), "replace").decode(_encoding(state))
    except LookupError:
        return text.encode("ascii", "replace").decode("ascii")


def _echo_wrapped(state: CliState, text: str, indent: str = "  ") -> None:
    """One line of a block, wrapped; its next lines two spaces further in, so that a wrapped
    value does not read as a line of its own."""
    wrapped = state.wrapped(state.redactor.text(text), indent, indent + "  ")
    state.echo(_printable(state, wrapped))


def run_checks(state: CliState, name: str, deep: bool = False) -> list[CheckResult]:
    """Call the connection's connector's `check`; read-only by contract, and held to it
    by the dry-run guard (a write is refused before it leaves the machine). `deep` asks the
    connector to probe how the account behaves too, with the mapping profile of the
    connection's first operation."""
    from flx.run.runtime import Runtime

    connection = state.connection(name)
    connector = state.plugins.connector(connection.plugin)
    runtime = Runtime(store=state.store(), connection=connection, connector=connector,
                      transport=state.transport, dry_run=True,
                      profile=_first_profile(state, connection, connector) if deep else {})
    try:
        # `deep` only when asked for: a connector's check may leave the parameter out
        results = connector.check(runtime, deep=True) if deep else connector.check(runtime)
    finally:
        runtime.close()  # its HTTP clients: a command must not leave sockets behind
    return list(results)


def _first_profile(state: CliState, connection: Any, connector: Any) -> dict[str, Any]:
    from flx.render.mapping import load_profile

    for settings in connection.operations.values():
        if settings.get("enabled") is not False:
            return dict(load_profile(connector, settings.get("mapping"),
                                     base_dir=getattr(state.config(), "base_dir", None)).data)
    return {}


def profile_checks(state: CliState, name: str) -> list[CheckResult]:
    """Per enabled operation: its mapping profile loads (keys, templates), and covers the
    records waiting to be sent (the connector says what they use: core/run/profile_check.py).
    Read from flx.toml, the profile and the store only."""
    from flx.run.profile_check import check_profile

    config = state.config()
    results = []
    for op, settings in config.connection(name).operations.items():
        if settings.get("enabled", True) is False:
            continue
        check = check_profile(config, state.plugins, name, op, state.store())
        results.append(CheckResult(
            f"{op} mapping profile", not check.problems,
            "; ".join(check.problems) if check.problems else check.profile, check.hint))
        if check.warnings:
            results.append(CheckResult(
                f"{op}: the profile covers the records waiting to be sent", False,
                f"{len(check.warnings)} missing: " + "; ".join(check.warnings),
                "add each entry to the profile's tables (as each says), then test again"))
    return results


def test_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The connection, as in [connections.NAME].")],
    as_json: JsonOption = False,
    deep: Annotated[bool, typer.Option(
        "--deep", help="Also probe how the account behaves (the connector's own read-only "
                       "checks), each finding with the profile setting that fits it.")] = False,
) -> None:
    """Check credentials, permissions, reachability and the mapping profiles.

    Only read-only calls are made. Each enabled operation's mapping profile is loaded (unknown
    keys, template syntax) and checked against the records waiting to be sent (a warehouse,
    vendor, channel or ship method its tables lack). Exit code 1 when any check fails."""
    state = get_state(ctx)
    state.json_mode = as_json
    known_connection(state, name, "'NAME'")
    results = run_checks(state, name, deep) + profile_checks(state, name)
    failed = [r for r in results if not r.ok]
    if as_json:
        state.emit_json({"connection": name, "ok": not failed,
                         "checks": [vars(r) for r in results]})
    else:
        _print_checks(state, name, results, failed)
    if failed:
        raise typer.Exit(EXIT_ERROR)


def _print_checks(state: CliState, name: str, results: list[CheckResult],
                  failed: list[CheckResult]) -> None:
    """The checklist: a mark per check, its detail and fix wrapped under the check's name
    (not back at column 0); `ok` and `FAIL` instead of ✓ and ✗ when stdout cannot carry them
    (PYTHONIOENCODING=ascii)."""
    good, bad = ("✓", "✗") if _can_print(state, "✓✗") else ("ok", "FAIL")
    width = max(len(good), len(bad))
    state.out.print(Text(f"connection {name}", style="bold"))
    for r in results:
        mark = good if r.ok else bad
        lead = f"  {mark.ljust(width)} "
        under = " " * len(lead)
        text = state.redactor.text(r.name)
        if r.detail:
            text += f"  {state.redactor.text(r.detail)}"
        wrapped = _printable(state, state.wrapped(text, lead, under))
        state.out.print(Text("  ") + Text(mark, style="green" if r.ok else "red")
                        + Text(wrapped[2 + len(mark):]), soft_wrap=True)
        if r.fix and not r.ok:
            fix = state.wrapped(f"fix: {state.redactor.text(r.fix)}", under, under + "     ")
            state.out.print(Text(_printable(state, fix)), soft_wrap=True)
    summary = (f"{len(failed)} of {len(results)} checks failed" if failed
               else f"all {len(results)} checks passed")
    state.out.print(Text(summary, style="red" if failed else "green"))


def authorize_command(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="The connection, as in [connections.NAME].")],
    refresh_token: Annotated[str | None, typer.Option(
        help="Import a refresh token made elsewhere (an OAuth playground) instead.")] = None,
    redirect_url: Annotated[str | None, typer.Option(
        help="The address the browser ended on, when the redirect cannot reach flx.")] = None,
    port: Annotated[int, typer.Option(help="Loopback port of the redirect flow.")] = 8765,
    browser: Annotated[bool, typer.Option(help="Open the browser on the authorization "
                                                 "page.")] = True,
) -> None:
    """Connect NAME to its account (OAuth), for connectors that need it.

    What it yields (tokens) is kept in the connection's plugin state in the store, never in
    flx.toml. Examples:

    \b
      flx connections authorize qbo
      flx connections authorize qbo --refresh-token "$TOKEN"
      flx connections authorize qbo --redirect-url 'https://example.com/cb?code=...'"""
    from flx.model import AuthorizeRequest
    from flx.run.runtime import Runtime

    state = get_state(ctx)
    known_connection(state, name, "'NAME'")
    connection = state.connection(name)
    connector = state.plugins.connector(connection.plugin)
    runtime = Runtime(store=state.store(), connection=connection, connector=connector,
                      transport=state.transport, redactor=state.redactor)
    request = AuthorizeRequest(refresh_token=refresh_token, redirect_url=redirect_url,
                               port=port, open_browser=browser, echo=state.echo,
                               prompt=lambda what: str(typer.prompt(what)))
    try:
        done = connector.authorize(runtime, request)
    finally:
        runtime.close()
    state.echo(state.redactor.text(done))


def register(app: typer.Typer) -> None:
    group = typer.Typer(help="List and test connections.", no_args_is_help=True,
                        cls=HumaneGroup)
    group.command("list")(list_command)
    group.command("test")(test_command)
    group.command("authorize")(authorize_command)
    app.add_typer(group, name="connections")
