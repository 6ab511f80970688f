"""The small versions of the Flxpoint phases of `make soak` and `make bench` (bench/flxpoint.py):
real `flx pull` processes against the Flxpoint emulator in its own process."""

from __future__ import annotations

from pathlib import Path

from bench.flxpoint import check_store, soak_phase
from bench.flxpoint_emulator import account_seed, copy_of_demo
from flx_flxpoint.emulator import load_default_seed


def test_killed_and_faulty_pulls_leave_every_record_once_and_up_to_date(tmp_path: Path) -> None:
    result = soak_phase(tmp_path, 4, orders=24, kills=2, page_size=4, rate=40.0,
                        kill_within=14)
    assert result["ok"], (result["problems"], result["runs"])
    assert result["kills"] == 2, result["runs"]
    assert result["found"] == result["expected"]
    assert result["expected"]["order"] >= 24
    cancelled = result["expected"]["order"] // 4  # one demo order in four is cancelled
    assert result["sales_orders"] == result["expected"]["order"] - cancelled
    # the pulls really met trouble: injected 429s and 5xx, and records changed mid-read
    assert result["chaos"]["429"] and result["chaos"]["5xx"], result["chaos"]
    assert result["chaos"]["order_change"] or result["chaos"]["shipment_change"]
    assert result["peak_rate"] <= 40 and result["emulator_429s"] == 0
    assert not any(row["inserted"] or row["updated"]
                   for row in result["second_pull"].values())


def test_a_copy_of_the_demo_account_renumbers_every_reference() -> None:
    demo = load_default_seed()
    one = copy_of_demo(demo, 7)
    frs = {fr["id"]: fr for o in one["orders"] for fr in o["fulfillmentRequests"]}
    assert {s["fulfillmentRequestId"] for s in one["shipments"]} <= set(frs)
    assert {i["fulfillmentRequestId"] for i in one["invoices"]} <= set(frs)
    numbers = {fr["fulfillmentRequestNumber"] for fr in frs.values()}
    assert {i["fulfillmentRequestNumber"] for i in one["invoices"]} <= numbers
    seed = account_seed(12)
    assert len(seed["orders"]) == 12 == len({o["id"] for o in seed["orders"]})


def test_the_store_check_names_a_lost_and_a_stale_record(tmp_path: Path) -> None:
    from flx.store.store import Store

    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        store.upsert_records("shipment", [{
            "id": "1", "order_id": "9", "items": [{"sku": "A", "quantity": 1}],
            "tracking_numbers": ["OLD"],
            "flxpoint": {"updated_at": "2026-11-21T16:00:00Z"}}])
    contents = {"orders": {}, "invoices": {},
                "shipments": {"1": {"rmaId": None, "updatedAt": "2026-11-21T16:00:00Z",
                                    "trackingNumber": "NEW"},
                              "2": {"rmaId": None, "updatedAt": "2026-11-21T16:00:00Z",
                                    "trackingNumber": "X"}}}
    problems: list[str] = []
    found, expected = check_store(tmp_path, contents, problems)
    assert found["shipment"] == 1 and expected["shipment"] == 2
    assert problems == ["shipment: 1 lost, e.g. ['2']",
                        "shipment: 1 not up to date, e.g. ['1']"]
