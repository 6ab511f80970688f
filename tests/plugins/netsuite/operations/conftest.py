"""A NetSuite workspace for operation tests: the emulator (in-process, real signatures), a
flx.toml pointing at it, and `flx` run through the real typer app, as a user would."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx_netsuite.emulator import Emulator, EmulatorTransport, FaultPlan
from flx_netsuite.governance import RetryPolicy

OPERATIONS = ("send-orders", "send-shipments", "send-vendor-bills")


def demo_data() -> dict[str, Any]:
    text = resources.files("flx_netsuite").joinpath("data/demo.json").read_text()
    return json.loads(text)


@dataclass
class Workspace:
    """One test's flx workspace. `flx(...)` runs a command and returns (exit code, output)."""

    path: Path
    emulator: Emulator
    monkeypatch: pytest.MonkeyPatch
    profile: dict[str, Any]
    operation_settings: dict[str, dict[str, Any]] = field(default_factory=dict)
    concurrency: int = 5

    def write_config(self) -> Path:
        env = self.emulator.credential_env()
        for name, value in env.items():
            self.monkeypatch.setenv(name, value)
        profile_path = self.path / "profile.json"
        profile_path.write_text(json.dumps(self.profile, indent=1))
        names = list(env)
        lines = [
            '[store]', 'url = "sqlite:///flx.db"', '',
            '[connections.ns]', 'plugin = "netsuite"', 'account_id = "1234567_SB1"',
            f'client_id = "${{{names[0]}}}"', f'client_secret = "${{{names[1]}}}"',
            f'token_id = "${{{names[2]}}}"', f'token_secret = "${{{names[3]}}}"',
            f'concurrency = {self.concurrency}',
            'base_url = "https://1234567-sb1.suitetalk.api.netsuite.com"', '',
        ]
        for op in OPERATIONS:
            lines.append(f"[connections.ns.operations.{op}]")
            settings = {"mapping": str(profile_path), **self.operation_settings.get(op, {})}
            for key, value in settings.items():
                lines.append(f"{key} = {json.dumps(value)}")
            lines.append("")
        config = self.path / "flx.toml"
        config.write_text("\n".join(lines))
        return config

    def import_records(self, **kinds: list[dict[str, Any]]) -> tuple[int, str]:
        data = self.path / f"data-{len(list(self.path.glob('data-*.json')))}.json"
        data.write_text(json.dumps(kinds))
        return self.flx("import", str(data))

    def flx(self, *args: str, transport: Any = None) -> tuple[int, str]:
        config = self.write_config()
        app = build_app(transport=transport or EmulatorTransport(self.emulator))
        result = CliRunner().invoke(app, ["--config", str(config), *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def run(self, operation: str, *args: str, transport: Any = None) -> dict[str, Any]:
        """`flx run OPERATION --connection ns --json ...` → the JSON report."""
        code, output = self.flx("run", operation, "--connection", "ns", "--json", *args,
                                transport=transport)
        report = json.loads(output[output.index("{"):])
        report["exit_code"] = code
        return report

    def run_until_sent(self, operation: str, ids: list[str], rounds: int = 10) -> dict[str, str]:
        """Run `operation` (re-queueing failures with `flx retry --all`) until every id is
        sent or the rounds are used up; returns each record's last status."""
        statuses: dict[str, str] = {}
        for _ in range(rounds):
            report = self.run(operation)
            statuses.update({rid: row["status"] for rid, row in self.rows(report).items()})
            if all(statuses.get(rid) == "sent" for rid in ids):
                break
            self.flx("retry", "--all")
        return statuses

    def import_and_run(self, operation: str, exit_code: int,
                       **records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        """Import the records, run `operation` and check its exit code; the report's rows."""
        code, output = self.import_records(**records)
        assert code == 0, output
        report = self.run(operation)
        assert report["exit_code"] == exit_code, json.dumps(report, indent=1, default=str)
        return self.rows(report)

    def rows(self, report: dict[str, Any]) -> dict[str, dict[str, Any]]:
        return {row["record_id"]: row for row in report["rows"]}

    def records(self, record_type: str) -> list[dict[str, Any]]:
        return self.emulator.records(record_type)

    def by_external_id(self, record_type: str, external_id: str) -> dict[str, Any]:
        found = [r for r in self.records(record_type) if r.get("externalId") == external_id]
        assert len(found) == 1, f"{record_type} {external_id}: {len(found)} records"
        return found[0]


@pytest.fixture
def demo_profile() -> dict[str, Any]:
    text = resources.files("flx_netsuite.mappings").joinpath("demo.json").read_text()
    return json.loads(text)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
              demo_profile: dict[str, Any]) -> Iterator[Workspace]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLX_CONFIG", raising=False)
    monkeypatch.setenv("FLX_DISABLE_PLUGIN_AUTOLOAD", "")
    yield Workspace(tmp_path, Emulator(), monkeypatch, copy.deepcopy(demo_profile))


@pytest.fixture
def data() -> dict[str, Any]:
    return demo_data()


@pytest.fixture
def fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    """Backoff without the wait, so fault tests take milliseconds."""
    original = RetryPolicy.__init__

    def no_wait(self: RetryPolicy, **kwargs: Any) -> None:
        kwargs["sleep"] = lambda seconds: None
        original(self, **kwargs)

    monkeypatch.setattr(RetryPolicy, "__init__", no_wait)



__all__ = ["FaultPlan", "Workspace"]
