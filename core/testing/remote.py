"""What the shipped suites (flx.testing.suite, flx.testing.source_suite) share: a watched
remote that can "kill" the process mid-run, broken remotes, and a workspace that runs the
real `flx` CLI on one flx.toml and one SQLite store."""

from __future__ import annotations

import json
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.plugins import Plugins
from flx.run.http import AUTH, READ_ONLY, WRITE_METHODS
from flx.store.store import Store

# Error classes that say nothing about the cause: a plugin must report a real one.
VAGUE_CLASSES = ("plugin", "error", "internal")


class Killed(BaseException):
    """The process died: not an Exception, so no code on the way up can take it for a
    record's failure (as with a kill -9, nothing after it runs in that process)."""


class Remote(httpx.BaseTransport):
    """A plugin's transport, watched: every request is noted, and after `kill_after` writes
    (or `kill_after_requests` requests) the process "dies" the moment the remote has
    answered the next one, before the answer reaches flx."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str, bool]] = []  # method, path, is a record write
        self.kill_after: int | None = None
        self.kill_after_requests: int | None = None
        self.killed = False
        self._lock = threading.Lock()

    def writes(self) -> list[tuple[str, str]]:
        """Writes of records: not read-only queries, not credential requests (token refresh),
        which the dry-run guard lets through."""
        return [(m, p) for m, p, write in self.requests if write]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        write = request.method in WRITE_METHODS and not request.extensions.get(READ_ONLY) \
            and not request.extensions.get(AUTH)
        with self._lock:
            if self.killed:
                raise Killed("the process is gone")
            self.requests.append((request.method, request.url.path, write))
            dies = (write and self.kill_after is not None
                    and len(self.writes()) > self.kill_after) or \
                (self.kill_after_requests is not None
                 and len(self.requests) > self.kill_after_requests)
        response = self.inner.handle_request(request)
        if dies:  # the remote did it; its answer never arrives
            self.killed = True
            raise Killed(f"killed after {request.method} {request.url.path} was answered")
        return response

    def revive(self) -> None:
        self.kill_after = self.kill_after_requests = None
        self.killed = False

    def close(self) -> None:
        """A run closes its clients; the remote lives on for the next run."""


def answering(status: int) -> httpx.BaseTransport:
    """A remote that answers every request with `status`."""
    return httpx.MockTransport(lambda request: httpx.Response(
        status, json={"error": f"status {status}", "message": f"status {status}"}))


def unreachable() -> httpx.BaseTransport:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)
    return httpx.MockTransport(refuse)


def broken_remotes() -> dict[str, httpx.BaseTransport]:
    return {"credentials refused": answering(401), "outage": answering(503),
            "unreachable": unreachable()}


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are written alike


def settings_lines(settings: dict[str, Any], secret_keys: frozenset[str],
                   env: dict[str, str]) -> list[str]:
    """`key = value` lines of a flx.toml table; secrets go to `env` and are written as
    `${FLX_SUITE_KEY}`, as a user keeps them out of the file."""
    lines = []
    for key, value in settings.items():
        if key in secret_keys:
            variable = f"FLX_SUITE_{key.upper()}"
            env[variable] = str(value)
            value = f"${{{variable}}}"
        lines.append(f"{key} = {toml_value(value)}")
    return lines


@dataclass
class Workspace:
    """One test's flx: flx.toml and flx.db in `path`, the watched remote, the environment."""

    path: Path
    plugins: Plugins
    remote: Remote
    env: dict[str, str]
    secrets: list[str]  # the secret settings' values
    outputs: list[str] = field(default_factory=list)  # everything flx printed

    def flx(self, *args: str, transport: httpx.BaseTransport | None = None) -> Any:
        app = build_app(self.plugins, transport=transport or self.remote)
        result = CliRunner().invoke(app, ["--config", str(self.path / "flx.toml"), *args],
                                    env=self.env)
        self.outputs.append(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def json(self, *args: str, transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
        """A `--json` command's document, with the command's exit code beside it."""
        result = self.flx(*args, "--json", transport=transport)
        data: dict[str, Any] = json.loads(result.stdout[result.stdout.index("{"):])
        data.setdefault("exit_code", result.exit_code)
        assert data["exit_code"] == result.exit_code
        return data

    def store(self) -> Store:
        return Store(f"sqlite:///{self.path / 'flx.db'}")

    def stored_text(self, *, skip: tuple[str, ...] = ()) -> str:
        """Every value in every table of the store (but `skip`), as text."""
        with sqlite3.connect(self.path / "flx.db") as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'") if r[0] not in skip]
            return "\n".join(repr(row) for t in tables
                             for row in db.execute(f'SELECT * FROM "{t}"'))

    def state_secrets(self, scope: str) -> list[str]:
        """The values a plugin keeps in its state (runtime.kv) marked secret."""
        with self.store() as store:
            items = store.state_items(scope)
        return [v.value for v in items.values() if v.secret and v.value]

    def assert_no_secret_leaked(self, printed: str, scope: str) -> None:
        """Secret settings: neither printed, logged nor stored; secret state values: neither
        printed, logged nor stored anywhere but the plugin's state."""
        for secret in self.secrets:
            assert secret not in printed + self.stored_text(), \
                f"a secret setting ({secret[:3]}...) was printed or stored"
        elsewhere = self.stored_text(skip=("plugin_state",))
        for secret in self.state_secrets(scope):
            assert secret not in printed + elsewhere, \
                f"a secret state value ({secret[:3]}...) was printed or stored elsewhere"
