"""Two connectors installed together, one flx.toml, one store: core calls the connector each
connection names, so each connection reaches only its own accounting system (its ledger, its
API key), and every audit row and sync state is kept under the right connection."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.plugins import build_plugins, hookimpl
from flx.store.store import Store
from tests.fake_plugin import plugin as fake
from tests.fake_plugin.harness import make_order
from tests.fake_plugin.ledger import Ledger

TOML = """\
[store]
url = "sqlite:///{db}"

[connections.a]
plugin = "fakebooks"
base_url = "https://books-a.test/api"
api_key = "${{A_KEY}}"

[connections.a.operations.send-orders]
channels = ["shopify", "amazon"]

[connections.b]
plugin = "fakeledger"
base_url = "https://books-b.test/api"
api_key = "${{B_KEY}}"

[connections.b.operations.send-orders]
channels = ["amazon"]
"""


class Spy(fake.FakebooksConnector):
    """The fakebooks connector, noting which connection each call was for."""

    def send(self, operation: str, records: Any, runtime: Any) -> Any:
        self.extra["calls"].append(("send", runtime.connection.name))
        return super().send(operation, records, runtime)

    def render(self, operation: str, record: Any, runtime: Any) -> Any:
        self.extra["calls"].append(("render", runtime.connection.name))
        return super().render(operation, record, runtime)

    def check(self, runtime: Any, deep: bool = False) -> Any:
        self.extra["calls"].append(("check", runtime.connection.name))
        return super().check(runtime)


class TwoConnectors:
    """One plugin registering two instances of the same connector class under two names."""

    def __init__(self) -> None:
        self.calls: dict[str, list[tuple[str, str]]] = {"fakebooks": [], "fakeledger": []}

    @hookimpl
    def register_connectors(self, register: Any) -> None:
        for name in self.calls:
            base = fake.connector(name)
            fields = {f.name: getattr(base, f.name) for f in dataclasses.fields(base)}
            register(Spy(**{**fields, "extra": {**base.extra, "calls": self.calls[name]}}))


@dataclasses.dataclass
class World:
    path: Path
    plugin: TwoConnectors
    ledgers: dict[str, Ledger]
    runner: CliRunner

    def flx(self, *args: str) -> Any:
        ledgers = self.ledgers

        def route(request: httpx.Request) -> httpx.Response:  # by host, as the network would
            return ledgers[request.url.host].handle(request)

        app = build_app(build_plugins(self.plugin, autoload=False),
                        transport=httpx.MockTransport(route))
        env = {"A_KEY": ledgers["books-a.test"].api_key, "B_KEY": ledgers["books-b.test"].api_key}
        return self.runner.invoke(app, ["--config", str(self.path), *args], env=env)

    def store(self) -> Store:
        return Store(f"sqlite:///{self.path.parent / 'flx.db'}")


@pytest.fixture
def world(tmp_path: Path) -> World:
    path = tmp_path / "flx.toml"
    path.write_text(TOML.format(db=tmp_path / "flx.db"))
    os.chmod(path, 0o600)
    ledger_b = Ledger(api_key="fk-ledger-b-7777-secret")
    ledger_b._next_id = 500  # its ids differ from ledger A's, so a mix-up shows
    world = World(path, TwoConnectors(),
                  {"books-a.test": Ledger(), "books-b.test": ledger_b}, CliRunner())
    orders = [make_order("ORD-1", channel="shopify"), make_order("ORD-2", channel="amazon"),
              make_order("ORD-3", channel="amazon")]
    (tmp_path / "orders.json").write_text(json.dumps({"orders": orders}))
    result = world.flx("import", str(tmp_path / "orders.json"))
    assert result.exit_code == 0, result.output
    return world


def external_ids(ledger: Ledger) -> list[str]:
    return sorted(r["externalId"] for r in ledger.records["orders"].values())


def test_each_connection_sends_only_to_its_own_ledger(world: World) -> None:
    for name in ("a", "b"):
        result = world.flx("run", "send-orders", "--connection", name, "--json")
        assert result.exit_code == 0, result.output
    ledger_a, ledger_b = world.ledgers["books-a.test"], world.ledgers["books-b.test"]
    assert external_ids(ledger_a) == ["flx-ORD-1", "flx-ORD-2", "flx-ORD-3"]
    assert external_ids(ledger_b) == ["flx-ORD-2", "flx-ORD-3"]  # b takes amazon orders only
    assert set(world.plugin.calls["fakebooks"]) == {("send", "a")}  # one call per batch
    assert set(world.plugin.calls["fakeledger"]) == {("send", "b")}
    with world.store() as store:
        ids_a = set(ledger_a.records["orders"])
        ids_b = set(ledger_b.records["orders"])
        for name, ids in (("a", ids_a), ("b", ids_b)):
            rows = store.audit_entries(connection=name)
            assert rows and all(r["method"] == "POST" for r in rows)
            assert {r["remote_id"] for r in rows} == ids
            assert {r["record_id"] for r in rows} == (
                {"ORD-1", "ORD-2", "ORD-3"} if name == "a" else {"ORD-2", "ORD-3"})
        assert store.get_sync("a", "send-orders", "ORD-2").remote_ids["order"] in ids_a
        assert store.get_sync("b", "send-orders", "ORD-2").remote_ids["order"] in ids_b
        assert store.get_sync("b", "send-orders", "ORD-1") is None  # not in b's channels


def test_render_and_check_reach_the_connection_s_own_connector(world: World) -> None:
    result = world.flx("render", "send-orders", "--connection", "b", "--id", "ORD-2", "--json")
    assert result.exit_code == 0, result.output
    assert world.plugin.calls == {"fakebooks": [], "fakeledger": [("render", "b")]}
    for name in ("a", "b"):
        result = world.flx("connections", "test", name, "--json")
        assert result.exit_code == 0, result.output
        assert json.loads(result.stdout)["ok"] is True
    assert world.plugin.calls["fakebooks"] == [("check", "a")]
    assert world.plugin.calls["fakeledger"] == [("render", "b"), ("check", "b")]
    assert world.ledgers["books-a.test"].writes() == []  # render and test write nothing
    assert world.ledgers["books-b.test"].writes() == []
    # the keys differ: had a connection reached the other ledger, its check would have failed
    assert [p for _, p in world.ledgers["books-a.test"].requests] == ["/api/ping"]
    assert [p for _, p in world.ledgers["books-b.test"].requests] == ["/api/ping"]


def test_record_urls_and_profile_gaps_come_from_each_connector(world: World) -> None:
    plugins = build_plugins(world.plugin, autoload=False)
    from flx.config.load import load_config

    config = load_config(world.path, plugins=plugins,
                         env={"A_KEY": "k" * 12, "B_KEY": "k" * 12})
    books, ledger = plugins.connector("fakebooks"), plugins.connector("fakeledger")
    assert books.record_url("order", "101", config.connection("a")) == \
        "https://books-a.test/orders/101"
    assert ledger.record_url("order", "501", config.connection("b")) == \
        "https://books-b.test/orders/501"
    unmapped = make_order("ORD-9", channel="amazon")
    unmapped["fulfillment_requests"][1]["vendor"] = {"id": "V-Z"}
    gaps = ledger.profile_gaps("send-orders", {"tables": {"vendors": {"V-A": "501"}}},
                               iter([unmapped, make_order("ORD-8")]))
    assert gaps == ["tables.vendors has no 'V-Z' (orders ORD-9 wait for it): add "
                    '"V-Z": "<ledger vendor id>"']
