"""The standard tests every source must pass, as a pytest class its package subclasses:

    from flx.testing import SourceSuite

    class TestMyShop(SourceSuite):
        plugin = my_shop.plugin           # the module (or object) with the hookimpls
        source = "myshop"                 # the name it registers

        def settings(self): ...           # [sources.NAME] keys, secrets as plain values
        def transport(self): ...          # a fresh remote (httpx transport) for each test

The remote must hold records for at least two pages (a pull that makes one request cannot
be killed half-way). Every test runs `flx pull` through the real CLI against it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import httpx
import pytest
from jsonschema import Draft202012Validator

from flx.errors import ERROR_CLASSES
from flx.plugins import build_plugins
from flx.source import Source
from flx.testing.remote import (
    VAGUE_CLASSES,
    Killed,
    Remote,
    Workspace,
    broken_remotes,
    settings_lines,
    toml_value,
)

SOURCE = "suite"


class SourceWorld(Workspace):
    """One test's flx workspace for a source: `[sources.suite]`, nothing else."""

    def pull(self, *args: str, transport: httpx.BaseTransport | None = None) -> dict[str, Any]:
        """`flx pull suite --json` -> the source's pull report (with the exit code)."""
        data = self.json("pull", SOURCE, *args, transport=transport)
        [report] = data["pulls"]
        assert report["exit_code"] == data["exit_code"]
        return dict(report)

    def stored(self) -> dict[str, set[str]]:
        """Record kind -> the ids the store holds."""
        with self.store() as store:
            return {kind: {str(r["id"]) for r in store.iter_records(kind)}
                    for kind in self.plugins.operations.kinds()}


def new_records(report: dict[str, Any]) -> int:
    return sum(row["inserted"] + row["updated"] for row in report["kinds"].values())


class SourceSuite:
    """Subclass it (as `Test...`) to run the standard source tests on yours."""

    plugin: ClassVar[Any]
    source: ClassVar[str]

    def settings(self) -> dict[str, Any]:
        """The keys of [sources.NAME]; secret ones (x-secret) as their real values, which the
        suite moves into environment variables."""
        raise NotImplementedError

    def transport(self) -> httpx.BaseTransport:
        """A fresh remote for one test, holding records for two pages or more."""
        raise NotImplementedError

    def failures(self) -> dict[str, httpx.BaseTransport]:
        """Broken remotes every error of which must have a class and a fix."""
        return broken_remotes()

    @pytest.fixture
    def source_world(self, tmp_path: Path) -> Iterator[SourceWorld]:
        plugins = build_plugins(self.plugin, autoload=False)
        source = plugins.sources[self.source]
        env: dict[str, str] = {}
        lines = ["[store]", f'url = "sqlite:///{tmp_path / "flx.db"}"', "",
                 f"[sources.{SOURCE}]", f"plugin = {toml_value(self.source)}",
                 *settings_lines(self.settings(), source.secret_keys, env)]
        (tmp_path / "flx.toml").write_text("\n".join(lines) + "\n")
        (tmp_path / "flx.toml").chmod(0o600)
        world = SourceWorld(tmp_path, plugins, Remote(self.transport()), env,
                            list(env.values()))
        yield world
        world.remote.inner.close()

    # --- the tests -------------------------------------------------------------------------------

    def test_registers(self) -> None:
        source = build_plugins(self.plugin, autoload=False).sources[self.source]
        assert isinstance(source, Source) and source.plugin_name
        assert type(source).pull is not Source.pull, f"{self.source} does not implement pull"

    def test_settings_schema_is_valid(self) -> None:
        source = build_plugins(self.plugin, autoload=False).sources[self.source]
        Draft202012Validator.check_schema(dict(source.settings_schema))
        props = source.settings_schema.get("properties", {})
        for key in source.secret_keys:
            assert props[key].get("type") == "string", f"secret {key!r} must be a string"

    def test_pull_stores_the_records_and_a_repull_adds_nothing(
            self, source_world: SourceWorld) -> None:
        first = source_world.pull()
        assert first["exit_code"] == 0, first
        assert first["pages"] >= 2, "give the remote records for two pages or more"
        stored = source_world.stored()
        assert sum(map(len, stored.values())) == first["records"] > 0
        again = source_world.pull()
        assert again["exit_code"] == 0 and new_records(again) == 0, again
        everything = source_world.pull("--full")
        assert everything["exit_code"] == 0 and new_records(everything) == 0, everything
        assert source_world.stored() == stored

    def test_dry_run_stores_nothing_and_writes_nothing(self, source_world: SourceWorld) -> None:
        report = source_world.pull("--dry-run")
        assert report["exit_code"] == 0 and report["records"] > 0, report
        assert source_world.stored() == {k: set() for k in source_world.stored()}
        assert source_world.remote.writes() == []
        with source_world.store() as store:
            assert store.source_cursor(SOURCE) is None

    def test_killed_pull_resumes_without_a_gap(self, source_world: SourceWorld) -> None:
        source_world.remote.kill_after_requests = 1  # dies as the second page is answered
        with pytest.raises(Killed):
            source_world.pull()
        partial = source_world.stored()
        source_world.remote.revive()
        resumed = source_world.pull()
        assert resumed["exit_code"] == 0, resumed
        everything = source_world.pull("--full")
        assert new_records(everything) == 0, "the resumed pull skipped records"
        assert all(partial[k] <= ids for k, ids in source_world.stored().items())

    def test_secrets_never_printed(self, source_world: SourceWorld,
                                   caplog: pytest.LogCaptureFixture) -> None:
        assert source_world.secrets, f"{self.source} declares no x-secret setting"
        assert all(len(s) >= 8 for s in source_world.secrets), \
            "use secrets of 8 characters or more"
        caplog.set_level(logging.DEBUG)
        source_world.pull("--dry-run")
        for transport in self.failures().values():
            source_world.pull(transport=transport)
            source_world.flx("pull", SOURCE, transport=transport)
        source_world.pull()
        source_world.flx("pull", SOURCE)
        source_world.flx("status")
        source_world.assert_no_secret_leaked(
            "\n".join([*source_world.outputs, caplog.text]), f"source:{SOURCE}")

    def test_errors_have_class_and_fix(self, source_world: SourceWorld) -> None:
        for what, transport in self.failures().items():
            report = source_world.pull(transport=transport)
            assert report["exit_code"] == 1 and report["status"] == "aborted", (what, report)
            error = report["error"] or {}
            assert error.get("class") in ERROR_CLASSES, (what, error)
            assert error["class"] not in VAGUE_CLASSES, (what, error)
            assert error.get("hint"), (what, error)
