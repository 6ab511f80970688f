"""`flx serve`: the operations dashboard in a browser (flx.serve)."""

from __future__ import annotations

from typing import Annotated

import typer

from flx.cli.context import get_state

DEFAULT_PORT = 8750


def serve_command(
    ctx: typer.Context,
    host: Annotated[str, typer.Option(
        "--host", metavar="ADDRESS",
        help="Address to listen on. Anything but loopback needs [serve] token.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, metavar="PORT",
                                      help="Port to listen on.")] = DEFAULT_PORT,
    read_only: Annotated[bool, typer.Option(
        "--read-only", help="Show everything, allow no action (retry, resolve, run).")] = False,
) -> None:
    """Open the operations dashboard: status, errors with retry and resolve, records, runs.

    The same data and actions as `flx status`, `flx errors`, `flx show`, `flx retry`, `flx
    resolve` and `flx runs`, with a JSON API under /api/ and Prometheus metrics at /metrics.
    It works beside a running `flx schedule` (same store, same run lock).

    Examples:

    \b
      flx serve                       # http://127.0.0.1:8750
      flx serve --read-only
      FLX_SERVE_TOKEN=... flx serve --host 0.0.0.0   # needs [serve] token in flx.toml"""
    import uvicorn

    from flx.serve.app import create_app
    from flx.serve.security import check_bind, configured_token

    state = get_state(ctx)
    config = state.config()
    token = configured_token(config, state.env)
    check_bind(host, token)
    if token:
        state.redactor.add(token)
    app = create_app(config, state.plugins, state.store(), transport=state.transport,
                     token=token, read_only=read_only)
    shown = f"[{host}]" if ":" in host else host
    state.echo(f"flx dashboard on http://{shown}:{port}/ (store {state.store().url}"
               + (", read-only" if read_only else "") + (", token required" if token else "")
               + "); Ctrl-C stops it")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False,
                server_header=False)


def register(app: typer.Typer) -> None:
    app.command("serve")(serve_command)
