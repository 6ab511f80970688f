"""The baseline: the bench's orders sent the way a careful user would script it with the PyPI
`netsuite` package (its `NetSuiteRestApi`, TBA with HMAC-SHA256): one order at a time, a
SuiteQL lookup of the customer by email (created when missing), one SuiteQL lookup of the
item for each line, then the Sales Order create.

Runs inside bench/.baseline-venv (the package pins httpx < 0.28, which flx does not), as a
subprocess of bench/run.py, with only the standard library and that package: it imports
nothing from flx. Usage:

    python bench/baseline.py --base-url URL --orders FILE [--limit N] [--profile FILE]

Credentials come from NS_CLIENT_ID, NS_CLIENT_SECRET, NS_TOKEN_ID, NS_TOKEN_SECRET. It prints
one JSON object: orders sent and failed, requests, wall seconds.

Adapting the package to the emulator took one change and no change to its signing: its URLs
are always https://<account>.suitetalk.api.netsuite.com (`_make_url`), so a subclass points
them at the emulator's loopback address. authlib (its OAuth 1 signer) accepts plain http for
loopback addresses. Its HMAC-SHA256 signature, realm and oauth_body_hash are accepted by the
emulator as they are.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
import warnings
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

# authlib warns that plain httpx is deprecated in favour of httpx2; not ours to fix.
warnings.filterwarnings("ignore", category=DeprecationWarning)
warnings.filterwarnings("ignore", message=".*httpx2.*")

from netsuite import Config, NetSuiteRestApi, TokenAuth  # noqa: E402
from netsuite.exceptions import NetsuiteAPIRequestError  # noqa: E402


class LoopbackApi(NetSuiteRestApi):
    """NetSuiteRestApi whose requests go to `base_url` instead of NetSuite's host."""

    def __init__(self, config: Config, base_url: str) -> None:
        super().__init__(config, concurrent_requests=1)
        self.base_url = base_url.rstrip("/")
        self.requests = 0

    def _make_url(self, subpath: str) -> str:
        return f"{self.base_url}/services/rest{subpath}"

    async def _request_impl(self, method: str, subpath: str, **request_kw: Any) -> Any:
        self.requests += 1
        return await super()._request_impl(method, subpath, **request_kw)


def quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def money(value: Any) -> float:
    return float(Decimal(str(value)).quantize(Decimal("0.01"), ROUND_HALF_UP))


def address(addr: dict[str, Any] | None) -> dict[str, Any] | None:
    if not addr:
        return None
    return {"addressee": addr.get("name") or "", "addr1": addr.get("address1") or "",
            "city": addr.get("city") or "", "state": addr.get("region") or "",
            "zip": addr.get("postal_code") or "", "country": {"id": addr.get("country", "US")}}


class Script:
    """What the user's script does for one order."""

    def __init__(self, api: LoopbackApi, profile: dict[str, Any]) -> None:
        self.api = api
        self.vendors: dict[str, str] = profile["tables"]["vendors"]
        self.locations: dict[str, str] = profile["tables"]["locations"]

    async def customer(self, order: dict[str, Any]) -> str:
        c = order["customer"]
        found = await self.api.suiteql(
            f"SELECT id FROM customer WHERE LOWER(email) = {quote(c['email'].lower())}", limit=1)
        if found["items"]:
            return str(found["items"][0]["id"])
        body: dict[str, Any] = {"externalId": f"cust-{order['id']}", "isPerson": not c["company"],
                                "email": c["email"], "subsidiary": {"id": "1"}}
        if c["company"]:
            body["companyName"] = c["company"]
        else:
            body.update(firstName=c["first_name"], lastName=c["last_name"])
        response = await self.api.request("POST", "/record/v1/customer", json=body)
        if response.status_code != 204:
            raise NetsuiteAPIRequestError(response.status_code, response.text)
        return response.headers["location"].rstrip("/").rsplit("/", 1)[-1]

    async def item(self, sku: str) -> str:
        found = await self.api.suiteql(f"SELECT id FROM item WHERE itemid = {quote(sku)}",
                                       limit=1)
        if not found["items"]:
            raise LookupError(f"no item {sku}")
        return str(found["items"][0]["id"])

    async def send(self, order: dict[str, Any]) -> None:
        entity = await self.customer(order)
        prices = {line["id"]: line for line in order["lines"]}
        lines = []
        for fr in order["fulfillment_requests"]:
            for it in fr["items"]:
                line = prices[it["order_line_id"]]
                rate = Decimal(str(line["unit_price"]))
                entry: dict[str, Any] = {
                    "item": {"id": await self.item(it["sku"])}, "quantity": it["quantity"],
                    "rate": float(rate), "amount": money(rate * it["quantity"])}
                if fr["type"] == "external":
                    entry.update(createPo={"id": "DropShip"},
                                 poVendor={"id": self.vendors[fr["vendor"]["id"]]},
                                 poRate=float(Decimal(str(it["cost"]))))
                else:
                    entry.update(createPo=None,
                                 location={"id": self.locations[fr["warehouse"]]})
                lines.append(entry)
        body = {"externalId": order["id"], "entity": {"id": entity},
                "otherRefNum": order["number"], "orderStatus": {"id": "B"},
                "subsidiary": {"id": "1"}, "currency": {"id": "1"},
                "shippingCost": money(order["shipping"]["amount"]),
                "shippingAddress": address(order.get("shipping_address")),
                "item": {"items": lines}}
        response = await self.api.request("POST", "/record/v1/salesOrder", json=body)
        if response.status_code != 204:
            raise NetsuiteAPIRequestError(response.status_code, response.text)


def read_orders(path: str, limit: int | None) -> list[dict[str, Any]]:
    orders = []
    with open(path, encoding="utf-8") as handle:
        for line in handle:
            entry = json.loads(line)
            if entry.get("kind") == "order":
                orders.append(entry)
                if limit and len(orders) >= limit:
                    break
    return orders


async def run(args: argparse.Namespace) -> dict[str, Any]:
    env = os.environ
    config = Config(account="1234567_SB1", auth=TokenAuth(
        consumer_key=env["NS_CLIENT_ID"], consumer_secret=env["NS_CLIENT_SECRET"],
        token_id=env["NS_TOKEN_ID"], token_secret=env["NS_TOKEN_SECRET"]))
    api = LoopbackApi(config, args.base_url)
    with open(args.profile, encoding="utf-8") as handle:
        script = Script(api, json.load(handle))
    orders = read_orders(args.orders, args.limit)
    sent, failures = 0, []
    started = time.perf_counter()
    for order in orders:  # sequential, as such scripts are written
        try:
            await script.send(order)
            sent += 1
        except (NetsuiteAPIRequestError, LookupError) as exc:
            failures.append(f"{order['id']}: {str(exc)[:200]}")
    wall = time.perf_counter() - started
    return {"orders": len(orders), "sent": sent, "failed": len(failures),
            "failures": failures[:5], "requests": api.requests, "wall_s": round(wall, 3),
            "orders_per_s": round(sent / wall, 3) if wall else 0.0,
            "requests_per_order": round(api.requests / max(len(orders), 1), 3),
            "package": "netsuite", "python": sys.version.split()[0]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--orders", required=True, help="the bench's NDJSON file")
    parser.add_argument("--profile", required=True, help="the bench's mapping profile (JSON)")
    parser.add_argument("--limit", type=int, default=None)
    print(json.dumps(asyncio.run(run(parser.parse_args()))))


if __name__ == "__main__":
    main()
