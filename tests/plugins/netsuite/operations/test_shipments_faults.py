"""send-shipments under faults: never two Item Fulfillments for one shipment, whatever breaks
(5xx answers, connections dropped before or after NetSuite applied the write, a crash between
NetSuite's answer and flx's bookkeeping), and every shipment ends fulfilled exactly once.

`CrashAfter`, `fast_retries` and `inject` are shared with the vendor-bill fault tests."""

from __future__ import annotations

from collections import Counter

import httpx
import pytest

from flx_netsuite.emulator import EmulatorTransport, FaultPlan
from flx_netsuite.emulator.faults import FaultInjector

from .conftest import Workspace
from .test_shipments_flow import fulfilled, make_order, make_shipment, sales_order, send_orders


class Crash(BaseException):
    """The flx process dying: not an Exception, so nothing in flx catches it."""


class CrashAfter(httpx.BaseTransport):
    """Passes requests to the emulator; once a POST whose path contains `marker` has been
    applied and answered, the process "dies" before flx can record the answer."""

    def __init__(self, ws: Workspace, marker: str) -> None:
        self.inner = EmulatorTransport(ws.emulator)
        self.marker = marker

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and self.marker in request.url.path:
            raise Crash(f"killed after {request.url.path} answered {response.status_code}")
        return response


def inject(ws: Workspace, plan: FaultPlan | None) -> None:
    """Turn fault injection on (or off with None) for the requests that follow."""
    ws.emulator.faults = FaultInjector(plan, ws.emulator.lock)


def external_ids(ws: Workspace, record_type: str) -> Counter[str]:
    return Counter(r["externalId"] for r in ws.records(record_type))


def test_a_crash_after_netsuite_created_the_fulfillment_is_recorded_not_resent(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7101", [("SKU001", 2), ("SKU002", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7101", "ORD-7101", [("SKU001", 2)], tracking=["C-1"])])
    with pytest.raises(Crash):
        workspace.run("send-shipments",
                      transport=CrashAfter(workspace, "!transform/itemFulfillment"))
    assert len(workspace.records("itemFulfillment")) == 1  # NetSuite has it; flx did not hear

    report = workspace.run("send-shipments")
    row = workspace.rows(report)["SHP-7101"]
    assert row["status"] == "sent", row
    assert "earlier" in row["message"] and "nothing sent again" in row["message"]
    record = workspace.by_external_id("itemFulfillment", "SHP-7101")
    assert row["remote_ids"]["item_fulfillment"] == record["id"]
    assert len(workspace.records("itemFulfillment")) == 1
    assert fulfilled(sales_order(workspace, "ORD-7101")) == [("SKU001", 2, 2), ("SKU002", 1, 0)]
    assert workspace.run("send-shipments")["rows"] == []


def test_connections_dropped_after_every_write_still_give_one_fulfillment_each(
        workspace: Workspace, fast_retries: None) -> None:
    send_orders(workspace, make_order("ORD-7102", [("SKU001", 1), ("SKU002", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7102-1", "ORD-7102", [("SKU001", 1)], tracking=["D-1"]),
        make_shipment("SHP-7102-2", "ORD-7102", [("SKU002", 1)], tracking=["D-2"])])
    inject(workspace, FaultPlan(seed=3, drop_after=1.0))  # every write lands, no answer comes
    report = workspace.run("send-shipments")
    assert report["counts"]["sent"] == 2, report["rows"]
    assert workspace.emulator.stats()["faults"]["drop_after"] >= 2
    assert external_ids(workspace, "itemFulfillment") == {"SHP-7102-1": 1, "SHP-7102-2": 1}
    assert fulfilled(sales_order(workspace, "ORD-7102")) == [("SKU001", 1, 1), ("SKU002", 1, 1)]


def test_netsuite_failing_every_request_fails_the_shipment_for_a_later_retry(
        workspace: Workspace, fast_retries: None) -> None:
    send_orders(workspace, make_order("ORD-7103", [("SKU001", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7103", "ORD-7103", [("SKU001", 1)], tracking=["F-1"])])
    inject(workspace, FaultPlan(seed=5, error_5xx=1.0))
    report = workspace.run("send-shipments")
    row = workspace.rows(report)["SHP-7103"]
    assert row["status"] == "failed" and report["exit_code"] == 3
    assert workspace.records("itemFulfillment") == []

    inject(workspace, None)
    assert workspace.flx("retry", "SHP-7103")[0] == 0
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SHP-7103"]["status"] == "sent"
    assert external_ids(workspace, "itemFulfillment") == {"SHP-7103": 1}


def test_random_faults_over_many_shipments_never_duplicate_a_fulfillment(
        workspace: Workspace, fast_retries: None) -> None:
    orders = [make_order(f"ORD-72{n:02d}", [("SKU001", 2, 0.5), ("SKU002", 1, 0.5)])
              for n in range(8)]
    send_orders(workspace, *orders)
    shipments = []
    for order in orders:
        shipments.append(make_shipment(f"{order['id']}-A", order["id"], [("SKU001", 2)],
                                       tracking=[f"{order['id']}-T1"]))
        shipments.append(make_shipment(f"{order['id']}-B", order["id"], [("SKU002", 1)],
                                       tracking=[f"{order['id']}-T2"]))
    workspace.import_records(shipments=shipments)
    inject(workspace, FaultPlan(seed=11, error_5xx=0.2, drop_before=0.2, drop_after=0.2))

    statuses = workspace.run_until_sent("send-shipments", [s["id"] for s in shipments])
    assert all(statuses.get(s["id"]) == "sent" for s in shipments), statuses
    faults = workspace.emulator.stats()["faults"]
    assert all(faults.get(kind, 0) > 0 for kind in ("error_5xx", "drop_before", "drop_after"))

    # Exactly one fulfillment per shipment, and every order fulfilled exactly once.
    assert external_ids(workspace, "itemFulfillment") == {s["id"]: 1 for s in shipments}
    assert workspace.emulator.stats()["duplicate_external_ids"] == 0
    for order in orders:
        so = sales_order(workspace, order["id"])
        assert fulfilled(so) == [("SKU001", 2, 2), ("SKU002", 1, 1)]
        assert so["linkedTrackingNumbers"].split() == [f"{order['id']}-T1",
                                                       f"{order['id']}-T2"]
