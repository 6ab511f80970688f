"""The QuickBooks phases of `make bench` and `make soak` are wired in, and the data they send
has the shapes the issue asks for (the phases themselves run in `make soak` / `make bench`)."""

from __future__ import annotations

import importlib
from collections import defaultdict

from bench import run, soak
from bench.qbo_harness import generate


def test_both_phases_are_registered_and_resolve() -> None:
    for phases in (run.EXTRA_PHASES, soak.EXTRA_PHASES):
        target = dict(phases)["quickbooks"]
        module, _, function = target.partition(":")
        assert callable(getattr(importlib.import_module(module), function))


def test_the_data_has_two_vendors_partial_shipments_and_two_stage_bills() -> None:
    data = generate(40, seed=1)
    vendors = {len([fr for fr in o["fulfillment_requests"] if fr["type"] == "external"])
               for o in data.orders}
    assert vendors == {0, 1, 2}
    assert data.shipments[1] and data.bills[1]  # second parts exist
    billed: dict[str, int] = defaultdict(int)
    for bill in data.all_bills():
        billed[bill["fulfillment_request_id"]] += bill["items"][0]["quantity"]
    ordered = {fr["id"]: fr["items"][0]["quantity"] for o in data.orders
               for fr in o["fulfillment_requests"] if fr["type"] == "external"}
    assert billed == ordered  # every request billed in full, never over
    assert len({b["number"] for b in data.all_bills()}) == len(data.all_bills())
