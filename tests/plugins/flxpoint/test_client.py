"""The Flxpoint client against the emulator: paging to the end, the rate limiter (never over
2 requests per second), retries of 429 / 5xx / network errors, and refusals as flx errors."""

from __future__ import annotations

import time
from decimal import Decimal

import httpx
import pytest

from flx import (
    AuthenticationError,
    ConfigError,
    NetworkError,
    PluginError,
    RateLimitError,
    RemoteUnavailableError,
)
from flx_flxpoint.client import FlxpointClient, RateLimiter
from flx_flxpoint.emulator import Emulator, EmulatorTransport


def make_client(emu: Emulator, *, token: str | None = None, rate: float = 1000.0,
                slept: list[float] | None = None,
                transport: httpx.BaseTransport | None = None) -> FlxpointClient:
    http = httpx.Client(transport=transport or EmulatorTransport(emu),
                        base_url="http://flxpoint.test")
    sleeps = slept if slept is not None else []
    return FlxpointClient(http, token=emu.token_of_type("account") if token is None else token,
                          limiter=RateLimiter(rate), sleep=sleeps.append)


def test_pages_until_a_short_page(emulator: Emulator):
    client = make_client(emulator)
    pages = list(client.pages("/fulfillment-requests", page_size=4))
    assert [len(p) for p in pages] == [4, 2]
    assert client.requests == 2
    exact = list(client.pages("/fulfillment-requests", page_size=3))  # 6 rows: 3 + 3 + empty
    assert [len(p) for p in exact] == [3, 3] and client.requests == 5


def test_money_is_decimal(emulator: Emulator):
    order = make_client(emulator).get("/orders/500002")
    assert order["orderItems"][0]["price"] == Decimal("19.99")


def test_limiter_counts_from_the_end_of_the_answer_two_places_back():
    now = [100.0]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 3))
        now[0] += s

    limiter = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    starts = []
    for _ in range(4):
        ticket = limiter.acquire()
        starts.append(round(now[0], 3))
        now[0] += 0.2  # each answer takes 0.2 s
        limiter.release(ticket)
    # two at once, then each waits until the answer two places back is 1.05 s old
    assert starts == [100.0, 100.2, 101.25, 101.45]
    assert slept == [0.85]


class Memory:
    """The source's plugin state, as two processes see it in turn."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def load(self) -> list[float]:
        return list(self.times)

    def save(self, times: list[float]) -> None:
        self.times = list(times)


@pytest.mark.parametrize("answered", [True, False], ids=["ended", "killed in flight"])
def test_the_next_process_counts_the_last_ones_requests(answered: bool) -> None:
    # Same wall clock for both "processes"; each has its own limiter, as two `flx pull`s do.
    now = [time.time()]
    slept: list[float] = []

    def sleep(s: float) -> None:
        slept.append(round(s, 2))
        now[0] += s

    memory = Memory()
    first = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    first.share(memory)
    for _ in range(2):
        ticket = first.acquire()
        if answered:
            first.release(ticket)  # answered at once
    second = RateLimiter(2.0, clock=lambda: now[0], sleep=sleep)
    second.share(memory)
    second.acquire()
    # The second process waits for the first one's requests: 1.05 s after their answers,
    # or, for a request that never said when it was answered, 1 s later still.
    assert slept == ([1.05] if answered else [2.05])


def test_real_budget_never_exceeded_at_two_per_second():
    emu = Emulator(rate=2.0)  # Flxpoint's own limit, enforced
    token = emu.token_of_type("account")
    http = httpx.Client(transport=EmulatorTransport(emu), base_url="http://flxpoint.test")
    client = FlxpointClient(http, token=token)  # the default: Flxpoint's 2 per second
    started = time.monotonic()
    for _ in range(5):
        client.get("/account")
    assert time.monotonic() - started >= 2 * RateLimiter.MARGIN
    assert emu.by_status == {200: 5}  # not one 429
    assert emu.peak_rate(token) <= 2


def test_429_is_retried_honouring_retry_after(emulator: Emulator):
    slept: list[float] = []
    client = make_client(emulator, slept=slept)
    emulator.fail_next(429, retry_after=True)
    emulator.fail_next(429)
    assert client.get("/account")["id"] == 7001
    assert slept[0] == 1.0 and 0.5 <= slept[1] <= 2.0
    assert emulator.by_status == {429: 2, 200: 1}


def test_5xx_retried_then_given_up_as_outage(emulator: Emulator):
    client = make_client(emulator)
    emulator.fail_next(500)
    assert client.get("/shipments") != []
    emulator.fail_next(503, count=10)
    with pytest.raises(RemoteUnavailableError, match="gave up after 6 attempts") as info:
        client.get("/shipments")
    assert "next pull resumes" in (info.value.hint or "")
    emulator.faults.clear()
    emulator.fail_next(429, count=10)
    with pytest.raises(RateLimitError):
        client.get("/shipments")


def test_network_errors_are_retried_then_network_error(emulator: Emulator):
    calls = []
    inner = EmulatorTransport(emulator)

    class Flaky(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            calls.append(1)
            if len(calls) <= 2:
                raise httpx.ConnectError("refused", request=request)
            return inner.handle_request(request)

    assert make_client(emulator, transport=Flaky()).get("/account")["id"] == 7001

    class Dead(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise httpx.ReadTimeout("slow", request=request)

    with pytest.raises(NetworkError, match="ReadTimeout"):
        make_client(emulator, transport=Dead()).get("/account")


def test_wrong_token_type_is_an_authentication_error_without_the_token(emulator: Emulator):
    token = emulator.token_of_type("source")
    with pytest.raises(AuthenticationError) as info:
        make_client(emulator, token=token).get("/sources")
    text = str(info.value)
    assert "needs an Account token" in text and "Account token" in (info.value.hint or "")
    assert token not in text
    with pytest.raises(AuthenticationError):
        make_client(emulator, token="not-a-token").get("/orders")
    with pytest.raises(ConfigError, match="no Flxpoint API token"):
        make_client(emulator, token="")


def test_refusals_name_the_call_and_the_fix(emulator: Emulator):
    client = make_client(emulator)
    with pytest.raises(ConfigError, match="no /nothing endpoint") as missing:
        client.get("/nothing")
    assert "base_url" in (missing.value.hint or "")
    with pytest.raises(PluginError, match="filterPageSize"):
        client.get("/orders", {"filterPageSize": 1000})
    assert client.get("/orders", {"frNumbers": ["a", "b"], "x": None, "b": True}) is not None
