"""The `flx` app as a user meets it: help, version, plugins, usage and config errors."""

import json
import os

import pytest
import typer
from typer.testing import CliRunner

from flx.cli.context import get_state
from flx.cli.main import build_app
from flx.connector import Connector
from flx.errors import AuthenticationError
from flx.plugins import build_plugins, hookimpl

SECRET = "tok-secret-value-123"
SCHEMA = {
    "type": "object",
    "required": ["account_id", "token_secret"],
    "properties": {
        "account_id": {"type": "string", "pattern": "^[0-9]+$"},
        "token_secret": {"type": "string", "minLength": 12, "x-secret": True},
    },
}


class FakeBooks:
    @hookimpl
    def register_connectors(self, register):
        register(Connector(name="fakebooks", connection_schema=SCHEMA, description="test books",
                           operations=("send-orders", "send-shipments")))

    @hookimpl
    def register_commands(self, app):
        @app.command("fb-login")
        def fb_login(ctx: typer.Context) -> None:
            """A plugin command that fails the way a remote login does."""
            conn = get_state(ctx).connection("prod")
            raise AuthenticationError(f"login refused for token {conn.settings['token_secret']}",
                                      hint="create a new token")


@pytest.fixture
def app():
    return build_app(build_plugins(FakeBooks(), autoload=False))


@pytest.fixture
def runner():
    return CliRunner()


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "flx.toml"
    path.write_text('[connections.prod]\nplugin = "fakebooks"\naccount_id = "123"\n'
                    'token_secret = "${FB_TOKEN}"\n\n'
                    '[connections.prod.operations.send-orders]\n')
    os.chmod(path, 0o600)
    return path


def test_help_lists_the_commands(app, runner):
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0, result.output
    for command in ("plugins", "init", "connections", "import", "run", "render", "status",
                    "errors", "retry", "resolve", "runs", "fb-login"):
        assert command in result.stdout
    assert "FLX_CONFIG" in result.stdout


def test_version(app, runner):
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("flx ")


def test_plugins_table_and_json(app, runner):
    result = runner.invoke(app, ["plugins"])
    assert result.exit_code == 0, result.output
    assert "fakebooks" in result.stdout and "send-orders" in result.stdout
    assert "test books" in result.stdout
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    rows = json.loads(result.stdout)["plugins"]
    assert [(r["connector"], r["operations"]) for r in rows] == [
        ("fakebooks", ["send-orders", "send-shipments"])]


@pytest.mark.parametrize("args", [
    ["no-such-command"],
    ["run", "send-everything", "--connection", "prod"],
    ["run", "send-orders", "--limit", "0"],
    ["plugins", "--no-such-option"],
    ["retry"],
    ["resolve", "ORD-1"],
    ["--no-such-root-option", "status"],
])
def test_bad_usage_exits_2_said_like_every_other_error(app, runner, args):
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error: ") and "Error:" not in result.stderr
    assert rest[-1].startswith("  fix: see `flx") and rest[-1].endswith(" --help`")


def test_a_bad_operation_names_the_choices_in_plain_words(app, runner):
    result = runner.invoke(app, ["run", "send-everything"])
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (
        "error: invalid value for 'OPERATION': 'send-everything' is not an operation; use one "
        "of send-orders, send-shipments, send-vendor-bills")


def test_a_near_operation_gets_did_you_mean_everywhere(app, runner, cfg):
    for args in (["run", "send-order"], ["render", "send-order", "--id", "X"]):
        result = runner.invoke(app, ["--config", str(cfg), *args], env={"FB_TOKEN": SECRET})
        assert result.exit_code == 2, result.output
        assert "did you mean 'send-orders'?" in result.stderr
        assert f"fix: see `flx {args[0]} --help`" in result.stderr


def test_an_unknown_connection_is_a_usage_error_everywhere(app, runner, cfg):
    for args in (["run", "send-orders", "-c", "prd"], ["render", "send-orders", "--id", "X",
                                                         "--connection", "prd"],
                 ["connections", "test", "prd"], ["schedule", "--once", "-c", "prd"],
                 ["status", "--connection", "prd"], ["errors", "--connection", "prd"]):
        result = runner.invoke(app, ["--config", str(cfg), *args], env={"FB_TOKEN": SECRET})
        assert result.exit_code == 2, (args, result.output)
        assert "'prd' is not a connection" in result.stderr, args
        assert "did you mean 'prod'?" in result.stderr, args


def test_bare_flx_and_bare_groups_print_their_help(app, runner):
    for args, words in (([], "Commands:"), (["connections"], "test")):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        assert result.stdout.startswith("Usage: flx")
        assert words in result.stdout and not result.output.startswith("error:")


