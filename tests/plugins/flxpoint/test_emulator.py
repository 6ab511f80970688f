"""The Flxpoint emulator: tokens and their types, the per-token rate limit and its measure,
paging, the change cursors and filters, write-backs, injected faults."""

from __future__ import annotations

import httpx
import pytest

from flx_flxpoint.emulator import Emulator, EmulatorTransport, run_server


def test_token_missing_bearer_invalid_and_wrong_type(emulator: Emulator, http: httpx.Client):
    assert http.get("/orders", headers={"X-API-TOKEN": ""}).status_code == 401
    bearer = http.get("/orders", headers={"X-API-TOKEN": "", "Authorization": "Bearer x"})
    assert "X-API-TOKEN" in bearer.json()["message"]
    assert http.get("/orders", headers={"X-API-TOKEN": "nope"}).json()["message"] == \
        "Invalid API token."
    wrong = http.get("/sources", headers={"X-API-TOKEN": emulator.token_of_type("source")})
    assert wrong.status_code == 401
    assert "needs an Account token; a Source token was sent" in wrong.json()["message"]
    assert http.get("/account").json()["id"] == 7001


def test_source_and_channel_tokens_see_their_slice(emulator: Emulator, http: httpx.Client):
    source = {"X-API-TOKEN": emulator.token_of_type("source")}  # source 12
    assert {fr["sourceId"] for fr in http.get("/fulfillment-requests", headers=source).json()} \
        == {12}
    invoices = http.get("/source-invoices", params={"filterSourceId": 13}, headers=source)
    assert {i["sourceId"] for i in invoices.json()} == {12}  # filterSourceId ignored
    channel = {"X-API-TOKEN": emulator.token_of_type("channel")}  # channel 1
    assert {o["importedFrom"] for o in http.get("/orders", headers=channel).json()} == {1}


def test_rate_limit_per_token_with_and_without_retry_after():
    emu = Emulator(rate=2)
    with httpx.Client(transport=EmulatorTransport(emu), base_url="http://f") as client:
        account = {"X-API-TOKEN": emu.token_of_type("account")}
        statuses = [client.get("/account", headers=account) for _ in range(4)]
        assert [r.status_code for r in statuses] == [200, 200, 429, 429]
        assert [r.headers.get("retry-after") for r in statuses[2:]] == ["1", None]
        # another token has its own bucket
        source = {"X-API-TOKEN": emu.token_of_type("source")}
        assert client.get("/fulfillment-requests", headers=source).status_code == 200
    assert emu.peak_rate(emu.token_of_type("account")) == 4
    assert emu.peak_rate(emu.token_of_type("source")) == 1
    assert emu.stats()["by_status"] == {"200": 3, "429": 2}


def test_peak_rate_counts_arrivals_within_one_second():
    emu = Emulator(rate=None)
    for t in (0.0, 0.5, 0.99, 1.6, 2.1, 2.2):
        emu.meter.arrivals.setdefault("t", []).append(t)
    assert emu.peak_rate("t") == 3  # 0.0, 0.5, 0.99 (and 1.6, 2.1, 2.2: 3 too)
    emu.meter.arrivals["u"] = [0.0, 0.5, 1.0, 1.5, 2.0]
    assert emu.peak_rate("u") == 2  # evenly at 2 per second never counts 3


def test_paging_is_one_based_bounded_and_exhaustive(http: httpx.Client):
    pages = [http.get("/fulfillment-requests",
                      params={"filterPageNumber": n, "filterPageSize": 4}).json()
             for n in (1, 2, 3)]
    assert [len(p) for p in pages] == [4, 2, 0]
    ids = [fr["id"] for p in pages for fr in p]
    assert ids == sorted(ids) and len(set(ids)) == 6
    assert http.get("/orders", params={"filterPageNumber": 0}).status_code == 400
    assert http.get("/orders", params={"filterPageSize": 101}).status_code == 400
    assert "integer" in http.get("/orders", params={"filterPageSize": "x"}).json()["message"]


def test_order_cursors_are_strict_and_combine_with_or(emulator: Emulator, http: httpx.Client):
    t = "2026-11-20T15:10:00Z"  # order 500002's orderedAt/updatedAt
    after = http.get("/orders", params={"orderUpdatedAt": t}).json()
    assert [o["id"] for o in after] == [500003, 500004]  # strictly after
    emulator.clock = lambda: 1_900_000_000.0
    emulator.update_fr(70001, note="changed")  # only an FR of order 500001 changes
    only_orders = http.get("/orders", params={"orderUpdatedAt": "2026-12-01T00:00:00Z"})
    assert only_orders.json() == []
    either = http.get("/orders", params={c: "2026-12-01T00:00:00Z" for c in (
        "orderUpdatedAt", "fulfillmentRequestsUpdatedAt", "shipmentsUpdatedAt")}).json()
    assert [o["id"] for o in either] == [500001]
    assert http.get("/orders", params={"orderUpdatedAt": "yesterday"}).status_code == 400


