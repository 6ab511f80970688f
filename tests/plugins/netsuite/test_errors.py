"""NetSuite answers and httpx failures become the flx error a user can act on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest

from flx.errors import (
    AuthenticationError,
    NetworkError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RemoteRejectedError,
    RemoteUnavailableError,
)
from flx.run.http import READ_ONLY
from flx_netsuite.errors import error_from_exception, error_from_response, parse_error_details

BASE = "https://1234567.suitetalk.api.netsuite.com/services/rest"
SECRET = "tsec-9f8e7d6c5b4a"


def answer(status: int, body: dict | str | None = None, *, method: str = "POST",
           path: str = "/record/v1/salesOrder", headers: dict | None = None) -> httpx.Response:
    request = httpx.Request(method, BASE + path)
    if isinstance(body, dict):
        return httpx.Response(status, json=body, headers=headers, request=request)
    return httpx.Response(status, text=body or "", headers=headers, request=request)


def ns_error(code: str, detail: str, path: str | None = None, status: int = 400) -> dict:
    entry = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    return {"type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.1",
            "title": "Bad Request", "status": status, "o:errorDetails": [entry]}


def test_error_details_are_parsed_with_a_top_level_fallback():
    details = parse_error_details(answer(400, {"o:errorDetails": [
        {"detail": "a", "o:errorCode": "USER_ERROR", "o:errorPath": "item.items[0].item"},
        {"detail": "b", "o:errorCode": "INVALID_KEY_OR_REF"}]}))
    assert [(d.code, d.detail, d.path) for d in details] == [
        ("USER_ERROR", "a", "item.items[0].item"), ("INVALID_KEY_OR_REF", "b", None)]
    top = parse_error_details(answer(400, {"title": "Bad Request", "o:errorCode": "X_CODE"}))
    assert [(d.code, d.detail) for d in top] == [("X_CODE", "Bad Request")]
    assert parse_error_details(answer(502, "<html>Bad gateway</html>")) == []


def test_400_is_a_rejection_carrying_code_detail_and_error_path():
    err = error_from_response(answer(400, ns_error(
        "INVALID_KEY_OR_REF", "Invalid Field Value 99 for the following field: location",
        "item.items[1].location")))
    assert isinstance(err, RemoteRejectedError)
    assert (err.code, err.status, err.path) == ("INVALID_KEY_OR_REF", 400, "item.items[1].location")
    assert "Invalid Field Value 99" in err.detail
    assert "POST /services/rest/record/v1/salesOrder" in err.message
    assert "item.items[1].location" in err.hint and "mapping" in err.hint


def test_404_is_a_rejection_saying_the_record_is_missing():
    err = error_from_response(answer(404, ns_error("NONEXISTENT_ID", "Record not found"),
                                     method="GET", path="/record/v1/salesOrder/99"))
    assert isinstance(err, RemoteRejectedError) and err.status == 404
    assert "does not exist" in err.hint


def test_429_is_a_rate_limit_with_retry_after_in_seconds():
    err = error_from_response(answer(429, ns_error("CONCURRENCY_LIMIT_EXCEEDED",
                                                   "Concurrent request limit exceeded.",
                                                   status=429), headers={"Retry-After": "7"}))
    assert isinstance(err, RateLimitError)
    assert err.retry_after == 7.0
    assert "concurrency" in err.message


def test_retry_after_as_an_http_date():
    when = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    err = error_from_response(answer(429, None, headers={"Retry-After": when}))
    assert isinstance(err, RateLimitError)
    assert 60 < err.retry_after <= 90


def test_concurrency_code_in_another_status_is_a_rate_limit_too():
    err = error_from_response(answer(400, ns_error("CONCURRENCY_LIMIT_EXCEEDED", "blocked")))
    assert isinstance(err, RateLimitError) and err.retry_after is None


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_5xx_is_an_outage(status):
    err = error_from_response(answer(status, "<html>oops</html>"))
    assert isinstance(err, RemoteUnavailableError)
    assert str(status) in err.message


def test_401_names_every_thing_worth_checking():
    err = error_from_response(answer(
        401, ns_error("INVALID_LOGIN", "Invalid login attempt. For more details, see the Login "
                      "Audit Trail in the NetSuite UI at Setup > Users/Roles > User Management "
                      "> View Login Audit Trail.", status=401),
        headers={"WWW-Authenticate": 'OAuth realm="1234567", error="token_rejected"'}))
    assert isinstance(err, AuthenticationError)
    assert "token_rejected" in err.message
    for needle in ("Login Audit Trail", "Setup > Users/Roles > User Management", "1234567_SB1",
                   "client_id", "client_secret", "token_id", "token_secret",
                   "REST Web Services", "Log in using Access Tokens", "clock", "concurrency"):
        assert needle in err.hint, needle


def test_403_names_the_permission_to_add():
    err = error_from_response(answer(403, ns_error("INSUFFICIENT_PERMISSION",
                                                   "Permission Violation", status=403)))
    assert isinstance(err, PermissionDeniedError)
    assert "Transactions > Sales Order" in err.hint
    transform = error_from_response(answer(
        403, ns_error("INSUFFICIENT_PERMISSION", "x", status=403),
        path="/record/v1/purchaseOrder/5/!transform/vendorBill"))
    assert "Transactions > Bills" in transform.hint
    assert "Transactions > Purchase Order" in transform.hint
    item = error_from_response(answer(403, None, method="GET", path="/record/v1/inventoryItem/3"))
    assert "Lists > Items" in item.hint


@pytest.mark.parametrize("exc_type", [httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_nothing_sent_is_a_network_error(exc_type, method):
    request = httpx.Request(method, BASE + "/record/v1/salesOrder")
    err = error_from_exception(exc_type("refused", request=request))
    assert type(err) is NetworkError
    assert "nothing was sent" in err.message


@pytest.mark.parametrize("exc_type", [httpx.ReadTimeout, httpx.ReadError,
                                      httpx.RemoteProtocolError, httpx.WriteError])
def test_no_answer_to_a_write_is_an_unknown_outcome_but_to_a_read_a_network_error(exc_type):
    for method in ("POST", "PATCH", "PUT", "DELETE"):
        request = httpx.Request(method, BASE + "/record/v1/salesOrder")
        err = error_from_exception(exc_type("reset", request=request))
        assert isinstance(err, OutcomeUnknownError), method
        assert "may or may not" in err.message
    read = httpx.Request("GET", BASE + "/record/v1/salesOrder/1")
    assert type(error_from_exception(exc_type("reset", request=read))) is NetworkError
    query = httpx.Request("POST", BASE + "/query/v1/suiteql", extensions={READ_ONLY: True})
    assert type(error_from_exception(exc_type("reset", request=query))) is NetworkError


def test_secrets_are_scrubbed_from_messages():
    err = error_from_response(answer(400, ns_error("USER_ERROR", f"bad value {SECRET} given")),
                              secrets=[SECRET])
    assert SECRET not in str(err) and SECRET not in (err.detail or "")
    request = httpx.Request("GET", BASE + "/record/v1/customer/1")
    net = error_from_exception(httpx.ReadError(f"peer said {SECRET}", request=request),
                               secrets=[SECRET])
    assert SECRET not in str(net)
