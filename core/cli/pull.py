"""`flx pull [NAME]`: bring records in from the sources of flx.toml (`[sources.NAME]`).

The work is done by flx.sources.pull.pull_source; this body parses options, draws a progress
bar on a terminal, and prints a summary per source (new / updated / unchanged / rejected per
kind) and each rejected record with its place."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

import typer

from flx.cli.context import CliState, get_state, report_error
from flx.errors import FlxError

if TYPE_CHECKING:
    from flx.sources.pull import PullReport

_SEVERITY = {0: 0, 3: 1, 1: 2}  # exit codes, least to most severe


class _PullBar:
    """Records stored of the total the source announced (if it does), on stderr."""

    def __init__(self, console: Any, name: str) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

        self.progress = Progress(TextColumn(f"pulling {name}"), BarColumn(),
                                 MofNCompleteColumn(), TextColumn("records"),
                                 console=console, transient=True)
        self.task = self.progress.add_task("pull", total=None)

    def add_total(self, records: int) -> None:
        total = self.progress.tasks[0].total or 0
        self.progress.update(self.task, total=total + records)

    def advance(self, records: int) -> None:
        self.progress.advance(self.task, records)

    def __enter__(self) -> _PullBar:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()


def _print(state: CliState, report: PullReport) -> None:
    state.echo(report.summary())
    for problem in report.counts.problems:
        state.echo(f"  rejected: {problem}")
    if report.counts.problems:
        state.echo(f"  {len(report.counts.problems)} problem(s): the other records and the "
                   "cursor are stored; fix the records at their origin and they come with a "
                   "later pull")
    if report.error and report.error.get("hint"):
        state.echo(f"  fix: {report.error['hint']}")


def pull_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(
        metavar="[NAME]", help="The [sources.NAME] to pull (default: every enabled source).",
        show_default=False)] = None,
    dry_run: Annotated[bool, typer.Option(
        "--dry-run", help="Read and check everything, store nothing (the cursor stays).")
    ] = False,
    full: Annotated[bool, typer.Option(
        "--full", help="Start from the beginning instead of the saved cursor (records "
                       "already stored count as unchanged).")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Pull new and changed records from sources into the store.

    Each page of records is stored together with the source's cursor, so an interrupted
    pull resumes after the last page it stored. Exit codes as `flx run`: 0 done, 3 some
    records were rejected, 1 a source failed or could not start.

    Examples:

    \b
      flx pull
      flx pull shop --dry-run
      flx pull shop --full --json"""
    from flx.cli.records import CtrlC
    from flx.sources.pull import pull_source, pullable

    state = get_state(ctx)
    state.json_mode = as_json
    config = state.config()
    names = pullable(config, name)
    store = state.store()
    reports: list[dict[str, Any]] = []
    code = 0
    for source in names:
        try:
            with CtrlC(state) as ctrl_c:
                if not as_json and state.err.is_terminal:
                    with _PullBar(state.err, source) as bar:
                        report = pull_source(config, state.plugins, source, dry_run=dry_run,
                                             store=store, transport=state.transport,
                                             progress=bar, full=full,
                                             should_stop=ctrl_c.pressed)
                else:
                    report = pull_source(config, state.plugins, source, dry_run=dry_run,
                                         store=store, transport=state.transport, full=full,
                                         should_stop=ctrl_c.pressed)
        except FlxError as exc:  # this source could not start; the others still pull
            if name is not None:
                raise
            if not as_json:
                report_error(state, exc)
            reports.append({"source": source, "status": "not_started", "exit_code": 1,
                            "error": exc.to_dict()})
            code = _worse(code, 1)
            continue
        code = _worse(code, report.exit_code)
        reports.append(report.to_dict())
        if not as_json:
            _print(state, report)
    if as_json:
        state.emit_json({"pulls": reports, "exit_code": code})
    raise typer.Exit(code)


def _worse(a: int, b: int) -> int:
    return b if _SEVERITY.get(b, 2) > _SEVERITY.get(a, 2) else a


def register(app: typer.Typer) -> None:
    app.command("pull")(pull_command)
