"""The `flxpoint` source: `[sources.NAME] plugin = "flxpoint"` in flx.toml (docs/flxpoint.md)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import typer

from flx import (
    ConfigError,
    Page,
    RegisterSource,
    Source,
    SourceDemo,
    SourceRuntime,
    hookimpl,
)

from .client import DEFAULT_RATE, MAX_PAGE_SIZE, FlxpointClient
from .profile import load_mapping_profile
from .pull import STREAMS, Puller, PullSettings

NAME = "flxpoint"
DEFAULT_BASE_URL = "https://api.flxpoint.com"

SETTINGS_SCHEMA: dict[str, Any] = {
    "type": "object", "required": ["api_token"], "additionalProperties": False,
    "properties": {
        "api_token": {"type": "string", "minLength": 1, "x-secret": True,
                      "description": "A Flxpoint Account token (sent as X-API-TOKEN)."},
        "base_url": {"type": "string", "default": DEFAULT_BASE_URL},
        "profile": {"type": "string", "default": "default",
                    "description": "Mapping profile: default, demo, or a .json path."},
        "profile_overrides": {"type": "object", "description": "Keys merged over the profile."},
        "streams": {"type": "array", "items": {"enum": list(STREAMS)}, "minItems": 1,
                    "uniqueItems": True},
        "start_at": {"type": "string", "format": "date-time",
                     "description": "The first pull reads only what changed after this time "
                                    "(RFC 3339); without it, everything there is."},
        "page_size": {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE,
                      "default": MAX_PAGE_SIZE},
        "overlap_minutes": {"type": "number", "minimum": 0, "default": 10},
        "attempts": {"type": "integer", "minimum": 1, "maximum": 10, "default": 6,
                     "description": "Tries of a request that meets a 429, 5xx or network "
                                    "error before the pull stops."},
        "writeback": {"type": "boolean", "default": False,
                      "description": "Let `flx flxpoint-writeback` write accounting ids to "
                                     "Flxpoint."},
        "rate_limit": {"type": "number", "exclusiveMinimum": 0, "default": DEFAULT_RATE,
                       "description": "Requests per second (Flxpoint allows 2 per token; "
                                      "above that it answers 429)."},
    },
}


class StateRateMemory:
    """The limiter's latest request times in the source's plugin state, for the next pull."""

    KEY = "rate_limiter"

    def __init__(self, kv: Any) -> None:
        self.kv = kv

    def load(self) -> list[float]:
        try:
            times = json.loads(self.kv.get(self.KEY) or "[]")
        except ValueError:
            return []
        return [float(t) for t in times if isinstance(t, int | float)]

    def save(self, times: list[float]) -> None:
        self.kv.put(self.KEY, json.dumps(times))


@dataclass
class FlxpointSource(Source):
    name: str = NAME
    settings_schema: dict[str, Any] = field(default_factory=lambda: SETTINGS_SCHEMA)
    description: str = "orders, shipments and source invoices from the Flxpoint API"

    def pull(self, since: Any | None, runtime: SourceRuntime) -> Iterator[Page]:
        settings = runtime.settings
        if since is not None and not isinstance(since, dict):
            raise ConfigError(f"the stored cursor of source {runtime.source!r} is not "
                              "Flxpoint's (was the table's plugin changed?)",
                              hint=f"start it over: flx pull {runtime.source} --full")
        overrides = settings.get("profile_overrides") or {}
        profile = load_mapping_profile(str(settings.get("profile") or "default"), overrides)
        http = runtime.http_client(base_url=str(settings.get("base_url") or DEFAULT_BASE_URL),
                                   max_connections=1)
        client = FlxpointClient(http, token=str(settings.get("api_token") or ""),
                                rate=float(settings.get("rate_limit") or DEFAULT_RATE),
                                attempts=int(settings.get("attempts") or 6))
        if runtime.kv is not None:  # a runtime built without a store has no state to share
            client.limiter.share(StateRateMemory(runtime.kv))
        puller = Puller(client, PullSettings(
            profile, streams=tuple(settings.get("streams") or STREAMS),
            page_size=int(settings.get("page_size") or MAX_PAGE_SIZE),
            overlap=timedelta(minutes=float(settings.get("overlap_minutes", 10)))))
        if since is None and settings.get("start_at"):
            since = dict.fromkeys(STREAMS, str(settings["start_at"]))
        for batch in puller.pull(since):
            runtime.progress.add_total(len(batch.records) + len(batch.problems))
            yield Page(records=batch.records, cursor=batch.cursor, where=batch.where,
                       problems=list(batch.problems))


    def demo(self) -> AbstractContextManager[SourceDemo] | None:
        return serve_demo()


@contextmanager
def serve_demo() -> Iterator[SourceDemo]:
    """The Flxpoint emulator's demo account on a loopback port, for `flx demo`."""
    from .emulator import Emulator, run_server

    emulator = Emulator()  # Flxpoint's own limit: 2 requests per second
    with run_server(emulator) as url:
        yield SourceDemo(
            settings={"api_token": "${FLXPOINT_API_TOKEN}", "base_url": url, "profile": "demo"},
            env={"FLXPOINT_API_TOKEN": emulator.token_of_type("account")},
            note=f"Flxpoint emulator: {url} (a demo account)")


@hookimpl
def register_sources(register: RegisterSource) -> None:
    register(FlxpointSource())


@hookimpl
def register_commands(app: typer.Typer) -> None:
    from .emulator.cli import add_emulator_command
    from .writeback_cli import add_writeback_command

    add_emulator_command(app)
    add_writeback_command(app)
