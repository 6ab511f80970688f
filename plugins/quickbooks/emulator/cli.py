"""`flx quickbooks emulator`: serve the emulator on loopback for a demo or a manual try."""

from __future__ import annotations

from typing import Annotated

import typer

from .behaviour import Behaviour
from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REALM
from .state import Emulator

LOOPBACK = "127.0.0.1"


def connection_lines(base: str, refresh_token: str) -> str:
    return "\n".join([
        "[connections.qb]", 'plugin = "quickbooks"', 'client_id = "${QBO_CLIENT_ID}"',
        'client_secret = "${QBO_CLIENT_SECRET}"', f'realm_id = "{DEMO_REALM}"',
        f'api_url = "{base}"', f'token_url = "{base}/oauth2/v1/tokens/bearer"',
        f'authorize_url = "{base}/connect/oauth2"', "",
        f"export QBO_CLIENT_ID={DEMO_CLIENT_ID}", f"export QBO_CLIENT_SECRET={DEMO_CLIENT_SECRET}",
        f"flx connections authorize qb --refresh-token {refresh_token}"])


def add_emulator_command(group: typer.Typer) -> None:
    @group.command("emulator")
    def emulator_command(
        port: Annotated[int, typer.Option(help="TCP port on 127.0.0.1.")] = 8766,
        latency: Annotated[float, typer.Option(help="Seconds each request takes.", min=0)]
        = 0.0,
        requestid: Annotated[str, typer.Option(help="replay | ignore")] = "replay",
    ) -> None:
        """Serve the QuickBooks Online emulator (OAuth and API) on loopback until Ctrl-C."""
        import uvicorn

        from .app import create_app

        emulator = Emulator(latency=latency, behaviour=Behaviour(requestid=requestid))
        base = f"http://{LOOPBACK}:{port}"
        token = emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM)
        typer.echo("QuickBooks emulator on " + base + "; a connection for it:\n\n"
                   + connection_lines(base, token) + "\n")
        uvicorn.run(create_app(emulator), host=LOOPBACK, port=port, log_level="warning")
