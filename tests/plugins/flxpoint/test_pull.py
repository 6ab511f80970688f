"""Pulling from the emulator a page at a time: what each stream yields, the cursors, a second
pull that brings nothing, a changed record that comes again, a list that shifts while read,
FRs fetched when not embedded, and invoices whose orders came in an earlier pull."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from flx_flxpoint.client import FlxpointClient, RateLimiter
from flx_flxpoint.emulator import Emulator, EmulatorTransport
from flx_flxpoint.profile import load_mapping_profile
from flx_flxpoint.pull import Batch, Puller, PullSettings


def puller(emu: Emulator, **settings: Any) -> Puller:
    http = httpx.Client(transport=EmulatorTransport(emu), base_url="http://flxpoint.test")
    client = FlxpointClient(http, token=emu.token_of_type("account"),
                            limiter=RateLimiter(1000.0), sleep=lambda s: None)
    return Puller(client, PullSettings(load_mapping_profile("demo"), **settings))


def ids(batches: list[Batch], kind: str) -> list[str]:
    return [r["id"] for b in batches for k, r in b.records if k == kind]


def test_first_pull_reads_every_stream_and_moves_each_cursor_at_its_end(emulator: Emulator):
    batches = list(puller(emulator).pull(None))
    assert ids(batches, "order") == ["500001", "500002", "500003", "500004"]
    assert ids(batches, "shipment") == ["800001", "800003", "800002"]
    assert ids(batches, "vendor_bill") == ["600001", "600003", "600002"]
    assert sum(b.skipped for b in batches) == 1 and not any(b.problems for b in batches)
    # pages carry the cursor the pull started from; each stream's end moves its own
    assert [sorted(b.cursor) for b in batches] == [
        [], ["orders"], ["orders"], ["orders", "shipments"], ["orders", "shipments"],
        ["invoices", "orders", "shipments"]]


def test_second_pull_brings_nothing_and_a_change_comes_again(emulator: Emulator):
    cursor = list(puller(emulator).pull(None))[-1].cursor
    again = list(puller(emulator).pull(cursor))
    assert [r for b in again for r in b.records] == []
    emulator.update_order(500002, orderStatus="Closed")
    emulator.update_shipment(800001, carrier="USPS")
    changed = list(puller(emulator).pull(cursor))
    # 500001 comes too: its shipment changed (the orders' shipmentsUpdatedAt cursor)
    assert ids(changed, "order") == ["500001", "500002"]
    assert ids(changed, "shipment") == ["800001"]
    order = next(r for b in changed for k, r in b.records if r["id"] == "500002")
    assert order["status"] == "closed"


def test_overlap_reads_back_recent_changes(emulator: Emulator):
    cursor = list(puller(emulator).pull(None))[-1].cursor
    emulator.update_order(500001, note="x")  # changed just before the cursor's time...
    cursor = list(puller(emulator).pull(cursor))[-1].cursor
    # ...is read again within the overlap (harmless: flx stores it unchanged)
    assert ids(list(puller(emulator).pull(cursor)), "order") == ["500001"]
    assert ids(list(puller(emulator, overlap=timedelta(0)).pull(cursor)), "order") == []


def test_a_list_that_shifts_while_read_loses_nothing(emulator: Emulator):
    emulator.order_sort = "updated"
    touched: list[int] = []

    def touch_after_first_page(path: str, number: int, rows: list[dict[str, Any]]) -> None:
        if path == "/orders" and number == 1 and not touched:
            touched.append(rows[0]["id"])
            emulator.update_order(rows[0]["id"], note="changed while read")

    emulator.after_page.append(touch_after_first_page)
    batches = list(puller(emulator, page_size=1, streams=("orders",)).pull(None))
    # page 2 was read after order 500001 moved to the end: 500002 slid onto page 1
    assert set(ids(batches, "order")) == {"500001", "500002", "500003", "500004"}


def test_frs_fetched_per_order_when_not_embedded(emulator: Emulator):
    embedded = list(puller(emulator, streams=("orders",)).pull(None))
    emulator.embed_frs = False
    fetched = list(puller(emulator, streams=("orders",)).pull(None))
    assert [r for b in fetched for r in b.records] == [r for b in embedded for r in b.records]


def test_invoices_alone_find_their_orders_by_fr_number(emulator: Emulator):
    p = puller(emulator, streams=("invoices",))
    batches = list(p.pull(None))
    bills = [r for b in batches for _, r in b.records]
    assert [(b["id"], b["order_id"]) for b in bills] == [
        ("600001", "500003"), ("600003", "500002"), ("600002", "500003")]
    new = {**emulator.invoices[600001], "id": 600009, "fulfillmentRequestId": 99,
           "fulfillmentRequestNumber": "99-1"}
    del new["insertedAt"]  # inserted now
    emulator.add_invoice(new)
    later = list(p.pull(batches[-1].cursor))
    problems = [p for b in later for p in b.problems]
    assert len(problems) == 1 and problems[0].record_id == "600009"
