"""`flx emulator` on a port that is taken says so, with the fix, instead of an unexpected
OSError; `--port 0` picks a free port and prints it."""

from __future__ import annotations

import gc
import re
import socket
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx_netsuite.emulator import cli


@pytest.fixture
def taken_port() -> Iterator[int]:
    """A loopback port something is listening on (as a running `flx emulator` would)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def test_a_port_in_use_is_said_with_the_fix(taken_port: int) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error", ResourceWarning)  # the failed socket is closed
        result = CliRunner().invoke(build_app(), ["emulator", "--port", str(taken_port)])
        exit_code, stderr, output = result.exit_code, result.stderr, result.output
        del result
        gc.collect()
    assert exit_code == 1, output
    assert stderr.splitlines() == [
        f"error: port {taken_port} is in use (another flx emulator?)",
        "  fix: stop it, or use --port 0 to pick a free port"]
    assert "OSError" not in output and "--verbose" not in output


def test_port_zero_picks_a_free_port_and_prints_it(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[int] = []

    class Server:  # stands in for uvicorn: returns at once instead of serving until Ctrl-C
        def run(self, sockets: list[socket.socket]) -> None:
            served.append(sockets[0].getsockname()[1])

    def make_server(emulator: Any) -> Server:
        return Server()

    monkeypatch.setattr(cli, "make_server", make_server)
    result = CliRunner().invoke(build_app(), ["emulator", "--port", "0"])
    assert result.exit_code == 0, result.output
    match = re.search(r"serving at http://127\.0\.0\.1:(\d+)", result.output)
    assert match is not None, result.output
    assert int(match.group(1)) == served[0] != 0
    assert f'base_url = "http://127.0.0.1:{served[0]}"' in result.output
