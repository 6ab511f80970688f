"""Serving the emulator over a real loopback socket (uvicorn, h11).

An injected drop starts a response that promises a body and then closes the connection, so the
client meets an incomplete response, exactly what it meets when a connection dies mid-answer.
The dropped request's traceback would be noise in uvicorn's log; a filter hides just those."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from .app import create_app
from .faults import ConnectionDropped
from .state import Emulator

LOOPBACK = ("127.0.0.1", "::1", "localhost")


class _HideInjectedDrops(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def bind(host: str, port: int) -> socket.socket:
    if host not in LOOPBACK:
        raise ValueError(f"the emulator serves on loopback only, not on {host!r}")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY only on sockets that say so, and
    # without it every answer waits ~40 ms for the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()  # a port in use: no socket left behind
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def make_server(emulator: Emulator) -> uvicorn.Server:
    config = uvicorn.Config(create_app(emulator), http="h11", lifespan="off",
                            log_config=None, log_level="warning", access_log=False)
    return uvicorn.Server(config)


@contextmanager
def hidden_drops() -> Iterator[None]:
    drop_filter = _HideInjectedDrops()
    logger = logging.getLogger("uvicorn.error")
    logger.addFilter(drop_filter)
    try:
        yield
    finally:
        logger.removeFilter(drop_filter)


@contextmanager
def run_server(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `emulator` on loopback from a background thread; yields the base URL."""
    sock = bind(host, port)
    server = make_server(emulator)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="flx-netsuite-emulator-server", daemon=True)
    with hidden_drops():
        thread.start()
        try:
            deadline = time.monotonic() + 10
            while not server.started:
                if not thread.is_alive() or time.monotonic() > deadline:
                    raise RuntimeError("the NetSuite emulator server did not start")
                time.sleep(0.01)
            yield base_url(sock)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()
