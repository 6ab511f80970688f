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
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest

from flx.connector import Connector
from flx.errors import ERROR_CLASSES
from flx.plugins import build_plugins
from flx.run.hints import DEFAULT_HINTS
from flx.testing.conformance import check_connector
from flx.testing.remote import (
    VAGUE_CLASSES,
    Killed,
    Remote,
    Workspace,
    broken_remotes,
    settings_lines,
    toml_value,
)

CONNECTION = "suite"
DONE = ("sent", "linked")


@dataclass
class World(Workspace):
    """One test's flx workspace for a connector: its connection is `[connections.suite]`."""

    connector: Connector | None = None
    operations: tuple[str, ...] = ()

    def run(self, operation: str, *args: str,
            transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
        """`flx run OPERATION --json` -> its report (with its exit code)."""
        return self.json("run", operation, "--connection", CONNECTION, *args,
                         transport=transport)

    def statuses(self, operation: str) -> dict[str, str]:
        """Each stored record of the operation's kind -> its sync status ("" if never tried)."""
        kind = self.plugins.operations[operation].kind
        with self.store() as store:
            ids = [str(r["id"]) for r in store.iter_records(kind)]
            states = {s.record_id: s.status for s in store.iter_sync(CONNECTION, operation)}
        return {i: states.get(i, "") for i in ids}


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
        return broken_remotes()

    # --- the workspace -------------------------------------------------------------------------

    @pytest.fixture
    def flx_world(self, tmp_path: Path) -> Iterator[World]:
        plugins = build_plugins(self.plugin, autoload=False)
        connector = plugins.connector(self.connector)
        env: dict[str, str] = {}
        lines = ["[store]", f'url = "sqlite:///{tmp_path / "flx.db"}"', "",
                 f"[connections.{CONNECTION}]", f"plugin = {toml_value(self.connector)}",
                 *settings_lines(self.settings(), connector.secret_keys, env)]
        for operation in connector.operations:
            lines += ["", f"[connections.{CONNECTION}.operations.{operation}]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in
                      self.operation_settings(operation).items()]
        (tmp_path / "flx.toml").write_text("\n".join(lines) + "\n")
        (tmp_path / "flx.toml").chmod(0o600)
        (tmp_path / "records.json").write_text(json.dumps(self.records()))
        world = World(tmp_path, plugins, Remote(self.transport()), env, list(env.values()),
                      connector=connector, operations=tuple(connector.operations))
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
        flx_world.remote.revive()
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
        flx_world.assert_no_secret_leaked("\n".join([*flx_world.outputs, caplog.text]),
                                          f"connection:{CONNECTION}")

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
