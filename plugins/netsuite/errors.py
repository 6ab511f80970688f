"""Turn httpx exceptions and NetSuite error responses into flx errors, once, at the boundary.

    NetSuite says / httpx raises                        flx error            caller does
    429, or CONCURRENCY_LIMIT_EXCEEDED in any 4xx       RateLimitError       wait, retry
    5xx                                                 RemoteUnavailable    retry
    ConnectError / ConnectTimeout / PoolTimeout         NetworkError         retry (not sent)
    ReadTimeout / ReadError / RemoteProtocolError /
      WriteError / WriteTimeout, on a write             OutcomeUnknownError  reconcile first
    ... the same on a read                              NetworkError         retry
    401                                                 AuthenticationError  stop the run
    403                                                 PermissionDenied     stop the run
    400 / 404 / other 4xx                               RemoteRejectedError  skip the record

The body NetSuite sends with an error (netsuite-rest.md §7.1) is
`{"title", "status", "o:errorDetails": [{"detail", "o:errorCode", "o:errorPath"}]}`; some
write-ups show `o:errorCode` at the top level too, so that is the fallback. `o:errorPath`
(a path into the request body) is kept on RemoteRejectedError.path so the operations can point
at the mapping setting that produced the field. Every message is scrubbed of the
connection's secrets before it leaves this module.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from flx import (
    READ_ONLY,
    WRITE_METHODS,
    AuthenticationError,
    FlxError,
    NetworkError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RemoteRejectedError,
    RemoteUnavailableError,
    RetryableError,
)

RATE_LIMIT_CODES = frozenset({
    "CONCURRENCY_LIMIT_EXCEEDED", "SSS_REQUEST_LIMIT_EXCEEDED", "WS_REQUEST_BLOCKED",
})

LOGIN_HINT = (
    "open the Login Audit Trail in NetSuite (Setup > Users/Roles > User Management > View Login "
    "Audit Trail): its Detail column gives the real reason. Then check that account_id is "
    "exactly the account (a sandbox is 1234567_SB1, not the production number); that "
    "client_id, client_secret, token_id and token_secret are the four values of the same "
    "integration record and of an access token made for that account (sandbox and production "
    "tokens differ); that the token's role has the permissions REST Web Services, Log in using "
    "Access Tokens and Access Token Management, and that Token-Based Authentication and REST "
    "Web Services are enabled; and that this machine's clock is synchronised (NTP). When many "
    "requests run at once, NetSuite can also report going over the concurrency limit as a "
    "401: lower `concurrency` if it only happens under load"
)

# Which role permission a 403 most likely lacks, by record type in the URL (lower case).
_PERMISSIONS = {
    "salesorder": "Transactions > Sales Order",
    "purchaseorder": "Transactions > Purchase Order",
    "itemfulfillment": "Transactions > Item Fulfillment",
    "vendorbill": "Transactions > Bills",
    "customer": "Lists > Customers",
    "vendor": "Lists > Vendors",
    "location": "Lists > Locations",
    "subsidiary": "Lists > Subsidiaries",
    "inventoryadjustment": "Transactions > Adjust Inventory",
}
_ITEM_RE = re.compile(r"item$", re.IGNORECASE)  # inventoryItem, serviceSaleItem, ...
_PATH_TYPE_RE = re.compile(r"/record/v1/([^/?#]+)(?:/[^/?#]+/!transform/([^/?#]+))?",
                           re.IGNORECASE)


@dataclass(frozen=True)
class ErrorDetail:
    code: str | None
    detail: str | None
    path: str | None


def parse_error_details(response: httpx.Response) -> list[ErrorDetail]:
    """Every entry of `o:errorDetails`, or one built from the top level; [] if no JSON."""
    try:
        body = json.loads(response.content or b"null")
    except (ValueError, UnicodeDecodeError):
        return []
    if not isinstance(body, dict):
        return []
    details = []
    for entry in body.get("o:errorDetails") or []:
        if isinstance(entry, dict):
            details.append(ErrorDetail(_text(entry.get("o:errorCode")), _text(entry.get("detail")),
                                       _text(entry.get("o:errorPath"))))
    if not details and (body.get("o:errorCode") or body.get("title") or body.get("detail")):
        details.append(ErrorDetail(_text(body.get("o:errorCode")),
                                   _text(body.get("detail") or body.get("title")),
                                   _text(body.get("o:errorPath"))))
    return details


def retry_after_seconds(response: httpx.Response) -> float | None:
    """Retry-After as seconds (delta or HTTP date); None when absent or unreadable."""
    value = response.headers.get("retry-after", "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def is_write(request: httpx.Request) -> bool:
    return request.method in WRITE_METHODS and not request.extensions.get(READ_ONLY)


def error_from_response(response: httpx.Response, *, secrets: Sequence[str] = ()) -> FlxError:
    """The flx error for a NetSuite answer with status >= 400."""
    status = response.status_code
    request = response.request
    what = f"{request.method} {request.url.path}"
    details = parse_error_details(response)
    first = details[0] if details else ErrorDetail(None, None, None)
    codes = {d.code for d in details if d.code}
    said = _scrub(_summary(details), secrets)
    ctx = {"status": status, "details": [
        {"code": d.code, "detail": _scrub(d.detail, secrets) if d.detail else None,
         "path": d.path} for d in details]}

    if status == 429 or codes & RATE_LIMIT_CODES:
        return RateLimitError(
            f"NetSuite refused {what}: the account's concurrency limit is reached "
            f"({said or status})",
            hint="flx waits and retries by itself; if this keeps happening, lower `concurrency` "
                 "or spread other integrations' work over time",
            retry_after=retry_after_seconds(response), **ctx)
    if status >= 500:
        return RemoteUnavailableError(
            f"NetSuite failed on {what} with {status}" + (f": {said}" if said else ""),
            hint="this is on NetSuite's side; flx retries later. Check status.netsuite.com if "
                 "it persists", retry_after=retry_after_seconds(response), **ctx)
    if status == 401:
        challenge = response.headers.get("www-authenticate", "")
        reason = re.search(r'error="([^"]*)"', challenge)
        extra = f" ({reason.group(1)})" if reason else ""
        # The emulator names the exact cause and its fix (NetSuite keeps it in its audit trail).
        told = response.headers.get("x-flx-emulator-login-failure", "").partition("; fix: ")
        return AuthenticationError(
            f"NetSuite refused the credentials on {what}{extra}" + (f": {said}" if said else "")
            + (f" ({told[0]})" if told[2] else ""),
            hint=told[2] or LOGIN_HINT, **ctx)
    if status == 403 or "INSUFFICIENT_PERMISSION" in codes:
        permission = permission_for(request.url.path)
        return PermissionDeniedError(
            f"the NetSuite role may not do {what}" + (f": {said}" if said else ""),
            hint=f"add the permission {permission} to the integration role (Setup > Users/Roles "
                 f"> Manage Roles), then run again", **ctx)
    message = (f"NetSuite rejected {what}" + (f": {said}" if said else f" with {status}"))
    return RemoteRejectedError(
        message, hint=_rejection_hint(status, first),
        code=first.code, detail=_scrub(first.detail or "", secrets) or None, status=status,
        path=first.path, **{k: v for k, v in ctx.items() if k != "status"})


def error_from_exception(exc: httpx.TransportError, *, request: httpx.Request | None = None,
                         secrets: Sequence[str] = ()) -> RetryableError:
    """The flx error for a request that got no answer."""
    req = request if request is not None else _request_of(exc)
    what = f"{req.method} {req.url.path}" if req is not None else "the request"
    host = req.url.host if req is not None else "NetSuite"
    reason = _scrub(str(exc) or type(exc).__name__, secrets)
    if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout
                  | httpx.UnsupportedProtocol | httpx.ProxyError | httpx.LocalProtocolError):
        return NetworkError(
            f"could not reach NetSuite at {host} for {what} ({reason}); nothing was sent",
            hint="check the network, proxy and DNS, and base_url/account_id in flx.toml",
            cause=type(exc).__name__)
    if req is not None and is_write(req):
        return OutcomeUnknownError(
            f"no answer from NetSuite to {what} ({reason}); it may or may not have been saved",
            hint="flx looks the record up by its external ID before writing it again",
            cause=type(exc).__name__)
    return NetworkError(f"no answer from NetSuite to {what} ({reason})",
                        hint="usually transient; flx retries. Raise `timeout` if NetSuite is "
                             "slow for this account", cause=type(exc).__name__)


def suiteql_too_many(query: str, cap: int, total: int | None) -> RemoteRejectedError:
    """The error for a SuiteQL query that needs more rows than NetSuite returns."""
    found = f" ({total} match)" if total is not None else ""
    return RemoteRejectedError(
        f"the SuiteQL query returns more than {cap} rows{found}", code="ROW_LIMIT",
        hint="narrow the query with a WHERE filter (for example by date or id range) and run "
             "it in parts; NetSuite returns at most 100,000 rows per query", query=query)


def json_object(response: httpx.Response) -> dict[str, Any]:
    """The JSON object of a successful answer; a clear error when it is something else."""
    try:
        data = response.json()
    except ValueError:
        kind = response.headers.get("content-type", "no content type")
        raise NetworkError(
            f"NetSuite answered {response.request.method} {response.request.url.path} with "
            f"something that is not JSON ({kind})",
            hint="check base_url/account_id: the address may not be a NetSuite REST endpoint",
            final=True) from None
    if not isinstance(data, dict):
        raise NetworkError(f"NetSuite answered {response.request.url.path} with a JSON "
                           f"{type(data).__name__}, not an object", final=True)
    return data


def permission_for(path: str) -> str:
    """The role permission a request on `path` most likely needs (for a 403 hint)."""
    if "/query/v1/suiteql" in path:
        return ("on each record type the query reads (for example Lists > Items, Lists > "
                "Customers, Transactions > Find Transaction) plus Setup > REST Web Services")
    match = _PATH_TYPE_RE.search(path)
    if not match:
        return "Setup > REST Web Services"
    source, target = match.group(1).lower(), (match.group(2) or "").lower()
    needed = [_permission_of(t) for t in (target, source) if t]
    return " and ".join(dict.fromkeys(needed))


def _permission_of(record_type: str) -> str:
    if record_type in _PERMISSIONS:
        return _PERMISSIONS[record_type]
    if _ITEM_RE.search(record_type):
        return "Lists > Items"
    return f"for the {record_type} record (Lists or Transactions tab)"


def _rejection_hint(status: int, first: ErrorDetail) -> str:
    where = f" (field {first.path})" if first.path else ""
    if status == 404:
        return ("the record does not exist in NetSuite, or the integration role cannot see it; "
                "check the id and the role's subsidiary restrictions")
    if first.code == "INVALID_KEY_OR_REF":
        return (f"a referenced NetSuite id does not exist or is not visible to the role{where}; "
                "correct the value in the mapping profile")
    if first.code in ("NONEXISTENT_FIELD", "INVALID_FIELD") or (
            first.detail and "unknown field" in first.detail.lower()):
        return (f"NetSuite does not know this field{where}; check its spelling (custom fields "
                "use their script id, e.g. custbody_...) or remove it from the template")
    if first.code == "USER_ERROR":
        return f"NetSuite's own validation refused the record{where}; fix what the detail says"
    return f"fix what NetSuite's message says{where}, then retry the record"


def _summary(details: list[ErrorDetail]) -> str:
    parts = []
    for d in details:
        text = d.detail or ""
        if d.code:
            text = f"{text} [{d.code}]" if text else d.code
        if d.path:
            text += f" at {d.path}"
        if text:
            parts.append(text)
    return "; ".join(parts)


def _scrub(text: str, secrets: Sequence[str]) -> str:
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, "********")
    return text


def _text(value: object) -> str | None:
    return None if value is None else str(value)


def _request_of(exc: httpx.TransportError) -> httpx.Request | None:
    try:
        return exc.request
    except RuntimeError:  # httpx raises when the exception was built without a request
        return None
