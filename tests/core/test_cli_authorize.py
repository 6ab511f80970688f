"""`flx connections authorize NAME`: the connection's connector connects it to its account and
keeps what it gets in the connection's plugin state; a connector with nothing to authorize
says so."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.connector import Connector
from flx.model import AuthorizeRequest
from flx.plugins import build_plugins, hookimpl
from flx.run.runtime import Runtime
from flx.store.store import Store

SCHEMA = {"type": "object", "properties": {"account": {"type": "string"}}}


class OAuthBooks(Connector):
    def authorize(self, runtime: Runtime, request: AuthorizeRequest) -> str:
        token = request.refresh_token or request.prompt("pasted address")
        runtime.kv.put("token", token, secret=True)
        request.echo(f"asked on port {request.port}")
        return f"connection {runtime.connection.name}: authorized with {token}"


class Plugin:
    @hookimpl
    def register_connectors(self, register):  # type: ignore[no-untyped-def]
        register(OAuthBooks(name="oauthbooks", connection_schema=SCHEMA,
                            operations=("send-orders",)))
        register(Connector(name="plainbooks", connection_schema=SCHEMA,
                           operations=("send-orders",)))


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "flx.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "flx.db"}"\n\n'
                    '[connections.oa]\nplugin = "oauthbooks"\naccount = "1"\n\n'
                    '[connections.plain]\nplugin = "plainbooks"\naccount = "2"\n')
    return path


def flx(config: Path, *args: str, stdin: str | None = None):  # type: ignore[no-untyped-def]
    app = build_app(build_plugins(Plugin(), autoload=False))
    return CliRunner().invoke(app, ["--config", str(config), *args], input=stdin)


def stored(config: Path) -> str | None:
    with Store(f"sqlite:///{config.parent / 'flx.db'}") as store:
        found = store.state_get("connection:oa", "token")
    return found.value if found else None


def test_a_token_is_kept_in_plugin_state_and_never_printed(config: Path) -> None:
    result = flx(config, "connections", "authorize", "oa", "--refresh-token", "tok-12345678",
                 "--port", "9000")
    assert result.exit_code == 0, result.output
    assert "asked on port 9000" in result.output and "authorized with" in result.output
    assert "tok-12345678" not in result.output
    assert stored(config) == "tok-12345678"


def test_the_connector_may_ask_the_person(config: Path) -> None:
    result = flx(config, "connections", "authorize", "oa", stdin="typed-in-value\n")
    assert result.exit_code == 0, result.output
    assert stored(config) == "typed-in-value"


def test_a_connector_without_authorization_says_so(config: Path) -> None:
    result = flx(config, "connections", "authorize", "plain")
    assert result.exit_code == 1
    assert "does not implement authorize" in result.output
    unknown = flx(config, "connections", "authorize", "nope")
    assert unknown.exit_code == 2


def test_the_shipped_fake_connector_authorizes(tmp_path: Path) -> None:
    from flx.testing import fake

    path = tmp_path / "flx.toml"
    path.write_text(f'[store]\nurl = "sqlite:///{tmp_path / "flx.db"}"\n\n'
                    '[connections.fb]\nplugin = "fakebooks"\napi_key = "${FB_KEY}"\n')
    app = build_app(build_plugins(fake, autoload=False))
    result = CliRunner().invoke(app, ["--config", str(path), "connections", "authorize", "fb"],
                                input="sess-987654321\n", env={"FB_KEY": "key-123456789"})
    assert result.exit_code == 0, result.output
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        kept = store.state_get("connection:fb", "session_token")
    assert kept is not None and kept.value == "sess-987654321" and kept.secret


def test_authorize_called_directly(tmp_path: Path) -> None:
    from flx.model import Connection

    connector = OAuthBooks(name="oauthbooks", connection_schema=SCHEMA,
                           operations=("send-orders",))
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        runtime = Runtime(store=store, connector=connector,
                          connection=Connection("oa", "oauthbooks", {"account": "1"}))
        said = connector.authorize(runtime, AuthorizeRequest(refresh_token="tok-abcdefgh",
                                                             echo=lambda text: None))
        assert said.endswith("tok-abcdefgh") and runtime.kv.get("token") == "tok-abcdefgh"
