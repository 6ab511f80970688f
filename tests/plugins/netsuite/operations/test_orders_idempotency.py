"""Never a second Sales Order, Purchase Order or customer: not on a re-run, not on a retry,
not under injected faults (5xx, 429, connections dropped before or after NetSuite commits),
not after the process dies between NetSuite's answer and flx's store write."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

import httpx
import pytest

from flx_netsuite import governance
from flx_netsuite.emulator import Emulator, EmulatorTransport, FaultPlan

from .conftest import Workspace
from .test_orders_support import (
    dropship_order,
    exploded_order,
    internal_order,
    json_output,
    person,
)


def _mixed_orders(count: int) -> list[dict[str, Any]]:
    """Internal, dropship and exploded orders; half from four new customers (two orders
    each at least), half from Jane, who exists."""
    makers = (internal_order, dropship_order, exploded_order)
    orders = []
    for i in range(count):
        buyer = person("New", f"Buyer{i % 4}", f"buyer{i % 4}@example.com") if i % 2 else None
        orders.append(makers[i % 3](f"ORD-{300 + i}", customer=buyer))
    return orders


def _assert_each_sent_once(ws: Workspace, orders: list[dict[str, Any]]) -> None:
    stats = ws.emulator.stats()
    assert stats["duplicate_external_ids"] == 0, stats
    sales = Counter(so["externalId"] for so in ws.records("salesOrder"))
    assert sales == Counter({o["id"]: 1 for o in orders})
    dropship_requests = [fr for o in orders for fr in o["fulfillment_requests"]
                         if fr["type"] == "external"]
    assert len(ws.records("purchaseOrder")) == len(dropship_requests)
    emails = Counter(c.get("email") for c in ws.records("customer"))
    assert all(n == 1 for n in emails.values()), emails
    new_buyers = {o["customer"]["email"] for o in orders if o["customer"]["email"] !=
                  "jane@example.com"}
    assert new_buyers <= set(emails)
    code, output = ws.flx("status", "--json")
    assert code == 0, output
    (sync,) = [s for s in json_output(output)["sync"] if s["operation"] == "send-orders"]
    assert sync["done"] == len(orders), sync


def test_a_rerun_and_a_forced_resend_create_nothing(workspace: Workspace) -> None:
    orders = _mixed_orders(6)
    workspace.import_records(orders=orders)
    first = workspace.run("send-orders")
    assert first["exit_code"] == 0, first
    records = workspace.emulator.stats()["records"]

    again = workspace.run("send-orders")
    assert again["exit_code"] == 0 and again["rows"] == [], again
    assert again["requests"] == 0  # nothing to do costs nothing

    # Even asked explicitly to send an order again, flx reuses what it recorded.
    forced = workspace.run("send-orders", "--only", "ORD-302", "--force")
    row = workspace.rows(forced)["ORD-302"]
    assert row["status"] in ("sent", "linked")
    sent = workspace.rows(first)["ORD-302"]["remote_ids"]
    assert row["remote_ids"]["sales_order"] == sent["sales_order"]
    assert row["remote_ids"]["purchase_orders"] == sent["purchase_orders"]
    assert workspace.emulator.stats()["records"] == records
    _assert_each_sent_once(workspace, orders)


def test_faults_and_429s_never_make_a_duplicate(workspace: Workspace,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # Retries wait milliseconds instead of seconds and give up after the 2nd attempt (the
    # policy itself is tested elsewhere), so that faults also fail orders and later runs
    # must pick up what an earlier run left half-done. This test gets its own account
    # limiter, so 429s happen whatever ran before.
    monkeypatch.setattr(governance.RetryPolicy, "_wait", lambda self, state: 0.005)
    monkeypatch.setattr(governance.RetryPolicy, "_stop",
                        lambda self, state: state.attempt_number >= 2)
    monkeypatch.setattr(governance, "_SHARED", {})
    plan = FaultPlan(seed=20261126, error_5xx=0.15, drop_before=0.1, drop_after=0.15)
    workspace.emulator = Emulator(concurrency=2, latency=0.01, faults=plan)
    workspace.concurrency = 5  # flx may try 5 at once; the account admits 2
    orders = _mixed_orders(24)
    code, output = workspace.import_records(orders=orders)
    assert code == 0, output

    runs = []
    done: dict[str, list[dict[str, Any]]] = {}  # order id -> its sent/linked report rows
    for _ in range(10):
        report = workspace.run("send-orders")
        runs.append(report["counts"])
        for row in report["rows"]:
            if row["status"] in ("sent", "linked"):
                done.setdefault(row["record_id"], []).append(row)
        if report["exit_code"] == 0 and not report["rows"]:
            break  # a run with nothing left to send
        code, output = workspace.flx("retry", "--all")  # failed ones go now, not in 5 minutes
        assert code == 0, output
    else:
        pytest.fail(f"orders still unsent after 10 runs: {runs}")

    stats = workspace.emulator.stats()
    assert sum(stats["faults"].values()) > 0 and stats["faults"].get("drop_after"), stats
    assert stats["throttled"] > 0, stats  # the account's limit was hit and flx backed off
    _assert_each_sent_once(workspace, orders)
    # Each order was reported done exactly once, with the PO of each dropship request.
    assert sorted(done) == sorted(o["id"] for o in orders)
    for o in orders:
        (row,) = done[o["id"]]
        assert row["status"] == "sent", row  # flx made it, even when its answer was lost
        dropship = {fr["id"] for fr in o["fulfillment_requests"] if fr["type"] == "external"}
        assert set(row["remote_ids"].get("purchase_orders") or {}) == dropship, row


class Killed(BaseException):
    """Stands in for the process dying (kill -9, power loss): not an Exception, so nothing
    in flx catches it and no store write follows."""


class DieAfterCommit(httpx.BaseTransport):
    """Passes requests to the emulator and dies right after NetSuite committed the first
    POST to `path_end`, before flx sees the answer."""

    def __init__(self, emulator: Emulator, path_end: str) -> None:
        self.inner = EmulatorTransport(emulator)
        self.path_end = path_end
        self.fired = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if (not self.fired and request.method == "POST" and response.status_code == 204
                and request.url.path.endswith(self.path_end)):
            self.fired = True
            raise Killed(f"died after {request.url.path} was committed")
        return response

    def close(self) -> None:
        self.inner.close()


@pytest.mark.parametrize("path_end, settings, profile_options", [
    ("/salesOrder", {"link_existing": True}, {}),
    ("/salesOrder", {"link_existing": False}, {}),
    ("/customer", {}, {}),
    ("/purchaseOrder", {}, {"dropship_mode": "explicit_po"}),
], ids=["sales-order", "sales-order-no-link-existing", "customer", "explicit-po"])
def test_killed_between_post_and_store_write_then_rerun_sends_once(
        workspace: Workspace, path_end: str, settings: dict[str, Any],
        profile_options: dict[str, Any]) -> None:
    workspace.operation_settings["send-orders"] = settings
    workspace.profile["options"].update(profile_options)
    the_order = exploded_order("ORD-400", customer=person("Kim", "Crash", "kim@example.com"))
    workspace.import_records(orders=[the_order])

    dying = DieAfterCommit(workspace.emulator, path_end)
    with pytest.raises(Killed):
        workspace.flx("run", "send-orders", "--connection", "ns", transport=dying)
    assert dying.fired
    committed = workspace.emulator.stats()["records"]

    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, json.dumps(report, indent=1, default=str)
    row = workspace.rows(report)["ORD-400"]
    assert row["status"] == "sent", row  # made by the dead run, recognised as flx's own
    # ... and the user is told it was recovered, not created now
    recovered = "found by its external id, not created again" in row["message"]
    assert recovered == (path_end != "/customer"), row["message"]
    _assert_each_sent_once(workspace, [the_order])
    so = workspace.by_external_id("salesOrder", "ORD-400")
    assert row["remote_ids"]["sales_order"] == so["id"]
    assert set(row["remote_ids"]["purchase_orders"]) == {"FR-ORD-400-2"}
    # What the dead run committed was reused, not made again.
    after = workspace.emulator.stats()["records"]
    killed_type = path_end.strip("/")
    assert after[killed_type] == committed[killed_type]
