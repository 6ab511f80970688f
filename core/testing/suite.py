"""The standard tests every connector must pass, as a pytest class its package subclasses:

    from flx.testing import ConnectorSuite

    class TestMyBooks(ConnectorSuite):
        plugin = my_books.plugin          # the module (or object) with the hookimpls
        connector = "mybooks"             # the name it registers

        def settings(self): ...           # [connections.NAME] keys, secrets as plain values
        def transport(self): ...          # a fresh remote (httpx transport) for each test
        def records(self): ...            # an import document: {"orders": [...], ...}

Every test drives flx as a user would (flx.toml, `flx import`, `flx run`, `flx render`,
`flx connections test` through the real CLI) against that transport, with nothing else
installed. The records must all be sendable: the suite expects each to end sent or linked.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.connector import Connector
from flx.errors import ERROR_CLASSES
from flx.plugins import Plugins, build_plugins
from flx.run.hints import DEFAULT_HINTS
from flx.run.http import AUTH, READ_ONLY, WRITE_METHODS
from flx.store.store import Store
from flx.testing.conformance import check_connector

CONNECTION = "suite"
DONE = ("sent", "linked")
# Error classes that say nothing about the cause: a connector must report a real one.
VAGUE_CLASSES = ("plugin", "error")


class Killed(BaseException):
    """The process died: not an Exception, so no code on the way up can take it for a
    record's failure (as with a kill -9, nothing after it runs in that process)."""


