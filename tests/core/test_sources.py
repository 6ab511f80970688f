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
from flx.errors import RecordError
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


def test_a_crash_after_page_2_keeps_pages_1_and_2_and_nothing_of_page_3(
        tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path, source="fail_after = 2")
    result = flx("pull", "shop")
    assert result.exit_code == 1, result.output
    assert "pulled 2 pages from shop: orders 4 new; stopped: source 'shop' failed: FeedBroke: " \
           "the feed went away before page 3" in result.stdout
    with flx.store() as store:
        assert [r["id"] for r in store.iter_records("order")] == [f"ORD-{i}" for i in range(1, 5)]
        assert store.count_records("shipment") == 0
        assert store.source_cursor("shop") == 4  # page 2's
        (state,) = store.source_states()
        assert state["last_status"] == "aborted" and "FeedBroke" in state["error"]["message"]
    flx.write()  # the feed is back: the next pull starts after page 2
    result = flx("pull", "shop")
    assert result.exit_code == 0, result.output
    assert flx.source.pulls[-1]["since"] == 4
    assert "pulled 2 pages from shop: orders 1 new; shipments 1 new; vendor bills 1 new" \
        in result.stdout
    with flx.store() as store:
        assert store.count_records("order") == 5 and store.source_cursor("shop") == 7