def test_every_command_has_examples_and_human_value_names(app, runner):
    commands = ["plugins", "init", "import", "run", "render", "status", "errors", "retry",
                "resolve", "runs", "show", "schedule", "connections list", "connections test"]
    for command in commands:
        result = runner.invoke(app, [*command.split(), "--help"])
        assert result.exit_code == 0, result.output
        assert "Examples:" in result.stdout and f"flx {command}" in result.stdout, command
        assert "<" not in result.stdout.replace("<location", ""), (command, result.stdout)
        assert "{" not in result.stdout.split("\n")[0], command  # the usage line
    assert "Usage: flx import [OPTIONS] FILES..." in runner.invoke(
        app, ["import", "--help"]).stdout
    assert "--note TEXT" in runner.invoke(app, ["resolve", "--help"]).stdout
    assert "--limit N" in runner.invoke(app, ["runs", "--help"]).stdout


def test_shell_completion_is_offered(app, runner):
    result = runner.invoke(app, ["--help"])
    assert "--install-completion" in result.stdout and "--show-completion" in result.stdout


def test_config_errors_exit_1_with_every_problem_and_no_traceback(app, runner, tmp_path):
    path = tmp_path / "flx.toml"
    path.write_text('[connections.prod]\nplugin = "fakebooks"\naccount_id = "12a"\n'
                    'token_secret = "${FB_TOKEN}"\n[connections.prod.operations.send-bills]\n')
    os.chmod(path, 0o600)
    result = runner.invoke(app, ["--config", str(path), "connections", "list"],
                           env={"FB_TOKEN": SECRET})
    assert result.exit_code == 1, result.output
    assert result.stdout == ""
    assert result.stderr.startswith(f"error: {path} has 2 problems")
    assert "connections.prod.account_id: '12a' does not match" in result.stderr
    assert "connections.prod.operations: 'send-bills' is not one of" in result.stderr
    assert "fix: " in result.stderr
    assert "Traceback" not in result.output


def test_missing_variable_is_reported_for_commands_that_need_the_connection(app, runner, cfg):
    result = runner.invoke(app, ["--config", str(cfg), "fb-login"], env={"FB_TOKEN": None})
    assert result.exit_code == 1, result.output
    assert "connections.prod.token_secret: environment variable FB_TOKEN is not set" \
        in result.stderr


def test_config_found_through_the_environment_variable(app, runner, cfg):
    result = runner.invoke(app, ["connections", "list", "--json"],
                           env={"FLX_CONFIG": str(cfg), "FB_TOKEN": SECRET})
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["connections"][0]["name"] == "prod"


def test_no_config_anywhere_suggests_flx_init(app, runner, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = runner.invoke(app, ["connections", "list"], env={"FLX_CONFIG": None})
    assert result.exit_code == 1, result.output
    assert "flx init" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_world_readable_literal_secret_is_refused(app, runner, cfg):
    cfg.write_text(cfg.read_text().replace('"${FB_TOKEN}"', f'"{SECRET}"'))
    os.chmod(cfg, 0o644)
    result = runner.invoke(app, ["--config", str(cfg), "connections", "list"])
    assert result.exit_code == 1, result.output
    assert "connections.prod.token_secret: a secret is written in flx.toml" in result.stderr
    assert "chmod 600 flx.toml" in result.stderr
    assert SECRET not in result.output


def test_errors_from_plugin_commands_are_redacted_and_exit_1(app, runner, cfg):
    result = runner.invoke(app, ["--config", str(cfg), "fb-login"], env={"FB_TOKEN": SECRET})
    assert result.exit_code == 1, result.output
    assert result.stderr == "error: login refused for token ********\n  fix: create a new token\n"
    verbose = runner.invoke(app, ["--config", str(cfg), "--verbose", "fb-login"],
                            env={"FB_TOKEN": SECRET})
    assert verbose.exit_code == 1, verbose.output
    assert "Traceback" in verbose.stderr and "AuthenticationError" in verbose.stderr
    assert SECRET not in verbose.output


def test_unknown_connection_name(app, runner, cfg):
    result = runner.invoke(app, ["--config", str(cfg), "connections", "test", "prd"],
                           env={"FB_TOKEN": SECRET})
    assert result.exit_code == 2, result.output
    assert "invalid value for 'NAME': 'prd' is not a connection" in result.stderr
    assert "use one of prod" in result.stderr
    assert "did you mean 'prod'?" in result.stderr


def test_json_mode_error_is_one_json_document_on_stdout(app, runner, cfg):
    result = runner.invoke(app, ["--config", str(cfg), "connections", "test", "nope", "--json"],
                           env={"FB_TOKEN": SECRET})
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["class"] == "usage" and "nope" in error["message"]


def test_apps_are_independent(runner):
    # No import-time state: an app built without the plugin does not see it.
    bare = build_app(build_plugins(autoload=False))
    result = runner.invoke(bare, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"plugins": []}


def test_a_plugin_whose_commands_fail_to_register_does_not_break_flx(runner, capsys):
    class Broken:
        @hookimpl
        def register_commands(self, app):
            raise ImportError("No module named 'brokenbooks.cli'")

    app = build_app(build_plugins(FakeBooks(), Broken(), autoload=False))
    assert "could not add its commands: ImportError" in capsys.readouterr().err
    result = runner.invoke(app, ["plugins", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["plugins"]
