"""The runner end to end with the fake connector: what an ops person sees after `flx run`."""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
import threading
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console

from flx.connector import Connector
from flx.errors import AuthenticationError, ConfigError, RateLimitError
from flx.model import RecordResult
from flx.plugins import hookimpl
from flx.run.report import print_run
from flx.run.runner import MAX_ATTEMPTS, next_retry_at, run_operation
from flx.run.runtime import Runtime
from flx.store.store import Store

ROOT = str(Path(__file__).resolve().parents[2])
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # the test connector, tests.fake_plugin, lives beside tests/core

from tests.fake_plugin import plugin as fake  # noqa: E402
from tests.fake_plugin.harness import (  # noqa: E402
    Env,
    make_bill,
    make_env,
    make_order,
    make_shipment,
)
from tests.fake_plugin.ledger import Ledger  # noqa: E402


@pytest.fixture
def env(tmp_path: Path):
    env = make_env(tmp_path)
    yield env
    env.store.close()


def untouched(state: Any) -> bool:
    """Never tried: no state, or only the claim row a run writes before sending."""
    return state is None or (state.status == "pending" and state.attempts == 0
                             and state.error is None and not state.remote_ids)


def ledger_orders(env: Env) -> dict[str, dict[str, Any]]:
    return {r["externalId"]: r for r in env.ledger.records["orders"].values()}


# --- the happy path ---------------------------------------------------------------------------


def test_sends_orders_and_records_remote_ids(env: Env) -> None:
    """send-orders hands batches to the connector's send and records what comes back."""
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2", channel="amazon"),
                     make_order("ORD-3")])
    report = env.run()

    assert report.exit_code == 0
    assert report.counts == {"sent": 3, "linked": 0, "failed": 0, "waiting": 0, "dry_run": 0}
    sent = ledger_orders(env)
    assert sorted(sent) == ["flx-ORD-1", "flx-ORD-2", "flx-ORD-3"]
    one = sent["flx-ORD-1"]
    assert one["lines"] == [{"sku": "FLX-1", "quantity": 3, "rate": 19.99, "amount": 59.97}]
    assert (one["department"], one["memo"], one["custbody_gift"]) == (
        "10", "Order 1 from shopify", "Happy birthday")  # profile tables, header, custom field
    assert one["dropship"] == [{"request": "FR-2", "vendor": "501"}]
    assert sent["flx-ORD-2"]["department"] == "20"

    state = env.state("ORD-1")
    assert state.status == "sent"
    assert state.remote_ids == {"order": one["id"]}
    assert state.error is None and state.content_hash
    assert {r.record_id: r.remote_ids for r in report.rows}["ORD-1"] == {"order": one["id"]}

    audit = env.store.audit_entries(connection="prod", run_id=report.run_id)
    assert sorted(a["method"] for a in audit) == ["POST"] * 3  # reads are not audited
    run = env.store.recent_runs(connection="prod")[0]
    assert (run["id"], run["status"]) == (report.run_id, "ok")


def test_second_run_sends_nothing_again(env: Env) -> None:
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    assert env.run().counts["sent"] == 2
    again = env.run()
    assert again.rows == [] and again.exit_code == 0
    assert len(env.ledger.records["orders"]) == 2


def test_existing_remote_record_is_linked_not_duplicated(env: Env) -> None:
    env.ledger.records["orders"]["7"] = {"id": "7", "externalId": "flx-ORD-1"}
    env.load(orders=[make_order("ORD-1")])
    report = env.run()
    assert [(r.record_id, r.status, r.remote_ids) for r in report.rows] == [
        ("ORD-1", "linked", {"order": "7"})]
    assert env.ledger.writes() == []
    assert env.state("ORD-1").status == "linked"


