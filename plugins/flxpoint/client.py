"""A small Flxpoint API client: the X-API-TOKEN header, a limiter that spaces requests so a
token never goes over its budget (Flxpoint allows 2 requests per second per token), retries
of 429, 5xx and network errors with backoff, paging to the end, and every failure said as a
flx error with its fix. The token never appears in a message."""

from __future__ import annotations

import json
import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any, Protocol

import httpx
import tenacity

from flx import (
    AuthenticationError,
    ConfigError,
    NetworkError,
    PermissionDeniedError,
    PluginError,
    RateLimitError,
    RecordError,
    RemoteRejectedError,
    RemoteUnavailableError,
    RetryableError,
)

log = logging.getLogger("flx.flxpoint")
DEFAULT_RATE = 2.0  # requests per second: Flxpoint's limit per token (the limiter keeps margin)
MAX_PAGE_SIZE = 100
TOKEN_HINT = ("set the source's api_token to a Flxpoint Account token (an Account token reads "
              "orders, fulfillment requests, shipments, invoices and sources; Source and "
              "Channel tokens see one slice and cannot list sources)")


class RateMemory(Protocol):
    """Where a limiter keeps its latest requests' times (wall clock, seconds) for the next
    process: the source's plugin state."""

    def load(self) -> list[float]: ...

    def save(self, times: list[float]) -> None: ...


class RateLimiter:
    """At most `budget` requests in any `window` seconds, counted as Flxpoint counts them: by
    when they *arrive*. A request arrives somewhere between its start and the end of its
    answer, so a request may start only once the one `budget` places earlier has ended
    `window` seconds ago; network jitter can then never squeeze one request too many into a
    window. One limiter per token is shared by every client in this process (`for_token`)."""

    MARGIN = 1.05  # for clocks that tick at slightly different speeds
    PENDING = 1.0  # seconds after its start a request in flight is taken to have ended

    _shared: dict[tuple[str, str, float], RateLimiter] = {}
    _shared_lock = threading.Lock()

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if rate <= 0:
            raise ValueError("rate must be above 0")
        self.budget = max(1, int(rate))
        self.window = self.budget / rate * self.MARGIN
        self.clock, self.sleep = clock, sleep
        self._lock = threading.Lock()
        self._recent: deque[list[float | None]] = deque()  # [end] of the latest requests
        self._started: dict[int, float] = {}  # id(ticket) -> start, while it is in flight
        self.memory: RateMemory | None = None

    @classmethod
    def for_token(cls, base_url: str, token: str, rate: float) -> RateLimiter:
        key = (base_url, token, rate)
        with cls._shared_lock:
            return cls._shared.setdefault(key, cls(rate))

    def acquire(self) -> list[float | None]:
        """Wait for a free place; returns the ticket to hand to `release` once answered."""
        while True:
            with self._lock:
                now = self.clock()
                if len(self._recent) >= self.budget:
                    oldest = self._recent[0][0]
                    wait = 0.01 if oldest is None else oldest + self.window - now
                else:
                    wait = 0.0
                if wait <= 0:
                    if len(self._recent) >= self.budget:
                        self._recent.popleft()
                    ticket: list[float | None] = [None]
                    self._recent.append(ticket)
                    self._started[id(ticket)] = now
                    self._remember()
                    return ticket
            self.sleep(wait)

    def release(self, ticket: list[float | None]) -> None:
        with self._lock:
            ticket[0] = self.clock()
            self._started.pop(id(ticket), None)
            self._remember()

    # --- shared with the next process ------------------------------------------------------------

    def share(self, memory: RateMemory) -> None:
        """Keep the latest requests' times in `memory` (the source's plugin state), and start
        from what an earlier process left there: Flxpoint counts per token, not per process,
        so a pull started right after another one (or after one that was killed) must count
        that one's last requests too."""
        with self._lock:
            self.memory = memory
            now_mono, now_wall = self.clock(), time.time()
            earlier = [now_mono - (now_wall - wall) for wall in memory.load()]
            known = [t[0] if t[0] is not None else now_mono for t in self._recent]
            merged = sorted([*earlier, *known])[-self.budget:]
            self._recent = deque([[t] for t in merged])
            self._started = {}

    def _remember(self) -> None:
        """Under the lock. A request still in flight counts as ending `PENDING` after its
        start: if this process dies now, its answer never says when it arrived."""
        if self.memory is None:
            return
        now_mono, now_wall = self.clock(), time.time()
        times = [(t[0] if t[0] is not None else self._started.get(id(t), now_mono) + self.PENDING)
                 for t in self._recent]
        try:
            self.memory.save([round(now_wall - (now_mono - t), 3) for t in times])
        except Exception as exc:  # noqa: BLE001 - pacing must not fail a pull; it only
            log.warning("could not keep the rate limiter's times: %s", exc)  # shares less


class _Retry(Exception):
    """A transient answer, retried; `error` is what the caller gets once attempts run out."""

    def __init__(self, error: RetryableError) -> None:
        super().__init__(error.message)
        self.error = error


