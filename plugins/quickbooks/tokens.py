"""Where a connection's OAuth tokens are kept: the connection's plugin state (`runtime.kv`, a
secret value under a cross-process lock) when the framework offers it, else a 0600 file
written atomically (temp file + rename) under an exclusive file lock."""

from __future__ import annotations

import fcntl
import inspect
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from .oauth import KvTokenStore, TokenSet, TokenStore

STATE_DIR_ENV = "FLX_QUICKBOOKS_STATE_DIR"


class FileTokenStore:
    def __init__(self, path: Path) -> None:
        self.path = path

    def load(self) -> TokenSet | None:
        try:
            return TokenSet.from_json(self.path.read_text("utf-8"))
        except FileNotFoundError:
            return None

    def save(self, tokens: TokenSet) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        temp = self.path.with_suffix(".tmp")
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(tokens.to_json())
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, self.path)

    @contextmanager
    def locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.path.with_suffix(".lock"), "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def file_store(connection: str) -> FileTokenStore:
    folder = Path(os.environ.get(STATE_DIR_ENV) or ".flx")
    safe = re.sub(r"[^A-Za-z0-9_.-]", "_", connection)
    return FileTokenStore(folder / f"quickbooks-{safe}.tokens.json")


def token_store(runtime: Any) -> TokenStore:
    kv = getattr(runtime, "kv", None)
    if kv is not None:
        return KvTokenStore(kv)
    return file_store(runtime.connection.name)


def auth_http(runtime: Any, token_url: str) -> httpx.Client:
    """The client for Intuit's token endpoint: its POST must work in a dry run (reads need a
    token) and is no record write, so it is neither guarded nor audited."""
    base = str(httpx.URL(token_url).copy_with(path="/", query=None))
    if "purpose" in inspect.signature(runtime.http_client).parameters:
        return runtime.http_client(base_url=base, purpose="auth")  # type: ignore[no-any-return]
    client = httpx.Client(base_url=base, transport=runtime.transport, timeout=60.0)
    if runtime.transport is None:  # an injected transport belongs to the caller
        runtime.closing.append(client.close)
    return client