def test_force_with_only_resends_a_done_record_safely(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    env.run()
    plain = env.run(only=["ORD-1"])
    assert plain.rows == []
    assert plain.notes == ["ORD-1: already sent, nothing sent (add --force to send it again)"]
    forced = env.run(only=["ORD-1"], force=True)
    assert [r.status for r in forced.rows] == ["linked"]  # found by external id: no duplicate
    assert len(env.ledger.records["orders"]) == 1
    unknown = env.run(only=["ORD-404"])
    assert unknown.notes == ["ORD-404: no order with this id in the store (check the id, or "
                             "import the order first)"]
    assert unknown.exit_code == 3  # a typo in --only is not a success
    assert unknown.status == "ok"  # ... but no record failed: the run history says ok


def test_run_opens_and_closes_its_own_store(tmp_path: Path) -> None:
    env = make_env(tmp_path)
    env.load(orders=[make_order("ORD-1")])
    env.store.close()
    report = run_operation(env.config, env.plugins, "send-orders", "prod",
                           transport=env.ledger.transport())
    assert report.exit_code == 0
    with Store(env.config.store_url) as store:
        assert store.get_sync("prod", "send-orders", "ORD-1").status == "sent"


# --- waiting and scope --------------------------------------------------------------------------


def test_waiting_reasons_are_stored_and_unselected_orders_untouched(env: Env) -> None:
    partial = make_order("ORD-2")
    partial["fulfillment_requests"][1]["items"][0]["quantity"] = 1
    env.load(orders=[make_order("ORD-1"), partial, make_order("ORD-3", channel="ebay"),
                     make_order("ORD-4", status="cancelled")])
    report = env.run()

    assert report.exit_code == 0
    rows = {r.record_id: (r.status, r.message) for r in report.rows}
    assert rows == {"ORD-1": ("sent", ""),
                    "ORD-2": ("waiting", "line L1: 2 of 3 routed"),
                    "ORD-4": ("waiting", "order ORD-4 is cancelled")}
    assert env.state("ORD-2").status == "waiting"
    assert env.state("ORD-2").error == {"class": "waiting", "message": "line L1: 2 of 3 routed"}
    assert env.state("ORD-3") is None  # ebay is not this connection's channel
    assert report.to_dict()["counts"]["out_of_scope"] == 1

    # once routed, the waiting order goes on the next run
    env.load(orders=[make_order("ORD-2")])
    assert {r.record_id: r.status for r in env.run().rows} == {"ORD-2": "sent",
                                                              "ORD-4": "waiting"}


def test_shipments_wait_for_their_order_then_go(env: Env) -> None:
    """send-shipments: the connector's send gets shipments whose order is in fakebooks."""
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")],
             shipments=[make_shipment("SH-1", "ORD-1"), make_shipment("SH-2", "ORD-2")])
    env.run(only=["ORD-1"])
    report = env.run("send-shipments")
    rows = {r.record_id: (r.status, r.message) for r in report.rows}
    assert rows["SH-1"][0] == "sent"
    assert rows["SH-2"] == ("waiting", "order ORD-2 is not in FakeBooks yet "
                                       "(send-orders: not sent)")
    shipped = next(iter(env.ledger.records["shipments"].values()))
    assert shipped["order"] == env.state("ORD-1").remote_ids["order"]
    assert shipped["items"] == [{"sku": "FLX-1", "quantity": 1}]

    env.run()
    assert [r.status for r in env.run("send-shipments").rows] == ["sent"]


def test_vendor_bills_are_sent_for_dropship_requests(env: Env) -> None:
    """send-vendor-bills: the connector's send gets bills of external requests."""
    env.load(orders=[make_order("ORD-1")],
             vendor_bills=[make_bill("VB-1", "ORD-1"),
                           make_bill("VB-2", "ORD-1", fulfillment_request_id="FR-1")])
    env.run()
    report = env.run("send-vendor-bills")
    # a bill of a warehouse request can never go: failed with the fix, not waiting for ever
    assert {r.record_id: r.status for r in report.rows} == {"VB-1": "sent", "VB-2": "failed"}
    assert report.exit_code == 3
    assert env.state("VB-2", "send-vendor-bills").status == "failed"
    assert [r.record_id for r in env.run("send-vendor-bills").rows] == []  # not re-reported
    bill = next(iter(env.ledger.records["bills"].values()))
    assert (bill["vendor"], bill["total"], bill["lines"][0]["cost"]) == ("501", 18.01, 9.01)


# --- failures -----------------------------------------------------------------------------------


def test_one_bad_record_does_not_stop_the_others(env: Env) -> None:
    unmapped = make_order("ORD-2")
    unmapped["fulfillment_requests"][1]["vendor"] = {"id": "V-B"}
    no_email = make_order("ORD-3")
    del no_email["customer"]["email"]
    env.ledger.reject["flx-ORD-4"] = "item FLX-1 is inactive"
    env.load(orders=[make_order("ORD-1"), unmapped, no_email, make_order("ORD-4"),
                     make_order("ORD-5")])
    report = env.run()

    assert report.exit_code == 3
    assert report.counts["sent"] == 2 and report.counts["failed"] == 3
    rows = {r.record_id: r for r in report.rows}
    assert (rows["ORD-2"].error_class, rows["ORD-2"].message) == (
        "reference", "order ORD-2: vendor V-B has no entry in tables.vendors")
    assert rows["ORD-2"].hint == 'add "V-B": "<ledger vendor id>" to tables.vendors'
    assert rows["ORD-3"].error_class == "template"
    assert "order ORD-3 has no field 'email'" in rows["ORD-3"].message
    assert rows["ORD-4"].error_class == "rejected"
    assert sorted(ledger_orders(env)) == ["flx-ORD-1", "flx-ORD-5"]

    state = env.state("ORD-2")
    assert (state.status, state.attempts, state.next_retry_at) == ("failed", 1, None)
    assert state.error["class"] == "reference"  # a data error waits for a fix, no auto retry
    assert env.store.recent_runs(connection="prod")[0]["status"] == "failed"

    # fixing the record makes it due again at once (its content changed)
    env.load(orders=[make_order("ORD-2")])
    assert [(r.record_id, r.status) for r in env.run().rows] == [("ORD-2", "sent")]


