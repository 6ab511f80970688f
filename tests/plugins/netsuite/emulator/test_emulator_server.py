"""The emulator over a real loopback socket: oauthlib-signed httpx requests, injected drops
that the client meets as broken connections, and the inspection endpoints."""

from __future__ import annotations

import httpx
import pytest

from flx_netsuite.emulator import Emulator, FaultPlan, run_server

from .helpers import Signer


def client(emu: Emulator, url: str) -> httpx.Client:
    return httpx.Client(base_url=url, auth=Signer(emu), timeout=10)


def test_signed_requests_over_loopback() -> None:
    emu = Emulator()
    with run_server(emu) as url, client(emu, url) as http:
        assert url.startswith("http://127.0.0.1:")
        customer = http.get("/services/rest/record/v1/customer/107",
                            params={"expandSubResources": "true"})
        assert customer.status_code == 200
        assert customer.json()["email"] == "jane@example.com"
        created = http.post("/services/rest/record/v1/salesOrder", json={
            "entity": {"id": "107"}, "externalId": "ORD-LOOP", "orderStatus": {"id": "B"},
            "item": {"items": [{"item": {"id": "501"}, "quantity": 2}]}})
        assert created.status_code == 204, created.text
        assert created.headers["location"].startswith(f"{url}/services/rest/record/v1/"
                                                      "salesorder/")
        query = http.post("/services/rest/query/v1/suiteql", params={"limit": 5},
                          headers={"Prefer": "transient"},
                          json={"q": "SELECT id, externalid FROM transaction WHERE "
                                     "externalid = 'ORD-LOOP'"})
        assert query.json()["items"][0]["externalid"] == "ORD-LOOP"
        stats = http.get("/_emulator/stats").json()
        assert stats["records"]["purchaseOrder"] == 1
        assert stats["duplicate_external_ids"] == 0
        orders = http.get("/_emulator/records/salesorder").json()
        assert orders[0]["externalId"] == "ORD-LOOP"
        unsigned = httpx.get(f"{url}/services/rest/record/v1/customer/107")
        assert unsigned.status_code == 401


def test_drop_after_commit_over_a_socket_is_an_incomplete_response() -> None:
    emu = Emulator(faults=FaultPlan(seed=5, drop_after=1.0))
    with run_server(emu) as url, client(emu, url) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            http.post("/services/rest/record/v1/customer",
                      json={"companyName": "Applied Co", "subsidiary": {"id": "1"}})
        assert http.get("/services/rest/record/v1/customer/107").status_code == 200
    assert any(c.get("companyName") == "Applied Co" for c in emu.records("customer"))


def test_drop_before_commit_over_a_socket_applies_nothing() -> None:
    emu = Emulator(faults=FaultPlan(seed=5, drop_before=1.0))
    with run_server(emu) as url, client(emu, url) as http:
        with pytest.raises(httpx.TransportError):
            http.post("/services/rest/record/v1/customer",
                      json={"companyName": "Never Co", "subsidiary": {"id": "1"}})
    assert not any(c.get("companyName") == "Never Co" for c in emu.records("customer"))


def test_server_listens_on_loopback_only() -> None:
    with pytest.raises(ValueError, match="loopback"):
        with run_server(Emulator(), host="0.0.0.0"):
            pass
