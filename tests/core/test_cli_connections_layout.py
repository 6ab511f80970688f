"""`flx connections list | test` as read at 80 columns and on a terminal that is not UTF-8:
nothing a user debugs with is cut, wrapped lines stay under their check, and ASCII marks
instead of a UnicodeEncodeError."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.connector import Connector
from flx.model import CheckResult
from flx.plugins import build_plugins, hookimpl

SECRET = "tok-secret-value-123"
BASE_URL = "http://127.0.0.1:8765/services/rest/a-long-path-for-a-proxy"
SCHEMA = {
    "type": "object",
    "required": ["account_id", "token_secret"],
    "properties": {
        "account_id": {"type": "string"},
        "base_url": {"type": "string"},
        "concurrency": {"type": "integer", "default": 5},
        "token_secret": {"type": "string", "x-secret": True},
    },
}
DETAIL = ("the account refused the credentials on POST /services/rest/query/v1/suiteql "
          "(token_rejected): Invalid login attempt. For more details, see the Login Audit "
          "Trail — Setup > Users/Roles > User Management")
FIX = ("open the Login Audit Trail in the accounting system: its Detail column gives the real "
       "reason; then check that account_id is the account and that the four token values "
       "belong to the same integration record")


class LongBooksConnector(Connector):
    """A connector whose failed check has a detail and a fix longer than a line."""

    def check(self, runtime):
        connection = runtime.connection
        ok = connection.settings["account_id"] != "denied"
        return [
            CheckResult("settings", True, f"account {connection.settings['account_id']}, "
                        f"endpoint {connection.settings.get('base_url')}"),
            CheckResult("login (token-based authentication, REST web services)", ok,
                        "accepted" if ok else DETAIL, "" if ok else FIX),
        ]


class LongBooks:
    @hookimpl
    def register_connectors(self, register):
        register(LongBooksConnector(
            name="longbooks", connection_schema=SCHEMA,
            operations=("send-orders", "send-shipments", "send-vendor-bills")))


@pytest.fixture
def app():
    return build_app(build_plugins(LongBooks(), autoload=False))


@pytest.fixture
def cfg(tmp_path: Path) -> Path:
    path = tmp_path / "flx.toml"
    path.write_text(f"""
[connections.prod]
plugin = "longbooks"
account_id = "1234567_SB1"
base_url = "{BASE_URL}"
token_secret = "${{FB_TOKEN}}"
[connections.prod.operations.send-orders]
[connections.prod.operations.send-shipments]
[connections.prod.operations.send-vendor-bills]

