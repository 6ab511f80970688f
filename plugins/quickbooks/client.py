"""The QuickBooks Online client the operations use: authorized, paced, retried, and careful
never to create a document twice.

Retry policy, decided here and nowhere else:

* Every write carries `?requestid=` (the caller's, derived from the record and the payload) and
  its retries carry the same one, so QBO can answer a repeat with the first response.
* A requestid is not trusted alone (quickbooks-api.md §2.8): after an ambiguous failure (the
  request went out and no answer came, or a 500), a create given `find_existing` looks the
  document up first (by DocNumber) and returns it with `existed=True` instead of sending again.
* Retried: 429 (after Retry-After or 60 s), 5xx, a Fault of type SystemFault (also inside an
  HTTP 200), network errors; a 401 refreshes the access token once and retries.
* Never retried: validation faults, 5010 (the caller re-reads), 6140/6240 (the caller decides).
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from flx import (
    DryRunRefused,
    FlxError,
    NetworkError,
    OutcomeUnknownError,
    RetryableError,
    dumps,
)

from .errors import error_from_response, faults
from .limiter import RateLimiter
from .oauth import TokenManager
from .settings import QboSettings

PAGE = 1000  # Intuit's MAXRESULTS ceiling
_FROM = re.compile(r"\bFROM\s+([A-Za-z]+)", re.IGNORECASE)


def quote(value: str) -> str:
    """A query literal: single quotes, with `\\` and `'` escaped by a backslash."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def where_equals(prop: str, value: str) -> str:
    """`prop = 'value'`; a typographic apostrophe breaks QBO's lexer (§2.3), so such a value
    is asked with LIKE and a `%` in its place (the caller compares exactly afterwards)."""
    if "\u2019" in value:
        return f"{prop} LIKE " + quote(value.replace("%", "").replace("\u2019", "%"))
    return f"{prop} = {quote(value)}"


@dataclass(frozen=True)
class Written:
    obj: dict[str, Any]
    existed: bool = False  # found by find_existing after an unanswered attempt