def test_orders_embed_their_frs_unless_switched_off(emulator: Emulator, http: httpx.Client):
    order = http.get("/orders/500002").json()
    assert [fr["id"] for fr in order["fulfillmentRequests"]] == [70002, 70003, 70004]
    emulator.embed_frs = False
    assert "fulfillmentRequests" not in http.get("/orders/500002").json()
    assert [fr["id"] for fr in http.get("/fulfillment-requests",
                                        params={"findOrderId": 500002}).json()] == \
        [70002, 70003, 70004]
    assert http.get("/orders/1").status_code == 404


def test_fr_filters(http: httpx.Client):
    def ids(**params: object) -> list[int]:
        return [fr["id"] for fr in http.get("/fulfillment-requests", params=params).json()]
    assert ids(sinceId=70004) == [70005, 70006]
    assert ids(frNumbers="1002-2,1003-1") == [70003, 70005]
    assert ids(filterStatus="Voided,Canceled") == [70004, 70006]
    assert http.get("/fulfillment-requests/count", params={"filterSourceId": 10}).json() == 3
    too_many = ",".join(str(n) for n in range(51))
    assert http.get("/fulfillment-requests", params={"frNumbers": too_many}).status_code == 400


def test_shipments_oldest_first_with_filters(emulator: Emulator, http: httpx.Client):
    rows = http.get("/shipments").json()
    assert [s["id"] for s in rows] == [800001, 800003, 800002]  # by insertedAt
    assert [s["id"] for s in http.get("/shipments", params={
        "filterUpdatedAfter": "2026-11-22T00:00:00Z"}).json()] == [800003, 800002]
    assert [s["id"] for s in http.get("/shipments", params={"findByOrderId": 500002}).json()] \
        == [800003]


def test_invoice_write_back_and_accounting_filters(emulator: Emulator, http: httpx.Client):
    def unsynced() -> list[int]:
        return [i["id"] for i in http.get("/source-invoices",
                                          params={"isAccountingSynced": "false"}).json()]
    assert unsynced() == [600001, 600003, 600002, 600004]
    patch = http.patch("/source-invoices/600001",
                       json={"accountingSynced": True, "externalAccountingId": "VB9"})
    assert patch.status_code == 204
    assert unsynced() == [600003, 600002, 600004]
    assert http.get("/source-invoices/600001").json()["externalAccountingId"] == "VB9"
    assert http.patch("/source-invoices/600001", json={"bogus": 1}).status_code == 400
    assert http.patch("/source-invoices/1", json={}).status_code == 404
    po_synced = {"isForSyncedAccountingPurchaseOrder": "true"}
    assert http.get("/source-invoices", params=po_synced).json() == []
    assert http.patch("/fulfillment-requests/70005/accounting-sync",
                      json={"accountingSynced": True}).status_code == 204
    assert [i["id"] for i in http.get("/source-invoices", params=po_synced).json()] == \
        [600001, 600002]
    assert http.patch("/orders/500001/accounting-sync",
                      json={"externalAccountingId": "SO1"}).status_code == 204
    assert [w[0] for w in emulator.writebacks] == ["invoice", "fr", "order"]


def test_injected_faults_and_page_hook(emulator: Emulator, http: httpx.Client):
    emulator.fail_next(503, path="/shipments")
    emulator.fail_next(429, retry_after=True)
    assert http.get("/orders").status_code == 429
    failed = http.get("/shipments")
    assert failed.status_code == 503 and "retry-after" not in failed.headers
    assert http.get("/shipments").status_code == 200
    seen: list[tuple[str, int, int]] = []
    emulator.after_page.append(lambda path, n, rows: seen.append((path, n, len(rows))))
    http.get("/source-invoices", params={"filterPageNumber": 2, "filterPageSize": 3})
    assert seen == [("/source-invoices", 2, 1)]


def test_served_on_a_real_socket():
    emu = Emulator(rate=None)
    with run_server(emu) as url:
        answer = httpx.get(f"{url}/account",
                           headers={"X-API-TOKEN": emu.token_of_type("account")})
        stats = httpx.get(f"{url}/_emulator/stats").json()
    assert answer.status_code == 200 and answer.json()["subdomain"] == "flx-demo"
    assert stats == {"requests": 1, "by_status": {"200": 1}, "peak_rate": {"account": 1},
                     "writebacks": 0}


@pytest.mark.parametrize("path", ["/orders/abc", "/source/abc"])
def test_bad_ids_are_400(http: httpx.Client, path: str):
    assert http.get(path).status_code == 400