def test_a_crash_while_page_3_is_stored_keeps_none_of_it(
        tmp_path: Path, feed: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    real = Store.save_cursor

    def save_cursor(self: Store, name: str, cursor: Any) -> None:
        real(self, name, cursor)  # written in the page's transaction, then the disk fails
        if cursor == 6:
            raise OSError("disk full")

    monkeypatch.setattr(Store, "save_cursor", save_cursor)
    flx = Flx(tmp_path)
    result = flx("pull")
    assert result.exit_code == 1 and "disk full" in result.output
    with flx.store() as store:
        assert store.count_records("order") == 4  # page 3 held ORD-5 and SH-1: neither kept
        assert store.count_records("shipment") == 0
        assert store.source_cursor("shop") == 4
        assert store.source_states()[0]["last_status"] == "aborted"


def test_a_second_pull_changes_nothing(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    assert flx("pull").exit_code == 0
    with flx.store() as store:
        before = {r["id"]: store.record_info("order", r["id"])
                  for r in store.iter_records("order")}
    again = flx("pull", "--json")
    assert again.exit_code == 0, again.output
    (report,) = json.loads(again.stdout)["pulls"]
    assert report["since"] == 7 and report["pages"] == 0 and report["records"] == 0
    full = flx("pull", "--full")  # everything again: all of it unchanged
    assert full.exit_code == 0, full.output
    assert full.stdout.splitlines() == [
        "pulled 4 pages from shop: orders 5 unchanged; shipments 1 unchanged; "
        "vendor bills 1 unchanged"]
    with flx.store() as store:
        after = {r["id"]: store.record_info("order", r["id"])
                 for r in store.iter_records("order")}
        assert after == before and store.source_cursor("shop") == 7


def test_pulled_orders_are_sent_by_flx_run(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    assert flx("pull").exit_code == 0
    result = flx("run", "send-orders", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["counts"]["sent"] == 5
    assert sorted(o["externalId"] for o in flx.ledger.records["orders"].values()) == [
        f"flx-ORD-{i}" for i in range(1, 6)]


def test_schedule_once_pulls_before_it_sends(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path, source='schedule = "every 30 minutes"',
              orders='schedule = "every 30 minutes"')
    result = flx("schedule", "--once")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert "pull shop every 30 minutes; send-orders on prod every 30 minutes" in lines[0]
    assert "pulled 4 pages from shop: orders 5 new" in lines[1]
    assert "send-orders on prod" in lines[2] and "5 sent" in lines[2]
    assert len(flx.ledger.records["orders"]) == 5
    again = flx("schedule", "--once", "--log-format", "json")  # neither is due for 30 minutes
    assert again.exit_code == 0
    start, stop = (json.loads(line) for line in again.stdout.splitlines())
    assert start["pulls"] == [{"source": "shop", "schedule": "every 30 minutes"}]
    assert stop["event"] == "stop" and len(flx.source.pulls) == 1
    with flx.store() as store:  # as if the last pull was an hour ago: due again
        store.start_pull("shop", dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        store.finish_pull("shop", {}, "ok")
    logged = [json.loads(line) for line in flx("schedule", "--once", "--log-format",
                                               "json").stdout.splitlines()]
    (pull,) = [e for e in logged if e["event"] == "pull"]
    assert pull["source"] == "shop" and pull["status"] == "ok" and pull["pages"] == 0


def test_status_shows_each_source(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path, source='schedule = "every 2 hours"')
    before = flx("status")
    assert "source shop: never pulled; next pull due now" in before.stdout
    assert flx("pull").exit_code == 0
    result = flx("status")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    (head,) = [line for line in lines if line.startswith("source shop")]
    assert " ok (4 pages: orders 5 new; shipments 1 new; vendor bills 1 new); next pull " in head
    assert lines[lines.index(head) + 1].startswith("  resumes after 7 (saved ")
    data = json.loads(flx("status", "--json").stdout)
    (row,) = data["sources"]
    assert row["source"] == "shop" and row["cursor"] == 7 and row["last_status"] == "ok"
    assert row["counts"]["kinds"]["order"]["inserted"] == 5


def test_a_secret_cursor_is_masked_in_status(tmp_path: Path, feed: list[Any],
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    flx = Flx(tmp_path)
    monkeypatch.setattr(flx.source, "secret_cursor", True)
    assert flx("pull").exit_code == 0
    data = json.loads(flx("status", "--json").stdout)
    assert data["sources"][0]["cursor"] == "********"
    assert "  resumes after ******** (saved " in flx("status").stdout


def test_a_bad_record_is_rejected_alone_with_its_place(tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    no_lines = make_order("ORD-2")
    del no_lines["lines"]
    monkeypatch.setitem(feed_plugin.FEEDS, "shop", [
        ("order", make_order("ORD-1")), ("order", no_lines),                      # page 1
        ("order", make_order("ORD-3", tax_total=float("nan"))), "not a pair",     # page 2
        ("refund", {"id": "R-1"}), ("order", make_order("ORD-4", placed_at=dt.date(2026, 1, 1))),
        ("order", make_order("ORD-5", currency="US\x00")), ("order", make_order("ORD-1")),  # 4
        ("order", make_order("ORD-6")), ("order", make_order("ORD-6"))])          # page 5
    flx = Flx(tmp_path)
    result = flx("pull", "--json")
    assert result.exit_code == 3, result.output
    (report,) = json.loads(result.stdout)["pulls"]
    assert report["status"] == "rejected" and report["cursor"] == 10
    where = {(p["location"], p["code"]) for p in report["problems"]}
    assert {(w, c) for w, c in where} >= {
        ("page 1, records[1]", "required"), ("page 2, records[1]", "shape"),
        ("page 3, records[0]", "unknown_kind"), ("page 3, records[1]", "shape"),
        ("page 5, records[1]", "duplicate_record")}
    assert {w for w, _ in where} == {
        "page 1, records[1]", "page 2, records[0]", "page 2, records[1]", "page 3, records[0]",
        "page 3, records[1]", "page 4, records[0]", "page 5, records[1]"}
    assert all(p["file"] == "shop" for p in report["problems"])
    with flx.store() as store:  # every good record stored, ORD-1 of page 4 unchanged
        assert [r["id"] for r in store.iter_records("order")] == ["ORD-1", "ORD-6"]
        assert store.source_cursor("shop") == 10
    assert report["kinds"]["order"] == {"inserted": 2, "updated": 0, "unchanged": 1,
                                        "rejected": 5}
    text = flx("pull", "--full")
    assert text.exit_code == 3
    assert "  rejected: shop page 1, records[1] (order ORD-2) $.lines: lines is required" \
        in text.stdout.splitlines()
    assert "pulled 5 pages from shop: orders 3 unchanged, 5 rejected; 2 unreadable" \
        in text.stdout.splitlines()


def test_a_record_the_source_could_not_build_is_refused_alone_with_its_fix(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    unbuilt = RecordError("shop order 77 has no customer e-mail", record_id="77",
                          path="$.customer.email", kind="order",
                          hint="add the e-mail in the shop, then flx pull again")
    monkeypatch.setitem(feed_plugin.FEEDS, "shop", [("order", make_order("ORD-1")), unbuilt,
                                                    ("order", make_order("ORD-2"))])
    flx = Flx(tmp_path)
    result = flx("pull", "--json")
    assert result.exit_code == 3, result.output
    (report,) = json.loads(result.stdout)["pulls"]
    (problem,) = report["problems"]
    assert problem["location"] == "page 1" and problem["path"] == "$.customer.email"
    assert "shop order 77 has no customer e-mail; fix: add the e-mail in the shop" \
        in problem["message"]
    assert report["kinds"]["order"]["inserted"] == 2 and report["kinds"]["order"]["rejected"] == 1
    with flx.store() as store:  # the others arrive, and the cursor moves past all three
        assert [r["id"] for r in store.iter_records("order")] == ["ORD-1", "ORD-2"]
        assert store.source_cursor("shop") == 3


def acks() -> tuple[list[httpx.Request], httpx.MockTransport]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)
    return seen, httpx.MockTransport(handle)


def test_a_dry_run_counts_stores_nothing_and_refuses_writes(tmp_path: Path,
                                                            feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    result = flx("pull", "--dry-run")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines() == [
        "would pull 4 pages from shop: orders 5 new; shipments 1 new; vendor bills 1 new"]
    with flx.store() as store:
        assert store.count_records("order") == 0 and store.source_states() == []
    seen, transport = acks()
    flx.write(source='ack_url = "https://feed.test"')
    refused = flx("pull", "--dry-run", transport=transport)
    assert refused.exit_code == 1 and seen == []
    assert "DryRunRefused: dry run: refused POST /ack (nothing was sent)" in refused.stdout
    real = flx("pull", transport=transport)  # a real pull's writes go, and are audited
    assert real.exit_code == 0, real.output
    assert len(seen) == 4 and seen[0].headers["X-Token"] == TOKEN
    with flx.store() as store:
        audit = store.audit_entries(connection="source:shop")
    assert [(a["method"], a["path"]) for a in audit] == [("POST", "/ack")] * 4


def test_a_pull_already_going_on_is_not_doubled(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    with flx.store() as store:
        assert store.acquire_lock("run:source shop:pull", "host:1:other", 300)
        result = flx("pull", "shop")
        assert result.exit_code == 1
        assert "source 'shop' is being pulled already (host:1:other)" in result.stderr
        assert "`flx status` shows the source's last pull" in result.stderr
        assert store.count_records("order") == 0


def test_a_cursor_json_cannot_hold_stops_before_its_page(
        tmp_path: Path, feed: list[Any], monkeypatch: pytest.MonkeyPatch) -> None:
    flx = Flx(tmp_path)
    real = type(flx.source).pull

    def pull(self: Any, since: Any, runtime: Any) -> Any:
        for number, page in enumerate(real(self, since, runtime), start=1):
            yield page if number < 2 else type(page)(page.records, cursor={1, 2})

    monkeypatch.setattr(type(flx.source), "pull", pull)
    result = flx("pull")
    assert result.exit_code == 1
    assert "a cursor that JSON cannot hold" in result.stdout
    with flx.store() as store:
        assert store.count_records("order") == 2 and store.source_cursor("shop") == 2


def test_source_tables_are_checked_with_the_rest_of_the_file(tmp_path: Path,
                                                             feed: list[Any]) -> None:
    flx = Flx(tmp_path, source='page_sise = 3\nschedule = "every fortnight"')
    result = flx("pull")
    assert result.exit_code == 1
    assert "sources.shop: unknown key 'page_sise' (did you mean 'page_size'?)" in result.stderr
    assert "sources.shop.schedule: " in result.stderr
    flx.path.write_text(flx.path.read_text().replace('plugin = "fakefeed"',
                                                     'plugin = "fakefed"'))
    result = flx("pull")
    assert "sources.shop.plugin: no installed plugin provides the source 'fakefed' " \
           "(installed: fakefeed); did you mean 'fakefeed'?" in result.stderr


def test_a_source_secret_is_kept_out_of_files_others_read(tmp_path: Path,
                                                          feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    flx.path.write_text(flx.path.read_text().replace('"${FEED_TOKEN}"', f'"{TOKEN}"'))
    os.chmod(flx.path, 0o644)
    result = flx("pull")
    assert result.exit_code == 1
    assert "sources.shop.token: a secret is written in flx.toml, which other users can read " \
           "(mode 644); run `chmod 600 flx.toml`, or write `${SHOP_TOKEN}`" in result.stderr


def test_unset_variables_stop_only_their_source(tmp_path: Path, feed: list[Any]) -> None:
    flx = Flx(tmp_path)
    del flx.env["FEED_TOKEN"]
    result = flx("pull", "shop")
    assert result.exit_code == 1
    assert "source 'shop' needs environment variables that are not set" in result.stderr
    assert "sources.shop.token: environment variable FEED_TOKEN is not set" in result.stderr
    assert flx("status").exit_code == 0
    assert "did you mean 'shop'?" in flx("pull", "shops").stderr


def test_register_sources_refuses_what_is_not_a_source_and_a_name_twice() -> None:
    from flx import Source, hookimpl
    from flx.errors import PluginError

    class NotASource:
        @hookimpl
        def register_sources(self, register: Any) -> None:
            register(object())

    class Twice:
        @hookimpl
        def register_sources(self, register: Any) -> None:
            register(Source(name="fakefeed"))

    with pytest.raises(PluginError, match="not a Source"):
        build_plugins(NotASource(), autoload=False)
    with pytest.raises(PluginError, match="two plugins register the source 'fakefeed'"):
        build_plugins(feed_plugin, Twice(), autoload=False)
    plugins = build_plugins(feed_plugin, autoload=False)
    (row,) = [r for r in plugins.describe() if r["sources"]]
    assert row["sources"] == [{"name": "fakefeed",
                               "description": "test source: records from an in-memory feed"}]


def test_a_cursor_is_kept_only_with_its_transaction(store: Store) -> None:
    """On SQLite and PostgreSQL: the cursor commits or rolls back with the page's records."""
    from flx.source import Page
    from flx.sources.ingest import ingest_page

    counts = ingest_page(store, Page(entries(2), cursor={"after": "2026-12-01"}), source="s")
    assert counts.kinds()["order"]["inserted"] == 2
    assert store.source_cursor("s") == {"after": "2026-12-01"}
    with pytest.raises(RuntimeError), store.transaction():
        store.upsert_records("order", [make_order("ORD-9")])
        store.save_cursor("s", {"after": "2026-12-02"})
        raise RuntimeError("crash before the commit")
    assert store.source_cursor("s") == {"after": "2026-12-01"}
    assert store.get_record("order", "ORD-9") is None
    dry = ingest_page(store, Page(entries(3), cursor="x"), source="s", dry_run=True)
    assert dry.kinds()["order"] == {"inserted": 1, "updated": 0, "unchanged": 2, "rejected": 0}
    assert store.count_records("order") == 2 and store.source_cursor("s") == {"after":
                                                                            "2026-12-01"}
    store.start_pull("s", dt.datetime(2026, 12, 6, 13, 0, tzinfo=dt.UTC))
    store.finish_pull("s", {"pages": 1}, "ok")
    (row,) = store.source_states()
    assert row["last_pull_at"] == dt.datetime(2026, 12, 6, 13, 0, tzinfo=dt.UTC)
    assert (row["last_status"], row["counts"], row["error"]) == ("ok", {"pages": 1}, None)


def test_pull_help_has_examples_and_no_source_is_said_plainly(tmp_path: Path,
                                                              feed: list[Any]) -> None:
    flx = Flx(tmp_path, source="enabled = false")
    help_text = flx("pull", "--help").stdout
    assert "Examples:" in help_text and "  flx pull shop --dry-run" in help_text
    assert "Usage: flx pull [OPTIONS] [NAME]" in help_text
    result = flx("pull")
    assert result.exit_code == 1 and "no source to pull from" in result.stderr
    result = flx("pull", "shop")
    assert result.exit_code == 1 and "source 'shop' is disabled" in result.stderr
    assert flx.source.pulls == []


def test_flx_plugins_lists_the_source(tmp_path: Path) -> None:
    flx = Flx(tmp_path)
    rows = json.loads(flx("plugins", "--json").stdout)["plugins"]
    assert [(r["source"], r["description"]) for r in rows if r["source"]] == [
        ("fakefeed", "test source: records from an in-memory feed")]
    assert "fakefeed" in flx("plugins").stdout


def test_a_source_keeps_state_and_its_token_requests_pass_a_dry_run(
        tmp_path: Path, feed: list[Any]) -> None:
    session = "session-secret-4711"
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"session": session})

    flx = Flx(tmp_path, source='token_url = "https://auth.feed.test"')
    transport = httpx.MockTransport(handle)
    dry = flx("pull", "--dry-run", transport=transport)
    assert dry.exit_code == 0, dry.output
    real = flx("pull", "--json", transport=transport)
    assert real.exit_code == 0 and session not in real.output
    assert [r.url.path for r in seen] == ["/token", "/token"]
    with flx.store() as store:
        assert store.state_get("source:shop", "pulls").value == "2"  # dry runs keep state too
        assert store.state_get("source:shop", "session").secret
        assert store.audit_entries(connection="source:shop") == []  # token requests: not audited
    assert session not in flx("status").output


def test_a_source_that_fails_at_once_is_said_and_kept(tmp_path: Path, feed: list[Any],
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    flx = Flx(tmp_path)

    def pull(self: Any, since: Any, runtime: Any) -> Any:  # not a generator: raises at call
        raise ValueError(f"bad settings for {runtime.source}")

    monkeypatch.setattr(type(flx.source), "pull", pull)
    result = flx("pull", "--json")
    assert result.exit_code == 1
    (report,) = json.loads(result.stdout)["pulls"]
    assert report["status"] == "aborted" and report["error"]["class"] == "plugin"
    assert report["error"]["message"] == "source 'shop' failed: ValueError: bad settings for shop"
    with flx.store() as store:
        (state,) = store.source_states()
    assert state["last_status"] == "aborted" and state["cursor"] is None
