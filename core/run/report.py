"""The run report: what one `flx run` did, per record, for the terminal and for `--json`.

`RunReport.to_dict()` is the single machine-readable form (also handed to `run_finished`
notifiers); every string in it passes through a Redactor, so no secret leaves in a report.
`print_run` draws the same data as a table for people.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from flx.config.redact import Redactor

__all__ = ["COUNT_KEYS", "ReportRow", "RunReport", "print_run", "remote_ids_text"]

# A run stopped with Ctrl-C exits as a process killed by SIGINT conventionally does.
EXIT_INTERRUPTED = 130

# Always present in `counts` (zero when nothing had that outcome).
COUNT_KEYS = ("sent", "linked", "failed", "waiting", "dry_run")
_STYLE = {"sent": "green", "linked": "cyan", "failed": "bold red", "waiting": "yellow",
          "dry_run": "magenta"}


@dataclass
class ReportRow:
    record_id: str
    status: str  # sent | linked | failed | waiting | dry_run
    remote_ids: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    error_class: str | None = None
    hint: str | None = None
    warnings: list[str] = field(default_factory=list)
    payloads: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "record_id": self.record_id, "status": self.status, "remote_ids": self.remote_ids,
            "message": self.message, "error_class": self.error_class, "hint": self.hint,
            "warnings": self.warnings,
        }
        if self.payloads:
            data["payloads"] = self.payloads
        return data


@dataclass
class RunReport:
    run_id: int | None
    operation: str
    connection: str
    connector: str = ""
    dry_run: bool = False
    connector_label: str = ""  # how people call it ("NetSuite"): Connector.extra["display_name"]
    started_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))
    finished_at: dt.datetime | None = None
    rows: list[ReportRow] = field(default_factory=list)
    requests: int = 0
    aborted: str | None = None
    aborted_class: str | None = None  # error_class of the abort (authentication, outage ...)
    out_of_scope: int = 0
    others: int = 0  # taken by another worker running at the same time
    held_by_others: int = 0  # claimed by other workers when the run ended
    notes: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)  # --only ids not in the store
    redactor: Redactor = field(default_factory=Redactor, repr=False)
    # Stopped by the user (Ctrl-C): "after the batch in flight", or "at once" (a second
    # Ctrl-C: the batch in flight was left to the next run, which checks it by external id).
    interrupted: str | None = None
    in_flight: int = 0  # records handed to the plugin whose results were not waited for

    @property
    def counts(self) -> dict[str, int]:
        tally = Counter(row.status for row in self.rows)
        return {key: tally.get(key, 0) for key in COUNT_KEYS}

    @property
    def duration(self) -> float:
        end = self.finished_at or dt.datetime.now(dt.UTC)
        return max((end - self.started_at).total_seconds(), 0.0)

    @property
    def exit_code(self) -> int:
        """0 all done; 1 aborted (nothing else could succeed); 3 some records failed (or an
        id given with --only is not in the store)."""
        if self.aborted:
            return 1
        if self.interrupted:
            return EXIT_INTERRUPTED
        return 3 if self.counts["failed"] or self.unknown else 0

    @property
    def status(self) -> str:
        """The run's status as stored: ok, failed (some records) or aborted."""
        if self.aborted:
            return "aborted"
        if self.interrupted:
            return "interrupted"
        return "failed" if self.counts["failed"] else "ok"  # an unknown --only id: ok, noted

    def add(self, row: ReportRow) -> None:
        self.rows.append(row)

    def to_dict(self) -> dict[str, Any]:
        data = {
            "run_id": self.run_id,
            "operation": self.operation,
            "connection": self.connection,
            "connector": self.connector,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "duration_seconds": round(self.duration, 3),
            "counts": {**self.counts, "out_of_scope": self.out_of_scope,
                       "other_worker": self.others,
                       "held_by_other_workers": self.held_by_others},
            "requests": self.requests,
            "aborted": self.aborted,
            "aborted_class": self.aborted_class,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
            "status": self.status,
            "notes": list(self.notes),
            "unknown": list(self.unknown),
            "rows": [row.to_dict() for row in self.rows],
        }
        return dict(self.redactor.data(_plain(data)))

    def summary(self) -> str:
        counts = self.counts
        parts = [f"{n} {'dry run' if k == 'dry_run' else k}" for k, n in counts.items() if n]
        if self.out_of_scope:
            parts.append(f"{self.out_of_scope} not selected for this connection")
        if self.others:
            parts.append(f"{self.others} handled by another worker")
        run = f" (run {self.run_id})" if self.run_id is not None else ""
        requests = f"{self.requests} request{'s' * (self.requests != 1)}"
        if self.aborted:
            done = ", ".join(parts) or "nothing sent"
            text = (f"{self.operation} on {self.connection}: aborted ({self.aborted_class}) "
                    f"after {self.duration:.1f}s: {done}; the records it did not reach stay "
                    f"queued for the next run{run}")
            return self.redactor.text(text)
        if self.interrupted:
            if self.in_flight:
                parts.append(f"{self.in_flight} in flight (the next run checks each in "
                             f"{self.connector_label or 'the remote system'} by external id "
                             "before sending it again)")
            done = ", ".join(parts) or "nothing sent"
            if not self.in_flight:  # else the requests of the batch left in flight are unknown
                done += f", {requests}"
            text = (f"{self.operation} on {self.connection}: interrupted ({self.interrupted}) "
                    f"after {self.duration:.1f}s: {done}; the records it did not reach stay "
                    f"queued for the next run{run}")
            return self.redactor.text(text)
        done = ", ".join(parts) or "nothing to do"
        text = (f"{self.operation} on {self.connection}: {done} in {self.duration:.1f}s, "
                f"{requests}{run}")
        if self.dry_run:
            text += " - dry run: nothing was written"
        return self.redactor.text(text)


