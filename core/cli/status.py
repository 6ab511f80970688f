"""`flx status | errors | retry | resolve | runs`: what happened, and putting failures right.

The work is done by `flx.ops.status` (typed functions over the store); these bodies only parse
options and print:

    status_summary(config, store) -> dict
        {"records": {kind: n}, "sync": [{"connection", "operation", "counts": {status: n}}]}
    list_errors(config, store, *, error_class=None, operation=None, connection=None)
        -> list[dict]   # connection, operation, record_id, status, class, message, hint,
                        # attempts, last_attempt_at, next_retry_at
    retry(config, store, record_ids: list[str] | None, *, error_class=None, operation=None,
          connection=None) -> int        # records re-queued; record_ids None = every failure
    resolve(config, store, record_id, note, *, operation=None, connection=None) -> int
    list_runs(config, store, *, connection=None, operation=None, limit=20) -> list[dict]
        # status ok, failed, aborted, error, running, or interrupted (INTERRUPTED_HINT)
"""

from __future__ import annotations

import datetime as dt
import difflib
import importlib
from collections.abc import Sequence
from types import ModuleType
from typing import Annotated, Any

import typer
from rich import box
from rich.table import Table

from flx.cli.context import CliState, get_state
from flx.errors import FlxError
from flx.run.report import remote_ids_text


def _one_of(what: str, known: Sequence[str], value: str | None) -> str | None:
    """A filter value that matches nothing is a typo: usage error (exit 2), not an empty list."""
    if value is None or value in known:
        return value
    close = difflib.get_close_matches(value, list(known), n=1)
    tip = f"; did you mean {close[0]!r}?" if close else ""
    raise typer.BadParameter(f"{value!r} is not {what}; use one of {', '.join(known)}{tip}")


def _check_class(value: str | None) -> str | None:
    return value if value is None else _one_of("an error class", _api().KNOWN_CLASSES, value)


def _check_operation(ctx: typer.Context, value: str | None) -> str | None:
    from flx.cli.usage import operation_names

    return value if value is None else _one_of("an operation", operation_names(ctx), value)


JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
ClassOption = Annotated[str | None, typer.Option(
    "--class", metavar="CLASS", callback=_check_class,
    help="Only errors of this class (data, reference, template, rejected, network, ...).")]
OperationOption = Annotated[str | None, typer.Option(
    "--operation", metavar="OP", callback=_check_operation,
    help="Only this operation (send-orders, send-shipments, send-vendor-bills, or one a plugin "
         "adds).")]
ConnectionOption = Annotated[str | None, typer.Option(
    "--connection", "-c", metavar="NAME", help="Only this connection.")]


def _known_connection(state: CliState, value: str | None) -> None:
    """A --connection that names no connection is a typo: usage error (exit 2) with the
    nearest name, like --class and --operation."""
    if value is None:
        return
    known = set(state.config().connections)
    known |= {row["connection"] for row in state.store().sync_summary()}
    try:
        _one_of("a connection", sorted(known), value)
    except typer.BadParameter as exc:
        exc.param_hint = "'--connection'"
        raise


def _api() -> ModuleType:
    try:
        return importlib.import_module("flx.ops.status")
    except ModuleNotFoundError as exc:
        raise FlxError("this flx installation has no status module (flx.ops.status)",
                       hint="reinstall flx") from exc


def status_command(ctx: typer.Context, as_json: JsonOption = False,
                   connection: ConnectionOption = None) -> None:
    """Record counts and sync states per connection.

    For each connection and operation: the last run, and how many records are done, failing,
    waiting, queued, in flight and not picked up by any run yet."""
    state = get_state(ctx)
    state.json_mode = as_json
    _known_connection(state, connection)
    summary = _api().status_summary(state.config(), state.store(), connection=connection)
    if as_json:
        state.emit_json(summary)
        return
    api = _api()
    operations = state.plugins.operations
    state.echo("records: " + api.records_text(summary.get("records") or {}, operations))
    for line in api.status_lines(summary, operations=operations):
        state.echo(line)


