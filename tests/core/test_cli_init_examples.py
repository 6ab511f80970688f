"""`flx init` comments out an optional setting with its first example, so that uncommenting
the line gives a value of the right form (an empty string would fail the connector's pattern)."""

import tomllib

from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.config.load import load_config
from flx.connector import Connector
from flx.plugins import build_plugins, hookimpl

SCHEMA = {
    "type": "object",
    "required": ["token_secret"],
    "additionalProperties": False,
    "properties": {
        "token_secret": {"type": "string", "x-secret": True},
        "base_url": {"type": "string", "pattern": "^https?://\\S+$",
                     "description": "Another endpoint, such as the local emulator.",
                     "examples": ["http://127.0.0.1:8765", "https://example.com"]},
    },
}


class Plugin:
    @hookimpl
    def register_connectors(self, register):
        register(Connector(name="fakebooks", connection_schema=SCHEMA,
                           operations=("send-orders",)))


def test_an_optional_setting_is_commented_out_with_its_first_example(tmp_path):
    plugins = build_plugins(Plugin(), autoload=False)
    path = tmp_path / "flx.toml"
    result = CliRunner().invoke(build_app(plugins), ["--config", str(path), "init"])
    assert result.exit_code == 0, result.output
    text = path.read_text()
    assert '\n# base_url = "http://127.0.0.1:8765"\n' in text
    path.write_text(text.replace("# base_url =", "base_url ="))
    assert tomllib.loads(path.read_text())["connections"]["prod"]["base_url"] == \
        "http://127.0.0.1:8765"
    cfg = load_config(path, plugins=plugins, env={"FAKEBOOKS_TOKEN_SECRET": "s" * 16})
    assert cfg.connection("prod").settings["base_url"] == "http://127.0.0.1:8765"
