"""Sources end to end: `flx pull` through the CLI with the fakefeed test source (records in
memory, an updated-since cursor), the real config loader, ingest and store; then `flx run`
on the fakebooks connector, `flx schedule --once` and `flx status`."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.plugins import build_plugins
from flx.store.store import Store
from tests.fake_plugin import plugin as fake_plugin
from tests.fake_plugin.harness import make_bill, make_order, make_shipment
from tests.fake_plugin.ledger import Ledger
from tests.fake_source import plugin as feed_plugin

TOKEN = "feed-token-very-secret"

TOML = """\
[store]
url = "sqlite:///{db}"

[connections.prod]
plugin = "fakebooks"
api_key = "${{FAKEBOOKS_KEY}}"

[connections.prod.operations.send-orders]
channels = ["shopify"]
{orders}

[sources.shop]
plugin = "fakefeed"
feed = "shop"
token = "${{FEED_TOKEN}}"
{source}
"""


def entries(count: int, start: int = 1) -> list[tuple[str, dict[str, Any]]]:
    return [("order", make_order(f"ORD-{i}")) for i in range(start, start + count)]


@pytest.fixture
def feed(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The shop feed: five orders, a shipment and a bill of the first order (4 pages of 2)."""
    items: list[Any] = [*entries(5), ("shipment", make_shipment("SH-1", "ORD-1")),
                        ("vendor_bill", make_bill("VB-1", "ORD-1"))]
    monkeypatch.setitem(feed_plugin.FEEDS, "shop", items)
    return items


class Flx:
    """flx.toml in tmp_path, one app with fakebooks and fakefeed, a ledger behind it."""

    def __init__(self, tmp_path: Path, source: str = "", orders: str = "") -> None:
        self.tmp, self.ledger = tmp_path, Ledger()
        self.path = tmp_path / "flx.toml"
        self.write(source, orders)
        self.plugins = build_plugins(fake_plugin, feed_plugin, autoload=False)
        self.source = self.plugins.sources["fakefeed"]
        self.env = {"FAKEBOOKS_KEY": self.ledger.api_key, "FEED_TOKEN": TOKEN}

    def write(self, source: str = "", orders: str = "") -> None:
        self.path.write_text(TOML.format(db=self.tmp / "flx.db", source=source, orders=orders))
        os.chmod(self.path, 0o600)

    def __call__(self, *args: str, transport: httpx.BaseTransport | None = None) -> Any:
        app = build_app(self.plugins, transport=transport or self.ledger.transport())
        result = CliRunner().invoke(app, ["--config", str(self.path), *args], env=self.env)
        assert TOKEN not in result.output
        return result

    def store(self) -> Store:
        return Store(f"sqlite:///{self.tmp / 'flx.db'}")


def test_pull_stores_every_page_and_its_cursor(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    result = flx("pull")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "pulled 4 pages from shop: orders 5 new; shipments 1 new; vendor bills 1 new"]
    with flx.store() as store:
        assert store.count_records("order") == 5
        assert store.get_record("shipment", "SH-1") == make_shipment("SH-1", "ORD-1")
        assert store.source_cursor("shop") == 7
        (state,) = store.source_states()
    assert state["last_status"] == "ok"
    assert state["counts"]["kinds"]["order"] == {"inserted": 5, "updated": 0, "unchanged": 0,
                                                 "rejected": 0}
    assert [p["since"] for p in flx.source.pulls] == [None]
