"""The adaptive limiter: in-flight bound, back-off on 429, slow recovery, pluggable budget."""

from __future__ import annotations

import threading

import pytest

from flx_netsuite.governance import AdaptiveLimiter, shared_limiter


def wait_until(predicate, timeout: float = 5.0) -> bool:
    event = threading.Event()
    for _ in range(int(timeout / 0.005)):
        if predicate():
            return True
        event.wait(0.005)
    return predicate()


def test_never_more_than_the_limit_in_flight():
    limiter = AdaptiveLimiter(3)
    release = threading.Event()
    lock = threading.Lock()
    seen = {"now": 0, "max": 0, "done": 0}

    def worker() -> None:
        with limiter.slot():
            with lock:
                seen["now"] += 1
                seen["max"] = max(seen["max"], seen["now"])
            release.wait(10)
            with lock:
                seen["now"] -= 1
                seen["done"] += 1

    threads = [threading.Thread(target=worker) for _ in range(10)]
    for t in threads:
        t.start()
    assert wait_until(lambda: limiter.in_flight == 3)
    # The other seven are parked: nothing gets past the limit while the three hold on.
    assert seen["done"] == 0 and limiter.in_flight == 3
    release.set()
    for t in threads:
        t.join(10)
    assert seen == {"now": 0, "max": 3, "done": 10}
    assert limiter.peak == 3 and limiter.in_flight == 0


def test_429_lowers_the_limit_by_one_down_to_one():
    limiter = AdaptiveLimiter(3)
    limiter.record_rate_limited()
    assert limiter.limit == 2
    for _ in range(5):
        limiter.record_rate_limited()
    assert limiter.limit == 1


def test_recovers_one_slot_per_streak_of_successes_and_never_above_the_ceiling():
    limiter = AdaptiveLimiter(3, recover_after=4)
    limiter.record_rate_limited()
    limiter.record_rate_limited()
    assert limiter.limit == 1
    for _ in range(3):
        limiter.record_success()
    assert limiter.limit == 1  # not yet: recovery is slow on purpose
    limiter.record_success()
    assert limiter.limit == 2
    for _ in range(2):
        limiter.record_success()
    limiter.record_rate_limited()  # a 429 breaks the streak and costs a slot
    assert limiter.limit == 1
    for _ in range(40):
        limiter.record_success()
    assert limiter.limit == 3


def test_a_lowered_limit_holds_back_new_requests():
    limiter = AdaptiveLimiter(2)
    limiter.acquire()
    limiter.record_rate_limited()  # now 1, and one is already in flight
    entered = threading.Event()

    def second() -> None:
        with limiter.slot():
            entered.set()

    t = threading.Thread(target=second)
    t.start()
    assert not entered.wait(0.1)
    limiter.release()
    assert entered.wait(5)
    t.join(5)


class CountingBudget:
    def __init__(self, fail: bool = False) -> None:
        self.held = 0
        self.fail = fail

    def acquire(self) -> None:
        if self.fail:
            raise RuntimeError("budget store unreachable")
        self.held += 1

    def release(self) -> None:
        self.held -= 1


def test_a_shared_budget_is_taken_and_given_back_with_each_slot():
    budget = CountingBudget()
    limiter = AdaptiveLimiter(2, budget=budget)
    with limiter.slot():
        assert budget.held == 1
    assert budget.held == 0


def test_a_failing_budget_does_not_leak_the_local_slot():
    limiter = AdaptiveLimiter(1, budget=CountingBudget(fail=True))
    with pytest.raises(RuntimeError):
        limiter.acquire()
    assert limiter.in_flight == 0


def test_shared_limiter_is_one_per_account_endpoint():
    a = shared_limiter("999001", "https://x.test", 4)
    assert shared_limiter("999001", "https://x.test", 4) is a
    assert shared_limiter("999001_SB1", "https://x.test", 4) is not a
    shared_limiter("999001", "https://x.test", 2)
    assert (a.max_limit, a.limit) == (2, 2)


def test_bad_limits_are_refused():
    with pytest.raises(ValueError):
        AdaptiveLimiter(0)
