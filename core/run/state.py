"""What a plugin keeps between runs, through the runtime: `runtime.kv`.

    with runtime.kv.lock("oauth"):                       # one process refreshes at a time
        token = runtime.kv.get("refresh_token") or settings["refresh_token"]
        fresh = refresh(token)                            # a purpose="auth" HTTP client
        runtime.kv.put("refresh_token", fresh, secret=True)

Values are strings in the store's plugin_state table, under the scope "connection:NAME" (a
source's: "source:NAME"). They are written in dry runs too: a refresh token the remote rotated
during a dry run is the only one that still works. A secret value, read or written, is taught
to the run's Redactor and to the log filters, so it is masked in reports, errors and logs; a
secret stored as JSON has each string inside it masked too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import random
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from flx.config.redact import MASK, RedactingFilter, Redactor
from flx.errors import RetryableError
from flx.store.owners import default_owner
from flx.store.state import StateConflict

if TYPE_CHECKING:
    from flx.store.store import Store

__all__ = ["PluginState", "LOCK_POLL", "shown_state", "state_lines"]

_LEARNING = threading.Lock()
LOCK_POLL = 0.2  # longest pause between attempts to take a lock another process holds


class PluginState:
    """Key/value state of one scope, with compare-and-set and a cross-process lock."""

    def __init__(self, store: Store, scope: str, redactor: Redactor | None = None) -> None:
        self.store = store
        self.scope = scope
        self.redactor = redactor if redactor is not None else Redactor()
        self._learned: set[str] = set()  # taught already: a token read per record costs nothing

    def __repr__(self) -> str:
        return f"PluginState({self.scope!r})"

    def get(self, key: str) -> str | None:
        """The value, or None when the key was never written (or was deleted)."""
        return self.get_versioned(key)[0]

    def get_versioned(self, key: str) -> tuple[str | None, int]:
        """(value, version); (None, 0) when absent. Pass the version to compare_and_set."""
        found = self.store.state_get(self.scope, key)
        if found is None:
            return None, 0
        if found.secret:
            self._learn(found.value)
        return found.value, found.version

    def put(self, key: str, value: str, *, secret: bool = False) -> None:
        """Write whatever is stored (last writer wins; see lock() and compare_and_set)."""
        if secret:
            self._learn(value)
        self.store.state_put(self.scope, key, value, secret=secret)

    def compare_and_set(self, key: str, version: int, value: str, *,
                        secret: bool = False) -> bool:
        """Write only if the stored version is still `version` (0: only if absent). False,
        and nothing written, when another writer came first."""
        if secret:
            self._learn(value)
        try:
            self.store.state_put(self.scope, key, value, secret=secret, expect_version=version)
        except StateConflict:
            return False
        return True

    def delete(self, key: str) -> bool:
        """Forget a key; True when it was there."""
        return self.store.state_delete(self.scope, key)

    def keys(self) -> list[str]:
        return list(self.store.state_items(self.scope))

    @contextmanager
    def lock(self, name: str = "state", *, ttl: float = 60.0,
             wait: float = 30.0) -> Iterator[None]:
        """Hold the store lock `name` of this scope: one holder at a time across threads,
        processes and machines sharing the store. Waits up to `wait` seconds for it, then
        raises RetryableError (the records go at a later run). `ttl` bounds how long a holder
        that died keeps others out; keep the block shorter than that. Not re-entrant."""
        lock_name = f"state:{self.scope}:{name}"
        owner = default_owner()  # unique per call: two threads of one process exclude each other
        deadline, pause = time.monotonic() + wait, LOCK_POLL / 16
        while not self.store.acquire_lock(lock_name, owner, ttl):
            if time.monotonic() >= deadline:
                holder = self.store.lock_holder(lock_name) or "another process"
                raise RetryableError(
                    f"another flx process holds the lock {name!r} of {self.scope} ({holder}); "
                    f"waited {wait:g} seconds",
                    hint="run again shortly; a lock left by a crashed process frees itself "
                         f"within {ttl:g} seconds")
            # Short pauses first: a token refresh holds the lock for one request.
            time.sleep(pause * random.uniform(0.5, 1.0))
            pause = min(pause * 2, LOCK_POLL)
        try:
            yield
        finally:
            with contextlib.suppress(Exception):  # an unreleased lock expires after ttl
                self.store.release_lock(lock_name, owner)

    def _learn(self, secret: str) -> None:
        """Mask `secret` from now on in this run's report and in everything flx logs."""
        with _LEARNING:  # Redactor.add is not thread-safe; a run's workers share one
            if secret in self._learned:
                return
            values = [secret, *_json_strings(secret)]
            self.redactor.add(*values)
            for redactor in _log_redactors():
                if redactor is not self.redactor:
                    redactor.add(*values)
            self._learned.add(secret)


JSON_PART_LENGTH = 8  # shorter strings inside a secret JSON value (a token type) stay readable


def _json_strings(text: str) -> list[str]:
    """The strings inside a secret stored as JSON (say {"access_token": ..., "refresh_token":
    ...}): each may be printed on its own, so each is masked too."""
    if not text.lstrip().startswith(("{", "[")):
        return []
    try:
        stack: list[Any] = [json.loads(text)]
    except ValueError:
        return []
    found = []
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
        elif isinstance(item, str) and len(item) >= JSON_PART_LENGTH:
            found.append(item)
    return found


def _log_redactors() -> list[Redactor]:
    """The Redactors of the filters on the `flx` logger and its handlers (the CLI's)."""
    logger = logging.getLogger("flx")
    found: dict[int, Redactor] = {}
    for target in [logger, *logger.handlers]:
        for flt in target.filters:
            if isinstance(flt, RedactingFilter):
                found[id(flt.redactor)] = flt.redactor
    return list(found.values())


SHOWN_LENGTH = 60  # a longer value (a JSON blob) is cut in `flx status`


def shown_state(store: Store, connection: str | None = None) -> dict[str, dict[str, str]]:
    """Plugin state as `flx status` shows it, by scope then key: secret values as ********,
    long ones cut. Only the connection's scope when `connection` is given."""
    if not hasattr(store, "state_scopes"):
        return {}
    scopes = [f"connection:{connection}"] if connection else store.state_scopes()
    out: dict[str, dict[str, str]] = {}
    for scope in scopes:
        items = store.state_items(scope)
        if items:
            out[scope] = {key: MASK if item.secret else _cut(item.value)
                          for key, item in items.items()}
    return out


def state_lines(shown: dict[str, dict[str, str]]) -> list[str]:
    return [f"plugin state {scope}: " + ", ".join(f"{k} = {v}" for k, v in values.items())
            for scope, values in shown.items()]


def _cut(value: str) -> str:
    return value if len(value) <= SHOWN_LENGTH else value[:SHOWN_LENGTH - 1] + "…"
