"""The QuickBooks connector passes the shipped connector suite (flx.testing.ConnectorSuite)
against its emulator: the standard tests every connector package runs on itself."""

from __future__ import annotations

import json
from collections import Counter
from importlib import resources
from typing import Any

import httpx
import pytest

from flx.testing import ConnectorSuite
from flx_quickbooks import plugin as quickbooks_plugin
from flx_quickbooks.client import QboClient
from flx_quickbooks.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REALM,
    Behaviour,
    Emulator,
    EmulatorTransport,
)


class TestQuickBooks(ConnectorSuite):
    plugin = quickbooks_plugin
    connector = "quickbooks"

    @pytest.fixture(autouse=True)
    def _quick(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Retries without the wait: the outage cases take milliseconds."""
        monkeypatch.setattr(QboClient, "_backoff", staticmethod(lambda attempt, error: 0.0))

    def setup_method(self) -> None:
        self.emulator = Emulator(behaviour=Behaviour(per_second=10_000, per_minute=100_000))

    def settings(self) -> dict[str, Any]:
        return {"client_id": DEMO_CLIENT_ID, "client_secret": DEMO_CLIENT_SECRET,
                "realm_id": DEMO_REALM,
                "refresh_token": self.emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM),
                "requests_per_second": 10_000, "requests_per_minute": 100_000}

    def transport(self) -> httpx.BaseTransport:
        return EmulatorTransport(self.emulator)

    def operation_settings(self, operation: str) -> dict[str, Any]:
        return {"mapping": "demo"}

    def records(self) -> dict[str, list[dict[str, Any]]]:
        data = json.loads(resources.files("flx_quickbooks").joinpath("data/demo.json")
                          .read_text())
        data["orders"] = [o for o in data["orders"] if o["id"] != "ORD-1003"]  # unknown SKU
        return dict(data)

    def duplicates(self) -> int:
        books = self.emulator.company(DEMO_REALM)
        numbers = Counter((entity, obj.get("DocNumber"))
                          for entity in ("SalesReceipt", "PurchaseOrder", "Bill")
                          for obj in books.objects[entity].values())
        names = Counter(c["DisplayName"] for c in books.objects["Customer"].values())
        return sum(n - 1 for n in [*numbers.values(), *names.values()] if n > 1)
