"""QuickBooks answers read as flx errors, each with the fix.

Two envelopes carry faults (quickbooks-api.md §2.2): the service's `Fault.Error[]` (also inside
an HTTP 200) and the gateway's lower-case `fault.error[]` whose code sits in a
`message=...; errorCode=003200; statusCode=401` string. `intuit_tid` goes into every message:
Intuit support asks for it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import httpx

from flx import (
    AbortError,
    AuthenticationError,
    FlxError,
    PermissionDeniedError,
    RateLimitError,
    RemoteRejectedError,
    RemoteUnavailableError,
)

_GATEWAY_CODE = re.compile(r"errorCode=0*([0-9]+)")
_DUPLICATE = re.compile(r"TxnType=([A-Za-z ]+?) with TxnId=([0-9]+)")


@dataclass(frozen=True)
class QboFaultInfo:
    code: str
    message: str
    detail: str
    element: str
    kind: str


class StaleObjectError(RemoteRejectedError):
    """5010: the object changed since its SyncToken was read; re-read and apply again."""


class DuplicateNumberError(RemoteRejectedError):
    """6140: the DocNumber is taken; `txn_type`/`txn_id` name the document that has it."""

    def __init__(self, message: str, *, txn_type: str = "", txn_id: str = "",
                 **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.txn_type, self.txn_id = txn_type, txn_id


class DuplicateNameError(RemoteRejectedError):
    """6240: a customer, vendor or employee already has this DisplayName."""


def faults(data: Any) -> list[QboFaultInfo]:
    """Every fault in a response body, from either envelope; [] when there is none."""
    if not isinstance(data, dict):
        return []
    fault = data.get("Fault") or data.get("fault")
    if not isinstance(fault, dict):
        return []
    kind = str(fault.get("type") or "")
    out = []
    for error in fault.get("Error") or fault.get("error") or []:
        if not isinstance(error, dict):
            continue
        message = str(error.get("Message") or error.get("message") or "")
        code = str(error.get("code") or "")
        gateway = _GATEWAY_CODE.search(message)
        if gateway and not code:
            code = gateway.group(1)
        out.append(QboFaultInfo(code.lstrip("0") or code, message,
                                str(error.get("Detail") or error.get("detail") or ""),
                                str(error.get("element") or ""), kind))
    return out


def error_from_response(response: httpx.Response, data: Any, *, connection: str,
                        what: str) -> FlxError:
    """The flx error for a failed answer (`data` is the parsed body, or None)."""
    tid = response.headers.get("intuit_tid", "")
    found = faults(data)
    first = found[0] if found else QboFaultInfo("", "", "", "", "")
    words = "; ".join(f"{f.code} {f.message}: {f.detail}".strip() for f in found)
    said = f"QuickBooks said: {words or response.reason_phrase} (HTTP {response.status_code}" + (
        f", intuit_tid {tid})" if tid else ")")
    status, code = response.status_code, first.code
    authorize = f"run `flx connections authorize {connection}`"
    if status == 401 or code in ("100", "3200"):
        return AuthenticationError(f"{what}: QuickBooks refused the access token. {said}",
                                   hint=authorize)
    if status == 403 or code in ("3100", "120"):
        return PermissionDeniedError(
            f"{what}: QuickBooks refused access to company. {said}",
            hint="check that `environment` matches the keys (Development keys reach only "
                 f"sandbox companies) and that `realm_id` is the authorized company; then "
                 f"{authorize}")
    if code == "6190":
        return AbortError(f"{what}: the QuickBooks company's subscription is not active. {said}",
                          hint="renew the QuickBooks Online subscription, then run again")
    if status == 429 or code == "3001":
        retry = response.headers.get("Retry-After")
        return RateLimitError(f"{what}: QuickBooks throttled the request. {said}",
                              hint="wait a minute; lower `concurrency` if it keeps happening "
                                   "(a monthly read quota may also be used up)",
                              retry_after=float(retry) if retry and retry.isdigit() else 60.0)
    if status >= 500 or first.kind == "SystemFault" or code == "10000":
        return RemoteUnavailableError(f"{what}: QuickBooks failed to answer. {said}",
                                      hint="retried automatically; if it persists, see "
                                           "https://status.developer.intuit.com")
    context: dict[str, Any] = {"code": code or None, "detail": first.detail or None,
                               "status": status}
    if code == "5010":
        return StaleObjectError(f"{what}: someone changed it in QuickBooks meanwhile. {said}",
                                hint="run again: flx re-reads the document first", **context)
    if code == "6140":
        dup = _DUPLICATE.search(first.detail)
        return DuplicateNumberError(
            f"{what}: the document number is already used in QuickBooks. {said}",
            hint="if that document is not this record's, renumber one of them (or set a "
                 "`doc_number_prefix` in the mapping profile)",
            txn_type=dup.group(1) if dup else "", txn_id=dup.group(2) if dup else "",
            **context)
    if code == "6240":
        return DuplicateNameError(f"{what}: the name is already used in QuickBooks. {said}",
                                  hint="rename the existing customer/vendor/employee, or map "
                                       "this record to it", **context)
    if code == "610":
        return RemoteRejectedError(
            f"{what}: it refers to something inactive or deleted in QuickBooks. {said}",
            hint="make the item, customer or vendor active again in QuickBooks, or fix the "
                 "mapping", **context)
    return RemoteRejectedError(f"{what}: QuickBooks refused it. {said}",
                               hint="correct the field QuickBooks names, then run again",
                               path=first.element or None, **context)
