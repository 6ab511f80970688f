"""What a source plugin implements: a `Source` that pulls records page by page, each page with
the cursor to resume after it, and the `SourceRuntime` it is handed for a pull. (Beside
flx.connector at the bottom of flx, importing nothing of it: the plugin manager and the config
loader name these types; flx.sources.pull does the pulling.)

Core commits a page's records and its cursor in one store transaction (flx.sources.ingest), so
a crash never skips a page nor keeps half of one: the next pull starts after the last page
that was committed whole. A record that is not valid is refused alone, named by the page's
`where` and its index; the rest of its page is stored.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    import httpx

__all__ = ["ClientFactory", "Page", "PullProgress", "RegisterSource", "Source", "SourceConfig",
           "SourceDemo", "SourceRuntime"]

# Makes the HTTP clients of a pull: flx.sources.pull hands one that carries the transport,
# the dry-run guard and the audit trail (build_client's keyword arguments).
ClientFactory = Callable[..., "httpx.Client"]


@dataclass
class Page:
    """One page of a pull: `(kind, record)` pairs in flx's record formats (kind "order",
    "shipment" or "vendor_bill"), and the cursor to pass as `since` to resume after this page
    (anything JSON can hold: text, a number, a list, an object). `where` names the page in
    problems ("orders page 3", "updated since 2026-12-01T00:00:00Z")."""

    records: list[tuple[str, dict[str, Any]]]
    cursor: Any
    where: str = ""
    # Records the source read but could not turn into flx records: each a RecordError naming
    # the record (record_id), the field (path) and the fix (hint), its kind in
    # `context["kind"]`. Core reports them as refused records; the cursor still moves.
    problems: list[Any] = field(default_factory=list)


class PullProgress(Protocol):
    """A pull's progress: core advances it by each page's records; a source that learns the
    total (an API that answers with a count) may tell it with `add_total`."""

    def add_total(self, records: int) -> None: ...

    def advance(self, records: int) -> None: ...


class _NoProgress:
    def add_total(self, records: int) -> None:
        pass

    def advance(self, records: int) -> None:
        pass


@dataclass
class SourceRuntime:
    """What a source is handed for one pull of one `[sources.NAME]` table."""

    source: str  # the NAME of `[sources.NAME]`
    # The table's settings, `${VAR}`s resolved: secrets too, so never log them (nor repr).
    settings: dict[str, Any] = field(repr=False)
    dry_run: bool = False
    logger: logging.Logger = field(default_factory=lambda: logging.getLogger("flx.sources"))
    progress: PullProgress = field(default_factory=_NoProgress)
    transport: httpx.BaseTransport | None = None  # injected by tests and the demo
    kv: Any = None  # flx.PluginState of scope "source:NAME": tokens, sequence numbers...
    client_factory: ClientFactory | None = field(default=None, repr=False)
    _clients: list[httpx.Client] = field(default_factory=list, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def http_client(self, *, base_url: str, auth: httpx.Auth | None = None,
                    headers: dict[str, str] | None = None, timeout: float = 60.0,
                    max_connections: int = 4,
                    purpose: Literal["records", "auth"] = "records") -> httpx.Client:
        """An httpx.Client with the injected transport (tests); in a dry run it refuses writes
        (POST, PUT, PATCH, DELETE) unless a request carries the READ_ONLY extension (a query
        sent as a POST). Writes that do go are kept in the audit trail, under `source:NAME`.
        purpose="auth" is for credentials only (a token refresh): its writes pass the dry-run
        guard and are not audited."""
        if self.client_factory is None:
            raise RuntimeError("this SourceRuntime has no client factory: it is made by "
                               "flx.sources.pull.pull_source (`flx pull`)")
        client = self.client_factory(base_url=base_url, auth=auth, headers=headers,
                                     timeout=timeout, max_connections=max_connections,
                                     purpose=purpose)
        with self._lock:
            self._clients.append(client)
        return client

    def close(self) -> None:
        """Close the clients handed out (an injected transport belongs to the caller)."""
        with self._lock:
            clients, self._clients = self._clients, []
        for client in clients:
            if self.transport is None:
                client.close()


@dataclass
class SourceDemo:
    """A bundled stand-in for the system a source reads, serving while `flx demo` runs
    (`Source.demo`): the keys of its `[sources.NAME]` table (written into the demo's flx.toml
    as they are, so a secret appears there as `${VAR}`, its value in `env`), the environment
    the demo's `flx` commands get, and one line saying what serves where."""

    settings: dict[str, Any]
    env: dict[str, str] = field(default_factory=dict, repr=False)
    note: str = ""


@dataclass
class Source:
    """What a plugin registers through `register_sources(register)`; subclass it and override
    `pull`. One registered Source serves every `[sources.NAME]` table naming it in `plugin`,
    so it keeps nothing of a pull on itself: settings come in `runtime.settings`.

    settings_schema: JSON Schema of the table's own keys (everything but `plugin`, `schedule`
    and `enabled`); properties with `"x-secret": true` are redacted everywhere.
    secret_cursor: the cursor itself is confidential (a signed link): status shows it masked."""

    name: str
    settings_schema: Mapping[str, Any] = field(default_factory=lambda: {"type": "object"})
    description: str = ""
    secret_cursor: bool = False
    plugin_name: str = ""
    version: str = ""

    def pull(self, since: Any | None, runtime: SourceRuntime) -> Iterator[Page]:
        """Yield the records changed after `since` (None: everything there is), oldest first,
        one page at a time, each with the cursor that resumes after it. Read-only: a pull
        must not change the system it reads (a dry run refuses writes)."""
        raise NotImplementedError(f"source {self.name!r} does not implement pull()")

    def demo(self) -> AbstractContextManager[SourceDemo] | None:
        """A bundled emulator `flx demo` may pull from: a context manager that serves it until
        the demo ends and yields its SourceDemo. None (the default): the source has none."""
        return None

    @property
    def secret_keys(self) -> frozenset[str]:
        props = self.settings_schema.get("properties", {})
        return frozenset(k for k, v in props.items() if isinstance(v, dict) and v.get("x-secret"))


RegisterSource = Callable[[Source], None]


@dataclass
class SourceConfig:
    """A `[sources.NAME]` table of flx.toml, `${VAR}`s resolved. Never print `settings`: it
    holds the secrets; `redacted()` does not."""

    name: str
    plugin: str
    settings: dict[str, Any] = field(repr=False)
    schedule: str | None = None
    enabled: bool = True
    secret_keys: frozenset[str] = frozenset()
    secret_cursor: bool = False  # its Source's: status shows the cursor masked

    def secrets(self) -> list[str]:
        return [str(self.settings[k]) for k in self.secret_keys if self.settings.get(k)]

    def redacted(self) -> dict[str, Any]:
        return {k: ("********" if k in self.secret_keys and v else v)
                for k, v in self.settings.items()}
