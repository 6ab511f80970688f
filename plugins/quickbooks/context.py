"""What every QuickBooks operation shares for one run: the client, the profile, request ids,
document numbers, the flx marker, and per-record error handling."""

from __future__ import annotations

import base64
import hashlib
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flx import AbortError, FlxError, RecordResult, Runtime

from .client import QboClient
from .oauth import TokenManager
from .payloads import SCHEMAS
from .settings import QboSettings
from .tokens import auth_http, token_store

DOC_NUMBER_MAX = 21
_RUNTIME_ATTR = "_quickbooks_context"
_LOCK = threading.Lock()


def marker(kind: str, record_id: str) -> str:
    """flx's mark in PrivateNote: how a person (and flx, on recovery) tells its documents."""
    return f"flx:{kind}:{record_id}"


def doc_number(prefix: str, value: str) -> str:
    """`prefix + value`, at most 21 characters; a longer one keeps its head and ends with a
    hash of the whole, so two long numbers never collapse into one."""
    text = f"{prefix}{value}"
    if len(text) <= DOC_NUMBER_MAX:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:6]
    return f"{text[:DOC_NUMBER_MAX - 7]}~{digest}"


@dataclass
class QboContext:
    runtime: Runtime
    client: QboClient
    profile: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)
    cache: dict[str, dict[str, Any]] = field(default_factory=dict)  # per-run look-ups
    # Held while a customer is looked up again and created, so that two orders of one new
    # customer handled side by side never create it twice.
    creating: threading.Lock = field(default_factory=threading.Lock)
    _guard: threading.Lock = field(default_factory=threading.Lock)
    _locks: dict[str, threading.Lock] = field(default_factory=dict)

    @classmethod
    def of(cls, runtime: Runtime) -> QboContext:
        with _LOCK:
            cached = getattr(runtime, _RUNTIME_ATTR, None)
            if isinstance(cached, QboContext):
                return cached
            settings = QboSettings.from_mapping(runtime.connection.settings,
                                                name=runtime.connection.name)
            tokens = TokenManager(settings, token_store(runtime),
                                  auth_http(runtime, settings.token_url))
            http = runtime.http_client(base_url=settings.api_url, timeout=settings.timeout,
                                       max_connections=settings.concurrency)
            client = QboClient(settings, http, tokens, logger=runtime.logger)
            profile = dict(runtime.profile or {})
            ctx = cls(runtime, client, profile, dict(profile.get("options") or {}))
            setattr(runtime, _RUNTIME_ATTR, ctx)
            return ctx

    def requestid(self, operation: str, record_id: str, payload: Any) -> str:
        """Same record and same payload -> same id (a retry replays); a corrected payload gets
        a new one, so QBO cannot answer it with the old refusal (§2.8). At most 50 chars."""
        text = json.dumps([self.runtime.connection.name, operation, record_id, payload],
                          sort_keys=True, default=str)
        digest = base64.b32encode(hashlib.sha256(text.encode()).digest()).decode()
        return "flx-" + digest[:44].lower()

    def render(self, name: str, context: dict[str, Any], record_id: str) -> dict[str, Any]:
        assert self.runtime.renderer is not None
        return self.runtime.renderer.render_json(f"{name}.json.j2", context, record_id=record_id,
                                                 schema=SCHEMAS[name])

    def remember(self, bucket: str, key: str, find: Callable[[], Any]) -> Any:
        """A per-run look-up (items, vendors, customers): asked once, shared by every record."""
        with self._guard:  # one lock per key: side-by-side records ask once, not each
            table = self.cache.setdefault(bucket, {})
            lock = self._locks.setdefault(f"{bucket}\0{key}", threading.Lock())
        with lock:
            if key not in table:
                table[key] = find()
            return table[key]


def guarded(ctx: QboContext, record_id: str, send: Callable[[], RecordResult]) -> RecordResult:
    """One record's work: a record-level failure becomes its result, an AbortError stops the
    run."""
    before = ctx.client.thread_requests
    try:
        with ctx.runtime.acting_for(record_id):
            result = send()
    except AbortError:
        raise
    except FlxError as err:
        result = RecordResult(record_id, "failed", message=err.message, error=err)
    result.requests = ctx.client.thread_requests - before
    return result