def test_transient_failures_are_retried_with_backoff(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    env.ledger.outage = True
    before = dt.datetime.now(dt.UTC)
    report = env.run()
    assert report.exit_code == 3 and report.rows[0].error_class == "outage"
    state = env.state("ORD-1")
    assert state.attempts == 1
    due = state.next_retry_at.replace(tzinfo=state.next_retry_at.tzinfo or dt.UTC)
    assert before + dt.timedelta(minutes=5) <= due <= (dt.datetime.now(dt.UTC)
                                                      + dt.timedelta(minutes=5))

    assert env.run().rows == []  # not due yet: left alone
    env.ledger.outage = False
    assert [r.status for r in env.run(only=["ORD-1"]).rows] == ["sent"]  # --only: now


def test_automatic_retries_stop_after_the_last_attempt(env: Env) -> None:
    env.load(orders=[make_order("ORD-1")])
    env.ledger.outage = True
    for _ in range(MAX_ATTEMPTS):
        env.run(only=["ORD-1"])
    state = env.state("ORD-1")
    assert (state.attempts, state.next_retry_at) == (MAX_ATTEMPTS, None)


def test_backoff_schedule() -> None:
    now = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    minutes = [(next_retry_at(n, now) - now).total_seconds() / 60 for n in range(1, 8)]
    assert minutes == [5, 10, 20, 40, 80, 160, 320]
    assert next_retry_at(1, now, retry_after=900) - now == dt.timedelta(minutes=15)
    assert next_retry_at(8, now) is None
    assert RateLimitError("x", retry_after=1).retryable


def test_an_exception_in_the_plugin_fails_its_batch_only(env: Env, monkeypatch) -> None:
    original = fake.Session.render

    def explode(self, kind, record):
        if record["id"] == "ORD-3":
            raise RuntimeError("boom")
        return original(self, kind, record)

    monkeypatch.setattr(fake.Session, "render", explode)
    env.load(orders=[make_order(f"ORD-{i}") for i in range(1, 6)])  # batches of 2
    report = env.run()
    statuses = {r.record_id: r.status for r in report.rows}
    assert statuses == {"ORD-1": "sent", "ORD-2": "sent", "ORD-3": "failed", "ORD-4": "failed",
                        "ORD-5": "sent"}
    for rid in ("ORD-3", "ORD-4"):  # the whole batch is recorded, nothing lost
        state = env.state(rid)
        assert state.status == "failed"
        assert state.error["class"] == "plugin"
        assert state.error["message"] == "RuntimeError: boom"
    assert report.exit_code == 3


def test_plugin_protocol_slips_fail_the_record_not_the_run(env: Env, monkeypatch) -> None:
    original = fake.Session.send

    def sloppy(self, kind, record):
        if record["id"] == "ORD-2":
            return RecordResult("ORD-X", "sent")  # answers for a record it was not given
        if record["id"] == "ORD-3":
            return RecordResult("ORD-3", "done")  # not a status flx knows
        return original(self, kind, record)

    monkeypatch.setattr(fake.Session, "send", sloppy)
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2"), make_order("ORD-3")])
    report = env.run()
    assert report.exit_code == 3 and report.aborted is None
    rows = {r.record_id: r for r in report.rows}
    assert set(rows) == {"ORD-1", "ORD-2", "ORD-3"}
    assert rows["ORD-1"].status == "sent"
    assert (rows["ORD-2"].error_class, rows["ORD-2"].message) == (
        "plugin", "the 'fakebooks' plugin returned no result for ORD-2")
    assert "unknown status 'done'" in rows["ORD-3"].message
    assert env.state("ORD-2").status == "failed"


def test_authentication_failure_aborts_the_run(tmp_path: Path) -> None:
    env = make_env(tmp_path, ledger=Ledger(api_key="the-right-key-0000"))
    env.ledger.api_key = "rotated-key-1111"  # the configured key is no longer valid
    env.load(orders=[make_order(f"ORD-{i}") for i in range(1, 6)])
    report = env.run()

    assert report.exit_code == 1
    assert report.aborted.startswith("fakebooks refused the API key")
    assert "check api_key" in report.aborted
    assert report.rows == []
    assert len(env.ledger.requests) == 2  # the first batch only, then it stopped
    assert all(untouched(env.state(f"ORD-{i}")) for i in range(1, 6))  # not failed
    assert env.store.recent_runs(connection="prod")[0]["status"] == "aborted"
    env.store.close()


def test_abort_raised_by_the_plugin_stops_the_run(env: Env, monkeypatch) -> None:
    def raise_abort(self, kind, record):
        raise AuthenticationError("token revoked")

    monkeypatch.setattr(fake.Session, "send", raise_abort)
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2"), make_order("ORD-3")])
    report = env.run()
    assert (report.exit_code, report.aborted, report.rows) == (1, "token revoked", [])
    assert all(untouched(env.state(f"ORD-{i}")) for i in range(1, 4))


# --- dry run --------------------------------------------------------------------------------------


def test_dry_run_renders_and_stores_nothing(env: Env) -> None:
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2", status="cancelled")])
    report = env.run(dry_run=True)
    assert report.exit_code == 0
    rows = {r.record_id: r for r in report.rows}
    assert {rid: r.status for rid, r in rows.items()} == {"ORD-1": "dry_run",
                                                          "ORD-2": "waiting"}
    assert rows["ORD-1"].payloads[0]["lines"][0]["amount"] == Decimal("59.97")
    assert env.ledger.writes() == []
    assert env.state("ORD-1") is None and env.state("ORD-2") is None
    as_json = {r["record_id"]: r for r in report.to_dict()["rows"]}
    assert as_json["ORD-1"]["payloads"][0]["lines"][0]["amount"] == 59.97  # a JSON number, as sent


def test_dry_run_refuses_writes_below_the_plugin(tmp_path: Path) -> None:
    env = make_env(tmp_path, connection="ignore_dry_run = true")  # the plugin misbehaves
    env.load(orders=[make_order("ORD-1")])
    report = env.run(dry_run=True)
    assert report.exit_code == 3
    row = report.rows[0]
    assert (row.status, row.error_class) == ("failed", "dry_run")
    assert row.message == "dry run: refused POST /api/orders (nothing was sent)"
    assert env.ledger.writes() == []  # the POST never reached the ledger
    assert ("GET", "/api/orders") in env.ledger.requests  # reads are allowed
    assert env.state("ORD-1") is None
    env.store.close()


# --- configuration and plugins -----------------------------------------------------------------


def test_disabled_operation_says_how_to_enable_it(tmp_path: Path) -> None:
    env = make_env(tmp_path, orders="enabled = false")
    with pytest.raises(ConfigError) as err:
        env.run()
    assert err.value.message == "send-orders is not enabled for connection 'prod'"
    assert "[connections.prod.operations.send-orders]" in (err.value.hint or "")
    env.store.close()


class ConnectorOnly:
    """Registers a connector that overrides no method: Connector.send is not implemented."""

    @hookimpl
    def register_connectors(self, register):
        register(Connector(name="barebooks", connection_schema={"type": "object"},
                           operations=("send-orders",)))


def test_a_connector_without_send_aborts_with_a_clear_error(tmp_path: Path) -> None:
    env = make_env(tmp_path, ConnectorOnly())
    env.config.connections["prod"].plugin = "barebooks"
    env.load(orders=[make_order("ORD-1")])
    report = env.run()
    assert report.exit_code == 1
    assert report.aborted.startswith("the 'barebooks' connector does not implement send: it "
                                     "cannot run send-orders")
    assert "fix: its plugin must implement Connector.send" in report.aborted
    assert report.aborted_class == "plugin"
    assert untouched(env.state("ORD-1"))
    env.store.close()


class Notifiers:
    def __init__(self) -> None:
        self.reports: list[dict[str, Any]] = []

    @hookimpl
    def run_finished(self, report, connection):
        self.reports.append(report)


class BrokenNotifier:
    @hookimpl
    def run_finished(self, report):
        raise RuntimeError("webhook down")


def test_run_finished_notifiers_get_the_report_and_cannot_break_the_run(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    notifier = Notifiers()
    env = make_env(tmp_path, BrokenNotifier(), notifier)
    env.load(orders=[make_order("ORD-1")])
    with caplog.at_level(logging.ERROR, logger="flx.runner"):
        report = env.run()
    assert report.exit_code == 0
    assert notifier.reports[0]["counts"]["sent"] == 1
    assert notifier.reports[0]["run_id"] == report.run_id
    assert "webhook down" in caplog.text
    env.store.close()


def test_no_secret_in_report_or_store(env: Env) -> None:
    key = env.ledger.api_key
    env.ledger.reject["flx-ORD-1"] = f"key {key} may not post"  # a remote echoing the secret
    env.load(orders=[make_order("ORD-1")])
    report = env.run()
    text = json.dumps(report.to_dict())
    assert key not in text and "key ******** may not post" in text
    assert key not in json.dumps(env.state("ORD-1").error)
    console = Console(record=True, width=200)
    print_run(report, console)
    assert key not in console.export_text()


def test_print_run_shows_records_fixes_and_summary(env: Env) -> None:
    unmapped = make_order("ORD-2")
    unmapped["fulfillment_requests"][1]["vendor"] = {"id": "V-B"}
    env.load(orders=[make_order("ORD-1"), unmapped])
    report = env.run()
    console = Console(record=True, width=200)
    print_run(report, console)
    out = console.export_text()
    assert "FakeBooks ids" in out  # the connector's display name
    assert "ORD-1" in out and "order 1" in out  # remote id column: "order <id>"
    assert "reference: order ORD-2: vendor V-B has no entry in tables.vendors" in out
    assert 'fix: add "V-B"' in out
    assert "send-orders on prod: 1 sent, 1 failed in" in out
    assert f"(run {report.run_id})" in out


def test_render_operation_previews_payloads_without_writing(env: Env) -> None:
    """`flx render` asks the connector's render, in a dry-run runtime."""
    env.load(orders=[make_order("ORD-1")])
    payloads = env.render("send-orders", "ORD-1")
    assert [(p["method"], p["path"]) for p in payloads] == [("POST", "/orders")]
    assert payloads[0]["body"]["externalId"] == "flx-ORD-1"
    assert env.ledger.requests == [] and env.state("ORD-1") is None
    with pytest.raises(ConfigError, match="no order 'ORD-9' in the store"):
        env.render("send-orders", "ORD-9")


def test_connector_check(env: Env) -> None:
    conn = env.config.connection("prod")
    connector = env.plugins.connector("fakebooks")
    runtime = Runtime(store=env.store, connection=conn, connector=connector,
                      transport=env.ledger.transport())
    checks = connector.check(runtime)
    assert [(c.name, c.ok) for c in checks] == [("API key", True)]
    env.ledger.api_key = "another-key-9999"
    checks = connector.check(runtime)
    assert (checks[0].ok, checks[0].fix) == (False, "check api_key for this connection")


def test_progress_bar_only_on_a_terminal(env: Env) -> None:
    env.load(orders=[make_order("ORD-1"), make_order("ORD-2")])
    pipe = Console(record=True, force_terminal=False, width=100)
    assert env.run(show_progress=True, console=pipe).exit_code == 0
    assert pipe.export_text() == ""  # quiet in pipes and logs
    env.load(orders=[make_order("ORD-3")])
    tty = Console(record=True, force_terminal=True, width=100)
    report = env.run(show_progress=True, console=tty)
    assert report.counts["sent"] == 1
    assert "send-orders → prod" in tty.export_text()


# --- several workers on one store --------------------------------------------------------------


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A store two workers share: a SQLite file, or a fresh PostgreSQL schema (the server
    found by conftest's `postgres_url`: skipped when absent, failed under
    FLX_REQUIRE_POSTGRES=1)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'shared.db'}"
    return str(request.getfixturevalue("postgres_schema_url"))


def test_parallel_workers_never_send_a_record_twice(tmp_path: Path, shared_url: str) -> None:
    env = make_env(tmp_path)
    env.store.close()
    stores = [Store(shared_url), Store(shared_url)]
    stores[0].upsert_records("order", [make_order(f"ORD-{i:03d}") for i in range(40)])
    reports: list[Any] = []

    def worker(store: Store) -> None:
        # exclusive=False: no run lock, the workers share the work through record claims
        reports.append(env.run(store=store, exclusive=False))

    threads = [threading.Thread(target=worker, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    try:
        assert [r.exit_code for r in reports] == [0, 0]
        assert sum(len(r.rows) for r in reports) == 40  # each order handled by one worker
        assert sum(r.counts["sent"] for r in reports) == 40
        assert len(env.ledger.records["orders"]) == 40
        assert len(env.ledger.writes()) == 40  # one POST per order, no duplicate attempt
        assert stores[0].get_sync("prod", "send-orders", "ORD-039").status == "sent"
    finally:
        for store in stores:
            store.close()
