"""`flx init --emulator`: a config that works against a running emulator at once, one profile
file for every operation, and the emulator's exact reason when the account id is wrong."""

from __future__ import annotations

import json
import stat
import tomllib
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.config.load import load_config
from flx.plugins import build_plugins
from flx_netsuite.emulator import Emulator, run_server


@pytest.fixture
def emulator_url():
    with run_server(Emulator()) as base_url:
        yield base_url


def flx(path, *args, env=None):
    result = CliRunner().invoke(build_app(build_plugins()), ["--config", str(path), *args],
                                env=env)
    return result


def test_init_emulator_passes_connections_test_at_once(tmp_path, emulator_url):
    port = str(urlsplit(emulator_url).port)
    path = tmp_path / "flx.toml"
    result = flx(path, "init", "--emulator", env={"FLX_EMULATOR_PORT": port})
    assert result.exit_code == 0, result.output
    assert "flx emulator" in result.stdout and "export" not in result.stdout
    conn = tomllib.loads(path.read_text())["connections"]["prod"]
    assert conn["account_id"] == "1234567_SB1"
    assert conn["base_url"] == f"http://127.0.0.1:{port}"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # the tokens are in it, public or not

    tested = flx(path, "connections", "test", "prod")
    assert tested.exit_code == 0, tested.output
    assert "all 10 checks passed" in tested.stdout  # 7 of NetSuite's, a profile per operation
    assert "send-orders mapping profile  demo" in tested.stdout


def test_one_profile_file_serves_every_operation(tmp_path):
    path = tmp_path / "flx.toml"
    assert flx(path, "init").exit_code == 0
    profile = tmp_path / "netsuite-mapping.json"
    assert json.loads(profile.read_text())["name"] == "default"
    text = path.read_text()
    assert text.count('\nmapping = ') == 1 and 'mapping = "netsuite-mapping.json"' in text
    plugins = build_plugins()
    env = {f"NS_{k.upper()}": "x" * 40 for k in plugins.connectors["netsuite"].secret_keys}
    cfg = load_config(path, plugins=plugins, env=env)
    for op in ("send-orders", "send-shipments", "send-vendor-bills"):
        assert cfg.operation_settings("prod", op)["mapping"] == "netsuite-mapping.json"

    # The one line to change: every operation follows it.
    (tmp_path / "client.json").write_text(profile.read_text())
    path.write_text(text.replace('mapping = "netsuite-mapping.json"', 'mapping = "client.json"'))
    cfg = load_config(path, plugins=plugins, env=env)
    assert {cfg.operation_settings("prod", op)["mapping"]
            for op in ("send-orders", "send-shipments", "send-vendor-bills")} == {"client.json"}

    # A wrong path in that line is said where it is.
    path.write_text(text.replace('mapping = "netsuite-mapping.json"', 'mapping = "nope.json"'))
    result = flx(path, "status")
    assert result.exit_code == 1
    assert "connections.prod.mapping" in result.stderr and "nope.json" in result.stderr


def test_init_never_replaces_the_profile_without_force(tmp_path):
    path = tmp_path / "flx.toml"
    (tmp_path / "netsuite-mapping.json").write_text("{}")
    result = flx(path, "init")
    assert result.exit_code == 1
    assert "netsuite-mapping.json already exists" in result.stderr
    assert not path.exists()
    assert flx(path, "init", "--force").exit_code == 0
    assert json.loads((tmp_path / "netsuite-mapping.json").read_text())["name"] == "default"


def test_a_wrong_account_id_gets_the_emulators_exact_reason(tmp_path, emulator_url):
    port = str(urlsplit(emulator_url).port)
    path = tmp_path / "flx.toml"
    assert flx(path, "init", "--emulator", env={"FLX_EMULATOR_PORT": port}).exit_code == 0
    path.write_text(path.read_text().replace('"1234567_SB1"', '"1234567"'))
    result = flx(path, "connections", "test", "prod")
    assert result.exit_code == 1
    said = " ".join(result.stdout.split())
    assert "is not the emulator's account, 1234567_SB1" in said
    assert 'fix: set account_id = "1234567_SB1" in flx.toml' in said
    assert "Login Audit Trail in NetSuite (Setup" not in said  # not the generic fix
