"""Serving the Flxpoint emulator on a loopback socket (uvicorn) from a background thread, for
tests that drive `flx` as a user would, and for `flx flxpoint-emulator`."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from .app import create_app
from .state import Emulator


def bind(host: str, port: int) -> socket.socket:
    if host not in ("127.0.0.1", "localhost"):
        raise ValueError(f"the emulator serves on loopback only, not on {host!r}")
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def make_server(emulator: Emulator) -> uvicorn.Server:
    config = uvicorn.Config(create_app(emulator), http="h11", lifespan="off",
                            log_config=None, log_level="warning", access_log=False)
    return uvicorn.Server(config)


@contextmanager
def run_server(emulator: Emulator, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serve `emulator` until the block ends; yields the base URL."""
    sock = bind(host, port)
    server = make_server(emulator)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]},
                              name="flx-flxpoint-emulator", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the Flxpoint emulator server did not start")
            time.sleep(0.01)
        host_, port_ = sock.getsockname()[:2]
        yield f"http://{host_}:{port_}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
