"""The emulator's OAuth server: code flow, refresh-token rotation (both readings of what happens
to the old value), access-token expiry and the gateway's answers."""

from __future__ import annotations

import base64
from urllib.parse import parse_qs, urlsplit

import httpx

from flx_quickbooks.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REALM,
    Behaviour,
    Emulator,
    EmulatorTransport,
)

from .helpers import TOKEN_URL, Api, FakeClock


def test_authorization_code_flow_gives_tokens_and_the_realm() -> None:
    emu = Emulator()
    http = httpx.Client(transport=EmulatorTransport(emu))
    redirect = "http://localhost:8765/callback"
    answer = http.get("https://appcenter.intuit.com/connect/oauth2",
                      params={"client_id": DEMO_CLIENT_ID, "redirect_uri": redirect,
                              "response_type": "code", "state": "s1",
                              "scope": "com.intuit.quickbooks.accounting"})
    assert answer.status_code == 302
    params = parse_qs(urlsplit(answer.headers["location"]).query)
    assert params["state"] == ["s1"] and params["realmId"] == [DEMO_REALM]
    basic = base64.b64encode(f"{DEMO_CLIENT_ID}:{DEMO_CLIENT_SECRET}".encode()).decode()
    token = http.post(TOKEN_URL, headers={"Authorization": f"Basic {basic}"},
                      data={"grant_type": "authorization_code", "code": params["code"][0],
                            "redirect_uri": redirect})
    data = token.json()
    assert token.status_code == 200 and data["expires_in"] == 3600
    assert data["refresh_token"].startswith("RT-") and data["x_refresh_token_expires_in"] > 0
    again = http.post(TOKEN_URL, headers={"Authorization": f"Basic {basic}"},
                      data={"grant_type": "authorization_code", "code": params["code"][0],
                            "redirect_uri": redirect})
    assert again.status_code == 400 and again.json()["error"] == "invalid_grant"


def test_production_keys_refuse_a_localhost_redirect() -> None:
    emu = Emulator()
    emu.oauth.register_app("prod-id", "prod-secret", "production")
    http = httpx.Client(transport=EmulatorTransport(emu))
    answer = http.get("https://appcenter.intuit.com/connect/oauth2",
                      params={"client_id": "prod-id", "state": "s",
                              "redirect_uri": "http://localhost:1/callback"})
    assert answer.status_code == 400 and "redirect_uri" in answer.json()["error_description"]


def test_refresh_rotates_and_the_old_token_dies_at_once(emulator: Emulator) -> None:
    api = Api(emulator)
    old = api.refresh_token
    assert api.refresh().status_code == 200
    assert api.refresh_token != old
    api.refresh_token = old
    refused = api.refresh()
    assert refused.status_code == 400 and refused.json()["error"] == "invalid_grant"


def test_grace_reading_keeps_the_old_token_for_a_while(clock: FakeClock) -> None:
    emu = Emulator(clock=clock, behaviour=Behaviour(old_token_grace=86_400))
    api = Api(emu)
    old = api.refresh_token
    api.refresh()
    api.refresh_token = old
    assert api.refresh().status_code == 200
    clock.now += 2 * 86_400
    api.refresh_token = old
    assert api.refresh().status_code == 400


def test_daily_reading_returns_the_same_value_within_a_day(clock: FakeClock) -> None:
    emu = Emulator(clock=clock, behaviour=Behaviour(rotation="daily"))
    api = Api(emu)
    first = api.refresh_token
    api.refresh()
    assert api.refresh_token == first
    clock.now += 86_401
    api.refresh()
    assert api.refresh_token != first


def test_expired_access_token_gets_the_lower_case_gateway_envelope(
        api: Api, clock: FakeClock) -> None:
    assert api.call("GET", "preferences").status_code == 200
    clock.now += 3601
    answer = api.call("GET", "preferences")
    assert answer.status_code == 401
    error = answer.json()["fault"]["error"][0]
    assert error["code"] == "3200" and "errorCode=003200" in error["message"]
    assert answer.headers["intuit_tid"]


def test_wrong_secret_and_wrong_company(emulator: Emulator, api: Api) -> None:
    bad = api.http.post(TOKEN_URL, auth=(DEMO_CLIENT_ID, "nope"),
                        data={"grant_type": "refresh_token", "refresh_token": "x"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_client"
    api.realm = "123"
    answer = api.call("GET", "preferences")
    assert answer.status_code == 403 and answer.json()["fault"]["error"][0]["code"] == "3100"


def test_revoke_kills_the_refresh_token(api: Api) -> None:
    api.http.post("https://developer.api.intuit.com/v2/oauth2/tokens/revoke",
                  auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET), json={"token": api.refresh_token})
    assert api.refresh().status_code == 400
