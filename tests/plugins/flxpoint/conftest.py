from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from flx_flxpoint.emulator import Emulator, EmulatorTransport


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(rate=None)


@pytest.fixture
def http(emulator: Emulator) -> Iterator[httpx.Client]:
    """A raw client holding the account token, for emulator tests."""
    token = emulator.token_of_type("account")
    with httpx.Client(transport=EmulatorTransport(emulator), base_url="http://flxpoint.test",
                      headers={"X-API-TOKEN": token}) as client:
        yield client
