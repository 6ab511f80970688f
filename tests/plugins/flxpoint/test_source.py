"""The flxpoint Source through core's ingest, page by page into a store: exact counts, a second
pull that stores nothing new, a changed record stored updated, and a pull stopped by a 5xx or
slowed by 429s mid-way that loses nothing and doubles nothing. The peak rate is measured."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from flx import ConfigError, RemoteUnavailableError, SourceRuntime, Store
from flx.sources.ingest import IngestCounts, ingest_page
from flx_flxpoint.emulator import Emulator, EmulatorTransport
from flx_flxpoint.plugin import FlxpointSource

NAME = "flxpoint"


@pytest.fixture
def store(tmp_path: Path):
    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as opened:
        yield opened


def pull(store: Store, emu: Emulator, problems: list[Any] | None = None,
         **settings: Any) -> dict[str, dict[str, int]]:
    transport = EmulatorTransport(emu)

    def client(*, base_url: str, **_: Any) -> httpx.Client:
        return httpx.Client(transport=transport, base_url=base_url)

    runtime = SourceRuntime(source=NAME, client_factory=client, settings={
        "api_token": emu.token_of_type("account"), "base_url": "http://flxpoint.test",
        "profile": "demo", "rate_limit": 1000.0, **settings})
    counts = IngestCounts()
    try:
        for page in FlxpointSource().pull(store.source_cursor(NAME), runtime):
            counts.add(ingest_page(store, page, source=NAME))
    finally:
        runtime.close()
    if problems is None:
        assert counts.problems == []
    else:
        problems += counts.problems
    return {kind: {k: v for k, v in c.items() if v} for kind, c in counts.kinds().items()}


def test_pull_stores_every_record_once_and_then_nothing_new(store: Store):
    emu = Emulator(rate=None)
    assert pull(store, emu) == {"order": {"inserted": 4}, "shipment": {"inserted": 3},
                                "vendor_bill": {"inserted": 3}}
    assert sorted(store.source_cursor(NAME)) == ["invoices", "orders", "shipments"]
    assert pull(store, emu) == {"order": {}, "shipment": {}, "vendor_bill": {}}
    emu.update_order(500002, orderStatus="Closed")
    assert pull(store, emu) == {"order": {"updated": 1}, "shipment": {}, "vendor_bill": {}}
    assert store.get_record("order", "500002")["status"] == "closed"


def test_a_5xx_mid_pull_keeps_what_was_stored_and_the_next_pull_completes(store: Store):
    emu = Emulator(rate=None)
    emu.fail_next(503, count=2, path="/source-invoices")  # outlasts both attempts
    with pytest.raises(RemoteUnavailableError):
        pull(store, emu, attempts=2)
    assert sorted(store.source_cursor(NAME)) == ["orders", "shipments"]
    assert pull(store, emu) == {"order": {}, "shipment": {}, "vendor_bill": {"inserted": 3}}


def test_429s_mid_pull_are_waited_out_without_going_over_the_limit(store: Store):
    emu = Emulator(rate=20.0)
    emu.fail_next(429, count=2, path="/shipments")
    counts = pull(store, emu, rate_limit=18.0)
    assert counts["shipment"] == {"inserted": 3}
    assert emu.by_status[429] == 2
    assert emu.peak_rate(emu.token_of_type("account")) <= 20


def test_an_object_that_does_not_map_is_one_refused_record_with_its_fix(store: Store):
    emu = Emulator(rate=None)
    emu.update_fr(70002, sourceId=99)  # a source Flxpoint's /sources does not list
    problems: list[Any] = []
    counts = pull(store, emu, problems, streams=["orders"])
    assert counts["order"] == {"inserted": 3, "rejected": 1}
    (problem,) = problems
    assert (problem.kind, problem.record_id, problem.path) == ("order", "500002", "sourceId")
    assert "fulfillment request 70002: sourceId names source 99" in problem.message
    assert 'fix: add "sources": {"99"' in problem.message
    assert store.get_record("order", "500002") is None
    emu.update_fr(70002, sourceId=10)  # fixed in Flxpoint: it changed, so it comes again
    assert pull(store, emu, streams=["orders"])["order"] == {"inserted": 1}


def test_profile_overrides_from_the_settings_apply(store: Store):
    emu = Emulator(rate=None)
    pull(store, emu, streams=["orders"], profile="default",
         profile_overrides={"currency": "EUR", "sources": {"10": {"warehouse": "EAST"}}})
    order = store.get_record("order", "500001")
    assert order is not None and order["currency"] == "EUR"
    assert order["fulfillment_requests"][0]["warehouse"] == "EAST"
    assert store.get_record("order", "500002")["fulfillment_requests"][1]["vendor"]["id"] \
        == "12"  # the default profile: the Flxpoint source id


def test_start_at_bounds_the_first_pull_only(store: Store):
    emu = Emulator(rate=None)
    first = pull(store, emu, start_at="2026-11-20T16:30:00Z", overlap_minutes=0)
    # 500003 is older, and so are 500001 and 500002, but their shipments are not
    assert first == {"order": {"inserted": 3}, "shipment": {"inserted": 3},
                     "vendor_bill": {"inserted": 3}}
    assert store.get_record("order", "500003") is None
    emu.update_order(500003, note="later")  # later pulls go from the cursor, not start_at
    assert pull(store, emu, start_at="2026-11-20T16:30:00Z")["order"] == {"inserted": 1}


def test_a_cursor_that_is_not_flxpoints_is_refused_with_the_fix():
    runtime = SourceRuntime(source="shop", settings={"api_token": "x"})
    with pytest.raises(ConfigError, match="not Flxpoint's") as info:
        next(FlxpointSource().pull(42, runtime))
    assert info.value.hint == "start it over: flx pull shop --full"
