"""`flx schedule`: run every enabled operation at its cadence until stopped (or once).

The work is done by flx.ops.schedule.Scheduler; this body parses options and wires the output:
one line per run on stdout (text or JSON), secrets masked."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

import typer

from flx.cli.context import get_state
from flx.cli.usage import known_connection


class LogFormat(StrEnum):
    text = "text"
    json = "json"


def schedule_command(
    ctx: typer.Context,
    connection: Annotated[str | None, typer.Option(
        "--connection", "-c", metavar="NAME",
        help="Only this connection's operations (default: every connection).")] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Run what is due now, then exit (for cron or a systemd timer).")
    ] = False,
    log_format: Annotated[LogFormat, typer.Option(
        "--log-format", help="One line per run as text, or as one JSON object per line.")
    ] = LogFormat.text,
) -> None:
    """Run enabled operations at their `schedule` from flx.toml.

    Within a tick: orders, then shipments, then vendor bills. A run already going on for the
    same connection and operation (another scheduler, a manual `flx run`) is never doubled.
    SIGINT/SIGTERM finish the batch in flight, record it and exit 0. With --once the exit
    code is the worst outcome: 0 fine, 3 some records failed, 1 a run aborted or could not
    start."""
    from flx.ops.schedule import Scheduler

    state = get_state(ctx)
    state.json_mode = log_format is LogFormat.json
    known_connection(state, connection)
    config = state.config()
    scheduler = Scheduler(config, state.plugins, state.store(), connection=connection,
                          transport=state.transport, log_format=log_format.value,
                          emit=state.echo, redactor=state.redactor)
    raise typer.Exit(scheduler.run(once=once))


def worker_command(
    ctx: typer.Context,
    connection: Annotated[str | None, typer.Option(
        "--connection", "-c", metavar="NAME",
        help="Only this connection's operations (default: every connection).")] = None,
    once: Annotated[bool, typer.Option(
        "--once", help="Work until nothing is left (records other workers hold included: "
                       "done by them, or taken over after their lease), then exit.")] = False,
    poll: Annotated[float, typer.Option(
        "--poll", metavar="SECONDS", min=0.1,
        help="How long to wait before looking again when there was nothing to do.")] = 10.0,
    lease: Annotated[float, typer.Option(
        "--lease", metavar="SECONDS", min=1.0,
        help="How long a claim lasts without a heartbeat: a dead worker's records go to the "
             "others this long after its last one.")] = 30.0,
    log_format: Annotated[LogFormat, typer.Option(
        "--log-format", help="One line per run as text, or as one JSON object per line.")
    ] = LogFormat.text,
) -> None:
    """Work on the enabled operations together with any number of other workers.

    Start one per machine (or several): they share a PostgreSQL store, split the records by
    claims, and keep together within the account's concurrency limit. A worker that dies is
    taken over by the others within --lease seconds. SIGINT/SIGTERM finish the batch in flight
    and exit 0. With --once the exit code is the worst outcome: 0 fine, 3 some records failed,
    1 a run aborted."""
    from flx.ops.worker import Worker

    state = get_state(ctx)
    state.json_mode = log_format is LogFormat.json
    config = state.config()
    worker = Worker(config, state.plugins, state.store(), connection=connection,
                    transport=state.transport, poll=poll, lease=lease,
                    log_format=log_format.value, emit=state.echo, redactor=state.redactor)
    raise typer.Exit(worker.run(once=once))


def register(app: typer.Typer) -> None:
    app.command("schedule")(schedule_command)
    app.command("worker")(worker_command)
