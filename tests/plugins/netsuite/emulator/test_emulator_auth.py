"""Token-based authentication: every way a login fails gives NetSuite's 401 body, and the
login audit trail records the real reason."""

from __future__ import annotations

import base64
import hashlib
from typing import Any

import pytest
from oauthlib.oauth1 import Client

from flx_netsuite.emulator import Emulator

from .helpers import NS, SIGNATURE_HMAC_SHA1, error

LOGIN_BODY = {
    "type": "https://www.rfc-editor.org/rfc/rfc9110.html#section-15.5.2",
    "title": "Unauthorized",
    "status": 401,
    "o:errorDetails": [{
        "detail": "Invalid login attempt. For more details, see the Login Audit Trail in the "
                  "NetSuite UI at Setup > Users/Roles > User Management > View Login Audit "
                  "Trail.",
        "o:errorCode": "INVALID_LOGIN"}],
}
NOW = 1_795_000_000.0


def attempt(emu: Emulator, **signer: Any) -> tuple[int, str | None]:
    client = NS(emu, **signer)
    try:
        response = client.get("customer/107")
    finally:
        client.close()
    if response.status_code == 401:
        assert response.json() == LOGIN_BODY
        assert response.headers["www-authenticate"].startswith('OAuth realm="1234567_SB1"')
        return 401, emu.login_audit_trail()[-1]["detail"]
    return response.status_code, None


@pytest.fixture
def fixed() -> Emulator:
    return Emulator(clock=lambda: NOW)


def test_correctly_signed_request_is_accepted(emu: Emulator) -> None:
    assert attempt(emu) == (200, None)
    assert emu.login_audit_trail() == []


@pytest.mark.parametrize("realm", ["1234567_sb1", "1234567-SB1", "1234567"])
def test_realm_must_match_the_account_id_exactly(emu: Emulator, realm: str) -> None:
    assert attempt(emu, realm=realm) == (401, "InvalidRealm")


def test_wrong_token_secret_is_an_invalid_signature(emu: Emulator) -> None:
    assert attempt(emu, resource_owner_secret="not-the-secret") == (401, "InvalidSignature")


def test_hmac_sha1_is_refused(emu: Emulator) -> None:
    assert attempt(emu, method=SIGNATURE_HMAC_SHA1) == (401, "InvalidSignature")
    assert "HMAC-SHA1" in emu.login_audit_trail()[-1]["explanation"]


def test_unknown_token_is_refused(emu: Emulator) -> None:
    assert attempt(emu, resource_owner_key="someone-elses-token") == (401, "UnknownToken")


def test_unknown_consumer_key_is_refused(emu: Emulator) -> None:
    assert attempt(emu, client_key="another-integration") == (401, "InvalidConsumerKey")


def test_nonce_reused_within_ten_minutes_is_refused(fixed: Emulator) -> None:
    signer = {"nonce": "abcdef123456", "timestamp": str(int(NOW))}
    assert attempt(fixed, **signer) == (200, None)
    assert attempt(fixed, **signer) == (401, "NonceReused")


def test_nonce_may_come_back_after_the_window() -> None:
    now = [NOW]
    emu = Emulator(clock=lambda: now[0])
    assert attempt(emu, nonce="abcdef123456", timestamp=str(int(now[0])))[0] == 200
    now[0] += 601
    assert attempt(emu, nonce="abcdef123456", timestamp=str(int(now[0])))[0] == 200


def test_nonce_of_a_forged_request_is_not_burnt(fixed: Emulator) -> None:
    signer = {"nonce": "abcdef123456", "timestamp": str(int(NOW))}
    assert attempt(fixed, resource_owner_secret="forged", **signer)[0] == 401
    assert attempt(fixed, **signer) == (200, None)


@pytest.mark.parametrize(("offset", "status"), [(-301, 401), (301, 401), (-299, 200),
                                                (299, 200)])
def test_timestamp_more_than_five_minutes_off_is_refused(fixed: Emulator, offset: int,
                                                         status: int) -> None:
    got = attempt(fixed, timestamp=str(int(NOW + offset)))
    assert got == (status, "TimestampSkew" if status == 401 else None)


def test_query_parameters_must_be_signed(emu: Emulator) -> None:
    client = NS(emu)
    creds = emu.credentials
    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer/107"
    _, headers, _ = Client(creds.consumer_key, client_secret=creds.consumer_secret,
                           resource_owner_key=creds.token_id,
                           resource_owner_secret=creds.token_secret,
                           signature_method="HMAC-SHA256", realm=creds.account).sign(url)
    response = client.http.get(url, params={"expandSubResources": "true"}, headers=headers,
                               auth=None)
    client.close()
    assert response.status_code == 401
    assert emu.login_audit_trail()[-1]["detail"] == "InvalidSignature"


def test_signed_query_parameters_and_json_body_are_accepted(ns: NS) -> None:
    assert ns.get("customer/107", params={"expandSubResources": "true"}).status_code == 200
    assert ns.suiteql("SELECT id FROM customer", limit=1).status_code == 200


def test_missing_authorization_header_is_refused(emu: Emulator, ns: NS) -> None:
    response = ns.http.get("/services/rest/record/v1/customer/107", auth=None)
    assert response.status_code == 401
    assert error(response)["o:errorCode"] == "INVALID_LOGIN"
    assert emu.login_audit_trail()[-1]["detail"] == "MissingAuthorization"


class BodyHashClient(Client):
    """oauthlib plus an oauth_body_hash parameter, the way authlib's force_include_body adds
    one (oauthlib signs every oauth_* parameter it is given)."""

    body_hash = ""

    def get_oauth_params(self, request: Any) -> list[tuple[str, str]]:
        params: list[tuple[str, str]] = super().get_oauth_params(request)
        return params + [("oauth_body_hash", self.body_hash)]


@pytest.mark.parametrize(("tamper", "status"), [(False, 204), (True, 401)])
def test_oauth_body_hash_is_verified_when_present(emu: Emulator, tamper: bool,
                                                  status: int) -> None:
    body = b'{"companyName": "Hash Co", "subsidiary": {"id": "1"}}'
    sent = body.replace(b"Hash Co", b"Evil Co") if tamper else body
    creds = emu.credentials
    signer = BodyHashClient(creds.consumer_key, client_secret=creds.consumer_secret,
                            resource_owner_key=creds.token_id,
                            resource_owner_secret=creds.token_secret,
                            signature_method="HMAC-SHA256", realm=creds.account)
    signer.body_hash = base64.b64encode(hashlib.sha1(body).digest()).decode()
    url = "https://1234567-sb1.suitetalk.api.netsuite.com/services/rest/record/v1/customer"
    _, headers, _ = signer.sign(url, http_method="POST")
    client = NS(emu)
    response = client.http.post(url, content=sent, auth=None,
                                headers={**headers, "Content-Type": "application/json"})
    client.close()
    assert response.status_code == status
    if tamper:
        assert "oauth_body_hash" in emu.login_audit_trail()[-1]["explanation"]


def test_login_audit_trail_is_inspectable_over_http(emu: Emulator) -> None:
    attempt(emu, realm="1234567_sb1")
    client = NS(emu)
    trail = client.http.get("/_emulator/login-audit").json()
    client.close()
    assert [entry["detail"] for entry in trail] == ["InvalidRealm"]
    assert "secret" not in str(trail).lower()
