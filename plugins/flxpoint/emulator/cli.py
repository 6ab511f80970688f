"""`flx flxpoint-emulator`: serve the Flxpoint emulator on loopback until Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from .server import bind, make_server
from .state import Emulator

PORT_ENV = "FLX_FLXPOINT_EMULATOR_PORT"
DEFAULT_PORT = 8766  # next to `flx emulator` (NetSuite, 8765)


def banner(emulator: Emulator, url: str) -> str:
    lines = [f"Flxpoint emulator serving at {url}",
             "In flx.toml, [sources.flxpoint]: plugin = \"flxpoint\", base_url = "
             f"\"{url}\", profile = \"demo\", api_token = \"${{FLXPOINT_API_TOKEN}}\"",
             "Demo tokens (public constants, not secrets):"]
    lines += [f"  {info['type']:8} {token}" for token, info in emulator.tokens.items()]
    lines.append(f"  export FLXPOINT_API_TOKEN={emulator.token_of_type('account')}")
    lines.append("Inspect: GET /_emulator/stats. Press Ctrl-C to stop.")
    return "\n".join(lines)


def add_emulator_command(app: typer.Typer) -> None:
    @app.command("flxpoint-emulator")
    def flxpoint_emulator(
        port: Annotated[int, typer.Option(envvar=PORT_ENV,
                                          help="TCP port on 127.0.0.1 (0 picks a free one).")]
        = DEFAULT_PORT,
        rate: Annotated[float, typer.Option(help="Requests per second per token before a "
                                            "429 (Flxpoint: 2); 0 means no limit.", min=0)]
        = 2.0,
    ) -> None:
        """Serve the bundled Flxpoint emulator (a demo account) on loopback until Ctrl-C."""
        emulator = Emulator(rate=rate or None)
        sock = bind("127.0.0.1", port)
        host, bound = sock.getsockname()[:2]
        typer.echo(banner(emulator, f"http://{host}:{bound}"))
        make_server(emulator).run(sockets=[sock])
        sock.close()
