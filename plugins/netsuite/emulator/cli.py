"""`flx emulator`: serve the NetSuite emulator on loopback until Ctrl-C."""

from __future__ import annotations

import errno
import json
import socket
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any

import typer

from flx import ConfigError

from .behaviour import Behaviour
from .faults import DROP_AFTER, DROP_BEFORE, ERROR_5XX, FaultPlan
from .server import base_url, bind, hidden_drops, make_server
from .state import Emulator, load_default_seed

# The environment variables flx.toml reads the four TBA credentials from (design.md §4).
ENV_NAMES = {"consumerKey": "NS_CLIENT_ID", "consumerSecret": "NS_CLIENT_SECRET",
             "tokenId": "NS_TOKEN_ID", "tokenSecret": "NS_TOKEN_SECRET"}
FAULT_KINDS = (ERROR_5XX, DROP_BEFORE, DROP_AFTER)


def parse_fault_rates(values: list[str], seed: int) -> FaultPlan | None:
    """`0.03` spreads 3% evenly over the three kinds; `drop_after=0.01` sets one kind."""
    if not values:
        return None
    rates = dict.fromkeys(FAULT_KINDS, 0.0)
    for value in values:
        kind, sep, number = value.rpartition("=")
        try:
            rate = float(number)
        except ValueError:
            raise typer.BadParameter(f"{value!r}: a rate is a number between 0 and 1") from None
        if not sep:
            for name in FAULT_KINDS:
                rates[name] += rate / len(FAULT_KINDS)
        elif kind.replace("-", "_") in rates:
            rates[kind.replace("-", "_")] = rate
        else:
            raise typer.BadParameter(f"{value!r}: the kinds are {', '.join(FAULT_KINDS)}")
    try:
        return FaultPlan(seed, error_5xx=rates[ERROR_5XX], drop_before=rates[DROP_BEFORE],
                         drop_after=rates[DROP_AFTER])
    except ValueError as exc:
        raise typer.BadParameter(str(exc)) from None


def load_seed(path: Path | None) -> dict[str, Any] | None:
    if path is None:
        return None
    try:
        seed: dict[str, Any] = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise typer.BadParameter(f"cannot read the seed file {path}: {exc}") from None
    return seed


def banner(emulator: Emulator, url: str, custom_seed: Path | None) -> str:
    lines = [f"NetSuite emulator (account {emulator.account_id}) serving at {url}",
             f'In flx.toml: base_url = "{url}" and account_id = "{emulator.account_id}"']
    if custom_seed is None:
        creds = load_default_seed()["credentials"]
        lines.append("Demo credentials (public constants, not secrets):")
        lines += [f"  export {env}={creds[key]}" for key, env in ENV_NAMES.items()]
    else:
        # A custom seed may hold real-looking secrets: name the variables, never print values.
        lines.append(f"Set {', '.join(ENV_NAMES.values())} to the credentials in "
                     f"{custom_seed}.")
    lines.append("Inspect: GET /_emulator/stats, /_emulator/records/<type>; "
                 "POST /_emulator/reset. Press Ctrl-C to stop.")
    return "\n".join(lines)


def listen(host: str, port: int) -> socket.socket:
    """The emulator's socket; a port that cannot be had is said as a flx error with its fix,
    not as an OSError (`flx emulator` twice on one port is the usual way to get there)."""
    try:
        return bind(host, port)
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(f"port {port} is in use (another flx emulator?)",
                              hint="stop it, or use --port 0 to pick a free port") from None
        if exc.errno == errno.EACCES:
            raise ConfigError(f"port {port} may not be used by this user ({exc.strerror})",
                              hint="use a port above 1023, or --port 0 to pick a free "
                                   "port") from None
        raise ConfigError(f"cannot serve on {host}:{port}: {exc.strerror or exc}",
                          hint="use --port 0 to pick a free port") from None


def serve(emulator: Emulator, host: str, port: int, custom_seed: Path | None) -> None:
    """Blocking: uvicorn runs in this (main) thread so Ctrl-C stops it cleanly."""
    sock = listen(host, port)
    typer.echo(banner(emulator, base_url(sock), custom_seed))
    with hidden_drops():
        make_server(emulator).run(sockets=[sock])
    sock.close()


PORT_ENV = "FLX_EMULATOR_PORT"
DEFAULT_PORT = 8765


def init_starter(env: Mapping[str, str]) -> Any:
    """`flx init --emulator`: the emulator's account, address and (public) demo tokens, and
    the shipped profile that holds its ids."""
    from flx import Starter

    port = env.get(PORT_ENV) or str(DEFAULT_PORT)
    seed = load_default_seed()
    creds = seed["credentials"]
    settings: dict[str, Any] = {"account_id": seed["account"]["id"],
                                "base_url": f"http://127.0.0.1:{port}"}
    settings |= {env_name[3:].lower(): creds[key] for key, env_name in ENV_NAMES.items()}
    return Starter(settings=settings, profile="demo", command="flx emulator")


def add_emulator_command(app: typer.Typer) -> None:
    @app.command("emulator")
    def emulator_command(
        port: Annotated[int, typer.Option(
            envvar=PORT_ENV, help="TCP port on 127.0.0.1 (0 picks a free one).")]
        = DEFAULT_PORT,
        latency: Annotated[float, typer.Option(help="Milliseconds each request takes, "
                                               "the emulator's own work included.", min=0)] = 0.0,
        concurrency: Annotated[int, typer.Option(help="The account's concurrency limit; "
                                                 "0 means unlimited.", min=0)] = 5,
        seed: Annotated[Path | None, typer.Option(help="JSON seed file replacing the bundled "
                                                  "demo account.")] = None,
        fault_rate: Annotated[list[str] | None, typer.Option(
            help="Inject faults: a rate such as 0.03 (spread over all kinds) or "
                 "KIND=RATE with KIND error_5xx, drop_before or drop_after. Repeatable.")]
        = None,
        fault_seed: Annotated[int, typer.Option(help="Seed that makes faults repeatable.")]
        = 0,
        behave: Annotated[list[str] | None, typer.Option(
            help="Pick a reading of an uncertain NetSuite behaviour, NAME=VALUE (see "
                 "docs/emulator.md, Behaviour switches). Repeatable.")] = None,
    ) -> None:
        """Serve the bundled NetSuite emulator on loopback until Ctrl-C.

        Examples:

        \b
          flx emulator
          flx emulator --port 0 --latency 50 --concurrency 5
          flx emulator --fault-rate 0.03 --fault-seed 7"""
        faults = parse_fault_rates(fault_rate or [], fault_seed)
        try:
            behaviour = Behaviour.parse(behave or [])
        except ValueError as exc:
            raise typer.BadParameter(str(exc)) from None
        emulator = Emulator(load_seed(seed), latency=latency / 1000.0,
                            concurrency=concurrency or None, faults=faults,
                            behaviour=behaviour)
        serve(emulator, "127.0.0.1", port, seed)
