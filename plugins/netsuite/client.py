"""The NetSuite REST client the operations use: signed, retried, concurrency-limited, and
careful never to create a record twice.

Retry policy, decided here and nowhere else:

* Reads (GET, SuiteQL) and idempotent writes (PUT upsert, DELETE) retry every RetryableError.
* POST and PATCH are not idempotent. They retry only what certainly was not applied: a 429,
  a 503, or a connection that never opened. After an ambiguous failure (timeout or reset once
  the request went out, or a 5xx other than 503) a create/transform that carries an external
  ID first looks the record up by that ID (`GET .../eid:X`): found means it exists (returned
  with `existed=True`), absent means it is safe to POST again. Without an external ID the
  ambiguity is raised as OutcomeUnknownError for the caller to reconcile.
* A 400 on a create with an external ID is also checked the same way, so that a record that
  already exists (made by an earlier run or by hand) is linked instead of failing.
* Backoff is exponential with full jitter, bounded by `max_attempts` and `max_retry_seconds`,
  and never shorter than a Retry-After NetSuite sends.

Every request passes through the AdaptiveLimiter (never more than `concurrency` in flight).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
import tenacity

from flx import (
    READ_ONLY,
    AuthenticationError,
    DryRunRefused,
    FlxError,
    OutcomeUnknownError,
    RateLimitError,
    RemoteRejectedError,
    RemoteUnavailableError,
    RetryableError,
    database_budget,
    dumps,
)
from flx_netsuite.auth import TokenAuth
from flx_netsuite.connection import NetSuiteSettings
from flx_netsuite.errors import (
    error_from_exception,
    error_from_response,
    json_object,
    suiteql_too_many,
)
from flx_netsuite.governance import AdaptiveLimiter, RetryPolicy, shared_limiter
from flx_netsuite.ids import id_from_location, is_valid_external_id, record_id

if TYPE_CHECKING:
    from flx import Runtime

RECORD_PATH = "/services/rest/record/v1"
SUITEQL_PATH = "/services/rest/query/v1/suiteql"
SUITEQL_PAGE_MAX = 1000
SUITEQL_ROW_CAP = 100_000
DEFAULT_HEADERS = {
    # Unknown field names fail instead of being dropped with a header warning (§3.2).
    "X-NetSuite-PropertyNameValidation": "Error",
    "Content-Type": "application/json",
    "Accept": "application/json",
}

_TYPE_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ID_RE = re.compile(r"^(?:[0-9]+|eid:[A-Za-z0-9_-]+)$")
_RUNTIME_ATTR = "_netsuite_client"
_CACHE_LOCK = threading.Lock()


# -- SuiteQL literals ---------------------------------------------------------------------------


CREATE_FORM = "application/vnd.oracle.resource+json; type=create-form"


def suiteql_quote(value: str | int) -> str:
    """A SuiteQL literal: text in single quotes with `'` doubled (`O'Brien` -> `'O''Brien'`),
    whole numbers as digits. The quotes are included: write `WHERE x = {suiteql_quote(v)}`."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"cannot quote {type(value).__name__} for SuiteQL")
    if isinstance(value, int):
        return str(value)
    if "\x00" in value:
        raise ValueError("SuiteQL text cannot contain a NUL character")
    return "'" + value.replace("'", "''") + "'"


def in_list(values: Iterable[str | int]) -> str:
    """`('a', 'b')` for `WHERE x IN ...`; 1 to 1000 values (Oracle's IN-list limit)."""
    quoted = [suiteql_quote(v) for v in values]
    if not quoted:
        raise ValueError("an IN list needs at least one value")
    if len(quoted) > 1000:
        raise ValueError("an IN list takes at most 1000 values; query in chunks")
    return "(" + ", ".join(quoted) + ")"


@dataclass(frozen=True)
class Created:
    """A record flx created (`existed=False`) or found already there (`existed=True`)."""

    id: str
    existed: bool = False
    # When it existed: found after this call's own unanswered POST ("no answer": most likely
    # that POST's record), or after NetSuite refused the POST as a duplicate ("rejection":
    # made before this call, by an earlier attempt or by someone else).
    found_after: str = ""