def _plain(value: Any) -> Any:
    """JSON-ready: dates become strings, Decimals numbers."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, Decimal):
        # A JSON number, as the payload sends it; amounts have at most 4 decimals, which a
        # float's shortest form shows digit for digit.
        return float(value)
    return str(value)


def remote_ids_text(remote_ids: dict[str, Any]) -> str:
    """The remote ids a person looks for; bookkeeping a plugin keeps (lists) stays in --json."""
    parts = []
    for key, value in remote_ids.items():
        if value in (None, "") or isinstance(value, list):
            continue
        if isinstance(value, dict):
            value = " ".join(f"{k}→{v}" for k, v in value.items())
        parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def _group_waiting(rows: list[dict[str, Any]], at_least: int = 4) -> list[dict[str, Any]]:
    """Waiting rows that share a reason become one row when there are `at_least` of them:
    200 orders "not routed yet" read better as one line than as 200."""
    from flx.run.hints import reason_group

    groups: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        if row["status"] == "waiting":
            groups.setdefault(reason_group(row["message"] or "", row["record_id"]), []).append(row)
    big = {reason: members for reason, members in groups.items() if len(members) >= at_least}
    if not big:
        return rows
    grouped = {id(row) for members in big.values() for row in members}
    out = [row for row in rows if id(row) not in grouped]
    for reason, members in big.items():
        ids = ", ".join(m["record_id"] for m in members[:3])
        out.append({"record_id": f"{len(members)} records ({ids}, ...)", "status": "waiting",
                    "remote_ids": {}, "message": reason, "error_class": None,
                    "hint": None, "warnings": []})
    return out


def _warning_key(text: str) -> str:
    """A warning without its figures and ids: the same warning about other records."""
    return re.sub(r"[A-Za-z]*[-_]?\d[\w.,-]*", "#", text)


def repeated_warnings(rows: list[dict[str, Any]]) -> dict[str, tuple[list[str], str]]:
    """Warnings given to several records of a run (every taxed order's "tax was not sent"):
    said once under the table with the count, not in every row. {key: (record ids, the
    first record's wording)}."""
    seen: dict[str, tuple[list[str], str]] = {}
    for row in rows:
        for warning in row.get("warnings") or []:
            ids, _ = seen.setdefault(_warning_key(warning), ([], warning))
            if row["record_id"] not in ids:
                ids.append(row["record_id"])
    return {key: value for key, value in seen.items() if len(value[0]) > 1}


def print_run(report: RunReport, console: Console | None = None, *,
              max_rows: int = 200, errors: Console | None = None) -> None:
    """The report as a table (failures first, then the rest) and a summary line; why a run
    aborted goes to `errors` (stderr) as `error: ...`, like every other error."""
    console = console or Console()
    errors = errors or Console(stderr=True, highlight=False)
    data = report.to_dict()  # print only what passed the redactor
    rows = _group_waiting(data["rows"])
    order = {"failed": 0, "waiting": 1, "dry_run": 2, "sent": 3, "linked": 3}
    shown = sorted(rows, key=lambda r: order.get(r["status"], 4))[:max_rows]
    shared = repeated_warnings(rows)
    if shown:
        label = report.connector_label or report.connector or "remote"
        table = Table(show_header=True, header_style="bold", expand=False)
        table.add_column("Record", no_wrap=True)
        table.add_column("Status", no_wrap=True)
        table.add_column(f"{label} ids")
        table.add_column("Message")
        for row in shown:
            style = _STYLE.get(row["status"], "")
            message = escape(row["message"] or "")
            if row["error_class"] and row["status"] == "failed":
                message = f"[dim]{escape(row['error_class'])}:[/dim] {message}"
            if row["hint"]:
                message += f"\n[bold]fix:[/bold] {escape(row['hint'])}"
            for warning in row["warnings"]:
                if _warning_key(warning) not in shared:  # said once, under the table
                    message += f"\n[yellow]warning:[/yellow] {escape(warning)}"
            status = row["status"].replace("_", " ")
            table.add_row(escape(row["record_id"]), f"[{style}]{status}[/{style}]"
                          if style else status, escape(remote_ids_text(row["remote_ids"])), message)
        console.print(table)
        if len(rows) > len(shown):
            console.print(f"... and {len(rows) - len(shown)} more rows (use --json for all)")
    for ids, example in shared.values():
        listed = ", ".join(ids[:3]) + (", ..." if len(ids) > 3 else "")
        console.print(f"[yellow]warning[/yellow] ({len(ids)} records: {escape(listed)}), for "
                      f"example {escape(ids[0])}: {escape(example)}")
    for note in data["notes"]:
        console.print(f"[yellow]note:[/yellow] {escape(note)}")
    if data["aborted"]:
        errors.print(f"error: the run stopped: {escape(data['aborted'])}")
    style = "red" if report.exit_code else "green"
    console.print(f"[{style}]{escape(report.summary())}[/{style}]")


def changed_note(count: int, ids: list[str]) -> str:
    """Records imported again with other data after they were sent: said, not sent again."""
    shown = ", ".join(ids) + (", ..." if count > len(ids) else "")
    return (f"{count} changed since sent ({shown}): not sent again, since flx does not change "
            "what is already in the accounting system; edit it there (`flx show ID` says when "
            "each changed)")
