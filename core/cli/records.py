"""`flx import`, `flx run`, `flx render`: getting records in and sending them out."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import typer

from flx.cli.context import (
    EXIT_ERROR,
    EXIT_RECORDS_FAILED,
    CliState,
    QuietConsole,
    get_state,
    pick_connection,
    report_error,
)
from flx.cli.usage import check_operation, complete_operation
from flx.errors import RecordError

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON document.")]
# A plain string checked against the registered operations by a callback: a typo gets "did
# you mean" (a choice would not), and a plugin's operation is taken like flx's own.
OperationArg = Annotated[str, typer.Argument(
    metavar="OPERATION", help="What to send: send-orders, send-shipments, send-vendor-bills "
    "or an operation a plugin adds (`flx plugins` lists them).",
    show_default=False, callback=check_operation, autocompletion=complete_operation)]
ConnectionOption = Annotated[str | None, typer.Option(
    "--connection", "-c", metavar="NAME",
    help="The connection to use (may be left out when only one has this operation enabled).")]


# --- import ----------------------------------------------------------------------------------


def _print_import(state: CliState, report: Any) -> None:
    data = report.to_dict()
    for kind, counts in data.get("kinds", {}).items():
        if any(counts.values()):
            state.echo(f"{kind}: " + ", ".join(f"{n} {what}" for what, n in counts.items()))
    problems = list(report.problems)
    for problem in problems:
        state.echo(f"rejected: {problem}")
    if problems:
        state.echo(f"{len(problems)} problem(s); fix them and import the file(s) again "
                   "(the accepted records are stored)")
    elif not any(any(c.values()) for c in data.get("kinds", {}).values()):
        state.echo("no records found in the file(s)")


class _ImportBar:
    """`flx import`'s progress on a terminal: records done of the total known so far (NDJSON
    files are counted up front, a JSON document once read), with rate and time left."""

    def __init__(self, console: Any) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskProgressColumn,
            TextColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TaskProgressColumn(),
            TextColumn("records, about"), TimeRemainingColumn(), TextColumn("left"),
            console=console, transient=True)
        self.task = self.progress.add_task("import", total=None)

    def add_total(self, records: int) -> None:
        total = self.progress.tasks[0].total or 0
        self.progress.update(self.task, total=total + records)

    def advance(self, records: int) -> None:
        self.progress.advance(self.task, records)

    def __enter__(self) -> _ImportBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def import_command(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(
        help="JSON ({\"orders\": [...], ...}) or NDJSON files.", exists=True, dir_okay=False,
        readable=True, show_default=False)],
    as_json: JsonOption = False,
) -> None:
    """Import orders, shipments and vendor bills (and the records of a plugin's operations).

    Each rejected record is reported with its file, place and what is wrong. On a terminal
    a progress bar shows the records done, the total and the time left."""
    from flx.sources.files import import_files

    state = get_state(ctx)
    state.json_mode = as_json
    store = state.store()
    # The bar goes to stderr, and only on a terminal: pipes and --json stay clean.
    if not as_json and state.err.is_terminal:
        with _ImportBar(state.err) as bar:
            report = import_files(list(files), store, progress=bar,
                                  operations=state.plugins.operations)
    else:
        report = import_files(list(files), store, operations=state.plugins.operations)
    if as_json:
        state.emit_json(report)
    else:
        _print_import(state, report)
    if not report.ok:
        raise typer.Exit(EXIT_RECORDS_FAILED)


# --- run and render --------------------------------------------------------------------------


def run_command(
    ctx: typer.Context,
    operation: OperationArg,
    connection: ConnectionOption = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Resolve and render everything, send nothing.")] = False,
    only: Annotated[list[str] | None, typer.Option(
        "--only", metavar="ID", help="Only this record (repeat for several).")] = None,
    limit: Annotated[int | None, typer.Option(
        "--limit", min=1, metavar="N", help="At most N records.")] = None,
    force: Annotated[bool, typer.Option(
        "--force",
        help="With --only: send again even records already sent, linked or resolved.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Send eligible records and report each one."""
    from flx.run.runner import run_operation

    state = get_state(ctx)
    state.json_mode = as_json
    if force and not only:
        raise typer.BadParameter(
            "--force sends again records already sent, so it needs the records named: add "
            "--only ID (repeat it for several)", param_hint="--force")
    op = operation
    name = pick_connection(state, connection, op)
    config, store = state.config(), state.store()
    from flx.run.runner import RunInterrupted

    with CtrlC(state) as ctrl_c:
        try:
            report = run_operation(
                config, state.plugins, op, name, dry_run=dry_run, only=only or None,
                limit=limit, force=force, transport=state.transport,
                # The bar goes to stderr, and only on a terminal: pipes and --json stay clean.
                show_progress=not as_json and state.err.is_terminal, console=state.err,
                store=store, interrupted=ctrl_c.pressed,
            )
        except RunInterrupted as stopped:
            _print_report(state, stopped.report, as_json)
            # The plugin's thread may still be inside a request: do not wait for it. What it
            # had written is recorded (run row, audit, in_flight states).
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(stopped.report.exit_code)
    _print_report(state, report, as_json)
    raise typer.Exit(_exit_code(report))


def _print_report(state: CliState, report: Any, as_json: bool) -> None:
    if as_json:
        state.emit_json(report)
    else:
        from flx.run.report import print_run

        # print_run writes rich markup; QuietConsole: `| head` does not end the command.
        print_run(report, QuietConsole(highlight=False), errors=state.err)


class CtrlC:
    """During a run: the first Ctrl-C asks the run to stop after the batch in flight (and
    says so at once); the second stops it at once. Other signals keep their handlers."""

    def __init__(self, state: CliState) -> None:
        self.state = state
        self.count = 0
        self._previous: Any = None

    def pressed(self) -> bool:
        return self.count > 0

    def _handle(self, signum: int, frame: Any) -> None:
        self.count += 1
        if self.count > 1:
            raise KeyboardInterrupt
        self.state.echo("\nCtrl-C: stopping after the batch in flight (its results are "
                        "recorded); press Ctrl-C again to stop at once", err=True)

    def __enter__(self) -> CtrlC:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _exit_code(report: Any) -> int:
    code = getattr(report, "exit_code", None)
    if isinstance(code, int):
        return code
    if getattr(report, "aborted", None):
        return EXIT_ERROR
    return EXIT_RECORDS_FAILED if getattr(report, "failed", 0) else 0


def render_command(
    ctx: typer.Context,
    operation: OperationArg,
    record_id: Annotated[str, typer.Option("--id", metavar="ID", help="The record to render.")],
    connection: ConnectionOption = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Errors too as one JSON document (the payloads always are JSON).")
    ] = False,
) -> None:
    """Print the exact payload(s) one record would be sent as.

    Read-only lookups only; nothing is written anywhere."""
    from flx.run.runner import render_operation

    state = get_state(ctx)
    state.json_mode = as_json  # without --json an error goes to stderr only
    op = operation
    name = pick_connection(state, connection, op)
    try:
        payloads = render_operation(state.config(), state.plugins, op, name, record_id,
                                    transport=state.transport, store=state.store())
    except RecordError as exc:  # the record cannot be sent as it is: a record failure, exit 3
        report_error(state, exc)
        raise typer.Exit(EXIT_RECORDS_FAILED) from None
    state.emit_json(payloads)


def register(app: typer.Typer) -> None:
    app.command("import")(import_command)
    app.command("run")(run_command)
    app.command("render")(render_command)
