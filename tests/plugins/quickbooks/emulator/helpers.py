"""A thin API client over the emulator transport, for the emulator's own tests."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from flx_quickbooks.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REALM,
    Emulator,
    EmulatorTransport,
)

API = "https://sandbox-quickbooks.api.intuit.com"
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"


class FakeClock:
    """Moves on by `tick` seconds each time it is read, so tests stay under the rate limits."""

    def __init__(self, now: float = 1_800_000_000.0, tick: float = 0.15) -> None:
        self.now = now
        self.tick = tick

    def __call__(self) -> float:
        self.now += self.tick
        return self.now


class Api:
    def __init__(self, emulator: Emulator, realm: str = DEMO_REALM) -> None:
        self.emu = emulator
        self.realm = realm
        self.http = httpx.Client(transport=EmulatorTransport(emulator))
        self.refresh_token = emulator.oauth.issue(DEMO_CLIENT_ID, realm)
        self.access_token = ""
        self.refresh()

    def refresh(self) -> httpx.Response:
        response = self.http.post(TOKEN_URL, auth=(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET),
                                  data={"grant_type": "refresh_token",
                                        "refresh_token": self.refresh_token})
        if response.status_code == 200:
            self.access_token = response.json()["access_token"]
            self.refresh_token = response.json()["refresh_token"]
        return response

    def call(self, method: str, path: str, *, json: Any = None, content: str | None = None,
             params: dict[str, Any] | None = None, headers: dict[str, str] | None = None
             ) -> httpx.Response:
        return self.http.request(
            method, f"{API}/v3/company/{self.realm}/{path}",
            params={"minorversion": 75, **(params or {})}, json=json, content=content,
            headers={"Authorization": f"Bearer {self.access_token}",
                     "Accept": "application/json", **(headers or {})})

    def create(self, entity: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        response = self.call("POST", entity.lower(), json=body, params=params)
        data = response.json()
        assert response.status_code == 200 and "Fault" not in data, data
        return data[entity]

    def fault(self, entity: str, body: dict[str, Any], **params: Any) -> dict[str, Any]:
        response = self.call("POST", entity.lower(), json=body, params=params)
        data = response.json()
        assert "Fault" in data, data
        return data["Fault"]["Error"][0]

    def query(self, text: str) -> dict[str, Any]:
        response = self.call("GET", "query", params={"query": text})
        return response.json()

    def item_id(self, sku: str) -> str:
        rows = self.query(f"SELECT * FROM Item WHERE Sku = '{sku}'")
        return rows["QueryResponse"]["Item"][0]["Id"]

    def vendor_id(self, name: str) -> str:
        rows = self.query(f"SELECT * FROM Vendor WHERE DisplayName = '{name}'")
        return rows["QueryResponse"]["Vendor"][0]["Id"]

    def customer(self, name: str = "Ada Lovelace") -> dict[str, Any]:
        return self.create("Customer", {"DisplayName": name,
                                        "PrimaryEmailAddr": {"Address": "ada@example.com"}})

    def sale_line(self, sku: str, qty: int, price: str) -> dict[str, Any]:
        return {"DetailType": "SalesItemLineDetail",
                "Amount": str(Decimal(price) * qty),
                "SalesItemLineDetail": {"ItemRef": {"value": self.item_id(sku)}, "Qty": qty,
                                        "UnitPrice": price}}

    def po_line(self, sku: str, qty: int, cost: str) -> dict[str, Any]:
        return {"DetailType": "ItemBasedExpenseLineDetail",
                "Amount": str(Decimal(cost) * qty),
                "ItemBasedExpenseLineDetail": {"ItemRef": {"value": self.item_id(sku)},
                                               "Qty": qty, "UnitPrice": cost}}
