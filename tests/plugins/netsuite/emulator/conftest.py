from __future__ import annotations

from collections.abc import Iterator

import pytest

from flx_netsuite.emulator import Emulator

from .helpers import NS


@pytest.fixture
def emu() -> Emulator:
    return Emulator()


@pytest.fixture
def ns(emu: Emulator) -> Iterator[NS]:
    client = NS(emu)
    yield client
    client.close()
