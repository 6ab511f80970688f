"""NetSuite's own eligibility rule (Connector.rules): a vendor bill needs a dropship request,
for which NetSuite made the vendor Purchase Order it bills. flx's own rules are in
tests/core/test_eligibility.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from flx import RuleContext
from flx.operations.registry import Ineligible, Prefetched, Reads
from flx.plugins import build_plugins
from flx.store.store import Store
from flx_netsuite import plugin as netsuite
from flx_netsuite.rules import bill_has_a_purchase_order

ORDER = {
    "id": "ORD-1", "channel": "shopify", "source": "main-store", "status": "open",
    "lines": [{"id": "L1", "sku": "A", "quantity": 1, "unit_price": "5"},
              {"id": "L2", "sku": "B", "quantity": 3, "unit_price": "5"}],
    "fulfillment_requests": [
        {"id": "FR-1", "type": "internal", "warehouse": "MAIN",
         "items": [{"order_line_id": "L1", "sku": "A", "quantity": 1}]},
        {"id": "FR-2", "type": "external", "vendor": {"id": "V-A"},
         "items": [{"order_line_id": "L2", "sku": "B", "quantity": 3}]},
    ],
}
INTERNAL = ("vendor bill VB-1: fulfillment_request_id FR-1 is internal on order ORD-1, not a "
            "dropship (external) request, so there is no vendor Purchase Order to bill")


def bill(fr: str = "FR-2") -> dict:
    return {"id": "VB-1", "order_id": "ORD-1", "fulfillment_request_id": fr, "number": "INV-9",
            "invoiced_at": "2026-11-22T10:00:00Z", "items": [{"sku": "B", "quantity": 3}]}


@pytest.fixture
def store(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as s:
        yield s


def netsuite_check(store: Reads, record: dict) -> Ineligible | None:
    """The check a NetSuite run makes: flx's rules, then the connector's."""
    plugins = build_plugins(netsuite, autoload=False)
    ctx = RuleContext(store=store, connection="prod", connector_name="NetSuite")
    return plugins.operations.check("send-vendor-bills", record, ctx,
                                    plugins.connector("netsuite").rules["send-vendor-bills"])


def test_the_connector_registers_the_rule_for_vendor_bills_only() -> None:
    connector = build_plugins(netsuite, autoload=False).connector("netsuite")
    assert dict(connector.rules) == {"send-vendor-bills": (bill_has_a_purchase_order,)}


def test_a_bill_of_a_warehouse_request_fails_with_a_fix(store: Store) -> None:
    store.upsert_records("order", [ORDER])
    store.set_sync("prod", "send-orders", "ORD-1", status="sent")
    assert netsuite_check(store, bill()) is None
    internal = netsuite_check(store, bill("FR-1"))
    assert internal is not None and internal.message == INTERNAL
    assert internal.fix is not None and "flx retry VB-1" in internal.fix  # a failure to fix
    untyped = {**ORDER, "fulfillment_requests": [
        {k: v for k, v in ORDER["fulfillment_requests"][0].items() if k != "type"}]}
    store.upsert_records("order", [untyped])
    reason = netsuite_check(store, bill("FR-1"))
    assert reason is not None and "FR-1 is untyped on order ORD-1" in reason.message


def test_the_data_problem_is_said_before_the_wait_for_the_order(store: Store) -> None:
    """A bill that can never go is failed at once, even while its order is not sent yet."""
    store.upsert_records("order", [ORDER])
    internal = netsuite_check(store, bill("FR-1"))
    assert internal is not None and internal.message == INTERNAL
    assert "send-orders: not sent" in netsuite_check(store, bill()).message


def test_flxs_own_rules_come_first(store: Store) -> None:
    assert netsuite_check(store, bill("FR-1")).message == (
        "vendor bill VB-1: order ORD-1 has not been imported yet")
    store.upsert_records("order", [ORDER])
    assert "FR-7 is not on order ORD-1" in netsuite_check(store, bill("FR-7")).message


def test_a_prefetched_page_gets_the_same_answers(store: Store) -> None:
    store.upsert_records("order", [ORDER])
    store.set_sync("prod", "send-orders", "ORD-1", status="sent")
    bills = [{**bill(fr), "id": f"VB-{fr}"} for fr in ("FR-1", "FR-2", "FR-7")]
    reads = Prefetched(store, "prod", bills, "order", "send-orders")
    for record in bills:
        assert netsuite_check(reads, record) == netsuite_check(store, record), record["id"]