class QboClient:
    def __init__(self, settings: QboSettings, http: httpx.Client, tokens: TokenManager, *,
                 limiter: RateLimiter | None = None, max_attempts: int = 5,
                 max_retry_seconds: float = 180.0, sleep: Callable[[float], None] = time.sleep,
                 logger: logging.Logger | None = None) -> None:
        self.settings = settings
        self.http = http
        self.tokens = tokens
        self.limiter = limiter or RateLimiter(in_flight=settings.concurrency,
                                              per_second=settings.requests_per_second,
                                              per_minute=settings.requests_per_minute)
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.sleep = sleep
        self.logger = logger or logging.getLogger("flx.quickbooks")
        self._lock = threading.Lock()
        self.counts = {"requests": 0, "retries": 0, "throttled": 0}
        self._local = threading.local()  # requests made by this thread (a record's cost)

    # --- reads ------------------------------------------------------------------------------

    def read(self, entity: str, ident: str) -> dict[str, Any]:
        data = self._send("GET", f"{entity.lower()}/{ident}", what=f"reading {entity} {ident}")
        return dict(data[entity])

    def query(self, statement: str) -> list[dict[str, Any]]:
        """Every row of `SELECT * FROM Entity [WHERE ...]`, paged 1000 at a time."""
        found = _FROM.search(statement)
        if found is None:
            raise ValueError(f"not a query: {statement!r}")
        entity = found.group(1)
        rows: list[dict[str, Any]] = []
        while True:
            text = f"{statement} STARTPOSITION {len(rows) + 1} MAXRESULTS {PAGE}"
            data = self._send("GET", "query", params={"query": text},
                              what=f"querying {entity}")
            page = (data.get("QueryResponse") or {}).get(entity) or []
            rows.extend(page)
            if len(page) < PAGE:
                return rows

    def count(self, entity: str) -> int:
        data = self._send("GET", "query", params={"query": f"SELECT COUNT(*) FROM {entity}"},
                          what=f"counting {entity}")
        return int((data.get("QueryResponse") or {}).get("totalCount", 0))

    def company_info(self) -> dict[str, Any]:
        realm = self.settings.realm_id
        return dict(self._send("GET", f"companyinfo/{realm}", what="reading the company")
                    ["CompanyInfo"])

    def preferences(self) -> dict[str, Any]:
        return dict(self._send("GET", "preferences", what="reading the company's preferences")
                    ["Preferences"])

    # --- writes -----------------------------------------------------------------------------

    def create(self, entity: str, body: dict[str, Any], *, requestid: str, what: str,
               find_existing: Callable[[], dict[str, Any] | None] | None = None) -> Written:
        return self._write(entity, body, requestid=requestid, what=what,
                           find_existing=find_existing)

    def update(self, entity: str, body: dict[str, Any], *, requestid: str,
               what: str) -> dict[str, Any]:
        return self._write(entity, body, requestid=requestid, what=what,
                           params={"operation": "update"}).obj

    def delete(self, entity: str, ident: str, sync_token: str, *, requestid: str,
               what: str) -> None:
        self._send("POST", entity.lower(), params={"operation": "delete",
                                                   "requestid": requestid},
                   body={"Id": ident, "SyncToken": sync_token}, what=what, write=True)

    def _write(self, entity: str, body: dict[str, Any], *, requestid: str, what: str,
               params: dict[str, str] | None = None,
               find_existing: Callable[[], dict[str, Any] | None] | None = None) -> Written:
        if not 0 < len(requestid) <= 50:
            raise ValueError("a requestid has 1 to 50 characters")
        data = self._send("POST", entity.lower(), params={**(params or {}),
                                                          "requestid": requestid},
                          body=body, what=what, write=True, find_existing=find_existing)
        if "_existing" in data:
            return Written(data["_existing"], existed=True)
        return Written(dict(data[entity]))

    # --- the one place requests go out ------------------------------------------------------

    def _send(self, method: str, path: str, *, what: str, params: dict[str, str] | None = None,
              body: dict[str, Any] | None = None, write: bool = False,
              find_existing: Callable[[], dict[str, Any] | None] | None = None
              ) -> dict[str, Any]:
        url = f"{self.settings.company_path}/{path}"
        query = {"minorversion": str(self.settings.minor_version), **(params or {})}
        content = dumps(body).encode() if body is not None else None  # Decimals stay exact
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        deadline = time.monotonic() + self.max_retry_seconds
        refreshed = False
        unanswered = False  # a write went out and may have been applied
        last: FlxError | None = None
        attempt = 0
        while attempt < self.max_attempts:
            attempt += 1
            if unanswered and find_existing is not None:
                existing = find_existing()
                if existing is not None:
                    return {"_existing": existing}
            token = self.tokens.access_token()
            try:
                with self.limiter.slot():
                    self._count("requests")
                    response = self.http.request(
                        method, url, params=query, content=content,
                        headers={**headers, "Authorization": f"Bearer {token}"})
            except DryRunRefused:
                raise
            except httpx.TransportError as exc:
                sent = not isinstance(exc, httpx.ConnectError)
                unanswered = unanswered or (write and sent)
                last = (OutcomeUnknownError if write and sent else NetworkError)(
                    f"{what}: no answer from QuickBooks ({type(exc).__name__})",
                    hint="retried automatically; a re-run looks the document up first")
            else:
                try:
                    data = response.json()
                except ValueError:
                    data = None
                if response.status_code == 200 and isinstance(data, dict) and not faults(data):
                    return data
                if response.status_code == 401 and not refreshed:
                    refreshed = True
                    self.tokens.force_refresh(token)
                    attempt -= 1  # the refresh is not a failed attempt
                    continue
                last = error_from_response(response, data, connection=self.settings.name,
                                           what=what)
                if not isinstance(last, RetryableError):
                    raise last
                if response.status_code == 429:
                    self._count("throttled")
                if write and response.status_code == 500:
                    unanswered = True
            wait = self._backoff(attempt, last)
            if attempt >= self.max_attempts or time.monotonic() + wait > deadline:
                break
            self._count("retries")
            self.logger.info("%s: retrying in %.1f s (%s)", what, wait, last.message)
            self.sleep(wait)
        assert last is not None
        if unanswered and not isinstance(last, OutcomeUnknownError):
            raise OutcomeUnknownError(f"{what}: it may or may not have been applied "
                                      f"({last.message})",
                                      hint="run again: flx looks the document up before "
                                           "sending it again")
        raise last

    @staticmethod
    def _backoff(attempt: int, error: FlxError) -> float:
        retry_after = getattr(error, "retry_after", None)
        base = min(30.0, 0.5 * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        return max(base, float(retry_after or 0))

    @property
    def thread_requests(self) -> int:
        return int(getattr(self._local, "requests", 0))

    def _count(self, key: str) -> None:
        with self._lock:
            self.counts[key] += 1
        if key == "requests":
            self._local.requests = self.thread_requests + 1
