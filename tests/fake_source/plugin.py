"""The fakefeed source. Settings (`[sources.NAME]`): `feed` (which list of FEEDS), `token`
(a secret, sent as a header when `ack_url` is set), `page_size`, `fail_after` (raise after
that many pages: a crash mid-pull), `ack_url` (POST an acknowledgement per page: a write, so
a dry run refuses it), `token_url` (exchange `token` for a session token first, kept secret in
the source's state: an "auth" request, which a dry run lets through)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from flx import Page, RecordError, RegisterSource, Source, SourceRuntime, hookimpl

NAME = "fakefeed"

# feed name -> entries, oldest first: (kind, record), or a RecordError for a record the source
# could not build; an entry's sequence number is its position + 1, and the cursor after a page
# is the last sequence number in it.
FEEDS: dict[str, list[Any]] = {}

SETTINGS_SCHEMA = {
    "type": "object", "required": ["feed", "token"], "additionalProperties": False,
    "properties": {
        "feed": {"type": "string", "minLength": 1},
        "token": {"type": "string", "minLength": 8, "x-secret": True},
        "page_size": {"type": "integer", "minimum": 1, "default": 2},
        "fail_after": {"type": "integer", "minimum": 0},
        "ack_url": {"type": "string"},
        "token_url": {"type": "string"},
    },
}


class FeedBroke(RuntimeError):
    """The feed went away mid-pull (a crash the source does not know how to name)."""


@dataclass
class FakeFeed(Source):
    name: str = NAME
    settings_schema: dict[str, Any] = field(default_factory=lambda: SETTINGS_SCHEMA)
    description: str = "test source: records from an in-memory feed"
    pulls: list[dict[str, Any]] = field(default_factory=list)  # what each pull was asked

    def pull(self, since: Any | None, runtime: SourceRuntime) -> Iterator[Page]:
        settings = runtime.settings
        self.pulls.append({"since": since, "source": runtime.source,
                           "dry_run": runtime.dry_run})
        entries = FEEDS[settings["feed"]]
        start = int(since or 0)
        size = int(settings["page_size"])
        runtime.progress.add_total(len(entries) - start)
        if settings.get("token_url"):
            auth = runtime.http_client(base_url=settings["token_url"], purpose="auth")
            session = auth.post("/token", json={"token": settings["token"]}).json()["session"]
            runtime.kv.put("session", session, secret=True)
            runtime.kv.put("pulls", str(int(runtime.kv.get("pulls") or 0) + 1))
        client = None
        if settings.get("ack_url"):
            client = runtime.http_client(base_url=settings["ack_url"],
                                         headers={"X-Token": settings["token"]})
        for number, first in enumerate(range(start, len(entries), size), start=1):
            if settings.get("fail_after") is not None and number > settings["fail_after"]:
                raise FeedBroke(f"the feed went away before page {number}")
            chunk = entries[first:first + size]
            if client is not None:
                client.post("/ack", json={"through": first + len(chunk)})
            # An entry that is a RecordError is a record the source could not build.
            yield Page(records=[e for e in chunk if not isinstance(e, RecordError)],
                       cursor=first + len(chunk), where=f"page {number}",
                       problems=[e for e in chunk if isinstance(e, RecordError)])


@hookimpl
def register_sources(register: RegisterSource) -> None:
    register(FakeFeed())