def errors_command(ctx: typer.Context, as_json: JsonOption = False,
                   error_class: ClassOption = None, operation: OperationOption = None,
                   connection: ConnectionOption = None,
                   limit: Annotated[int | None, typer.Option(
                       "--limit", min=1, metavar="N",
                       help="Show at most N records (default 50; with --json: all).")] = None,
                   ) -> None:
    """Failed records with what to fix, then waiting records grouped by reason.

    Waiting records are listed one by one with --class waiting."""
    state = get_state(ctx)
    state.json_mode = as_json
    _known_connection(state, connection)
    rows = _api().list_errors(state.config(), state.store(),
                              error_class=error_class, operation=operation,
                              connection=connection)
    if as_json:
        state.emit_json({"errors": rows[:limit] if limit else rows})
        return
    if not rows:
        state.echo("no errors")
        return
    # Thousands of waiting records (orders not routed yet) would bury the failures: unless
    # asked for, they are counted per reason, as `flx status` does.
    waiting = [r for r in rows if r.get("class") == "waiting"] if error_class is None else []
    listed = [r for r in rows if r not in waiting] if waiting else rows
    shown = listed[: limit or DEFAULT_ERRORS_SHOWN]
    for row in shown:
        _print_error(state, row)
    if len(listed) > len(shown):
        state.echo(f"... and {len(listed) - len(shown)} more (--limit N shows more; --json "
                   "lists all)")
        state.echo()
    if waiting:
        groups: dict[tuple[str, str, str], int] = {}
        for row in waiting:
            reason = _api().reason_group(str(row.get("message") or ""), str(row["record_id"]))
            key = (str(row.get("connection")), str(row.get("operation")), reason)
            groups[key] = groups.get(key, 0) + 1
        _indented(state, f"{len(waiting)} waiting (they go out by themselves once what they "
                  "wait for is there; `flx errors --class waiting` lists them):", indent="")
        for (conn, op, reason), count in sorted(groups.items(), key=lambda g: -g[1]):
            _indented(state, f"{count} {conn} {op}: {reason}")


DEFAULT_ERRORS_SHOWN = 50


def _print_error(state: CliState, row: dict[str, Any]) -> None:
    """One record as a block that reads at any width: a head line, then the message and the
    fix wrapped under it (a table squeezes both into unreadable slivers at 80 columns)."""
    head = [f"{row.get('connection')} {row.get('operation')}", str(row.get("class"))]
    if row.get("attempts"):
        head.append(f"{row['attempts']} attempt" + ("s" if row["attempts"] != 1 else ""))
    if row.get("last_attempt_at"):
        head.append("last " + str(row["last_attempt_at"]).replace("T", " ").replace("Z", " UTC"))
    _indented(state, f"{row.get('record_id')}  ({', '.join(head)})", indent="")
    lines = [str(row.get("message") or "")]
    if row.get("class") != "resolved":  # a resolved record needs no fix; its note is the message
        lines.append(f"fix: {row.get('hint')}" if row.get("hint") else "")
    for line in filter(None, lines):
        _indented(state, line)
    state.echo()


def retry_command(
    ctx: typer.Context,
    record_ids: Annotated[list[str] | None, typer.Argument(
        metavar="[ID]...", help="Records to send again at the next run.", show_default=False)
    ] = None,
    all_failed: Annotated[bool, typer.Option("--all", help="Every failed record.")] = False,
    error_class: ClassOption = None, operation: OperationOption = None,
    connection: ConnectionOption = None, as_json: JsonOption = False,
) -> None:
    """Queue failed records for the next run.

    Give record IDs, or --all (optionally narrowed by --class, --operation, --connection)."""
    state = get_state(ctx)
    state.json_mode = as_json
    _known_connection(state, connection)
    if bool(record_ids) == all_failed:
        raise typer.BadParameter("give record IDs or --all (not both, not neither)")
    count = _api().retry(state.config(), state.store(),
                         None if all_failed else list(record_ids or []),
                         error_class=error_class, operation=operation, connection=connection)
    if as_json:
        state.emit_json({"requeued": count})
    else:
        state.echo(f"{count} record(s) queued; they go out at the next `flx run`")


def resolve_command(
    ctx: typer.Context,
    record_id: Annotated[str, typer.Argument(metavar="ID", help="The record.")],
    note: Annotated[str, typer.Option("--note", help="Why (kept with the record).")],
    operation: OperationOption = None, connection: ConnectionOption = None,
    as_json: JsonOption = False,
) -> None:
    """Mark a record resolved by hand (never sent again)."""
    state = get_state(ctx)
    state.json_mode = as_json
    _known_connection(state, connection)
    if not note.strip():
        raise typer.BadParameter("say why the record is resolved, for example --note 'entered "
                                 "by hand in NetSuite as SO812'", param_hint="'--note'")
    count = _api().resolve(state.config(), state.store(), record_id, note,
                           operation=operation, connection=connection)
    if as_json:
        state.emit_json({"resolved": count, "record_id": record_id})
    else:
        state.echo(f"{record_id}: marked resolved ({count} sync state(s)); it will not be sent")


def runs_command(ctx: typer.Context, as_json: JsonOption = False,
                 connection: ConnectionOption = None, operation: OperationOption = None,
                 limit: Annotated[int, typer.Option("--limit", min=1, metavar="N",
                                                    help="How many runs.")] = 20) -> None:
    """Recent runs, newest first."""
    state = get_state(ctx)
    state.json_mode = as_json
    _known_connection(state, connection)
    rows = _api().list_runs(state.config(), state.store(),
                            connection=connection, operation=operation, limit=limit)
    if as_json:
        state.emit_json({"runs": rows})
    elif not rows:
        state.echo("no runs yet")
    else:
        _runs_table(state, rows)
    if not as_json and any(r.get("status") == "interrupted" for r in rows):
        state.echo(_api().INTERRUPTED_HINT)
    aborted = [r for r in rows if r.get("error")]
    if not as_json and aborted:  # the newest abort's reason, in full
        state.echo(f"run {aborted[0]['id']} stopped:")
        for line in str(aborted[0]["error"].get("message")).splitlines():
            _indented(state, line.strip())


