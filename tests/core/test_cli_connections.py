"""`flx connections list | test`: what is configured, and whether it works."""

import json
import logging
import os
import re

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.connector import Connector
from flx.model import CheckResult
from flx.plugins import build_plugins, hookimpl

SECRET = "tok-secret-value-123"
SCHEMA = {
    "type": "object",
    "required": ["account_id", "token_secret"],
    "properties": {
        "account_id": {"type": "string"},
        "token_secret": {"type": "string", "x-secret": True},
    },
}


class FakeBooksConnector(Connector):
    """`account_id = "denied"` makes the permission check fail."""

    def check(self, runtime):
        connection = runtime.connection
        self.extra["stores"].append(runtime.store)
        logging.getLogger("flx.fakebooks").warning("testing with token %s",
                                                   connection.settings["token_secret"])
        denied = connection.settings["account_id"] == "denied"
        return [
            CheckResult("login", True, f"signed in with {connection.settings['token_secret']}"),
            CheckResult("read customers", not denied, "403 from the role" if denied else "",
                        "give the role 'Lists > Customers'" if denied else ""),
        ]


class FakeBooks:
    """Two connectors: fakebooks checks its connections, silentbooks has no check."""

    def __init__(self):
        self.stores = []

    @hookimpl
    def register_connectors(self, register):
        register(FakeBooksConnector(name="fakebooks", connection_schema=SCHEMA,
                                    operations=("send-orders", "send-shipments"),
                                    extra={"stores": self.stores}))
        register(Connector(name="silentbooks", connection_schema=SCHEMA,
                           operations=("send-orders",)))


@pytest.fixture
def plugin():
    return FakeBooks()


@pytest.fixture
def app(plugin):
    return build_app(build_plugins(plugin, autoload=False))


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "flx.toml"
    path.write_text("""
[connections.prod]
plugin = "fakebooks"
account_id = "123"
token_secret = "${FB_TOKEN}"
[connections.prod.operations.send-orders]
[connections.prod.operations.send-shipments]
enabled = false

[connections.locked]
plugin = "fakebooks"
account_id = "denied"
token_secret = "${FB_TOKEN}"

[connections.quiet]
plugin = "silentbooks"
account_id = "9"
token_secret = "${OTHER_TOKEN}"
""")
    os.chmod(path, 0o600)
    return path


def invoke(runner, app, cfg, *args, env=None):
    return runner.invoke(app, ["--config", str(cfg), *args],
                         env={"FB_TOKEN": SECRET, "OTHER_TOKEN": "other-secret-9", **(env or {})})


def test_list_masks_secrets_and_shows_enabled_operations(runner, app, cfg):
    result = invoke(runner, app, cfg, "connections", "list")
    assert result.exit_code == 0, result.output
    assert SECRET not in result.output and "other-secret-9" not in result.output
    assert "token_secret = ********" in result.stdout
    assert "account_id = 123" in result.stdout

    result = invoke(runner, app, cfg, "connections", "list", "--json")
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["connections"]}
    assert rows["prod"]["settings"] == {"account_id": "123", "token_secret": "********"}
    assert rows["prod"]["enabled_operations"] == ["send-orders"]
    assert rows["locked"]["enabled_operations"] == []
    assert SECRET not in result.stdout


def test_list_works_without_the_secrets_and_says_what_is_missing(runner, app, cfg):
    result = invoke(runner, app, cfg, "connections", "list", "--json",
                    env={"FB_TOKEN": None})
    assert result.exit_code == 0, result.output
    rows = {r["name"]: r for r in json.loads(result.stdout)["connections"]}
    assert rows["prod"]["missing_env"] == [
        "connections.prod.token_secret: environment variable FB_TOKEN is not set"]
    assert rows["quiet"]["missing_env"] == []


def test_connection_test_prints_a_checklist_with_secrets_masked(runner, app, cfg, plugin,
                                                                tmp_path):
    result = invoke(runner, app, cfg, "connections", "test", "prod")
    assert result.exit_code == 0, result.output
    assert "✓ login  signed in with ********" in result.stdout
    assert "✓ read customers" in result.stdout
    assert "✓ send-orders mapping profile  default" in result.stdout
    assert "all 3 checks passed" in result.stdout
    assert "WARNING flx.fakebooks: testing with token ********" in result.stderr  # logs too
    assert SECRET not in result.output
    # The runtime got the configured store: flx.db beside flx.toml, not in the cwd.
    assert len(plugin.stores) == 1
    assert str(tmp_path / "flx.db") in str(plugin.stores[0].url)


def test_failed_check_shows_the_fix_and_exits_1(runner, app, cfg):
    result = invoke(runner, app, cfg, "connections", "test", "locked")
    assert result.exit_code == 1, result.output
    assert "✗ read customers  403 from the role" in result.stdout
    assert "fix: give the role 'Lists > Customers'" in result.stdout
    assert re.search(r"1 of \d+ checks failed", result.stdout)

    result = invoke(runner, app, cfg, "connections", "test", "locked", "--json")
    assert result.exit_code == 1, result.output
    data = json.loads(result.stdout)
    assert data["ok"] is False
    assert [c["ok"] for c in data["checks"]] == [True, False]
    assert SECRET not in result.stdout


def test_a_connector_without_check_is_a_plugin_error(runner, app, cfg):
    result = invoke(runner, app, cfg, "connections", "test", "quiet")
    assert result.exit_code == 1, result.output
    assert ("error: the 'silentbooks' connector does not implement check: `flx connections "
            "test` cannot check the connection") in " ".join(result.stderr.split())
    assert "Connector.check" in result.stderr


def test_testing_a_connection_needs_its_variables(runner, app, cfg):
    result = invoke(runner, app, cfg, "connections", "test", "prod", env={"FB_TOKEN": None})
    assert result.exit_code == 1, result.output
    assert "FB_TOKEN is not set" in result.stderr


def test_another_connections_missing_variables_do_not_get_in_the_way(runner, app, cfg):
    result = invoke(runner, app, cfg, "connections", "test", "prod", env={"OTHER_TOKEN": None})
    assert result.exit_code == 0, result.output
    result = invoke(runner, app, cfg, "connections", "test", "quiet", env={"OTHER_TOKEN": None})
    assert result.exit_code == 1, result.output
    assert "connection 'quiet' needs environment variables that are not set" in result.stderr
    assert "connections.quiet.token_secret: environment variable OTHER_TOKEN" in result.stderr
