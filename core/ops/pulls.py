"""The pulls `flx schedule` makes: one `PullJob` per enabled `[sources.NAME]` with a
`schedule`, due by the start of its last real pull as the store keeps it (so a restart, a
second scheduler or a manual `flx pull` do not cause an extra pull)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from flx.config.cadence import Cadence, parse_cadence

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.store.store import Store

__all__ = ["PullJob", "last_pull_start", "plan_pulls"]


@dataclass(frozen=True)
class PullJob:
    source: str
    cadence: Cadence

    @property
    def key(self) -> tuple[str, str]:
        return (":source", self.source)  # no connection name holds a colon

    def label(self) -> str:
        return f"pull {self.source}"


def plan_pulls(config: Config) -> list[PullJob]:
    """Every enabled source with a `schedule`, by name (the loader checked the cadences)."""
    return [PullJob(name, parse_cadence(source.schedule))
            for name, source in sorted(config.sources.items())
            if source.enabled and source.schedule]


def last_pull_start(store: Store, source: str) -> dt.datetime | None:
    """When the last real pull of `source` started, by any process."""
    for row in store.source_states():
        if row["source"] == source and row["last_pull_at"] is not None:
            started: dt.datetime = row["last_pull_at"]
            return started if started.tzinfo else started.replace(tzinfo=dt.UTC)
    return None
