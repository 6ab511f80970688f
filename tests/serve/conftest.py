"""A dashboard over demo-like data: the bundled demo records (ORD-1004 fails: its SKU is not
in NetSuite) plus a shipment of ORD-1004 (waiting for its order), sent through the real `flx`
commands to the in-process NetSuite emulator; then `create_app` over that store."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.config.load import load_config
from flx.plugins import build_plugins
from flx.serve.app import create_app
from flx.store.store import Store
from flx_netsuite.emulator import Emulator, EmulatorTransport
from tests.core.conftest import postgres_schema_url, postgres_url  # noqa: F401  (fixtures)

with warnings.catch_warnings():  # starlette asks for httpx2, which is not packaged here yet
    warnings.simplefilter("ignore", UserWarning)
    from starlette.testclient import TestClient

TOKEN = "serve-test-token-0123456789"
WAITING_SHIPMENT = {
    "id": "SHP-9", "order_id": "ORD-1004", "fulfillment_request_id": "FR-1004-1",
    "shipped_at": "2026-11-24T09:00:00Z", "carrier": "UPS", "method": "Ground",
    "tracking_numbers": ["1Z999AA10123456800"], "items": [{"sku": "GHOST-404", "quantity": 1}]}


@dataclass
class Site:
    """One workspace: its flx.toml, emulator and store, and `flx(...)` to run commands."""

    path: Path
    config_path: Path
    emulator: Emulator
    store_url: str
    opened: list[Store] = field(default_factory=list)

    def flx(self, *args: str) -> tuple[int, str]:
        app = build_app(transport=EmulatorTransport(self.emulator))
        result = CliRunner().invoke(app, ["--config", str(self.config_path), *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def secrets(self) -> list[str]:
        return [*self.emulator.credential_env().values(), TOKEN]

    def app(self, *, token: str | None = None, read_only: bool = False) -> Any:
        config = load_config(self.config_path, plugins=build_plugins(), strict_env=False)
        store = Store(config.store_url)
        self.opened.append(store)
        return create_app(config, build_plugins(), store,
                          transport=EmulatorTransport(self.emulator), token=token,
                          read_only=read_only, refresh_seconds=0)

    def close(self) -> None:
        for store in self.opened:
            store.close()

    def client(self, **kwargs: Any) -> TestClient:
        return TestClient(self.app(**kwargs), base_url="http://127.0.0.1:8750",
                          follow_redirects=False)


def build_site(path: Path, monkeypatch: pytest.MonkeyPatch, store_url: str, *,
               host: str = "1234567-sb1.suitetalk.api.netsuite.com") -> Site:
    """`host`: the NetSuite host of the connection. The NetSuite plugin keeps one limiter per
    account and host for the whole process, and it keeps the shared PostgreSQL budget of the
    first store that attached one: PostgreSQL sites use a host of their own."""
    emulator = Emulator()
    env = emulator.credential_env()
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("FLX_SERVE_TOKEN", TOKEN)
    names = list(env)
    ops = "\n".join(f'[connections.demo.operations.{op}]\nmapping = "demo"\n'
                    for op in ("send-orders", "send-shipments", "send-vendor-bills"))
    config = path / "flx.toml"
    config.write_text(f"""[store]
url = "{store_url}"

[serve]
token = "${{FLX_SERVE_TOKEN}}"

[connections.demo]
plugin = "netsuite"
account_id = "1234567_SB1"
client_id = "${{{names[0]}}}"
client_secret = "${{{names[1]}}}"
token_id = "${{{names[2]}}}"
token_secret = "${{{names[3]}}}"
base_url = "https://{host}"

{ops}""")
    config.chmod(0o600)
    site = Site(path, config, emulator, store_url)
    data = json.loads(resources.files("flx_netsuite").joinpath("data/demo.json").read_text())
    data["shipments"].append(WAITING_SHIPMENT)
    (path / "demo.json").write_text(json.dumps(data))
    code, out = site.flx("import", str(path / "demo.json"))
    assert code == 0, out
    for op in ("send-orders", "send-shipments", "send-vendor-bills"):
        code, out = site.flx("run", op, "--connection", "demo")
        assert code in (0, 3), out
    return site


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Site]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLX_CONFIG", raising=False)
    built = build_site(tmp_path, monkeypatch, "sqlite:///flx.db")
    yield built
    built.close()


# --- a live dashboard and a real browser ---------------------------------------------------

CHROMIUM = Path("/usr/bin/chromium")


def browser_required() -> bool:
    return os.environ.get("FLX_REQUIRE_BROWSER", "").strip() not in ("", "0")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's headless Chromium driven by Playwright; skipped (with the reason) where it
    is not installed, failed instead under FLX_REQUIRE_BROWSER=1 (CI sets it)."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (apt-get install chromium)"
        if browser_required():
            pytest.fail(reason + " and FLX_REQUIRE_BROWSER is set", pytrace=False)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM),
                                              args=["--no-sandbox"])
        try:
            yield launched
        finally:
            launched.close()


@contextlib.contextmanager
def live(app: Any) -> Iterator[str]:
    """`app` served by uvicorn on a free loopback port, in a thread; yields its base URL."""
    import uvicorn

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "the dashboard did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)
