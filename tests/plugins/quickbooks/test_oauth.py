"""Access tokens refreshed before expiry, refresh tokens rotated without ever being lost, and a
refused refresh reported with its fix."""

from __future__ import annotations

import httpx
import pytest

from flx import AuthenticationError
from flx_quickbooks.emulator import (
    DEMO_CLIENT_ID,
    DEMO_REALM,
    Behaviour,
    Emulator,
    EmulatorTransport,
)
from flx_quickbooks.oauth import MemoryTokenStore, TokenManager, TokenSet

from .emulator.helpers import FakeClock
from .helpers import SETTINGS, wire


def test_first_call_refreshes_and_stores_the_rotated_token_first() -> None:
    w = wire()
    old = w.store.tokens.refresh_token  # type: ignore[union-attr]
    w.client.preferences()
    assert w.store.saves == 1 and w.store.tokens.refresh_token != old  # type: ignore[union-attr]
    assert w.store.tokens.refresh_token in w.emu.oauth.refresh_tokens  # type: ignore[union-attr]
    w.client.preferences()
    assert w.emu.oauth.refreshes == 1


def test_refresh_happens_before_expiry_not_after_a_failure() -> None:
    w = wire()
    w.client.preferences()
    w.clock.now += 3600 - 200  # still valid at Intuit, but inside the 300 s leeway
    w.client.preferences()
    assert w.emu.oauth.refreshes == 2


def test_two_processes_sharing_the_store_never_lose_the_token() -> None:
    w = wire()
    a, b = w.manager(), w.manager()
    for _ in range(20):
        a.access_token()
        b.access_token()
        w.clock.now += 3600
    assert a.refreshes + b.refreshes == w.emu.oauth.refreshes == 20
    assert w.store.tokens.refresh_token in w.emu.oauth.refresh_tokens  # type: ignore[union-attr]


def test_a_401_refreshes_once_and_retries() -> None:
    w = wire()
    w.client.preferences()
    w.emu.oauth.access_tokens.clear()  # Intuit forgot the access token
    assert w.client.preferences()["SalesFormsPrefs"]
    assert w.emu.oauth.refreshes == 2


def test_a_refused_refresh_is_an_abort_with_the_fix() -> None:
    w = wire(store=MemoryTokenStore(TokenSet("RT-dead", realm_id=DEMO_REALM)))
    with pytest.raises(AuthenticationError) as caught:
        w.client.preferences()
    assert "flx connections authorize qb" in str(caught.value)
    assert "RT-dead" not in str(caught.value)


class CrashOnSave(MemoryTokenStore):
    def save(self, tokens: TokenSet) -> None:
        raise KeyboardInterrupt("killed between refresh and store")


@pytest.mark.parametrize("rotation, survives", [("daily", True), ("every_refresh", False)])
def test_killed_between_refresh_and_store(rotation: str, survives: bool) -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock, behaviour=Behaviour(rotation=rotation))
    first = TokenSet(emu.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM), realm_id=DEMO_REALM)
    http = httpx.Client(transport=EmulatorTransport(emu))
    with pytest.raises(KeyboardInterrupt):
        TokenManager(SETTINGS, CrashOnSave(first), http, clock=clock).access_token()
    again = TokenManager(SETTINGS, MemoryTokenStore(first), http, clock=clock)
    if survives:
        assert again.access_token().startswith("AT-")
    else:
        with pytest.raises(AuthenticationError, match="authorize"):
            again.access_token()


def test_adopting_a_playground_token_and_exchanging_a_code() -> None:
    clock = FakeClock()
    emu = Emulator(clock=clock)
    store = MemoryTokenStore()
    manager = TokenManager(SETTINGS, store, httpx.Client(transport=EmulatorTransport(emu)),
                           clock=clock)
    adopted = manager.adopt(emu.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM), DEMO_REALM)
    assert store.tokens == adopted and adopted.access_token
    location = httpx.Client(transport=EmulatorTransport(emu)).get(
        SETTINGS.authorize_url, params={"client_id": DEMO_CLIENT_ID, "state": "x",
                                        "redirect_uri": "http://localhost:1/cb"}
    ).headers["location"]
    code = httpx.URL(location).params["code"]
    tokens = manager.exchange_code(code, "http://localhost:1/cb", DEMO_REALM)
    assert tokens.realm_id == DEMO_REALM and store.tokens == tokens
    assert tokens.hard_expires_at is not None


def test_a_refresh_token_setting_is_used_only_while_none_is_stored() -> None:
    from dataclasses import replace

    clock = FakeClock()
    emu = Emulator(clock=clock)
    first = emu.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM)
    store = MemoryTokenStore()
    http = httpx.Client(transport=EmulatorTransport(emu))
    settings = replace(SETTINGS, refresh_token=first)
    TokenManager(settings, store, http, clock=clock).access_token()
    assert store.tokens is not None and store.tokens.refresh_token != first
    clock.now += 3600
    # the setting's token is dead now (rotated); the stored one is used
    assert TokenManager(settings, store, http, clock=clock).access_token()


def test_tokens_never_show_in_a_repr() -> None:
    tokens = TokenSet("RT-secret-value", access_token="AT-secret-value", realm_id="1")
    assert "secret-value" not in repr(tokens)
