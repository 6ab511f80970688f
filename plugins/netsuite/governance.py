"""Keep flx inside the account's NetSuite concurrency limit (netsuite-rest.md §7.3).

NetSuite limits requests *in flight* per account, shared by every integration on it, and
answers 429 to the excess. `AdaptiveLimiter` never lets more than its current limit run at
once. The configured `concurrency` is the ceiling; each 429 (other traffic on the account is
using its share) lowers the limit by one, down to 1, and every `recover_after` consecutive
successes raise it again by one, so flx backs off quickly and comes back slowly.

Several processes or machines need one budget for the account: a `Budget` (acquire/release,
for example backed by the store's database) can be plugged in and is taken *in addition* to
the local slot, so the local limiter still smooths traffic within the process.
`shared_limiter()` hands every client of the same account in this process the same limiter.

`RetryPolicy` is the other half of governance: how long to wait before trying again (exponential
backoff with full jitter, never shorter than a Retry-After), and when to stop (attempts and
total time). *Which* failures may be retried is the caller's decision, passed in per call.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

import tenacity

from flx import AuthenticationError, RetryableError


class Budget(Protocol):
    """A concurrency budget shared beyond this process (one slot per request in flight). It
    may also have record_rate_limited()/record_success(): then the back-off is shared too."""

    def acquire(self) -> None: ...

    def release(self) -> None: ...


def _tell(budget: Budget | None, event: str) -> None:
    """Pass a 429 or a success on to a budget that shares the back-off (optional methods)."""
    method = getattr(budget, event, None)
    if callable(method):
        method()


class AdaptiveLimiter:
    """Thread-safe in-flight limiter with additive decrease on 429 and slow recovery."""

    def __init__(self, limit: int, *, recover_after: int = 20, budget: Budget | None = None,
                 ) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        if recover_after < 1:
            raise ValueError("recover_after must be at least 1")
        self.max_limit = limit
        self.recover_after = recover_after
        self.budget = budget
        self._limit = limit
        self._in_flight = 0
        self._peak = 0
        self._streak = 0
        self._cond = threading.Condition()

    # -- what callers and tests read -----------------------------------------------------------

    @property
    def limit(self) -> int:
        """How many requests may be in flight right now."""
        with self._cond:
            return self._limit

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    @property
    def peak(self) -> int:
        """The most requests ever in flight at once through this limiter."""
        with self._cond:
            return self._peak

    # -- slots -----------------------------------------------------------------------------

    def acquire(self) -> None:
        with self._cond:
            while self._in_flight >= self._limit:
                self._cond.wait()
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
        if self.budget is not None:
            try:
                self.budget.acquire()
            except BaseException:
                self._release_local()
                raise

    def release(self) -> None:
        if self.budget is not None:
            self.budget.release()
        self._release_local()

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one in-flight slot for the duration of one HTTP request."""
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def _release_local(self) -> None:
        with self._cond:
            self._in_flight -= 1
            self._cond.notify()

    def set_ceiling(self, limit: int) -> None:
        """Change the configured maximum; a current limit above it comes down at once."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        with self._cond:
            self.max_limit = limit
            self._limit = min(self._limit, limit)
            self._cond.notify_all()

    # -- feedback from responses -------------------------------------------------------------

    def record_success(self) -> None:
        """A request was admitted by NetSuite; enough of these in a row win back one slot."""
        _tell(self.budget, "record_success")
        with self._cond:
            if self._limit >= self.max_limit:
                self._streak = 0
                return
            self._streak += 1
            if self._streak >= self.recover_after:
                self._streak = 0
                self._limit += 1
                self._cond.notify()

    def record_rate_limited(self) -> None:
        """NetSuite refused a request for concurrency: give up one slot (never below 1)."""
        _tell(self.budget, "record_rate_limited")
        with self._cond:
            self._streak = 0
            self._limit = max(1, self._limit - 1)


_SHARED: dict[tuple[str, str], AdaptiveLimiter] = {}
_SHARED_LOCK = threading.Lock()


def shared_limiter(account: str, base_url: str, limit: int) -> AdaptiveLimiter:
    """The process-wide limiter of one account endpoint, so that several clients (several
    operations or runs in one process) together stay within `limit`. A later call with a
    different limit adopts it as the new ceiling."""
    key = (account, base_url)
    with _SHARED_LOCK:
        limiter = _SHARED.get(key)
        if limiter is None:
            limiter = _SHARED[key] = AdaptiveLimiter(limit)
        else:
            limiter.set_ceiling(limit)
        return limiter


class RetryPolicy:
    """Builds tenacity retry loops with flx's backoff, bounds and give-up message."""

    def __init__(self, *, max_attempts: int = 6, max_retry_seconds: float = 120.0,
                 sleep: Callable[[float], None] = time.sleep,
                 logger: logging.Logger | None = None,
                 on_retry: Callable[[], None] | None = None) -> None:
        self.max_attempts = max(1, max_attempts)
        self.max_retry_seconds = max_retry_seconds
        self.sleep = sleep
        self.logger = logger or logging.getLogger("flx.netsuite")
        self.on_retry = on_retry

    def retrying(self, retry_ok: Callable[[BaseException], bool]) -> tenacity.Retrying:
        """A loop that retries RetryableErrors for which `retry_ok` is true, unless the error
        is marked `final` (its context) by the code that raised it."""
        def should_retry(exc: BaseException) -> bool:
            return (isinstance(exc, RetryableError) and not exc.context.get("final")
                    and retry_ok(exc))

        return tenacity.Retrying(
            retry=tenacity.retry_if_exception(should_retry), stop=self._stop, wait=self._wait,
            sleep=self.sleep, before_sleep=self._before_sleep,
            retry_error_callback=self._give_up)

    def _wait(self, state: tenacity.RetryCallState) -> float:
        # Full jitter spreads the retries of many workers instead of synchronising them.
        jitter = tenacity.wait_random_exponential(multiplier=1, max=30)(state)
        exc = state.outcome.exception() if state.outcome else None
        after = getattr(exc, "retry_after", None) or 0.0
        return max(jitter, float(after))

    def _stop(self, state: tenacity.RetryCallState) -> bool:
        # idle_for counts the waits even when `sleep` is a test double.
        spent = max(state.idle_for, state.seconds_since_start or 0.0)
        return (state.attempt_number >= self.max_attempts
                or spent + state.upcoming_sleep > self.max_retry_seconds)

    def _before_sleep(self, state: tenacity.RetryCallState) -> None:
        if self.on_retry is not None:
            self.on_retry()
        exc = state.outcome.exception() if state.outcome else None
        self.logger.info("NetSuite: %s; retry %d of %d in %.1f s",
                         getattr(exc, "message", exc), state.attempt_number,
                         self.max_attempts - 1, state.upcoming_sleep)

    def _give_up(self, state: tenacity.RetryCallState) -> Any:
        exc = state.outcome.exception() if state.outcome else None
        assert isinstance(exc, RetryableError)
        auth_error = exc.context.get("auth_error")
        if isinstance(auth_error, AuthenticationError):
            raise auth_error  # a "concurrency" 401 that never cleared was a real login failure
        spent = max(state.idle_for, state.seconds_since_start or 0.0)
        context = {k: v for k, v in exc.context.items() if k != "attempts"}
        raise type(exc)(
            f"{exc.message} (gave up after {state.attempt_number} attempts over "
            f"{spent:.0f} s)", hint=exc.hint, retry_after=exc.retry_after,
            attempts=state.attempt_number, **context) from exc
