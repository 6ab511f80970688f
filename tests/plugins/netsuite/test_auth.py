"""TBA signing, checked against an RFC 5849 computation written here from the RFC alone."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
from urllib.parse import parse_qsl, quote, unquote, urlsplit

import httpx
import pytest

from flx_netsuite.auth import TokenAuth
from flx_netsuite.connection import NetSuiteSettings

CK = "ck-4f1d9a0e7b"
CS = "cs-secret+/=&?9a8b"
TK = "tk-77c2e0d1aa"
TS = "ts-secret!*'()~ 55"


def enc(value: str) -> str:
    return quote(value, safe="-._~")


def independent_signature(method: str, url: str, header_params: dict[str, str],
                          consumer_secret: str = CS, token_secret: str = TS) -> str:
    """RFC 5849 §3.4: base string from the oauth_* params (no realm, no signature) plus the
    decoded query parameters, each percent-encoded, sorted, joined; HMAC-SHA256, base64."""
    parts = urlsplit(url)
    scheme, host = parts.scheme.lower(), (parts.hostname or "").lower()
    port = parts.port
    netloc = host if port is None or (scheme, port) in (("http", 80), ("https", 443)) \
        else f"{host}:{port}"
    base_uri = f"{scheme}://{netloc}{parts.path or '/'}"
    pairs = [(k, v) for k, v in header_params.items() if k not in ("realm", "oauth_signature")]
    pairs += parse_qsl(parts.query, keep_blank_values=True)
    normalized = "&".join(f"{k}={v}" for k, v in sorted((enc(k), enc(v)) for k, v in pairs))
    base = "&".join([method.upper(), enc(base_uri), enc(normalized)])
    key = f"{enc(consumer_secret)}&{enc(token_secret)}".encode()
    return base64.b64encode(hmac.new(key, base.encode(), hashlib.sha256).digest()).decode()


def parse_header(value: str) -> dict[str, str]:
    assert value.startswith("OAuth ")
    return {k: unquote(v) for k, v in re.findall(r'([a-z_]+)="([^"]*)"', value)}


def make_auth(realm: str = "1234567", **kwargs) -> TokenAuth:
    return TokenAuth(realm=realm, consumer_key=CK, consumer_secret=CS, token_id=TK,
                     token_secret=TS, **kwargs)


def capture(auth: httpx.Auth, method: str, url: str, **kwargs) -> httpx.Request:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(204)

    with httpx.Client(transport=httpx.MockTransport(handler), auth=auth) as client:
        client.request(method, url, **kwargs)
    return seen[0]


def test_known_vector_matches_the_independent_computation_and_a_fixed_value():
    url = ("https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql"
           "?limit=5&offset=10")
    header = make_auth("1234567_SB1").authorization("POST", url, nonce="a1b2c3d4e5f6",
                                                    timestamp=1767225600)
    params = parse_header(header)
    assert params["oauth_signature"] == independent_signature("POST", url, params)
    # Pinned value, also produced by oauthlib's own Client for the same inputs: a change in
    # either computation is noticed instead of silently shared.
    assert params["oauth_signature"] == "iA2oFiCt76kT+VVkGzwuj+dDRSMBGV4DSmazudiM2Ks="
    assert params["oauth_signature_method"] == "HMAC-SHA256"
    assert params["oauth_version"] == "1.0"
    assert (params["oauth_nonce"], params["oauth_timestamp"]) == ("a1b2c3d4e5f6", "1767225600")


@pytest.mark.parametrize(("pasted", "realm", "host"), [
    ("1234567", "1234567", "1234567.suitetalk.api.netsuite.com"),
    ("1234567-sb1", "1234567_SB1", "1234567-sb1.suitetalk.api.netsuite.com"),
    ("1234567_sb2", "1234567_SB2", "1234567-sb2.suitetalk.api.netsuite.com"),
])
def test_realm_is_upper_case_with_underscore_while_host_is_lower_case(pasted, realm, host):
    settings = NetSuiteSettings.from_mapping(
        {"account_id": pasted, "client_id": CK, "client_secret": CS, "token_id": TK,
         "token_secret": TS})
    request = capture(TokenAuth.from_settings(settings), "GET",
                      settings.base_url + "/services/rest/record/v1/customer/5")
    params = parse_header(request.headers["authorization"])
    assert request.headers["authorization"].startswith(f'OAuth realm="{realm}", ')
    assert params["realm"] == realm
    assert request.url.host == host
    assert params["oauth_signature"] == independent_signature("GET", str(request.url), params)


def test_json_body_arrives_byte_identical_and_is_not_signed():
    body = json.dumps({"memo": "Ünïcode & 'quotes'", "amount": "19.99",
                       "item": {"items": [{"quantity": 3}]}}, ensure_ascii=False).encode()
    request = capture(make_auth(), "POST",
                      "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/"
                      "salesOrder", content=body, headers={"Content-Type": "application/json"})
    assert request.content == body
    params = parse_header(request.headers["authorization"])
    assert "oauth_body_hash" not in params
    assert params["oauth_signature"] == independent_signature("POST", str(request.url), params)


def test_every_query_parameter_is_signed():
    url = ("https://1234567.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql")
    request = capture(make_auth(), "POST", url, params={"limit": "1000", "offset": "2000"})
    params = parse_header(request.headers["authorization"])
    sent = str(request.url)
    assert "limit=1000" in sent and "offset=2000" in sent
    assert params["oauth_signature"] == independent_signature("POST", sent, params)
    # Without the query parameters the signature would be a different one (NetSuite's 401).
    assert params["oauth_signature"] != independent_signature("POST", url, params)


def test_awkward_query_values_still_verify():
    request = capture(make_auth(), "GET",
                      "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/"
                      "salesOrder", params={"q": "otherRefNum IS \"O'Brien #1 ü\"",
                                            "fields": "id,tranId", "empty": ""})
    params = parse_header(request.headers["authorization"])
    assert params["oauth_signature"] == independent_signature("GET", str(request.url), params)


def test_a_fresh_nonce_for_every_request_and_timestamps_never_go_back():
    ticks = iter([1_800_000_100.0, 1_800_000_050.0])  # the clock steps back 50 s
    auth = make_auth(clock=lambda: next(ticks))
    url = "https://1234567.suitetalk.api.netsuite.com/services/rest/record/v1/customer/1"
    first = parse_header(capture(auth, "GET", url).headers["authorization"])
    second = parse_header(capture(auth, "GET", url).headers["authorization"])
    assert first["oauth_nonce"] != second["oauth_nonce"]
    assert len(first["oauth_nonce"]) >= 6
    assert int(second["oauth_timestamp"]) >= int(first["oauth_timestamp"])


def test_secrets_never_appear_in_headers_only_the_signature_does():
    request = capture(make_auth(), "POST",
                      "https://1234567.suitetalk.api.netsuite.com/services/rest/query/v1/suiteql",
                      params={"limit": "5", "offset": "0"}, json={"q": "SELECT id FROM item"})
    everything = " ".join(f"{k}: {v}" for k, v in request.headers.items())
    for secret in (CS, TS):
        assert secret not in everything
        assert enc(secret) not in everything
    params = parse_header(request.headers["authorization"])
    # The consumer key and token id are identifiers the protocol must send, in their fields.
    assert params["oauth_consumer_key"] == CK and params["oauth_token"] == TK
    assert everything.count(CK) == 1 and everything.count(TK) == 1


def test_repr_shows_no_credentials():
    text = repr(make_auth("1234567_SB1"))
    assert "1234567_SB1" in text
    for secret in (CK, CS, TK, TS):
        assert secret not in text
