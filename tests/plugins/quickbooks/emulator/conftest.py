from __future__ import annotations

import pytest

from flx_quickbooks.emulator import Emulator

from .helpers import Api, FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    return Emulator(clock=clock)


@pytest.fixture
def api(emulator: Emulator) -> Api:
    return Api(emulator)
