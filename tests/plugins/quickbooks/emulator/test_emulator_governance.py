"""Throttling, requestid replay, fault injection, and faults inside HTTP 200."""

from __future__ import annotations

import httpx
import pytest

from flx_quickbooks.emulator import Behaviour, Emulator

from .helpers import Api, FakeClock


def test_per_second_limit_answers_429_and_recovers(api: Api, clock: FakeClock) -> None:
    clock.tick = 0
    answers = [api.call("GET", "preferences").status_code for _ in range(11)]
    assert answers == [200] * 10 + [429]
    clock.now += 1.01
    assert api.call("GET", "preferences").status_code == 200


def test_per_minute_limit_and_retry_after_switch(clock: FakeClock) -> None:
    clock.tick = 0
    emu = Emulator(clock=clock, behaviour=Behaviour(per_minute=3, retry_after=True))
    api = Api(emu)
    for _ in range(3):
        clock.now += 2
        assert api.call("GET", "preferences").status_code == 200
    refused = api.call("GET", "preferences")
    assert refused.status_code == 429 and refused.headers["Retry-After"] == "60"
    assert "ThrottleExceeded" in refused.json()["fault"]["error"][0]["message"]


def test_read_quota_refuses_reads_not_writes(clock: FakeClock) -> None:
    emu = Emulator(clock=clock, behaviour=Behaviour(read_quota=0))
    api = Api(emu)
    assert api.call("GET", "preferences").status_code == 429
    assert api.call("POST", "customer", json={"DisplayName": "Q"}).status_code == 200


@pytest.mark.parametrize("mode", ["replay", "ignore"])
def test_requestid_replays_or_not(api: Api, mode: str) -> None:
    api.emu.behaviour.requestid = mode
    first = api.create("Customer", {"DisplayName": "Same"}, requestid="r-1")
    again = api.call("POST", "customer", json={"DisplayName": "Same"},
                     params={"requestid": "r-1"}).json()
    if mode == "replay":
        assert again["Customer"]["Id"] == first["Id"]
    else:
        assert again["Fault"]["Error"][0]["code"] == "6240"


def test_drop_after_applies_the_write(api: Api) -> None:
    api.emu.faults.inject("drop_after", path_contains="/customer")
    with pytest.raises(httpx.RemoteProtocolError):
        api.call("POST", "customer", json={"DisplayName": "Ghost"})
    rows = api.query("SELECT * FROM Customer WHERE DisplayName = 'Ghost'")
    assert len(rows["QueryResponse"]["Customer"]) == 1


def test_drop_before_and_timeout(api: Api) -> None:
    api.emu.faults.inject("drop_before")
    with pytest.raises(httpx.ConnectError):
        api.call("POST", "customer", json={"DisplayName": "Never"})
    assert api.query("SELECT * FROM Customer WHERE DisplayName = 'Never'")["QueryResponse"] == {}
    api.emu.faults.inject("timeout")
    with pytest.raises(httpx.ReadTimeout):
        api.call("POST", "customer", json={"DisplayName": "Late"})
    assert api.query("SELECT * FROM Customer WHERE DisplayName = 'Late'")["QueryResponse"]


def test_fault_inside_http_200_and_5xx_apply_nothing(api: Api) -> None:
    api.emu.faults.inject("fault_200")
    answer = api.call("POST", "customer", json={"DisplayName": "Nope"})
    assert answer.status_code == 200 and answer.json()["Fault"]["type"] == "SystemFault"
    api.emu.faults.inject("error_503")
    assert api.call("POST", "customer", json={"DisplayName": "Nope"}).status_code == 503
    assert api.query("SELECT * FROM Customer WHERE DisplayName = 'Nope'")["QueryResponse"] == {}


def test_seeded_plan_is_repeatable() -> None:
    from flx_quickbooks.emulator import FaultPlan

    def run() -> list[int]:
        emu = Emulator(faults=FaultPlan(seed=7, rates={"error_500": 0.5}))
        api = Api(emu)
        return [api.call("POST", "customer", json={"DisplayName": f"C{i}"}).status_code
                for i in range(8)]

    first = run()
    assert first == run() and 500 in first and 200 in first


def test_more_than_ten_in_flight_are_refused() -> None:
    from concurrent.futures import ThreadPoolExecutor

    emu = Emulator(latency=0.2, behaviour=Behaviour(per_second=100))
    api = Api(emu)
    with ThreadPoolExecutor(14) as pool:
        codes = list(pool.map(lambda _: api.call("GET", "preferences").status_code, range(14)))
    assert codes.count(200) == 10 and codes.count(429) == 4
