"""`flx connections authorize NAME`: connect a QuickBooks company to a connection.

Three ways in (quickbooks-api.md §1.6-1.7):
  --refresh-token TOKEN   import a token made elsewhere (Intuit's OAuth Playground)
  sandbox keys            a loopback redirect, http://localhost:PORT/callback, opened in the
                          browser; the code comes back by itself
  production keys         Intuit refuses localhost: the registered HTTPS `redirect_uri` is used
                          and the browser's final address is pasted back (or --redirect-url)
The tokens go to the connection's plugin state (never flx.toml), the realm id is checked
against the connection's `realm_id`."""

from __future__ import annotations

import secrets
import threading
import webbrowser
from http.server import BaseHTTPRequestHandler, HTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import typer

from flx import AuthorizeRequest, ConfigError, Runtime

from .oauth import TokenManager, TokenSet, authorization_url
from .settings import QboSettings
from .tokens import auth_http, token_store

CALLBACK_TIMEOUT = 300.0


def new_state() -> str:
    return secrets.token_urlsafe(16)


def _query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(url.strip()).query).items()}


def _callback(port: int, opened: Any) -> dict[str, str]:
    """Serve one request on 127.0.0.1:port and return its query parameters."""
    got: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - the stdlib's name
            got.update(_query(self.path))
            self.send_response(200)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.end_headers()
            self.wfile.write(b"flx: QuickBooks authorized; you can close this tab.")

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            return

    server = HTTPServer(("127.0.0.1", port), Handler)
    server.timeout = CALLBACK_TIMEOUT
    threading.Thread(target=opened, daemon=True).start()
    try:
        server.handle_request()
    finally:
        server.server_close()
    return got


def authorize(runtime: Runtime, request: AuthorizeRequest) -> str:
    settings = QboSettings.from_mapping(runtime.connection.settings,
                                        name=runtime.connection.name)
    manager = TokenManager(settings, token_store(runtime), auth_http(runtime, settings.token_url))
    tokens = _tokens(settings, manager, request)
    return (f"connection {settings.name}: authorized for company {tokens.realm_id} (the tokens "
            "are kept in its plugin state, never in flx.toml)")


def _tokens(settings: QboSettings, manager: TokenManager,
            request: AuthorizeRequest) -> TokenSet:
    if request.refresh_token:
        return manager.adopt(request.refresh_token.strip(), settings.realm_id)
    state = new_state()
    if settings.environment == "sandbox" and not settings.redirect_uri \
            and not request.redirect_url:
        redirect = f"http://localhost:{request.port}/callback"
        url = authorization_url(settings, redirect, state)
        request.echo(f"Open this address to connect QuickBooks (waiting on {redirect}):\n"
                     f"  {url}")
        got = _callback(request.port, lambda: request.open_browser and webbrowser.open(url))
    else:
        redirect = settings.redirect_uri
        if not redirect:
            raise ConfigError(f"[connections.{settings.name}].redirect_uri is not set",
                              hint="production keys need the HTTPS redirect URI registered on "
                                   "the Intuit app; or use --refresh-token")
        url = authorization_url(settings, redirect, state)
        request.echo("Open this address, approve, then paste the address your browser ends "
                     f"on:\n  {url}")
        got = _query(request.redirect_url or request.prompt("redirected address"))
    if got.get("state") != state or not got.get("code"):
        raise ConfigError("the answer from Intuit is not for this request (state mismatch or "
                          "no code)", hint="run the command again and use the newest address")
    realm = got.get("realmId", "")
    if realm != settings.realm_id:
        raise ConfigError(f"you connected company {realm}, but [connections.{settings.name}]"
                          f".realm_id is {settings.realm_id}",
                          hint=f"set realm_id = \"{realm}\" in flx.toml, or connect that company")
    return manager.exchange_code(got["code"], redirect, realm)


def add_commands(app: typer.Typer) -> None:
    from .demo import add_demo_command
    from .emulator.cli import add_emulator_command

    group = typer.Typer(help="QuickBooks Online: the bundled emulator and demo.",
                        no_args_is_help=True)
    app.add_typer(group, name="quickbooks")
    add_emulator_command(group)
    add_demo_command(group)