class NetSuiteClient:
    def __init__(self, settings: NetSuiteSettings, http: httpx.Client, *,
                 limiter: AdaptiveLimiter | None = None, max_attempts: int = 6,
                 max_retry_seconds: float = 120.0, sleep: Callable[[float], None] = time.sleep,
                 logger: logging.Logger | None = None) -> None:
        self.settings = settings
        self.http = http
        self.limiter = limiter or AdaptiveLimiter(settings.concurrency)
        self.logger = logger or logging.getLogger("flx.netsuite")
        self.retry_policy = RetryPolicy(max_attempts=max_attempts,
                                        max_retry_seconds=max_retry_seconds, sleep=sleep,
                                        logger=self.logger,
                                        on_retry=lambda: self._count("retries"))
        self._secrets = tuple(settings.secrets())
        self._lock = threading.Lock()
        self._counts = {"requests": 0, "retries": 0, "rate_limited": 0}
        self._local = threading.local()
        self._credentials_worked = False

    @classmethod
    def from_runtime(cls, runtime: Runtime) -> NetSuiteClient:
        """The client of `runtime.connection`, built once per runtime on the runtime's HTTP
        factory (injected transport, dry-run guard, audit)."""
        with _CACHE_LOCK:
            cached = getattr(runtime, _RUNTIME_ATTR, None)
            if isinstance(cached, NetSuiteClient):
                return cached
            settings = NetSuiteSettings.from_connection(runtime.connection)
            http = runtime.http_client(
                base_url=settings.base_url, auth=TokenAuth.from_settings(settings),
                headers=dict(DEFAULT_HEADERS), timeout=settings.timeout,
                max_connections=settings.concurrency)
            limiter = shared_limiter(settings.account_id, settings.base_url,
                                     settings.concurrency)
            # Several workers on one PostgreSQL store share the account's limit through it.
            budget = database_budget(runtime.store, f"netsuite:{settings.account_id}",
                                     settings.concurrency,
                                     stated_limit=settings.account_concurrency,
                                     request_timeout=settings.timeout)
            # Set either way: the limiter is shared per account in this process, and a store
            # without budgets (SQLite) must not keep a PostgreSQL store's from an earlier run.
            limiter.budget = budget
            client = cls(settings, http, logger=runtime.logger.getChild("netsuite"),
                         limiter=limiter)
            # Kept on the runtime itself, so the client lives and dies with it (a global
            # cache would keep every runtime alive through the audit hook of its client).
            setattr(runtime, _RUNTIME_ATTR, client)
            return client

    def close(self) -> None:
        self.http.close()

    # -- counters --------------------------------------------------------------------------

    @property
    def requests(self) -> int:
        """HTTP requests actually sent, retries and lookups included."""
        return self._counts["requests"]

    @property
    def retries(self) -> int:
        return self._counts["retries"]

    @property
    def rate_limited(self) -> int:
        return self._counts["rate_limited"]

    @property
    def thread_requests(self) -> int:
        """Requests sent by the calling thread (a worker handles one record at a time, so the
        difference before/after is that record's request count)."""
        return getattr(self._local, "requests", 0)

    def _count(self, name: str) -> None:
        with self._lock:
            self._counts[name] += 1
        if name == "requests":
            self._local.requests = self.thread_requests + 1

    # -- records ---------------------------------------------------------------------------

    def create(self, record_type: str, body: Mapping[str, Any], *,
               external_id: str | None = None) -> Created:
        """POST a new record; see the module docstring for how duplicates are avoided."""
        path = f"{RECORD_PATH}/{_rtype(record_type)}"
        return self._create(path, record_type, body, external_id, None)

    def transform(self, source_type: str, source_id: str | int, target_type: str,
                  body: Mapping[str, Any], *, external_id: str | None = None,
                  replace: str | None = None) -> Created:
        """Create `target_type` from an existing record (SO -> itemFulfillment, PO ->
        vendorBill); `replace="item"` replaces the item sublist with the lines sent."""
        path = (f"{RECORD_PATH}/{_rtype(source_type)}/{_rid(source_id)}"
                f"/!transform/{_rtype(target_type)}")
        return self._create(path, target_type, body, external_id,
                            {"replace": replace} if replace else None)

    def prefilled(self, source_type: str, source_id: str | int, target_type: str,
                  body: Mapping[str, Any]) -> dict[str, Any]:
        """The record a transform would create, prefilled by NetSuite and not saved
        (`Accept: ...; type=create-form`, netsuite-rest.md §10.5). Marked read-only, so the
        dry-run guard lets it through and nothing else."""
        path = (f"{RECORD_PATH}/{_rtype(source_type)}/{_rid(source_id)}"
                f"/!transform/{_rtype(target_type)}")
        response = self._request("POST", path, json=dict(body), headers={"Accept": CREATE_FORM},
                                 read_only=True)
        return json_object(response)

    def metadata(self, record_type: str) -> dict[str, Any]:
        """The record type's fields as this account has them (JSON Schema)."""
        response = self._request("GET", f"{RECORD_PATH}/metadata-catalog/{_rtype(record_type)}",
                                 headers={"Accept": "application/schema+json"})
        return json_object(response)

    def get(self, record_type: str, id: str | int, *, expand: bool = False,
            fields: Sequence[str] | None = None) -> dict[str, Any]:
        params: dict[str, str] = {}
        if expand:
            params["expandSubResources"] = "true"
        if fields:
            params["fields"] = ",".join(fields)
        response = self._request("GET", f"{RECORD_PATH}/{_rtype(record_type)}/{_rid(id)}",
                                 params=params or None)
        return json_object(response)

    def get_by_external_id(self, record_type: str, external_id: str) -> dict[str, Any] | None:
        """The record whose externalId is `external_id`, or None when there is none."""
        try:
            return self.get(record_type, f"eid:{_eid(external_id)}")
        except RemoteRejectedError as exc:
            if exc.status == 404:
                return None
            raise

    def update(self, record_type: str, id: str | int, body: Mapping[str, Any], *,
               replace: str | None = None) -> None:
        """PATCH the fields sent. Lines without `line` are appended, so a PATCH is never
        resent after an ambiguous failure."""
        self._request("PATCH", f"{RECORD_PATH}/{_rtype(record_type)}/{_rid(id)}",
                      params={"replace": replace} if replace else None, json=dict(body),
                      idempotent=False)

    def upsert(self, record_type: str, external_id: str, body: Mapping[str, Any]) -> str | None:
        """PUT by external ID: creates or updates. Returns the internal id, or None when
        NetSuite accepted the request for later (202) and no id is known yet."""
        eid = _eid(external_id)
        response = self._request("PUT", f"{RECORD_PATH}/{_rtype(record_type)}/eid:{eid}",
                                 json=dict(body))
        if response.status_code == 202:
            return None
        found = id_from_location(response.headers.get("location", ""), record_type)
        if found:
            return found
        record = self.get_by_external_id(record_type, eid)
        return record_id(record) if record else None

    def sublist(self, record_type: str, id: str | int, name: str) -> list[dict[str, Any]]:
        """The lines of a sublist (`item`, ...), expanded, without their `links`."""
        response = self._request(
            "GET", f"{RECORD_PATH}/{_rtype(record_type)}/{_rid(id)}/{_rtype(name)}",
            params={"expandSubResources": "true"})
        items = json_object(response).get("items") or []
        return [_without_links(item) for item in items if isinstance(item, dict)]

    def delete(self, record_type: str, id: str | int) -> None:
        path = f"{RECORD_PATH}/{_rtype(record_type)}/{_rid(id)}"
        unsure = False

        def attempt() -> None:
            nonlocal unsure
            try:
                self._send("DELETE", path, idempotent=True)
            except RemoteRejectedError as exc:
                if exc.status == 404 and unsure:
                    return  # the earlier attempt did delete it
                raise
            except OutcomeUnknownError:
                unsure = True
                raise

        self._retrying(lambda exc: True)(attempt)

    # -- SuiteQL ---------------------------------------------------------------------------

    def suiteql(self, query: str, *, page_size: int = SUITEQL_PAGE_MAX,
                max_rows: int = SUITEQL_ROW_CAP) -> list[dict[str, Any]]:
        """The rows of a SuiteQL query (keys lower case, nulls omitted, values strings).

        Pages with a fixed `limit` and `offset += limit` while NetSuite says `hasMore`; use a
        deterministic ORDER BY for queries that may span pages. `max_rows` below 100,000
        returns at most that many rows (a probe, or "the first N"). A query that needs more
        than NetSuite's 100,000-row cap raises a RemoteRejectedError telling the user to
        narrow it, instead of silently returning part of the answer."""
        cap = max(1, min(max_rows, SUITEQL_ROW_CAP))
        want_all = max_rows >= SUITEQL_ROW_CAP
        limit = max(1, min(page_size, SUITEQL_PAGE_MAX, cap))
        rows: list[dict[str, Any]] = []
        offset = 0
        while True:
            response = self._request(
                "POST", SUITEQL_PATH, params={"limit": str(limit), "offset": str(offset)},
                json={"q": query}, headers={"Prefer": "transient"}, read_only=True)
            page = json_object(response)
            total = page.get("totalResults")
            if want_all and isinstance(total, int) and total > cap:
                raise suiteql_too_many(query, cap, total)
            items = [i for i in page.get("items") or [] if isinstance(i, dict)]
            rows.extend(_without_links(item) for item in items)
            if len(rows) >= cap or not page.get("hasMore"):
                if want_all and len(rows) >= cap and page.get("hasMore"):
                    raise suiteql_too_many(query, cap, total if isinstance(total, int) else None)
                return rows[:cap]
            if not items:
                raise RemoteUnavailableError(
                    "NetSuite said more SuiteQL rows follow but sent none",
                    hint="retry later; if it persists, add ORDER BY id to the query")
            offset += limit

    # Also reachable from the client, for callers that only hold a client.
    suiteql_quote = staticmethod(suiteql_quote)
    in_list = staticmethod(in_list)

    # -- the machinery ---------------------------------------------------------------------

    def _create(self, path: str, target_type: str, body: Mapping[str, Any],
                external_id: str | None, params: dict[str, str] | None) -> Created:
        payload = dict(body)
        if external_id is not None:
            payload["externalId"] = _eid(external_id)
        ambiguous = False

        def attempt() -> Created:
            nonlocal ambiguous
            if ambiguous:
                assert external_id is not None
                found = self._reconcile(target_type, external_id, after="no answer")
                if found:
                    return Created(found, existed=True, found_after="no answer")
                self.logger.info("%s %s not in NetSuite after an unanswered create; sending "
                                 "it again", target_type, external_id)
            ambiguous = False
            try:
                response = self._send("POST", path, params=params, json=payload,
                                      idempotent=False)
            except OutcomeUnknownError:
                ambiguous = external_id is not None
                raise
            except RemoteRejectedError as rejected:
                if external_id is not None and rejected.status == 400:
                    found = self._reconcile(target_type, external_id, after="rejection",
                                            original=rejected)
                    if found:
                        self.logger.info("%s %s already exists in NetSuite as %s; linked",
                                         target_type, external_id, found)
                        return Created(found, existed=True, found_after="rejection")
                raise
            new_id = id_from_location(response.headers.get("location", ""), target_type)
            if new_id is None and external_id is not None:
                new_id = self._reconcile(target_type, external_id, after="no Location")
            if new_id is None:
                raise _final(OutcomeUnknownError(
                    f"NetSuite accepted POST {path} but did not say the new record's id",
                    hint="look the record up in NetSuite before sending this record again"))
            return Created(new_id, existed=False)

        # With an external id every failure can be reconciled; without one, only failures
        # that certainly were not applied may be retried.
        retry_ok = (lambda exc: True) if external_id is not None else _not_ambiguous
        return self._retrying(retry_ok)(attempt)

    def _reconcile(self, record_type: str, external_id: str, *, after: str,
                   original: FlxError | None = None) -> str | None:
        """Look a record up by external id; a failed look-up ends the create attempts."""
        try:
            record = self.get_by_external_id(record_type, external_id)
        except FlxError as exc:
            base = original.message + "; and " if original else ""
            raise _final(OutcomeUnknownError(
                f"{base}could not check whether {record_type} {external_id} exists in NetSuite "
                f"({after}): {exc.message}",
                hint="run again later; flx checks by external ID before creating")) from exc
        return record_id(record) if record else None

    def _request(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
                 json: Any = None, headers: Mapping[str, str] | None = None,
                 read_only: bool = False, idempotent: bool = True) -> httpx.Response:
        retry_ok = (lambda exc: True) if idempotent or read_only else _not_ambiguous
        return self._retrying(retry_ok)(
            self._send, method, path, params=params, json=json, headers=headers,
            read_only=read_only, idempotent=idempotent)

    def _send(self, method: str, path: str, *, params: Mapping[str, str] | None = None,
              json: Any = None, headers: Mapping[str, str] | None = None,
              read_only: bool = False, idempotent: bool = True) -> httpx.Response:
        """One HTTP request through the limiter, translated into flx errors."""
        # Payloads carry Decimal amounts: serialise them exactly, never through float.
        content = dumps(json).encode() if json is not None else None
        request = self.http.build_request(
            method, path, params=dict(params) if params else None, content=content,
            headers=headers, extensions={READ_ONLY: True} if read_only else None)
        with self.limiter.slot():
            try:
                response = self.http.send(request)
            except DryRunRefused:
                raise
            except httpx.TransportError as exc:
                self._count("requests")
                raise error_from_exception(exc, request=request, secrets=self._secrets) from exc
            self._count("requests")
        self.logger.debug("%s %s -> %s", method, request.url.path, response.status_code)
        if response.status_code < 400:
            self.limiter.record_success()
            self._credentials_worked = True
            return response
        error = error_from_response(response, secrets=self._secrets)
        if response.status_code in (400, 403, 404):
            self._credentials_worked = True  # NetSuite only judges a request after login
        elif isinstance(error, AuthenticationError) and self._credentials_worked:
            # These credentials already worked in this run: NetSuite sometimes reports going
            # over the concurrency limit as a 401 (netsuite-rest.md §7.2), so back off first.
            error = RateLimitError(
                f"{error.message} although the same credentials worked earlier; treating it "
                "as the concurrency limit", hint=error.hint, auth_error=error)
        if isinstance(error, RateLimitError):
            self.limiter.record_rate_limited()
            self._count("rate_limited")
        else:
            self.limiter.record_success()
        if (isinstance(error, RemoteUnavailableError) and not idempotent and not read_only
                and response.status_code != 503):
            raise OutcomeUnknownError(
                f"{error.message}; the change may or may not have been saved",
                hint="check the record in NetSuite before writing it again (flx does this by "
                     "external ID for creates)",
                status=response.status_code) from error
        raise error

    def _retrying(self, retry_ok: Callable[[BaseException], bool]) -> tenacity.Retrying:
        return self.retry_policy.retrying(retry_ok)


# -- helpers ------------------------------------------------------------------------------------


def _not_ambiguous(exc: BaseException) -> bool:
    return not isinstance(exc, OutcomeUnknownError)


def _final(exc: RetryableError) -> RetryableError:
    exc.context["final"] = True
    return exc


def _rtype(record_type: str) -> str:
    if not isinstance(record_type, str) or not _TYPE_RE.match(record_type):
        raise ValueError(f"{record_type!r} is not a NetSuite record type name")
    return record_type


def _rid(id: str | int) -> str:
    text = str(id)
    if isinstance(id, bool) or not _ID_RE.match(text):
        raise ValueError(f"{text!r} is not a NetSuite internal id (digits) or eid:<external id>")
    return text


def _eid(external_id: str) -> str:
    if not isinstance(external_id, str) or not is_valid_external_id(external_id):
        raise ValueError(
            f"{external_id!r} cannot be used as a NetSuite external ID (only letters, digits, "
            "_ and -); build it with flx_netsuite.ids.external_id()")
    return external_id


def _without_links(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "links"}
