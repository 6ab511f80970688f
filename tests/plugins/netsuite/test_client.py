"""NetSuiteClient against scripted NetSuite answers (respx routers and counting transports)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import re
import threading
from urllib.parse import parse_qsl, quote, unquote

import httpx
import pytest
import respx

import flx_netsuite.client as client_module
from flx.connector import Connector
from flx.errors import (
    AuthenticationError,
    FlxError,
    OutcomeUnknownError,
    PermissionDeniedError,
    RateLimitError,
    RemoteRejectedError,
    RemoteUnavailableError,
)
from flx.model import Connection
from flx.run.http import DryRunRefused, build_client
from flx.run.runtime import Runtime
from flx_netsuite.auth import TokenAuth
from flx_netsuite.client import (
    DEFAULT_HEADERS,
    Created,
    NetSuiteClient,
    in_list,
    suiteql_quote,
)
from flx_netsuite.connection import NetSuiteSettings
from flx_netsuite.governance import AdaptiveLimiter

BASE = "https://1234567.suitetalk.api.netsuite.com"
REC = "/services/rest/record/v1"
QUERY = "/services/rest/query/v1/suiteql"
SECRETS = {"client_id": "cid-5f4e3d2c1b0a", "client_secret": "csec-a1b2c3d4e5f6",
           "token_id": "tid-0f9e8d7c6b5a", "token_secret": "tsec-6f5e4d3c2b1a"}


def settings(account: str = "1234567", **extra) -> NetSuiteSettings:
    return NetSuiteSettings.from_mapping(
        {"account_id": account, **SECRETS, "concurrency": 3, **extra}, name="prod")


def make(router_or_handler, *, account: str = "1234567", **kwargs):
    """A client on a mock transport; returns (client, list of requested sleeps)."""
    s = settings(account)
    handler = getattr(router_or_handler, "handler", router_or_handler)
    http = build_client(base_url=s.base_url, auth=TokenAuth.from_settings(s),
                        headers=dict(DEFAULT_HEADERS), transport=httpx.MockTransport(handler))
    sleeps: list[float] = []
    client = NetSuiteClient(s, http, limiter=AdaptiveLimiter(s.concurrency),
                            sleep=sleeps.append, **kwargs)
    return client, sleeps


@pytest.fixture
def router():
    return respx.Router(base_url=BASE, assert_all_called=False)


def located(record_type: str, id: str, status: int = 204) -> httpx.Response:
    return httpx.Response(status, headers={"Location": f"{BASE}{REC}/{record_type}/{id}"})


def ns_error(status: int, code: str, detail: str, path: str | None = None) -> httpx.Response:
    entry = {"detail": detail, "o:errorCode": code}
    if path:
        entry["o:errorPath"] = path
    return httpx.Response(status, json={"title": "x", "status": status,
                                        "o:errorDetails": [entry]})


def signature_ok(request: httpx.Request) -> bool:
    """Independent RFC 5849 HMAC-SHA256 check of one sent request."""
    params = {k: unquote(v) for k, v in re.findall(r'([a-z_]+)="([^"]*)"',
                                                   request.headers["authorization"])}
    enc = lambda v: quote(v, safe="-._~")  # noqa: E731
    pairs = [(k, v) for k, v in params.items() if k not in ("realm", "oauth_signature")]
    pairs += parse_qsl(request.url.query.decode(), keep_blank_values=True)
    normalized = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in pairs))
    uri = f"{request.url.scheme}://{request.url.host}{request.url.path}"
    base = "&".join(["POST" if request.method == "POST" else request.method, enc(uri),
                     enc(normalized)])
    key = f"{enc(SECRETS['client_secret'])}&{enc(SECRETS['token_secret'])}".encode()
    expected = base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()
    return params["oauth_signature"] == expected


# -- signing and headers ----------------------------------------------------------------------


@pytest.mark.parametrize(("account", "realm", "host"), [
    ("1234567", "1234567", "1234567.suitetalk.api.netsuite.com"),
    ("1234567-sb1", "1234567_SB1", "1234567-sb1.suitetalk.api.netsuite.com"),
])
def test_every_request_is_signed_for_the_account_realm(account, realm, host):
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        if request.url.path == QUERY:
            return httpx.Response(200, json={"items": [], "hasMore": False})
        return httpx.Response(200, json={"id": "5"})

    client, _ = make(handler, account=account)
    client.get("customer", 5, expand=True)
    client.suiteql("SELECT id FROM item ORDER BY id", page_size=50)
    assert [r.url.host for r in seen] == [host, host]
    for request in seen:
        assert request.headers["authorization"].startswith(f'OAuth realm="{realm}", ')
        assert signature_ok(request)
    assert seen[1].url.params["limit"] == "50" and seen[1].url.params["offset"] == "0"


def test_default_headers_go_with_every_request(router):
    router.get(f"{REC}/customer/5").respond(200, json={"id": "5"})
    router.post(f"{REC}/customer").mock(return_value=located("customer", "6"))
    router.post(QUERY).respond(200, json={"items": [], "hasMore": False})
    client, _ = make(router)
    client.get("customer", "5")
    client.create("customer", {"companyName": "ACME"})
    client.suiteql("SELECT id FROM customer")
    assert len(router.calls) == 3
    for call in router.calls:
        headers = call.request.headers
        assert headers["x-netsuite-propertynamevalidation"] == "Error"
        assert headers["content-type"] == "application/json"
        assert headers["accept"] == "application/json"
    assert router.calls[2].request.headers["prefer"] == "transient"


# -- create and transform ---------------------------------------------------------------------


def test_create_sends_the_body_as_given_and_reads_the_id_from_a_lower_case_location(router):
    route = router.post(f"{REC}/vendorBill").mock(return_value=located("vendorbill", "8731"))
    client, _ = make(router)
    body = {"entity": {"id": "77"}, "memo": "Rechnung Nr. 5 – ü", "tranId": "INV-9",
            "item": {"items": [{"orderLine": 1, "quantity": 2, "rate": "19.99"}]}}
    created = client.create("vendorBill", body, external_id="VB-INV-9")
    assert created == Created("8731", existed=False)
    sent = route.calls[0].request
    assert json.loads(sent.content) == {**body, "externalId": "VB-INV-9"}
    assert "externalId" not in body  # the caller's dict is left alone
    assert signature_ok(sent)


def test_transform_posts_to_the_transform_path_and_signs_replace(router):
    route = router.post(f"{REC}/purchaseOrder/55/!transform/vendorBill").mock(
        return_value=located("vendorbill", "901"))
    client, _ = make(router)
    created = client.transform("purchaseOrder", "55", "vendorBill",
                               {"item": {"items": [{"orderLine": 2, "quantity": 1}]}},
                               external_id="VB-1", replace="item")
    assert created == Created("901", existed=False)
    request = route.calls[0].request
    assert request.url.params["replace"] == "item"
    assert json.loads(request.content)["externalId"] == "VB-1"
    assert signature_ok(request)


def test_ambiguous_create_is_reconciled_without_a_second_post(router):
    post = router.post(f"{REC}/salesOrder").mock(side_effect=httpx.ReadTimeout)
    lookup = router.get(f"{REC}/salesOrder/eid:SO-1001").respond(
        200, json={"id": "812", "externalId": "SO-1001"})
    client, _ = make(router)
    created = client.create("salesOrder", {"entity": {"id": "1"}}, external_id="SO-1001")
    assert created == Created("812", existed=True, found_after="no answer")
    assert post.call_count == 1 and lookup.call_count == 1


def test_ambiguous_create_is_sent_again_only_after_the_lookup_says_absent(router):
    post = router.post(f"{REC}/salesOrder").mock(
        side_effect=[httpx.ReadTimeout, located("salesorder", "813")])
    router.get(f"{REC}/salesOrder/eid:SO-1002").mock(return_value=ns_error(
        404, "NONEXISTENT_ID", "Record not found"))
    client, _ = make(router)
    created = client.create("salesOrder", {"entity": {"id": "1"}}, external_id="SO-1002")
    assert created == Created("813", existed=False)
    assert post.call_count == 2
    assert [c.request.method for c in router.calls] == ["POST", "GET", "POST"]


def test_a_5xx_on_create_is_ambiguous_but_a_503_is_simply_retried(router):
    post = router.post(f"{REC}/customer").mock(side_effect=[
        httpx.Response(502), httpx.Response(503), located("customer", "40")])
    lookup = router.get(f"{REC}/customer/eid:C-1").mock(
        return_value=ns_error(404, "NONEXISTENT_ID", "none"))
    client, _ = make(router)
    assert client.create("customer", {}, external_id="C-1") == Created("40", existed=False)
    assert post.call_count == 3
    assert lookup.call_count == 1  # after the 502 only


def test_create_without_external_id_never_resends_after_no_answer(router):
    post = router.post(f"{REC}/salesOrder").mock(side_effect=httpx.ReadTimeout)
    client, _ = make(router)
    with pytest.raises(OutcomeUnknownError):
        client.create("salesOrder", {"entity": {"id": "1"}})
    assert post.call_count == 1


def test_400_on_create_with_an_existing_external_id_links_the_record(router):
    router.post(f"{REC}/customer").mock(return_value=ns_error(
        400, "USER_ERROR", "A customer record with this ID already exists."))
    router.get(f"{REC}/customer/eid:C-7").respond(200, json={"id": "700"})
    client, _ = make(router)
    assert client.create("customer", {"email": "a@b.c"}, external_id="C-7") == \
        Created("700", existed=True, found_after="rejection")


def test_400_on_create_with_an_absent_external_id_raises_the_rejection(router):
    post = router.post(f"{REC}/salesOrder").mock(return_value=ns_error(
        400, "INVALID_KEY_OR_REF", "Invalid Field Value 99 for the following field: location",
        "item.items[0].location"))
    router.get(f"{REC}/salesOrder/eid:SO-9").mock(return_value=ns_error(404, "X", "none"))
    client, _ = make(router)
    with pytest.raises(RemoteRejectedError) as caught:
        client.create("salesOrder", {}, external_id="SO-9")
    err = caught.value
    assert (err.code, err.path, err.status) == ("INVALID_KEY_OR_REF", "item.items[0].location", 400)
    assert post.call_count == 1


def test_a_created_record_without_location_is_found_by_external_id(router):
    router.post(f"{REC}/customer").respond(204)
    router.get(f"{REC}/customer/eid:C-8").respond(200, json={"id": "801"})
    client, _ = make(router)
    assert client.create("customer", {}, external_id="C-8") == Created("801", existed=False)
    router.post(f"{REC}/vendor").respond(204)
    with pytest.raises(OutcomeUnknownError, match="did not say"):
        client.create("vendor", {})


def test_unsafe_names_and_ids_are_refused_before_anything_is_sent(router):
    client, _ = make(router)
    with pytest.raises(ValueError, match="external ID"):
        client.create("salesOrder", {}, external_id="#1001")
    with pytest.raises(ValueError):
        client.get("sales/Order", 1)
    with pytest.raises(ValueError):
        client.get("salesOrder", "1/../2")
    assert client.requests == 0


# -- retries ----------------------------------------------------------------------------------


def test_retry_then_success_is_counted(router):
    router.get(f"{REC}/salesOrder/1").mock(side_effect=[
        httpx.Response(503), ns_error(429, "CONCURRENCY_LIMIT_EXCEEDED", "blocked"),
        httpx.Response(200, json={"id": "1"})])
    client, sleeps = make(router)
    assert client.get("salesOrder", 1) == {"id": "1"}
    assert (client.requests, client.retries, client.rate_limited) == (3, 2, 1)
    assert len(sleeps) == 2 and all(s >= 0 for s in sleeps)


def test_retry_after_is_honoured(router):
    router.get(f"{REC}/customer/1").mock(side_effect=[
        httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(200, json={})])
    client, sleeps = make(router)
    client.get("customer", 1)
    assert sleeps and sleeps[0] >= 7


def test_retry_exhausted_says_how_many_attempts(router):
    route = router.get(f"{REC}/customer/1").respond(503)
    client, sleeps = make(router, max_attempts=4)
    with pytest.raises(RemoteUnavailableError, match="gave up after 4 attempts") as caught:
        client.get("customer", 1)
    assert route.call_count == 4 and len(sleeps) == 3
    assert caught.value.context["attempts"] == 4


def test_total_retry_time_is_bounded(router):
    route = router.get(f"{REC}/customer/1").respond(429, headers={"Retry-After": "500"})
    client, sleeps = make(router, max_retry_seconds=120)
    with pytest.raises(RateLimitError) as caught:
        client.get("customer", 1)
    assert route.call_count == 1 and sleeps == []
    assert caught.value.retry_after == 500  # the run can schedule the record for later


def test_authentication_errors_stop_at_once(router):
    route = router.get(f"{REC}/customer/1").mock(return_value=ns_error(
        401, "INVALID_LOGIN", "Invalid login attempt."))
    client, _ = make(router)
    with pytest.raises(AuthenticationError) as caught:
        client.get("customer", 1)
    assert route.call_count == 1
    assert "Login Audit Trail" in caught.value.hint


def test_a_401_after_the_credentials_worked_is_treated_as_concurrency(router):
    router.get(f"{REC}/customer/1").respond(200, json={"id": "1"})
    flaky = router.get(f"{REC}/customer/2").mock(side_effect=[
        ns_error(401, "INVALID_LOGIN", "Invalid login attempt."),
        httpx.Response(200, json={"id": "2"})])
    client, _ = make(router)
    client.get("customer", 1)
    assert client.get("customer", 2) == {"id": "2"}
    assert flaky.call_count == 2 and client.limiter.limit == 2


def test_permission_and_rejection_errors_surface_unretried(router):
    router.get(f"{REC}/vendor/3").mock(return_value=ns_error(
        403, "INSUFFICIENT_PERMISSION", "Permission Violation"))
    bad = router.patch(f"{REC}/salesOrder/4").mock(return_value=ns_error(
        400, "NONEXISTENT_FIELD", "Unknown field name custbody_gift.", "custbody_gift"))
    client, _ = make(router)
    with pytest.raises(PermissionDeniedError, match="vendor"):
        client.get("vendor", 3)
    with pytest.raises(RemoteRejectedError) as caught:
        client.update("salesOrder", 4, {"custbody_gift": "x"})
    assert caught.value.path == "custbody_gift" and bad.call_count == 1


# -- other record calls -----------------------------------------------------------------------


def test_get_and_lookup_by_external_id(router):
    route = router.get(f"{REC}/salesOrder/9").respond(200, json={"id": "9"})
    router.get(f"{REC}/salesOrder/eid:NOPE").mock(return_value=ns_error(404, "X", "none"))
    client, _ = make(router)
    client.get("salesOrder", 9, expand=True, fields=["id", "tranId"])
    params = route.calls[0].request.url.params
    assert params["expandSubResources"] == "true" and params["fields"] == "id,tranId"
    assert client.get_by_external_id("salesOrder", "NOPE") is None


def test_update_is_resent_only_when_certainly_not_applied(router):
    ok = router.patch(f"{REC}/itemFulfillment/5").mock(
        side_effect=[httpx.Response(503), httpx.Response(204)])
    client, _ = make(router)
    client.update("itemFulfillment", 5, {"shipStatus": {"id": "C"}}, replace="package")
    assert ok.call_count == 2 and ok.calls[0].request.url.params["replace"] == "package"
    lost = router.patch(f"{REC}/itemFulfillment/6").mock(side_effect=httpx.ReadTimeout)
    with pytest.raises(OutcomeUnknownError):
        client.update("itemFulfillment", 6, {"memo": "x"})
    assert lost.call_count == 1


def test_upsert_returns_the_id_from_location_or_by_reading_it_back(router):
    router.put(f"{REC}/customer/eid:C-1").mock(return_value=located("customer", "11"))
    router.put(f"{REC}/customer/eid:C-2").respond(204)
    router.get(f"{REC}/customer/eid:C-2").respond(200, json={"id": "12"})
    client, _ = make(router)
    assert client.upsert("customer", "C-1", {"email": "x@y.z"}) == "11"
    assert client.upsert("customer", "C-2", {"email": "x@y.z"}) == "12"


def test_sublist_lines_come_without_links(router):
    route = router.get(f"{REC}/salesOrder/7/item").respond(200, json={"items": [
        {"line": 1, "quantity": 2, "links": [{"rel": "self", "href": "x"}]},
        {"line": 4, "quantity": 1, "links": []}]})
    client, _ = make(router)
    assert client.sublist("salesOrder", 7, "item") == [{"line": 1, "quantity": 2},
                                                       {"line": 4, "quantity": 1}]
    assert route.calls[0].request.url.params["expandSubResources"] == "true"


def test_delete_after_an_unanswered_attempt_accepts_the_record_being_gone(router):
    route = router.delete(f"{REC}/customer/5").mock(
        side_effect=[httpx.ReadTimeout, ns_error(404, "X", "none")])
    client, _ = make(router)
    client.delete("customer", 5)
    assert route.call_count == 2


# -- SuiteQL ----------------------------------------------------------------------------------


def paged(rows: int, limit_total: int | None = None):
    """A SuiteQL endpoint over `rows` rows that honours limit/offset."""
    def respond(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        offset = int(request.url.params["offset"])
        items = [{"id": str(i), "links": []} for i in range(offset, min(offset + limit, rows))]
        body = {"items": items, "count": len(items), "offset": offset,
                "hasMore": offset + limit < rows, "links": []}
        if limit_total is None:
            body["totalResults"] = rows
        return httpx.Response(200, json=body)
    return respond


def test_suiteql_pages_until_no_more(router):
    route = router.post(QUERY).mock(side_effect=paged(5))
    client, _ = make(router)
    rows = client.suiteql("SELECT id FROM item ORDER BY id", page_size=2)
    assert rows == [{"id": str(i)} for i in range(5)]
    sent = [c.request for c in route.calls]
    assert [(r.url.params["limit"], r.url.params["offset"]) for r in sent] == [
        ("2", "0"), ("2", "2"), ("2", "4")]
    for request in sent:
        assert json.loads(request.content) == {"q": "SELECT id FROM item ORDER BY id"}
        assert request.headers["prefer"] == "transient"
        assert signature_ok(request)


def test_suiteql_over_the_row_cap_asks_to_narrow_the_query(router, monkeypatch):
    router.post(QUERY).respond(200, json={"items": [{"id": "1"}], "hasMore": True,
                                          "totalResults": 150_000})
    client, _ = make(router)
    with pytest.raises(RemoteRejectedError, match="more than 100000 rows") as caught:
        client.suiteql("SELECT id FROM transaction")
    assert "narrow" in caught.value.hint
    # Without totalResults the cap is noticed while paging.
    monkeypatch.setattr(client_module, "SUITEQL_ROW_CAP", 4)
    router.post(QUERY).mock(side_effect=paged(10, limit_total=0))
    with pytest.raises(RemoteRejectedError, match="more than 4 rows"):
        client.suiteql("SELECT id FROM item", page_size=2, max_rows=4)


def test_suiteql_probe_returns_the_first_rows_only(router):
    route = router.post(QUERY).mock(side_effect=paged(5000))
    client, _ = make(router)
    assert client.suiteql("SELECT id FROM customer ORDER BY id", page_size=1, max_rows=1) == [
        {"id": "0"}]
    assert route.call_count == 1


def test_suiteql_literals():
    assert suiteql_quote("O'Brien") == "'O''Brien'"
    assert suiteql_quote(42) == "42"
    assert in_list(["a", "b'c"]) == "('a', 'b''c')"
    assert NetSuiteClient.in_list(["x"]) == "('x')"
    with pytest.raises(ValueError):
        in_list([])
    with pytest.raises(TypeError):
        suiteql_quote(True)


# -- through the runtime: guard, audit, caching -----------------------------------------------


class FakeStore:
    def __init__(self) -> None:
        self.audits: list[tuple] = []

    def audit(self, connection, run_id, method, path, status, remote_id=None, record_id=None):
        self.audits.append((method, path, status, remote_id))


def runtime_for(router, *, dry_run: bool = False, account: str = "7654321") -> Runtime:
    conn = Connection(name="prod", plugin="netsuite",
                      settings={"account_id": account, **SECRETS, "base_url": BASE},
                      secret_keys=frozenset(SECRETS))
    connector = Connector(name="netsuite", connection_schema={}, operations=())
    return Runtime(store=FakeStore(), connection=conn, connector=connector,  # type: ignore[arg-type]
                   dry_run=dry_run, transport=httpx.MockTransport(router.handler))


def test_from_runtime_builds_one_client_per_runtime_and_writes_are_audited(router):
    router.post(f"{REC}/customer").mock(return_value=located("customer", "31"))
    runtime = runtime_for(router)
    client = NetSuiteClient.from_runtime(runtime)
    assert NetSuiteClient.from_runtime(runtime) is client
    assert NetSuiteClient.from_runtime(runtime_for(router)) is not client
    assert client.settings.realm == "7654321"
    assert client.create("customer", {}, external_id="C-31") == Created("31")
    # written with the next checkpoint or the batch's results, not one transaction each
    assert [(r["method"], r["path"], r["status"], r["remote_id"])
            for r in runtime.take_audit()] == [("POST", f"{REC}/customer", 204, "31")]
    assert client.thread_requests == 1


def test_dry_run_lets_suiteql_through_and_refuses_writes(router):
    query = router.post(QUERY).respond(200, json={"items": [{"id": "1"}], "hasMore": False})
    write = router.post(f"{REC}/salesOrder").mock(return_value=located("salesorder", "1"))
    client = NetSuiteClient.from_runtime(runtime_for(router, dry_run=True, account="7654322"))
    assert client.suiteql("SELECT id FROM item") == [{"id": "1"}]
    with pytest.raises(DryRunRefused):
        client.create("salesOrder", {}, external_id="SO-1")
    assert query.call_count == 1 and write.call_count == 0
    assert client.requests == 1


# -- governance ---------------------------------------------------------------------------------


def test_concurrency_is_never_exceeded():
    cond = threading.Condition()
    state = {"now": 0, "max": 0, "opened": False}

    def handler(request: httpx.Request) -> httpx.Response:
        with cond:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
            if state["now"] >= 3:
                state["opened"] = True
                cond.notify_all()
            cond.wait_for(lambda: state["opened"], timeout=5)
            cond.wait(0.01)  # stay in flight a moment, so that any excess would overlap
            state["now"] -= 1
        return httpx.Response(200, json={"id": "1"})

    client, _ = make(handler)  # concurrency = 3
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            client.get("customer", 1)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert errors == []
    assert state["max"] == 3 and client.limiter.peak == 3
    assert client.requests == 12


def test_a_429_lowers_the_adaptive_limit(router):
    router.get(f"{REC}/customer/1").mock(side_effect=[
        ns_error(429, "CONCURRENCY_LIMIT_EXCEEDED", "blocked"), httpx.Response(200, json={})])
    client, _ = make(router)
    client.get("customer", 1)
    assert client.limiter.limit == 2 and client.rate_limited == 1


# -- secrets --------------------------------------------------------------------------------------


def test_no_secret_in_any_log_line_or_error(router, caplog):
    caplog.set_level(logging.DEBUG)
    echo = f"value {SECRETS['client_secret']} / {SECRETS['token_id']} is wrong"
    router.post(f"{REC}/customer").mock(side_effect=[
        httpx.ReadTimeout, ns_error(400, "USER_ERROR", echo)])
    router.get(f"{REC}/customer/eid:C-1").mock(return_value=ns_error(404, "X", echo))
    # After the credentials worked, a 401 is first retried as concurrency, then reported.
    router.get(f"{REC}/customer/2").mock(return_value=ns_error(401, "INVALID_LOGIN", echo))
    router.post(QUERY).mock(side_effect=paged(3))
    client, _ = make(router)
    texts: list[str] = []
    for call in (lambda: client.create("customer", {"x": 1}, external_id="C-1"),
                 lambda: client.get("customer", 2),
                 lambda: client.suiteql("SELECT id FROM item", page_size=2)):
        try:
            call()
        except FlxError as exc:
            texts += [str(exc), json.dumps(exc.to_dict()), repr(exc.context)]
    assert len(texts) == 6  # the create and the get failed, with messages to check
    assert "Login Audit Trail" in texts[3]  # the get ended as an AuthenticationError
    everything = caplog.text + "\n".join(texts) + repr(client.settings) + repr(client.http.auth)
    for secret in SECRETS.values():
        assert secret not in everything
