"""Seeded faults on every kind of write (lost answers, timeouts, 5xx, faults inside HTTP 200,
refused connections), with requestid replay off and no duplicate-number check: every order,
shipment and bill ends up in QuickBooks exactly once."""

from __future__ import annotations

from collections import Counter

import pytest

from flx_quickbooks.client import QboClient
from flx_quickbooks.emulator import FaultPlan
from flx_quickbooks.emulator.faults import Faults

from .conftest import Workspace, dropship, order

RATES = {"drop_after": 0.12, "timeout": 0.05, "error_500": 0.05, "fault_200": 0.05,
         "drop_before": 0.05}


def until_done(workspace: Workspace, operation: str, ids: list[str]) -> dict[str, str]:
    statuses: dict[str, str] = {}
    for _ in range(8):
        report = workspace.run(operation)
        statuses.update({rid: row["status"] for rid, row in report["by_id"].items()})
        if all(statuses.get(i) == "sent" for i in ids):
            break
        workspace.flx("retry", "--all")
    return statuses


@pytest.mark.parametrize("seed", [1, 2])
def test_faults_everywhere_and_still_exactly_once(workspace: Workspace,
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  seed: int) -> None:
    monkeypatch.setattr(QboClient, "_backoff", staticmethod(lambda attempt, error: 0.0))
    workspace.settings["concurrency"] = 4
    behaviour = workspace.emulator.behaviour
    behaviour.requestid, behaviour.doc_numbers = "ignore", "off"
    workspace.emulator.faults = Faults(FaultPlan(seed=seed, rates=RATES))
    orders = []
    for n in range(1, 13):
        frs = [dropship(f"FR-{n}-B", "V-B", ("L1", "VB-SKU500", 2, "12.00"))] if n % 3 == 0 \
            else None
        orders.append(order(str(n), ("VB-SKU500", 2, "29.00"), frs=frs,
                            email=f"c{n % 4}@example.com", first=f"C{n % 4}", last="Shop"))
    workspace.import_records(orders=orders)
    statuses = until_done(workspace, "send-orders", [o["id"] for o in orders])
    assert set(statuses.values()) == {"sent"}, statuses
    workspace.import_records(
        shipments=[{"id": f"S{n}", "order_id": f"ORD-{n}", "shipped_at": "2026-11-21T10:00:00Z",
                    "tracking_numbers": [f"1Z{n}"], "items": [{"sku": "VB-SKU500",
                                                               "quantity": 2}]}
                   for n in range(1, 13)],
        vendor_bills=[{"id": f"VB-{n}", "order_id": f"ORD-{n}",
                       "fulfillment_request_id": f"FR-{n}-B", "number": f"INV-{n}",
                       "items": [{"sku": "VB-SKU500", "quantity": 2, "cost": "12.00"}]}
                      for n in (3, 6, 9, 12)])
    assert set(until_done(workspace, "send-shipments",
                          [f"S{n}" for n in range(1, 13)]).values()) == {"sent"}
    assert set(until_done(workspace, "send-vendor-bills",
                          [f"VB-{n}" for n in (3, 6, 9, 12)]).values()) == {"sent"}
    assert workspace.emulator.faults.injected, "the plan injected nothing"
    numbers = Counter(r["DocNumber"] for r in workspace.objects("SalesReceipt"))
    assert len(numbers) == 12 and set(numbers.values()) == {1}
    assert len(workspace.objects("PurchaseOrder")) == 4
    assert sorted(c["DisplayName"] for c in workspace.objects("Customer")) == [
        f"C{k} Shop" for k in range(4)]
    assert len(workspace.objects("Bill")) == 4
    for receipt in workspace.objects("SalesReceipt"):
        number = receipt["DocNumber"]
        assert receipt["PrivateNote"].count(f"1Z{number}") == 1