class FlxpointClient:
    def __init__(self, http: httpx.Client, *, token: str, rate: float = DEFAULT_RATE,
                 attempts: int = 6, max_wait: float = 8.0,
                 sleep: Callable[[float], None] = time.sleep,
                 limiter: RateLimiter | None = None) -> None:
        if not token:
            raise ConfigError("no Flxpoint API token is set", hint=TOKEN_HINT)
        self.http = http
        self._token = token
        self.limiter = limiter or RateLimiter.for_token(str(http.base_url), token, rate)
        self.attempts = attempts
        self.max_wait = max_wait
        self.sleep = sleep
        self.requests = 0

    # --- public -------------------------------------------------------------------------------

    def get(self, path: str, params: dict[str, Any] | None = None) -> Any:
        return self._call("GET", path, params=params)

    def patch(self, path: str, body: dict[str, Any]) -> None:
        self._call("PATCH", path, body=body)

    def pages(self, path: str, params: dict[str, Any] | None = None,
              page_size: int = MAX_PAGE_SIZE) -> Iterator[list[dict[str, Any]]]:
        """Every page of a list endpoint, from page 1 until a short or empty page."""
        number = 1
        while True:
            rows = self.get(path, {**(params or {}), "filterPageNumber": number,
                                   "filterPageSize": page_size})
            if not isinstance(rows, list):
                raise PluginError(f"Flxpoint answered GET {path} with {type(rows).__name__}, "
                                  "not a list", hint="check the source's base_url")
            if rows:
                yield rows
            if len(rows) < page_size:
                return
            number += 1

    # --- the call -----------------------------------------------------------------------------

    def _call(self, method: str, path: str, *, params: dict[str, Any] | None = None,
              body: dict[str, Any] | None = None) -> Any:
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(_Retry),
            stop=tenacity.stop_after_attempt(self.attempts),
            wait=self._wait, sleep=self.sleep, reraise=True)
        try:
            for attempt in retrying:
                with attempt:
                    return self._once(method, path, params, body)
        except _Retry as gave_up:
            err = gave_up.error
            raise type(err)(f"{err.message} (gave up after {self.attempts} attempts)",
                            hint=err.hint) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _wait(self, state: tenacity.RetryCallState) -> float:
        outcome = state.outcome
        error = outcome.exception() if outcome is not None else None
        if isinstance(error, _Retry) and error.error.retry_after is not None:
            return min(error.error.retry_after, self.max_wait)
        # Exponential from 0.5 s with full jitter, capped (Flxpoint sends no Retry-After).
        return float(random.uniform(0.5, min(self.max_wait, 0.5 * 2 ** state.attempt_number)))

    def _once(self, method: str, path: str, params: dict[str, Any] | None,
              body: dict[str, Any] | None) -> Any:
        ticket = self.limiter.acquire()
        self.requests += 1
        where = f"{method} {path}"
        try:
            response = self.http.request(
                method, path, params=_query(params), json=body,
                headers={"X-API-TOKEN": self._token, "Accept": "application/json"})
        except httpx.TransportError as exc:
            raise _Retry(NetworkError(f"Flxpoint did not answer {where}: "
                                      f"{type(exc).__name__}",
                                      hint="check the network and the source's base_url; "
                                           "the next pull resumes")) from None
        finally:
            self.limiter.release(ticket)
        status = response.status_code
        if status == 429:
            raise _Retry(RateLimitError(
                f"Flxpoint's rate limit was hit on {where} (429)",
                hint="another program may be using the same token; give flx its own token",
                retry_after=_retry_after(response)))
        if status >= 500:
            raise _Retry(RemoteUnavailableError(
                f"Flxpoint failed on {where} ({status})", hint="Flxpoint is having trouble; "
                "the next pull resumes where this one stopped",
                retry_after=_retry_after(response)))
        if status >= 400:
            raise _refusal(method, path, status, _message(response))
        if status == 204 or not response.content:
            return None
        try:
            return json.loads(response.content, parse_float=Decimal)
        except ValueError:
            raise PluginError(f"Flxpoint answered {where} with something that is not JSON",
                              hint="check the source's base_url (it must be the API's, "
                                   "https://api.flxpoint.com)") from None


def _query(params: dict[str, Any] | None) -> dict[str, Any] | None:
    if params is None:
        return None
    return {k: (",".join(map(str, v)) if isinstance(v, list | tuple) else
                ("true" if v is True else "false" if v is False else v))
            for k, v in params.items() if v is not None}


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _message(response: httpx.Response) -> str:
    """Flxpoint documents no error body: take a `message` if there is one, else the text."""
    try:
        data = response.json()
        text = str(data.get("message") or data) if isinstance(data, dict) else str(data)
    except ValueError:
        text = response.text
    return " ".join(text.split())[:300]


def _refusal(method: str, path: str, status: int, detail: str) -> Exception:
    said = f" ({detail})" if detail else ""
    where = f"{method} {path}"
    if status == 401:
        return AuthenticationError(f"Flxpoint refused the API token on {where} (401){said}",
                                   hint=TOKEN_HINT)
    if status == 403:
        return PermissionDeniedError(f"Flxpoint does not let this token call {where} "
                                     f"(403){said}", hint=TOKEN_HINT)
    if status == 404 and method == "GET" and path.count("/") == 1:
        return ConfigError(f"Flxpoint has no {path} endpoint at this address (404)",
                           hint="check the source's base_url (https://api.flxpoint.com)")
    if status == 404:
        return RecordError(f"Flxpoint has no record at {path} (404)",
                           hint="it was deleted in Flxpoint; nothing to do")
    if method == "GET":
        return PluginError(f"Flxpoint refused the query {where} ({status}){said}",
                           hint="check the dates and ids in the source's settings; if they "
                                "are right, report this with the message")
    return RemoteRejectedError(f"Flxpoint refused {where} ({status}){said}",
                               hint="see Flxpoint's message", status=status, detail=detail)