def show_command(
    ctx: typer.Context,
    record_id: Annotated[str, typer.Argument(metavar="ID", help="The record's id.")],
    connection: ConnectionOption = None, as_json: JsonOption = False,
    writes: Annotated[int, typer.Option("--writes", min=0, metavar="N",
                                        help="How many of its remote writes to list.")] = 20,
) -> None:
    """Everything flx knows about one record: where it stands, its ids in the accounting
    system, what failed and how to fix it, and the writes made for it."""
    state = get_state(ctx)
    state.json_mode = as_json
    _known_connection(state, connection)
    from flx.ops.show import show_record

    view = show_record(state.config(), state.store(), record_id, connection=connection,
                       audit_limit=writes)
    if as_json:
        state.emit_json(view)
        return
    for record in view["records"]:
        facts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in record["summary"].items())
        noun = state.plugins.operations.words(record["kind"]).noun
        state.echo(f"{record_id}: {noun} imported "
                   f"{_when(record['imported_at'])}" + (f" ({facts})" if facts else ""))
    for row in view["sync"]:
        said = {"skipped": "resolved by hand"}.get(row["status"], row["status"].replace("_", " "))
        head = f"{row['connection']} {row['operation']}: {said}"
        if row.get("attempts"):
            head += f", {row['attempts']} attempt" + ("s" if row["attempts"] != 1 else "")
        if row.get("last_attempt_at"):
            head += f", last {_when(row['last_attempt_at'])}"
        if row.get("next_retry_at"):
            head += f"; tried again after {_when(row['next_retry_at'])}"
        state.echo(head)
        ids = remote_ids_text(row.get("remote_ids") or {})
        lines = [f"ids: {ids}"] if ids else []
        if row.get("changed_since_sent"):
            lines.append(f"changed since it was {row['status']}: imported again with other data "
                         f"{_when(row['changed_since_sent'])}; not sent again, since flx does "
                         "not change what is already in the accounting system: edit it there")
        error = row.get("error") or {}
        if error:
            lines.append(f"{error.get('class')}: {error.get('message')}")
            if error.get("class") != "resolved" and error.get("hint"):
                lines.append(f"fix: {error['hint']}")
        for line in lines:
            _indented(state, line)
    if view["writes"]:
        state.echo("writes, newest first:")
        for w in view["writes"]:
            made = f" -> {w['remote_id']}" if w.get("remote_id") else ""
            state.echo(f"  {_when(w['at'])}  {w['connection']}  {w['method']} {w['path']}  "
                       f"{w['status']}{made}  (run {w['run_id']})")


def _indented(state: CliState, text: str, indent: str = "  ") -> None:
    """`text` wrapped to the terminal under an indent (no padding at line ends)."""
    state.echo(state.wrapped(text, indent))


def _when(iso: Any) -> str:
    return str(iso or "").replace("T", " ").replace("Z", " UTC")


def _runs_table(state: CliState, rows: Sequence[dict[str, Any]]) -> None:
    """Runs in columns that fit 80: short times, only the counts that are not zero, and the
    connection as the title when every run is of the same one."""
    this_year = f"{dt.datetime.now(dt.UTC).year}-"
    connections = {row.get("connection") for row in rows}
    one = len(connections) == 1
    title = f"connection {rows[0].get('connection')}" if one else None
    table = Table(box=box.SIMPLE_HEAD, pad_edge=False, title=title, title_justify="left")
    for name in ("id", "UTC", "connection", "operation", "status", "took"):
        if not (one and name == "connection"):
            table.add_column(name, no_wrap=True)
    table.add_column("records")
    for row in rows:
        counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in
                           (row.get("counts") or {}).items() if n) or "nothing to do"
        status = str(row.get("status")) + (" (dry run)" if row.get("dry_run") else "")
        if row.get("status") == "aborted":
            why = (row.get("error") or {}).get("class")
            counts = (f"{why} error" if why else "reason not recorded") + (
                "" if counts == "nothing to do" else f"; {counts}")
        took = row.get("duration_seconds")
        started = str(row.get("started_at") or "")[:16].replace("T", " ")
        if started.startswith(this_year):  # recent runs: the year only when it is not this one
            started = started[5:]
        cells = [row.get("id"), started, row.get("connection"), row.get("operation"), status,
                 "" if took is None else f"{took:.1f}s", counts]
        if one:
            del cells[2]
        table.add_row(*(state.redactor.text(str(v)) for v in cells))
    state.out.print(table)


def register(app: typer.Typer) -> None:
    app.command("status")(status_command)
    app.command("errors")(errors_command)
    app.command("retry")(retry_command)
    app.command("resolve")(resolve_command)
    app.command("runs")(runs_command)
    app.command("show")(show_command)
