"""Cadences of `schedule` in flx.toml: `every 30 minutes`, `every 2 hours`, `every 1 day`
(also `every hour`, ...) or a cron expression (`*/15 * * * *`, `@hourly`), read in the
machine's local time like cron."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from croniter import croniter

__all__ = ["CADENCE_EXAMPLES", "Cadence", "parse_cadence"]

CADENCE_EXAMPLES = ('"every 30 minutes", "every 2 hours", "every 1 day" or a cron expression '
                    'such as "*/15 * * * *"')

_INTERVAL = re.compile(r"every\s+(?:(\d+)\s*)?(minutes?|mins?|m|hours?|hrs?|h|days?|d)",
                       re.IGNORECASE)
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}


@dataclass(frozen=True)
class Cadence:
    """How often a job runs: a fixed interval, or a cron expression."""

    text: str
    interval: dt.timedelta | None = None
    cron: str | None = None

    def next_after(self, last_start: dt.datetime | None, since: dt.datetime) -> dt.datetime:
        """When the job is due: after `last_start` (its last run), or, never run, `since`
        (interval: at once) or the first cron slot after `since`."""
        if self.interval is not None:
            return since if last_start is None else last_start + self.interval
        assert self.cron is not None
        base = last_start or since
        # Cron fields mean local wall-clock time, as in crontab; the answer goes back to UTC.
        nxt = croniter(self.cron, base.astimezone()).get_next(dt.datetime)
        return nxt.astimezone(dt.UTC)


def parse_cadence(text: str) -> Cadence:
    """`every N minutes|hours|days` (N defaults to 1) or a 5-field cron expression / @alias.
    Raises ValueError saying what is accepted."""
    cleaned = " ".join(str(text).split())
    match = _INTERVAL.fullmatch(cleaned)
    if match:
        count = int(match.group(1) or 1)
        key = _UNITS[match.group(2).lower()[0]]
        if count < 1:
            raise ValueError(f"{text!r}: the interval must be at least 1 {key[:-1]}")
        return Cadence(cleaned, interval=dt.timedelta(**{key: count}))
    fields = cleaned.split(" ")
    if cleaned and (cleaned.startswith("@") or len(fields) == 5) and croniter.is_valid(cleaned):
        return Cadence(cleaned, cron=cleaned)
    raise ValueError(f"{text!r} is not a cadence; write {CADENCE_EXAMPLES}")
