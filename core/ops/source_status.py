"""The sources part of `flx status`: per `[sources.NAME]` (and per source the store still
remembers), where the next pull resumes, how the last one went and when the schedule pulls
next. A cursor is shown masked when its source says it is confidential (`secret_cursor`);
everything else passes the configuration's redactor like the rest of the output."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from flx.config.cadence import parse_cadence
from flx.config.redact import MASK
from flx.run.hints import iso_utc

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.store.store import Store

__all__ = ["source_lines", "source_rows"]

_CURSOR_WIDTH = 60  # characters of a cursor shown on a status line


def source_rows(config: Config, store: Store, *, now: dt.datetime) -> list[dict[str, Any]]:
    """One row per configured or remembered source, by name."""
    stored = {row["source"]: row for row in store.source_states()}
    rows = []
    for name in sorted(set(config.sources) | set(stored)):
        conf = config.sources.get(name)
        state = stored.get(name, {})
        cursor = state.get("cursor")
        secret = conf.secret_cursor if conf is not None else True  # unknown now: not shown
        started = state.get("last_pull_at")
        row: dict[str, Any] = {
            "source": name, "plugin": conf.plugin if conf else None,
            "configured": conf is not None, "enabled": bool(conf and conf.enabled),
            "cursor": MASK if secret and cursor is not None else cursor,
            "cursor_at": iso_utc(state.get("cursor_at")),
            "last_pull_at": iso_utc(started), "last_status": state.get("last_status"),
            "counts": state.get("counts") or {}, "error": state.get("error"),
            "schedule": conf.schedule if conf else None, "next_pull_at": None,
        }
        if conf and conf.enabled and conf.schedule:
            last = started if started is None or started.tzinfo else \
                started.replace(tzinfo=dt.UTC)
            row["next_pull_at"] = iso_utc(parse_cadence(conf.schedule).next_after(last, now))
        rows.append(row)
    return rows


def _short(iso: str) -> str:
    return iso.replace("T", " ").replace("Z", " UTC")


def _counts_text(counts: dict[str, Any]) -> str:
    parts = []
    for kind, row in (counts.get("kinds") or {}).items():
        said = [f"{row[k]} {w}" for k, w in (("inserted", "new"), ("updated", "updated"),
                                             ("unchanged", "unchanged"),
                                             ("rejected", "rejected")) if row.get(k)]
        if said:
            parts.append(f"{kind.replace('_', ' ')}s {', '.join(said)}")
    pages = int(counts.get("pages") or 0)
    head = f"{pages} page{'s' * (pages != 1)}"
    return head + (": " + "; ".join(parts) if parts else ", nothing new")


def source_lines(rows: list[dict[str, Any]], *, now: dt.datetime) -> list[str]:
    """The rows as plain lines for people."""
    lines = []
    for row in rows:
        head = f"source {row['source']}"
        if not row["configured"]:
            head += " (no longer in flx.toml)"
        elif not row["enabled"]:
            head += " (disabled)"
        status, started = row.get("last_status"), row.get("last_pull_at")
        if started is None:
            head += ": never pulled"
        elif status == "running":
            head += (f": last pull {_short(started)} running (still going, or killed: the "
                     "next pull resumes after the last page it stored)")
        else:
            head += f": last pull {_short(started)} {status} ({_counts_text(row['counts'])})"
            error = row.get("error") or {}
            if error.get("message"):
                why = " ".join(str(error["message"]).split())
                head += f"; stopped: {why if len(why) <= 100 else why[:99] + '…'}"
        if row.get("next_pull_at"):
            due = dt.datetime.fromisoformat(row["next_pull_at"])
            head += "; next pull " + ("due now" if due <= now else _short(row["next_pull_at"]))
        lines.append(head)
        if row.get("cursor") is not None:
            text = row["cursor"] if row["cursor"] == MASK else json.dumps(
                row["cursor"], ensure_ascii=False)
            if len(text) > _CURSOR_WIDTH:
                text = text[:_CURSOR_WIDTH - 1] + "…"
            lines.append(f"  resumes after {text}" + (
                f" (saved {_short(row['cursor_at'])})" if row.get("cursor_at") else ""))
    return lines
