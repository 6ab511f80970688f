"""Which records a connection takes now, which wait (and why), which are not its own."""

from __future__ import annotations

from pathlib import Path

import pytest

from flx.operations.builtin import check
from flx.operations.eligibility import Ineligible, Prefetched, Reads, check_order
from flx.store.store import Store


def order(oid: str = "ORD-1", **extra) -> dict:
    base = {
        "id": oid, "channel": "shopify", "source": "main-store", "status": "open",
        "lines": [{"id": "L1", "sku": "A", "quantity": 1, "unit_price": "5"},
                  {"id": "L2", "sku": "B", "quantity": 3, "unit_price": "5"}],
        "fulfillment_requests": [
            {"id": "FR-1", "type": "internal", "warehouse": "MAIN",
             "items": [{"order_line_id": "L1", "sku": "A", "quantity": 1}]},
            {"id": "FR-2", "type": "external", "vendor": {"id": "V-A"},
             "items": [{"order_line_id": "L2", "sku": "B", "quantity": 3}]},
        ],
    }
    return {**base, **extra}


@pytest.fixture
def store(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as s:
        yield s


def test_routed_order_in_scope_is_eligible() -> None:
    assert check_order(order(), "prod", {"channels": ["shopify"], "sources": []}) is None
    assert check_order(order(), "prod", None) is None  # no filter: every channel


def test_unselected_channel_or_source_is_not_this_connections() -> None:
    reason = check_order(order(channel="ebay"), "prod", {"channels": ["shopify", "amazon"]})
    assert reason == Ineligible("channel 'ebay' is not selected for connection prod",
                                waiting=False)
    assert str(reason) == "skipped: channel 'ebay' is not selected for connection prod"
    reason = check_order(order(), "prod", {"sources": ["outlet"]})
    assert reason is not None and not reason.waiting
    assert "source 'main-store'" in reason.message


def test_partly_routed_order_waits_with_the_line() -> None:
    partial = order()
    partial["fulfillment_requests"][1]["items"][0]["quantity"] = 1
    reason = check_order(partial, "prod", {})
    assert str(reason) == "waiting: line L2: 1 of 3 routed"
    assert reason is not None and reason.waiting


def test_cancelled_order_waits() -> None:
    reason = check_order(order(status="Cancelled"), "prod", {})
    assert reason is not None and reason.waiting
    assert reason.message == "order ORD-1 is cancelled"


def shipment(**extra) -> dict:
    return {"id": "SH-1", "order_id": "ORD-1", "fulfillment_request_id": "FR-1",
            "shipped_at": "2026-11-21T10:00:00Z", "tracking_numbers": ["1Z"],
            "items": [{"sku": "A", "quantity": 1}], **extra}


def bill(fr: str = "FR-2") -> dict:
    return {"id": "VB-1", "order_id": "ORD-1", "fulfillment_request_id": fr, "number": "INV-9",
            "invoiced_at": "2026-11-22T10:00:00Z", "items": [{"sku": "B", "quantity": 3}]}


def run_check(store: Reads, operation: str, record: dict, **kw) -> Ineligible | None:
    return check(operation, record, store=store, connection="prod", connector_name="fakebooks",
                 **kw)


def test_shipment_waits_for_its_order(store: Store) -> None:
    reason = run_check(store, "send-shipments", shipment())
    assert reason is not None and reason.waiting
    assert reason.message == "shipment SH-1: order ORD-1 has not been imported yet"

    store.upsert_records("order", [order()])
    assert run_check(store, "send-shipments", shipment()).message == (
        "order ORD-1 is not in fakebooks yet (send-orders: not sent)")

    store.set_sync("prod", "send-orders", "ORD-1", status="failed",
                   error={"class": "rejected", "message": "no"})
    assert run_check(store, "send-shipments", shipment()).message == (
        "order ORD-1 is not in fakebooks yet (send-orders: failed)")

    store.set_sync("prod", "send-orders", "ORD-1", status="linked", error=None)
    assert run_check(store, "send-shipments", shipment()) is None
    # another connection's state does not count
    assert check("send-shipments", shipment(), store=store, connection="sandbox",
                 connector_name="fakebooks") is not None


def test_shipment_of_an_unselected_order_is_not_this_connections(store: Store) -> None:
    store.upsert_records("order", [order(channel="ebay")])
    reason = run_check(store, "send-shipments", shipment(),
                       order_settings={"channels": ["shopify"]})
    assert reason is not None and not reason.waiting


def test_shipment_for_an_unknown_request_waits(store: Store) -> None:
    store.upsert_records("order", [order()])
    store.set_sync("prod", "send-orders", "ORD-1", status="sent")
    reason = run_check(store, "send-shipments", shipment(fulfillment_request_id="FR-9"))
    assert reason is not None and reason.waiting
    assert "fulfillment request FR-9 is not on order ORD-1" in reason.message


def test_vendor_bill_needs_its_order_sent_and_a_request_of_that_order(store: Store) -> None:
    """flx's own rules; what kind of request may be billed is the connector's rule (NetSuite:
    tests/plugins/netsuite/test_rules.py)."""
    assert run_check(store, "send-vendor-bills", bill()).message == (
        "vendor bill VB-1: order ORD-1 has not been imported yet")
    store.upsert_records("order", [order()])
    assert "send-orders: not sent" in run_check(store, "send-vendor-bills", bill()).message
    store.set_sync("prod", "send-orders", "ORD-1", status="sent")
    assert run_check(store, "send-vendor-bills", bill()) is None
    assert run_check(store, "send-vendor-bills", bill("FR-1")) is None  # any request of it
    unknown = run_check(store, "send-vendor-bills", bill("FR-7"))
    assert unknown is not None and unknown.waiting
    assert unknown.message == ("fulfillment request FR-7 is not on order ORD-1 (re-import the "
                               "order with its current routing)")


def test_a_page_prefetched_in_two_queries_gets_the_same_answers(store: Store) -> None:
    """The runner checks a page of shipments/bills against one read of their orders and
    states: the answers must be those of record-by-record store reads."""
    store.upsert_records("order", [order("ORD-1"), order("ORD-2"), order("ORD-3")])
    store.set_sync("prod", "send-orders", "ORD-1", status="sent")
    store.set_sync("prod", "send-orders", "ORD-2", status="failed")
    records = [shipment(order_id=o, id=f"SH-{o}") for o in ("ORD-1", "ORD-2", "ORD-3", "ORD-9")]
    records += [{**bill(fr), "id": f"VB-{fr}-{o}", "order_id": o}
                for o in ("ORD-1", "ORD-2") for fr in ("FR-1", "FR-2", "FR-7")]
    reads = Prefetched(store, "prod", records, "order", "send-orders")
    for record in records:
        op = "send-shipments" if record["id"].startswith("SH") else "send-vendor-bills"
        assert run_check(reads, op, record) == run_check(store, op, record), record["id"]
    assert run_check(reads, "send-shipments", records[0]) is None  # and some do pass
