"""A QboClient wired to an in-process emulator, for the client and connector tests."""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from flx_quickbooks.client import QboClient
from flx_quickbooks.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REALM,
    Emulator,
    EmulatorTransport,
)
from flx_quickbooks.oauth import MemoryTokenStore, TokenManager, TokenSet
from flx_quickbooks.settings import QboSettings

from .emulator.helpers import FakeClock

SETTINGS = QboSettings(realm_id=DEMO_REALM, client_id=DEMO_CLIENT_ID,
                       client_secret=DEMO_CLIENT_SECRET, name="qb")


@dataclass
class Wired:
    emu: Emulator
    clock: FakeClock
    store: MemoryTokenStore
    client: QboClient
    slept: list[float] = field(default_factory=list)

    def manager(self) -> TokenManager:
        """Another process's token manager on the same store."""
        return TokenManager(SETTINGS, self.store,
                            httpx.Client(transport=EmulatorTransport(self.emu)), clock=self.clock)


def wire(emu: Emulator | None = None, clock: FakeClock | None = None,
         store: MemoryTokenStore | None = None) -> Wired:
    clock = clock or FakeClock()
    emu = emu or Emulator(clock=clock)
    store = store or MemoryTokenStore(TokenSet(emu.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM),
                                               realm_id=DEMO_REALM))
    transport = EmulatorTransport(emu)
    tokens = TokenManager(SETTINGS, store, httpx.Client(transport=transport), clock=clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.now += seconds

    client = QboClient(SETTINGS, httpx.Client(transport=transport, base_url=SETTINGS.api_url),
                       tokens, sleep=sleep)
    return Wired(emu, clock, store, client, slept)