[connections.sandbox]
plugin = "longbooks"
account_id = "denied"
token_secret = "${{SB_TOKEN_SECRET}}"
[connections.sandbox.operations.send-orders]
[connections.sandbox.operations.send-vendor-bills]
enabled = false
""")
    os.chmod(path, 0o600)
    return path


def invoke(app, cfg: Path, *args: str, charset: str = "utf-8", **env: str | None):
    return CliRunner(charset=charset).invoke(
        app, ["--config", str(cfg), *args],
        env={"COLUMNS": "80", "FB_TOKEN": SECRET, "SB_TOKEN_SECRET": SECRET, **env})


def blocks(text: str) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for block in text.strip().split("\n\n"):
        head, *rest = block.splitlines()
        found[head.split()[0]] = rest
    return found


def test_list_shows_each_connection_as_a_block_with_nothing_cut(app, cfg: Path) -> None:
    result = invoke(app, cfg, "connections", "list", SB_TOKEN_SECRET=None)
    assert result.exit_code == 0, result.output
    assert "…" not in result.stdout
    found = blocks(result.stdout)
    assert result.stdout.startswith("prod  (plugin longbooks)\n")
    assert found["prod"] == [
        "  operations: send-orders, send-shipments, send-vendor-bills",
        "  concurrency = 5",
        "  account_id = 1234567_SB1",
        f"  base_url = {BASE_URL}",  # whole, to copy, even past 80 columns
        "  token_secret = ********",
    ]
    assert found["sandbox"] == [
        "  not set: SB_TOKEN_SECRET; commands that use sandbox refuse to run until it is",
        "    exported (other connections still run)",
        "  operations: send-orders (disabled: send-vendor-bills)",
        "  concurrency = 5",
        "  account_id = denied",
        "  token_secret = (not set: SB_TOKEN_SECRET)",
    ]
    for line in result.stdout.splitlines():
        assert len(line) <= 80 or BASE_URL in line, line
    assert SECRET not in result.output


def test_list_json_is_unchanged(app, cfg: Path) -> None:
    result = invoke(app, cfg, "connections", "list", "--json", SB_TOKEN_SECRET=None)
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["connections"]}
    assert set(rows["prod"]) == {"name", "plugin", "settings", "operations",
                                 "enabled_operations", "missing_env"}
    assert rows["prod"]["settings"]["base_url"] == BASE_URL
    assert rows["sandbox"]["settings"]["token_secret"] is None
    assert rows["sandbox"]["missing_env"] == [
        "connections.sandbox.token_secret: environment variable SB_TOKEN_SECRET is not set"]


def test_wrapped_check_lines_stay_under_their_check(app, cfg: Path) -> None:
    result = invoke(app, cfg, "connections", "test", "sandbox")
    assert result.exit_code == 1, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == "connection sandbox"
    assert lines[1].startswith("  ✓ settings  account denied")
    assert lines[2].startswith("  ✗ login (token-based authentication, REST web services)  ")
    fix = next(i for i, line in enumerate(lines) if line.startswith("    fix: open the Login"))
    detail = lines[3:fix]
    assert detail and all(line.startswith("    ") and line[4] != " " for line in detail)
    end = next(i for i, line in enumerate(lines) if i > fix and line.startswith("  ✓"))
    fix_lines = lines[fix + 1:end]
    assert fix_lines and all(line.startswith("         ") for line in fix_lines)  # under "fix: "
    assert lines[-1].startswith("1 of ") and lines[-1].endswith(" checks failed")
    assert all(len(line) <= 80 for line in lines)
    # the words survive the wrapping, in order
    assert " ".join(" ".join(lines[2:fix]).split()).endswith(" ".join(DETAIL.split()))
    assert " ".join(" ".join(lines[fix:end]).split()) == f"fix: {FIX}"

    result = invoke(app, cfg, "connections", "test", "sandbox", "--json")
    assert json.loads(result.stdout)["checks"][1] == {
        "name": "login (token-based authentication, REST web services)", "ok": False,
        "detail": DETAIL, "fix": FIX}


def test_an_ascii_terminal_gets_ascii_marks_not_a_crash(app, cfg: Path) -> None:
    result = invoke(app, cfg, "connections", "test", "prod", charset="ascii")
    assert result.exit_code == 0, result.output
    assert "UnicodeEncodeError" not in result.output
    assert "  ok   settings  account 1234567_SB1" in result.stdout
    assert "checks passed" in result.stdout

    result = invoke(app, cfg, "connections", "test", "sandbox", charset="ascii")
    assert result.exit_code == 1, result.output
    assert "  FAIL login (token-based authentication" in result.stdout
    assert "Trail - Setup > Users/Roles" in result.stdout  # the dash, said in ASCII
    assert "       fix: open the Login Audit Trail" in result.stdout
    result.stdout.encode("ascii")

    result = invoke(app, cfg, "connections", "list", charset="ascii")
    assert result.exit_code == 0, result.output
    assert f"  base_url = {BASE_URL}" in result.stdout


FLX = Path(sys.executable).with_name("flx")


@pytest.mark.skipif(not FLX.exists(), reason=f"no console script at {FLX}")
def test_the_installed_command_on_an_ascii_terminal(tmp_path: Path) -> None:
    # As reported: PYTHONIOENCODING=ascii flx connections test prod, against the emulator.
    from flx_netsuite.demo import demo_config
    from flx_netsuite.emulator import Emulator, run_server

    emulator = Emulator()
    with run_server(emulator) as base_url:
        env = {**os.environ, **emulator.credential_env(), "COLUMNS": "80",
               "PYTHONIOENCODING": "ascii"}
        env.pop("FLX_CONFIG", None)
        (tmp_path / "flx.toml").write_text(demo_config(base_url, emulator.credential_env()))
        result = subprocess.run([str(FLX), "connections", "test", "demo"], cwd=tmp_path,
                                env=env, capture_output=True, text=True, timeout=120,
                                check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "UnicodeEncodeError" not in result.stderr
    assert "  ok   settings  account 1234567_SB1" in result.stdout
    assert "checks passed" in result.stdout
