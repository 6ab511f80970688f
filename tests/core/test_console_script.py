"""The installed `flx` console script, as a user runs it: entry-point discovery of the
NetSuite plugin, FLX_PLUGINS for a local plugin, and a real run against the emulator over a
loopback socket — no in-process shortcuts."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from importlib import resources
from pathlib import Path

import pytest

from flx_netsuite.demo import demo_config
from flx_netsuite.emulator import Emulator, run_server

FLX = Path(sys.executable).with_name("flx")
ROOT = Path(__file__).resolve().parents[2]  # the checkout (tests/core/..)

pytestmark = pytest.mark.skipif(not FLX.exists(), reason=f"no console script at {FLX}")


def flx(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full = {**os.environ, **(env or {}), "COLUMNS": "160"}
    full.pop("FLX_CONFIG", None)
    return subprocess.run([str(FLX), *args], cwd=cwd, env=full, capture_output=True, text=True,
                          timeout=120, check=False)


@pytest.fixture
def account() -> Iterator[tuple[str, Emulator]]:
    emulator = Emulator()
    with run_server(emulator) as base_url:
        yield base_url, emulator


def test_help_plugins_and_init(tmp_path: Path) -> None:
    result = flx("--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "run" in result.stdout and "import" in result.stdout

    result = flx("plugins", "--json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    connectors = {p["connector"] for p in json.loads(result.stdout)["plugins"]}
    assert "netsuite" in connectors  # found through the "flx" entry-point group

    result = flx("plugins", "--json", cwd=tmp_path,
                 env={"FLX_PLUGINS": "tests.fake_plugin.plugin", "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stderr
    connectors = {p["connector"] for p in json.loads(result.stdout)["plugins"]}
    assert {"netsuite", "fakebooks"} <= connectors

    result = flx("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "flx.toml").stat().st_mode & 0o777 == 0o600
    result = flx("connections", "list", cwd=tmp_path)
    assert result.returncode == 0, result.stderr + result.stdout


def test_unknown_command_is_a_usage_error(tmp_path: Path) -> None:
    assert flx("sned-orders", cwd=tmp_path).returncode == 2


def test_import_and_run_against_the_emulator_over_a_socket(
        tmp_path: Path, account: tuple[str, Emulator]) -> None:
    base_url, emulator = account
    env = emulator.credential_env()
    (tmp_path / "flx.toml").write_text(demo_config(base_url, env))
    data = resources.files("flx_netsuite").joinpath("data/demo.json").read_text()
    (tmp_path / "data.json").write_text(data)

    result = flx("import", "data.json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr

    result = flx("run", "send-orders", "--connection", "demo", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 3, result.stderr  # the sample's one bad order
    report = json.loads(result.stdout)
    assert report["counts"]["sent"] == 3 and report["counts"]["failed"] == 1
    assert len(emulator.records("salesOrder")) == 3
    for secret in env.values():
        assert secret not in result.stdout + result.stderr

    result = flx("run", "send-shipments", "--connection", "demo", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(emulator.records("itemFulfillment")) == 3


def flx_unread(*args: str, cwd: Path, env: dict[str, str] | None = None) -> tuple[int, str]:
    """Run flx with a stdout nobody reads (`flx status | head -0`): the read end is closed
    before flx can write. Returns (exit code, stderr)."""
    full = {**os.environ, **(env or {})}
    full.pop("FLX_CONFIG", None)
    proc = subprocess.Popen([str(FLX), *args], cwd=cwd, env=full, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    proc.stdout.close()
    err = proc.stderr.read().decode()
    proc.stderr.close()
    return proc.wait(timeout=120), err


def test_a_reader_that_goes_away_ends_flx_quietly(
        tmp_path: Path, account: tuple[str, Emulator]) -> None:
    assert flx_unread("init", cwd=tmp_path) == (0, "")
    for args in (["status"], ["plugins"], ["connections", "list"], ["init", "--force"]):
        assert flx_unread(*args, cwd=tmp_path) == (0, ""), args

    # The command's own outcome is kept: a run with a failed record still exits 3.
    base_url, emulator = account
    env = emulator.credential_env()
    (tmp_path / "flx.toml").write_text(demo_config(base_url, env))
    data = resources.files("flx_netsuite").joinpath("data/demo.json").read_text()
    (tmp_path / "data.json").write_text(data)
    assert flx_unread("import", "data.json", cwd=tmp_path, env=env) == (0, "")
    assert flx_unread("run", "send-orders", "-c", "demo", cwd=tmp_path, env=env) == (3, "")
    assert len(emulator.records("salesOrder")) == 3