class Remote(httpx.BaseTransport):
    """The connector's transport, watched: every request is noted, and after `kill_after`
    writes the process "dies" the moment the remote has applied the next one."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.requests: list[tuple[str, str, bool]] = []  # method, path, is a write
        self.kill_after: int | None = None
        self.killed = False
        self._lock = threading.Lock()

    def writes(self) -> list[tuple[str, str]]:
        return [(m, p) for m, p, write in self.requests if write]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        # A query sent as a POST (READ_ONLY) and a credentials request such as an OAuth token
        # refresh (AUTH) are no record writes, as the run's own guard counts them.
        write = request.method in WRITE_METHODS and not request.extensions.get(READ_ONLY) \
            and not request.extensions.get(AUTH)
        with self._lock:
            if self.killed:
                raise Killed("the process is gone")
            self.requests.append((request.method, request.url.path, write))
            dies = write and self.kill_after is not None and \
                len(self.writes()) > self.kill_after
        response = self.inner.handle_request(request)
        if dies:  # the remote applied it; its answer never arrives
            self.killed = True
            raise Killed(f"killed after {request.method} {request.url.path} was applied")
        return response

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


def toml_value(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{json.dumps(k)} = {toml_value(v)}"
                               for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)  # strings, numbers and booleans are written alike


@dataclass
class World:
    """One test's flx workspace: flx.toml, the store, the watched remote, the environment."""

    path: Path
    plugins: Plugins
    connector: Connector
    remote: Remote
    env: dict[str, str]
    secrets: list[str]
    operations: tuple[str, ...]
    outputs: list[str] = field(default_factory=list)  # everything flx printed

    def flx(self, *args: str, transport: httpx.BaseTransport | None = None) -> Any:
        app = build_app(self.plugins, transport=transport or self.remote)
        result = CliRunner().invoke(app, ["--config", str(self.path / "flx.toml"), *args],
                                    env=self.env)
        self.outputs.append(result.output)
        if result.exception is not None and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result

    def run(self, operation: str, *args: str,
            transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
        """`flx run OPERATION --json` -> its report (with its exit code)."""
        result = self.flx("run", operation, "--connection", CONNECTION, "--json", *args,
                          transport=transport)
        report: dict[str, Any] = json.loads(result.stdout[result.stdout.index("{"):])
        assert report["exit_code"] == result.exit_code
        return report

    def store(self) -> Store:
        return Store(f"sqlite:///{self.path / 'flx.db'}")

    def statuses(self, operation: str) -> dict[str, str]:
        """Each stored record of the operation's kind -> its sync status ("" if never tried)."""
        kind = self.plugins.operations[operation].kind
        with self.store() as store:
            ids = [str(r["id"]) for r in store.iter_records(kind)]
            states = {s.record_id: s.status for s in store.iter_sync(CONNECTION, operation)}
        return {i: states.get(i, "") for i in ids}

    def stored_text(self) -> str:
        """Every value in every table of the store, as text."""
        with sqlite3.connect(self.path / "flx.db") as db:
            tables = [r[0] for r in db.execute("SELECT name FROM sqlite_master "
                                               "WHERE type = 'table'")]
            return "\n".join(repr(row) for t in tables
                             for row in db.execute(f'SELECT * FROM "{t}"'))


class ConnectorSuite:
    """Subclass it (as `Test...`) to run the standard connector tests on yours."""

    plugin: ClassVar[Any]
    connector: ClassVar[str]

    # --- what the subclass provides ------------------------------------------------------------

    def settings(self) -> dict[str, Any]:
        """The connection's keys in flx.toml; secret ones (x-secret) as their real values, which
        the suite moves into environment variables."""
        raise NotImplementedError

    def transport(self) -> httpx.BaseTransport:
        """A fresh remote for one test (an emulator, or an httpx.MockTransport)."""
        raise NotImplementedError

    def records(self) -> dict[str, list[dict[str, Any]]]:
        """An import document ({"orders": [...], "shipments": [...], ...}) whose records
        all go through."""
        raise NotImplementedError

    def operation_settings(self, operation: str) -> dict[str, Any]:
        """Keys of [connections.NAME.operations.OPERATION] (a mapping profile, say)."""
        return {}

    def duplicates(self) -> int:
        """How many records the remote holds (or was asked to create) twice, if it can tell."""
        return 0

    def failures(self) -> dict[str, httpx.BaseTransport]:
        """Broken remotes every error of which must have a class and a fix."""
        return {"credentials refused": answering(401), "outage": answering(503),
                "unreachable": unreachable()}

    # --- the workspace -------------------------------------------------------------------------

    @pytest.fixture
    def flx_world(self, tmp_path: Path) -> Iterator[World]:
        plugins = build_plugins(self.plugin, autoload=False)
        connector = plugins.connector(self.connector)
        settings = self.settings()
        env, lines = {}, ["[store]", f'url = "sqlite:///{tmp_path / "flx.db"}"', "",
                          f"[connections.{CONNECTION}]", f"plugin = {toml_value(self.connector)}"]
        for key, value in settings.items():
            if key in connector.secret_keys:
                variable = f"FLX_SUITE_{key.upper()}"
                env[variable] = str(value)
                value = f"${{{variable}}}"
            lines.append(f"{key} = {toml_value(value)}")
        for operation in connector.operations:
            lines += ["", f"[connections.{CONNECTION}.operations.{operation}]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in
                      self.operation_settings(operation).items()]
        (tmp_path / "flx.toml").write_text("\n".join(lines) + "\n")
        (tmp_path / "flx.toml").chmod(0o600)
        (tmp_path / "records.json").write_text(json.dumps(self.records()))
        secrets = [env[f"FLX_SUITE_{k.upper()}"] for k in connector.secret_keys
                   if f"FLX_SUITE_{k.upper()}" in env]
        world = World(tmp_path, plugins, connector, Remote(self.transport()), env, secrets,
                      tuple(connector.operations))
        imported = world.flx("import", str(tmp_path / "records.json"))
        assert imported.exit_code == 0, imported.output
        yield world
        world.remote.inner.close()

    def send_all(self, world: World, *args: str) -> list[dict[str, Any]]:
        return [world.run(op, *args) for op in world.operations]

    # --- the tests -------------------------------------------------------------------------------

    def test_registers(self) -> None:
        plugins = build_plugins(self.plugin, autoload=False)
        connector = plugins.connector(self.connector)
        assert isinstance(connector, Connector) and connector.plugin_name
        assert connector.operations, "the connector provides no operation"
        for method in ("send", "render", "check"):
            assert getattr(type(connector), method) is not getattr(Connector, method), \
                f"{self.connector} does not implement Connector.{method}"

    def test_conforms(self) -> None:
        assert check_connector(build_plugins(self.plugin, autoload=False)
                               .connector(self.connector)) == []

    def test_connection_test_passes_and_writes_nothing(self, flx_world: World) -> None:
        result = flx_world.flx("connections", "test", CONNECTION, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ok"] is True
        assert flx_world.remote.writes() == []

    def test_dry_run_sends_nothing(self, flx_world: World) -> None:
        reports = self.send_all(flx_world, "--dry-run")
        assert reports[0]["counts"]["dry_run"] > 0, "the dry run handled no record"
        assert all(r["exit_code"] == 0 for r in reports), [r["rows"] for r in reports]
        assert flx_world.remote.writes() == []
        with flx_world.store() as store:
            assert store.audit_entries(connection=CONNECTION) == []
        for operation in flx_world.operations:
            assert not set(flx_world.statuses(operation).values()) & set(DONE)

    def test_render_previews_without_writing(self, flx_world: World) -> None:
        operation = flx_world.operations[0]
        record_id = next(iter(flx_world.statuses(operation)))
        result = flx_world.flx("render", operation, "--connection", CONNECTION,
                               "--id", record_id, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout), "render returned no payload"
        assert flx_world.remote.writes() == []

    def test_rerun_sends_nothing_twice(self, flx_world: World) -> None:
        first = self.send_all(flx_world)
        assert [r["exit_code"] for r in first] == [0] * len(first), [r["rows"] for r in first]
        for operation in flx_world.operations:
            statuses = flx_world.statuses(operation)
            assert statuses and set(statuses.values()) <= set(DONE), (operation, statuses)
        writes = len(flx_world.remote.writes())
        assert writes > 0
        again = self.send_all(flx_world)
        assert [r["counts"]["sent"] for r in again] == [0] * len(again)
        assert len(flx_world.remote.writes()) == writes, flx_world.remote.writes()[writes:]
        assert self.duplicates() == 0

    def test_killed_run_recovers(self, flx_world: World) -> None:
        flx_world.remote.kill_after = 1  # the second write is applied, then the process dies
        with pytest.raises(Killed):
            self.send_all(flx_world)
        flx_world.remote.kill_after, flx_world.remote.killed = None, False
        reports = self.send_all(flx_world)
        assert [r["exit_code"] for r in reports] == [0] * len(reports), \
            [r["rows"] for r in reports]
        for operation in flx_world.operations:
            statuses = flx_world.statuses(operation)
            assert set(statuses.values()) <= set(DONE), (operation, statuses)
        assert self.duplicates() == 0

    def test_secrets_never_printed(self, flx_world: World,
                                   caplog: pytest.LogCaptureFixture) -> None:
        assert flx_world.secrets, f"{self.connector} declares no x-secret setting"
        assert all(len(s) >= 8 for s in flx_world.secrets), \
            "use secrets of 8 characters or more"
        caplog.set_level(logging.DEBUG)
        self.send_all(flx_world, "--dry-run")
        for transport in self.failures().values():  # error paths print the most
            flx_world.run(flx_world.operations[0], transport=transport)
            flx_world.flx("connections", "test", CONNECTION, transport=transport)
            flx_world.flx("errors")
            flx_world.flx("retry", "--all")
        self.send_all(flx_world)
        first = next(iter(flx_world.statuses(flx_world.operations[0])))
        for args in (("connections", "list"), ("connections", "test", CONNECTION),
                     ("status",), ("runs",), ("show", first)):
            flx_world.flx(*args)
        seen = "\n".join([*flx_world.outputs, caplog.text, flx_world.stored_text()])
        for secret in flx_world.secrets:
            assert secret not in seen, f"a secret ({secret[:3]}...) was printed or stored"

    def test_errors_have_class_and_fix(self, flx_world: World) -> None:
        for what, transport in self.failures().items():
            report = flx_world.run(flx_world.operations[0], transport=transport)
            assert report["exit_code"] in (1, 3), (what, report)
            if report["aborted"]:
                assert report["aborted_class"] in ERROR_CLASSES, (what, report["aborted"])
                assert report["aborted_class"] not in VAGUE_CLASSES, (what, report["aborted"])
            for row in report["rows"]:
                if row["status"] != "failed":
                    continue
                cls = row["error_class"]
                assert cls in ERROR_CLASSES and cls not in VAGUE_CLASSES, (what, row)
                assert row["hint"] or DEFAULT_HINTS.get(cls), (what, row)
            checked = flx_world.flx("connections", "test", CONNECTION, "--json",
                                    transport=transport)
            assert checked.exit_code == 1, (what, checked.output)
            for check in json.loads(checked.stdout)["checks"]:
                assert check["ok"] or re.search(r"\w", check["fix"]), (what, check)
            flx_world.flx("retry", "--all")  # the next broken remote meets the records afresh
