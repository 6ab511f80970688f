"""The NetSuite connector passes the shipped connector suite (flx.testing.ConnectorSuite)
against its emulator: the standard tests every connector package runs on itself."""

from __future__ import annotations

import json
from importlib import resources
from typing import Any

import httpx
import pytest

from flx.testing import ConnectorSuite
from flx_netsuite import plugin as netsuite_plugin
from flx_netsuite.emulator import Emulator, EmulatorTransport
from flx_netsuite.governance import RetryPolicy

SECRETS = {"NS_CLIENT_ID": "client_id", "NS_CLIENT_SECRET": "client_secret",
           "NS_TOKEN_ID": "token_id", "NS_TOKEN_SECRET": "token_secret"}


class TestNetSuite(ConnectorSuite):
    plugin = netsuite_plugin
    connector = "netsuite"

    @pytest.fixture(autouse=True)
    def _no_backoff_waits(self, monkeypatch: pytest.MonkeyPatch) -> None:
        """Retries without the wait: the outage cases take milliseconds, not minutes."""
        original = RetryPolicy.__init__

        def no_wait(policy: RetryPolicy, **kwargs: Any) -> None:
            kwargs["sleep"] = lambda seconds: None
            original(policy, **kwargs)

        monkeypatch.setattr(RetryPolicy, "__init__", no_wait)

    def setup_method(self) -> None:
        self.emulator = Emulator()

    def settings(self) -> dict[str, Any]:
        credentials = self.emulator.credential_env()
        return {"account_id": "1234567_SB1",
                "base_url": "https://1234567-sb1.suitetalk.api.netsuite.com",
                **{key: credentials[variable] for variable, key in SECRETS.items()}}

    def transport(self) -> httpx.BaseTransport:
        return EmulatorTransport(self.emulator)

    def operation_settings(self, operation: str) -> dict[str, Any]:
        return {"mapping": "demo"}  # the emulator account's ids

    def records(self) -> dict[str, list[dict[str, Any]]]:
        data = json.loads(resources.files("flx_netsuite").joinpath("data/demo.json")
                          .read_text())
        # ORD-1004 names a SKU the account lacks on purpose (the demo shows a failure)
        data["orders"] = [o for o in data["orders"] if o["id"] != "ORD-1004"]
        for shipment in data["shipments"]:  # and SHP-3 a ship method the profile lacks
            shipment.setdefault("method", "Ground")
        return dict(data)

    def duplicates(self) -> int:
        return int(self.emulator.stats()["duplicate_external_ids"])
