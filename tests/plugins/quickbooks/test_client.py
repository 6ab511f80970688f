"""The client: paging, quoting, both error envelopes, retries with one requestid, look-up
before resending an unanswered write, and the pacing limiter."""

from __future__ import annotations

import threading
import time

import pytest

from flx import OutcomeUnknownError, PermissionDeniedError, RemoteRejectedError
from flx_quickbooks.client import quote, where_equals
from flx_quickbooks.emulator import Behaviour, Emulator
from flx_quickbooks.errors import DuplicateNumberError, StaleObjectError
from flx_quickbooks.limiter import RateLimiter

from .emulator.helpers import FakeClock
from .helpers import wire


def test_query_pages_through_every_row() -> None:
    w = wire()
    books = w.emu.company(w.client.settings.realm_id)
    for n in range(2100):
        books.seed("Customer", {"DisplayName": f"Customer {n}"})
    rows = w.client.query("SELECT * FROM Customer")
    assert len(rows) == 2100 and len({r["Id"] for r in rows}) == 2100
    assert sum(1 for _, t in w.emu.requests if "/query" in t) == 3


def test_quoting_and_the_typographic_apostrophe() -> None:
    assert quote("O'Brien \\ Co") == "'O\\'Brien \\\\ Co'"
    w = wire()
    books = w.emu.company(w.client.settings.realm_id)
    books.seed("Customer", {"DisplayName": "O'Brien"})
    books.seed("Customer", {"DisplayName": "D\u2019Arcy"})
    assert w.client.query("SELECT * FROM Customer WHERE " + where_equals("DisplayName", "O'Brien"))
    found = w.client.query("SELECT * FROM Customer WHERE "
                           + where_equals("DisplayName", "D\u2019Arcy"))
    assert [c["DisplayName"] for c in found] == ["D\u2019Arcy"]


def test_retries_keep_one_requestid_and_ride_out_faults_in_200() -> None:
    w = wire()
    w.emu.faults.inject("error_503", path_contains="/customer")
    w.emu.faults.inject("fault_200", path_contains="/customer")
    written = w.client.create("Customer", {"DisplayName": "Retry Me"}, requestid="flx-r1",
                              what="creating customer")
    assert written.obj["DisplayName"] == "Retry Me" and not written.existed
    sent = [t for t in w.emu.writes() if "/customer" in t]
    assert len(sent) == 3 and all("requestid=flx-r1" in t for t in sent)


def test_429_waits_retry_after() -> None:
    clock = FakeClock(tick=0)
    w = wire(Emulator(clock=clock, behaviour=Behaviour(per_second=1, retry_after=True)), clock)
    w.client.preferences()
    w.client.preferences()
    assert w.slept and w.slept[0] >= 1 and w.client.counts["throttled"] == 1


def test_an_unanswered_create_is_looked_up_before_it_is_sent_again() -> None:
    w = wire(Emulator(clock=FakeClock(), behaviour=Behaviour(requestid="ignore")))
    w.emu.faults.inject("drop_after", path_contains="/customer")

    def find() -> dict | None:
        rows = w.client.query("SELECT * FROM Customer WHERE DisplayName = 'Once'")
        return rows[0] if rows else None

    written = w.client.create("Customer", {"DisplayName": "Once"}, requestid="flx-r2",
                              what="creating customer", find_existing=find)
    assert written.existed
    assert len(w.client.query("SELECT * FROM Customer WHERE DisplayName = 'Once'")) == 1
    assert len([t for t in w.emu.writes() if "/customer" in t]) == 1


def test_requestid_replay_covers_a_lost_answer_without_a_look_up() -> None:
    w = wire()
    w.emu.faults.inject("timeout", path_contains="/customer")
    written = w.client.create("Customer", {"DisplayName": "Replayed"}, requestid="flx-r3",
                              what="creating customer")
    assert not written.existed
    assert len(w.client.query("SELECT * FROM Customer WHERE DisplayName = 'Replayed'")) == 1


def test_writes_that_never_get_an_answer_are_outcome_unknown() -> None:
    w = wire()
    w.emu.faults.inject("drop_after", path_contains="/customer", times=10)
    with pytest.raises(OutcomeUnknownError, match="creating customer"):
        w.client.create("Customer", {"DisplayName": "Lost"}, requestid="flx-r4",
                        what="creating customer")


def test_faults_map_to_flx_errors_with_fixes() -> None:
    w = wire()
    vendor = w.client.query("SELECT * FROM Vendor WHERE DisplayName = 'Vendor A'")[0]
    line = {"DetailType": "AccountBasedExpenseLineDetail", "Amount": 5,
            "AccountBasedExpenseLineDetail": {}}
    po = {"VendorRef": {"value": vendor["Id"]}, "DocNumber": "D-1", "Line": [line]}
    first = w.client.create("PurchaseOrder", po, requestid="p1", what="PO D-1").obj
    with pytest.raises(DuplicateNumberError) as dup:
        w.client.create("PurchaseOrder", po, requestid="p2", what="PO D-1")
    assert dup.value.txn_id == first["Id"] and dup.value.txn_type == "PurchaseOrder"
    stale = {"Id": first["Id"], "SyncToken": "7", "sparse": True, "Memo": "x"}
    with pytest.raises(StaleObjectError):
        w.client.update("PurchaseOrder", stale, requestid="p3", what="PO D-1")
    with pytest.raises(RemoteRejectedError, match="inactive or deleted") as gone:
        w.client.create("PurchaseOrder", {**po, "DocNumber": "D-2",
                                          "VendorRef": {"value": "999"}},
                        requestid="p4", what="PO D-2")
    assert gone.value.hint and "intuit_tid" in gone.value.message
    w.client.settings = type(w.client.settings)(**{**w.client.settings.__dict__,
                                                   "realm_id": "42"})
    with pytest.raises(PermissionDeniedError, match="environment"):
        w.client.preferences()


def test_limiter_caps_requests_in_flight() -> None:
    limiter = RateLimiter(in_flight=2, per_second=100)
    flying, peak = 0, 0
    lock = threading.Lock()

    def work() -> None:
        nonlocal flying, peak
        with limiter.slot():
            with lock:
                flying += 1
                peak = max(peak, flying)
            time.sleep(0.03)
            with lock:
                flying -= 1

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert peak == 2


def test_limiter_paces_per_second() -> None:
    now = [0.0]
    limiter = RateLimiter(in_flight=5, per_second=3, clock=lambda: now[0])
    for _ in range(3):
        with limiter.slot():
            pass
    assert limiter._delay(now[0]) == pytest.approx(1.0)
    now[0] += 1.0
    assert limiter._delay(now[0]) == 0
