"""`flx init`: a starter file that loads, is private, and never overwrites by accident."""

import os
import stat
import tomllib

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.config.load import load_config
from flx.connector import Connector
from flx.plugins import build_plugins, hookimpl

SCHEMA = {
    "type": "object",
    "required": ["account_id", "token_secret"],
    "additionalProperties": False,
    "properties": {
        "account_id": {"type": "string", "pattern": "^[0-9]+(_SB[0-9]+)?$",
                       "description": "The account id.", "examples": ["1234567"]},
        "token_secret": {"type": "string", "x-secret": True, "description": "Token secret."},
        "client_secret": {"type": "string", "x-secret": True},
        "concurrency": {"type": "integer", "default": 5},
        "base_url": {"type": "string"},
    },
}


def connector_plugin(*names, extra=None):
    class Plugin:
        @hookimpl
        def register_connectors(self, register):
            for name in names:
                register(Connector(name=name, connection_schema=SCHEMA,
                                   operations=("send-orders", "send-shipments"),
                                   extra=dict((extra or {}).get(name, {}))))
    return Plugin()


@pytest.fixture
def runner():
    return CliRunner()


def init(runner, plugins, path, *args):
    app = build_app(plugins)
    return runner.invoke(app, ["--config", str(path), "init", *args])


def test_init_writes_a_private_file_that_loads(runner, tmp_path):
    plugins = build_plugins(connector_plugin("fakebooks"), autoload=False)
    path = tmp_path / "flx.toml"
    result = init(runner, plugins, path)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert "export FAKEBOOKS_TOKEN_SECRET=..." in result.stdout
    text = path.read_text()
    assert 'token_secret = "${FAKEBOOKS_TOKEN_SECRET}"' in text
    assert "# client_secret =" in text  # optional secret: commented out, still a ${VAR}
    assert "# concurrency = 5" in text and "# The account id." in text
    cfg = load_config(path, plugins=plugins, env={"FAKEBOOKS_TOKEN_SECRET": "s" * 16})
    conn = cfg.connection("prod")
    assert conn.settings["account_id"] == "1234567"
    assert cfg.operation_settings("prod", "send-orders")["mapping"] == "default"
    assert cfg.operation_settings("prod", "send-shipments") is not None


def test_init_writes_the_chosen_connector_with_its_own_variable_prefix(runner, tmp_path):
    plugins = build_plugins(connector_plugin("aaabooks", "netsuite",
                                             extra={"netsuite": {"env_prefix": "NS"}}),
                            autoload=False)
    path = tmp_path / "flx.toml"
    result = init(runner, plugins, path, "--connector", "netsuite")
    assert result.exit_code == 0, result.output
    data = tomllib.loads(path.read_text())
    assert data["connections"]["prod"]["plugin"] == "netsuite"
    assert data["connections"]["prod"]["token_secret"] == "${NS_TOKEN_SECRET}"
    assert "Other installed connectors: aaabooks" in path.read_text()


def test_init_without_connector_option_takes_the_first_installed_by_name(runner, tmp_path):
    plugins = build_plugins(connector_plugin("zedbooks", "aaabooks"), autoload=False)
    path = tmp_path / "flx.toml"
    assert init(runner, plugins, path).exit_code == 0
    data = tomllib.loads(path.read_text())
    assert data["connections"]["prod"]["plugin"] == "aaabooks"
    assert data["connections"]["prod"]["token_secret"] == "${AAABOOKS_TOKEN_SECRET}"
    result = init(runner, plugins, tmp_path / "other.toml", "--connector", "nobooks")
    assert result.exit_code == 1
    assert "no plugin provides the connector 'nobooks' (installed: aaabooks, zedbooks)" \
        in result.stderr


def test_init_without_connectors_still_writes_a_loadable_file(runner, tmp_path):
    plugins = build_plugins(autoload=False)
    path = tmp_path / "flx.toml"
    result = init(runner, plugins, path)
    assert result.exit_code == 0, result.output
    assert load_config(path, plugins=plugins, env={}).connections == {}


def test_init_refuses_to_overwrite_without_force(runner, tmp_path):
    plugins = build_plugins(connector_plugin("fakebooks"), autoload=False)
    path = tmp_path / "flx.toml"
    path.write_text("# mine\n")
    result = init(runner, plugins, path)
    assert result.exit_code == 1, result.output
    assert "already exists" in result.stderr and "--force" in result.stderr
    assert path.read_text() == "# mine\n"
    os.chmod(path, 0o644)
    result = init(runner, plugins, path, "--force")
    assert result.exit_code == 0, result.output
    assert "[connections.prod]" in path.read_text()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["flx.toml"]  # no temp file left


def test_init_writes_to_the_current_folder_by_default(runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = build_app(build_plugins(autoload=False))
    result = runner.invoke(app, ["init"], env={"FLX_CONFIG": None})
    assert result.exit_code == 0, result.output
    assert (tmp_path / "flx.toml").is_file()


def test_installed_netsuite_plugin_starter_file_loads(runner, tmp_path):
    try:
        plugins = build_plugins()
    except Exception as exc:  # the plugin is being written at the same time
        pytest.skip(f"installed plugins do not load yet: {exc}")
    if "netsuite" not in plugins.connectors:
        pytest.skip("the netsuite plugin is not installed")
    path = tmp_path / "flx.toml"
    result = init(runner, plugins, path)
    assert result.exit_code == 0, result.output
    secrets = plugins.connectors["netsuite"].secret_keys
    env = {f"NS_{key.upper()}": "x" * 40 for key in secrets}
    cfg = load_config(path, plugins=plugins, env=env)
    assert cfg.connection("prod").plugin == "netsuite"
    assert "plugin = \"\"" not in path.read_text()  # core's own keys are not repeated
