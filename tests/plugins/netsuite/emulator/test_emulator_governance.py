"""Governance and faults: the account's concurrency limit (429), requests overlapping through
the in-process transport, seeded repeatable faults, and drops that look like network faults."""

from __future__ import annotations

import threading
from typing import Any

import httpx
import pytest

from flx_netsuite.emulator import Emulator, EmulatorTransport, FaultPlan
from flx_netsuite.emulator.state import load_default_seed

from .helpers import NS, error

TOO_MANY = {
    "type": "https://www.rfc-editor.org/rfc/rfc6585.html#section-4",
    "title": "Too Many Requests", "status": 429,
    "o:errorDetails": [{"detail": "Concurrent request limit exceeded. Request blocked.",
                        "o:errorCode": "CONCURRENCY_LIMIT_EXCEEDED"}],
}


def parallel_gets(emu: Emulator, count: int) -> list[httpx.Response]:
    """`count` threads share one client (as flx's worker pool does) and GET at once."""
    client = NS(emu)
    barrier = threading.Barrier(count)
    results: list[httpx.Response] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        response = client.get("customer/107")
        with lock:
            results.append(response)

    threads = [threading.Thread(target=worker) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    return results


def test_requests_over_the_limit_get_429() -> None:
    emu = Emulator(concurrency=2, latency=0.5)
    results = parallel_gets(emu, 6)
    blocked = [r for r in results if r.status_code == 429]
    assert blocked, "six simultaneous requests against a limit of two must see a 429"
    assert all(r.json() == TOO_MANY and "retry-after" not in r.headers for r in blocked)
    assert {r.status_code for r in results} <= {200, 429}
    stats = emu.stats()
    assert stats["throttled"] == len(blocked)
    assert stats["peak_in_flight"] == 2
    assert stats["requests"] == 6


def test_transport_lets_requests_from_many_threads_overlap() -> None:
    emu = Emulator(concurrency=None, latency=0.3)
    results = parallel_gets(emu, 5)
    assert [r.status_code for r in results] == [200] * 5
    assert emu.stats()["peak_in_flight"] > 1  # they were in flight together, not queued


def outcomes(seed: int) -> list[str]:
    emu = Emulator(faults=FaultPlan(seed, error_5xx=0.25, drop_before=0.2, drop_after=0.2),
                   concurrency=None)
    client = NS(emu)
    seen = []
    for n in range(24):
        try:
            if n % 2:
                response = client.get("vendor/201", params={"n": n})
            else:
                response = client.post("customer", {"companyName": f"Co {n}",
                                                    "subsidiary": {"id": "1"}})
            seen.append(str(response.status_code))
        except httpx.TransportError as exc:
            seen.append(type(exc).__name__)
    client.close()
    return seen


def test_faults_repeat_with_the_same_seed() -> None:
    first = outcomes(42)
    assert first == outcomes(42)
    assert first != outcomes(43)
    assert {"204", "200"} & set(first) and len(set(first)) > 2


def make(faults: FaultPlan) -> tuple[Emulator, NS]:
    emu = Emulator(faults=faults)
    return emu, NS(emu)


def test_drop_after_commit_applies_the_write() -> None:
    emu, client = make(FaultPlan(seed=3, drop_after=1.0))
    with pytest.raises((httpx.ReadError, httpx.RemoteProtocolError)):
        client.post("customer", {"companyName": "Lost Answer Inc", "externalId": "C-LOST",
                                 "subsidiary": {"id": "1"}})
    assert [c.get("companyName") for c in emu.records("customer")][-1] == "Lost Answer Inc"
    # reads, SuiteQL included, are never dropped after the fact
    assert client.get("customer/eid:C-LOST").status_code == 200
    assert client.suiteql("SELECT id FROM customer").status_code == 200
    assert emu.stats()["faults"] == {"drop_after": 1}
    client.close()


def test_drop_before_commit_applies_nothing() -> None:
    emu, client = make(FaultPlan(seed=3, drop_before=1.0))
    before = emu.stats()["records"]["customer"]
    for _ in range(4):
        with pytest.raises((httpx.ConnectError, httpx.ReadError)):
            client.post("customer", {"companyName": "Never", "subsidiary": {"id": "1"}})
    with pytest.raises((httpx.ConnectError, httpx.ReadError)):
        client.get("customer/107")
    assert emu.stats()["records"]["customer"] == before
    client.close()


def test_injected_5xx_has_netsuites_shape_and_writes_nothing() -> None:
    emu, client = make(FaultPlan(seed=3, error_5xx=1.0))
    response = client.post("customer", {"companyName": "Nope", "subsidiary": {"id": "1"}})
    assert response.status_code in (500, 503)
    assert error(response)["o:errorCode"] in ("UNEXPECTED_ERROR", "SERVICE_UNAVAILABLE")
    assert emu.stats()["records"]["customer"] == 3
    client.close()


def test_faults_never_hit_the_inspection_endpoints() -> None:
    emu, client = make(FaultPlan(seed=3, drop_before=1.0))
    assert client.http.get("/_emulator/stats").status_code == 200
    assert client.http.get("/_emulator/records/customer").status_code == 200
    client.close()


def test_stats_count_routes_and_real_duplicates() -> None:
    seed: dict[str, Any] = load_default_seed()
    seed["records"]["customer"].append({**seed["records"]["customer"][1], "id": "109",
                                        "externalId": "SAME"})
    seed["records"]["customer"][1]["externalId"] = "SAME"
    emu = Emulator(seed)
    assert emu.stats()["duplicate_external_ids"] == 1  # the stat looks at records, not rules
    client = NS(emu)
    client.get("customer/107")
    client.get("customer/108")
    stats = client.http.get("/_emulator/stats").json()
    client.close()
    assert stats["routes"]["GET customer/{id}"] == 2
    assert stats["records"]["customer"] == 4


def test_reset_returns_to_the_seed(ns: NS, emu: Emulator) -> None:
    ns.create("customer", {"companyName": "Temp", "subsidiary": {"id": "1"}})
    assert ns.http.post("/_emulator/reset").status_code == 204
    assert emu.stats()["records"]["customer"] == 3
    assert emu.stats()["requests"] == 0


def test_transport_refuses_after_close(emu: Emulator) -> None:
    transport = EmulatorTransport(emu)
    transport.close()
    with pytest.raises(httpx.ConnectError):
        httpx.Client(transport=transport).get("https://x/services/rest/record/v1/customer/1")


def test_read_timeout_is_a_timeout_and_the_write_may_still_land() -> None:
    emu = Emulator(latency=0.3)
    client = NS(emu)
    with pytest.raises(httpx.ReadTimeout):
        client.post("customer", {"companyName": "Slow Co", "subsidiary": {"id": "1"}},
                    timeout=httpx.Timeout(5, read=0.05))
    client.close()  # waits for the loop thread, so the write has finished by now
    assert any(c.get("companyName") == "Slow Co" for c in emu.records("customer"))


def test_racing_creates_with_one_external_id_make_one_record() -> None:
    emu = Emulator(concurrency=None)
    client = NS(emu)
    barrier = threading.Barrier(8)
    statuses: list[int] = []

    def worker() -> None:
        barrier.wait()
        response = client.post("salesOrder", {"entity": {"id": "107"}, "externalId": "ORD-RACE",
                                              "item": {"items": [{"item": {"id": "503"},
                                                                  "quantity": 1}]}})
        statuses.append(response.status_code)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    client.close()
    assert sorted(statuses) == [204] + [400] * 7
    assert emu.stats()["records"]["salesOrder"] == 1
    assert emu.stats()["duplicate_external_ids"] == 0
