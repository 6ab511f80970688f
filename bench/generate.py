"""Synthetic commerce data for the benchmarks and reliability runs, and the emulator account
it needs.

`catalog_seed()` is a copy of the emulator's bundled seed with a bench catalog added (stock
and drop-ship items, one more vendor, customers that already exist in NetSuite): the emulator
is never edited, it is handed a bigger seed. `generate()` makes orders that are a realistic
mix: internal-only, drop-ship-only and mixed orders, new and returning customers, 1-5 lines,
exploded SKUs (one ordered SKU split between a warehouse SKU and a vendor SKU), plus one
shipment per fulfillment request and the vendor invoices of every drop-ship request (some in
two stages). Everything is deterministic for a given random seed.
"""

from __future__ import annotations

import copy
import json
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

STOCK_ITEMS = 60  # BN-STK-0001..: warehouse stock (also the warehouse twin of BN-DS-k)
DROPSHIP_ITEMS = 60  # BN-DS-0001..: drop-ship items, preferred vendor cycling over VENDORS
SEEDED_CUSTOMERS = 150  # bench customers that NetSuite already has (found by email)
# (commerce vendor key, NetSuite vendor id): two seeded vendors and one the bench adds.
VENDORS = (("V-A", "201"), ("V-B", "202"), ("V-D", "204"))
WAREHOUSES = ("MAIN", "EAST")
ITEM_ID_BASE = 20_000
CUSTOMER_ID_BASE = 30_000
FIRST = ("Ava", "Ben", "Chloe", "Dev", "Elena", "Farid", "Grace", "Hugo", "Ines", "Jon")
LAST = ("Smith", "Okafor", "Nguyen", "Garcia", "Muller", "Rossi", "Kim", "Silva", "Berg")
CITIES = (("Austin", "TX", "78701"), ("Denver", "CO", "80202"), ("Boston", "MA", "02110"),
          ("Seattle", "WA", "98101"), ("Miami", "FL", "33130"), ("Chicago", "IL", "60601"))


def stock_sku(k: int) -> str:
    return f"BN-STK-{k:04d}"


def dropship_sku(k: int) -> str:
    return f"BN-DS-{k:04d}"


def vendor_of(k: int) -> tuple[str, str]:
    """The vendor (key, NetSuite id) that drop-ships item BN-DS-k."""
    return VENDORS[k % len(VENDORS)]


def _price(k: int) -> Decimal:
    return Decimal(500 + (k * 379) % 9500) / 100  # 5.00 .. 99.99, fixed per item


def _cost(k: int) -> Decimal:
    return (_price(k) * Decimal("0.55")).quantize(Decimal("0.01"))


def customer_email(n: int) -> str:
    return f"bench-{n:06d}@example.test"


def _customer(n: int) -> dict[str, Any]:
    """Customer number n of the bench population (every 7th is a company)."""
    first, last = FIRST[n % len(FIRST)], LAST[(n // len(FIRST)) % len(LAST)]
    company = f"Bench Supply {n:06d}" if n % 7 == 3 else None
    return {"email": customer_email(n), "first_name": first, "last_name": f"{last}{n:06d}",
            "company": company, "phone": f"+1 555 {n % 10_000:04d}"}


def catalog_seed(base: dict[str, Any] | None = None) -> dict[str, Any]:
    """The emulator's default seed (or `base`) plus the bench catalog and customers."""
    if base is None:
        text = resources.files("flx_netsuite.emulator").joinpath("seed.json").read_text()
        base = json.loads(text)
    seed = copy.deepcopy(base)
    records = seed["records"]
    records["vendor"].append({
        "id": "204", "entityId": "Vendor D", "companyName": "Vendor D", "externalId": "V-D",
        "email": "orders@vendor-d.example", "subsidiary": {"id": "1"}, "currency": {"id": "1"}})
    items = records["inventoryItem"]
    for k in range(1, STOCK_ITEMS + 1):
        items.append({"id": str(ITEM_ID_BASE + k), "itemId": stock_sku(k),
                      "displayName": f"Bench stock item {k}", "isDropShipItem": False,
                      "cost": float(_cost(k)), "basePrice": float(_price(k)),
                      "subsidiary": {"id": "1"}})
    for k in range(1, DROPSHIP_ITEMS + 1):
        items.append({"id": str(ITEM_ID_BASE + 5_000 + k), "itemId": dropship_sku(k),
                      "displayName": f"Bench drop-ship item {k}", "isDropShipItem": True,
                      "vendor": {"id": vendor_of(k)[1]}, "cost": float(_cost(k)),
                      "basePrice": float(_price(k)), "subsidiary": {"id": "1"}})
    for n in range(SEEDED_CUSTOMERS):
        c = _customer(n)
        entity: dict[str, Any] = {
            "id": str(CUSTOMER_ID_BASE + n), "email": c["email"], "phone": c["phone"],
            "subsidiary": {"id": "1"}, "currency": {"id": "1"}, "category": {"id": "1"},
            "entityStatus": {"id": "13"}}
        if c["company"]:
            entity.update(entityId=c["company"], isPerson=False, companyName=c["company"])
        else:
            entity.update(entityId=f"{c['first_name']} {c['last_name']}", isPerson=True,
                          firstName=c["first_name"], lastName=c["last_name"])
        records["customer"].append(entity)
    return seed


def bench_profile() -> dict[str, Any]:
    """The shipped demo mapping profile, with the bench's extra vendor mapped."""
    text = resources.files("flx_netsuite.mappings").joinpath("demo.json").read_text()
    profile: dict[str, Any] = json.loads(text)
    profile["name"] = "bench"
    profile["description"] = "flx benchmarks: the demo profile plus the bench catalog's vendor."
    profile["tables"]["vendors"].update(dict(VENDORS))
    return profile


@dataclass
class Dataset:
    orders: list[dict[str, Any]] = field(default_factory=list)
    shipments: list[dict[str, Any]] = field(default_factory=list)
    vendor_bills: list[dict[str, Any]] = field(default_factory=list)
    shapes: dict[str, int] = field(default_factory=dict)  # internal / dropship / mixed counts
    customers: list[int] = field(default_factory=list)  # customer numbers, first use order

    def counts(self) -> dict[str, int]:
        return {"orders": len(self.orders), "shipments": len(self.shipments),
                "vendor_bills": len(self.vendor_bills)}


class _Builder:
    def __init__(self, rng: random.Random, prefix: str) -> None:
        self.rng, self.prefix = rng, prefix
        self.used: list[int] = []

    def pick_customer(self, returning: float) -> int:
        """A returning customer with probability `returning`, else one not seen before (some
        of those already exist in NetSuite, the others flx has to create)."""
        if self.used and self.rng.random() < returning:
            return self.rng.choice(self.used)
        if self.rng.random() < 0.2:
            n = self.rng.randrange(0, SEEDED_CUSTOMERS)  # known to NetSuite, new to flx
        else:
            n = SEEDED_CUSTOMERS + len(self.used)  # grows with every pick: never reused
        self.used.append(n)
        return n

    def order(self, number: int, shape: str, customer_n: int) -> dict[str, Any]:
        rng = self.rng
        order_id = f"{self.prefix}-{number:06d}"
        city, region, postal = rng.choice(CITIES)
        c = _customer(customer_n)
        name = c["company"] or f"{c['first_name']} {c['last_name']}"
        addr = {"name": name, "address1": f"{rng.randint(1, 999)} Bench St", "address2": None,
                "city": city, "region": region, "postal_code": postal, "country": "US",
                "phone": None}
        lines, frs = self._lines_and_routing(order_id, shape)
        hour = rng.randint(0, 23)
        return {
            "id": order_id, "number": f"{self.prefix}{number:06d}",
            "channel": rng.choice(("shopify", "amazon")), "source": "bench-store",
            "status": "open", "placed_at": f"2026-11-{1 + number % 28:02d}T{hour:02d}:15:00Z",
            "currency": "USD", "customer": {"netsuite_id": None, **c},
            "shipping_address": addr, "billing_address": dict(addr), "lines": lines,
            "shipping": {"method": rng.choice(("Ground", "2-Day", "Overnight")),
                         "amount": f"{rng.choice((0, 4.99, 7.5, 12))}"},
            "tax_total": "0", "discount_total": "0", "fulfillment_requests": frs,
            "custom_fields": {"gift_message": "Enjoy!"} if rng.random() < 0.2 else {},
        }

    def _lines_and_routing(self, order_id: str, shape: str,
                           ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng = self.rng
        n_lines = rng.randint(1, 5)
        lines, internal, external = [], {}, {}  # warehouse / vendor key -> FR items
        for i in range(1, n_lines + 1):
            qty = rng.randint(1, 4)
            kind = shape if shape != "mixed" else rng.choice(("internal", "dropship",
                                                              "exploded"))
            if kind == "exploded" and qty < 2:
                qty = 2
            k = rng.randint(1, DROPSHIP_ITEMS if kind != "internal" else STOCK_ITEMS)
            order_sku = stock_sku(k) if kind == "internal" else dropship_sku(k)
            line_id = f"L{i}"
            lines.append({"id": line_id, "sku": order_sku, "title": f"Bench item {k}",
                          "quantity": qty, "unit_price": str(_price(k)),
                          "weight": round(0.2 + (k % 9) * 0.35, 2)})
            vendor = vendor_of(k)
            if kind == "internal":
                internal.setdefault(rng.choice(WAREHOUSES), []).append(
                    {"order_line_id": line_id, "sku": order_sku, "quantity": qty,
                     "cost": str(_cost(k))})
            elif kind == "dropship":
                external.setdefault(vendor, []).append(
                    {"order_line_id": line_id, "sku": order_sku, "quantity": qty,
                     "cost": str(_cost(k))})
            else:  # exploded: part from the warehouse twin, the rest drop-shipped
                from_stock = rng.randint(1, qty - 1)
                internal.setdefault("MAIN", []).append(
                    {"order_line_id": line_id, "sku": stock_sku(k), "quantity": from_stock,
                     "cost": str(_cost(k))})
                external.setdefault(vendor, []).append(
                    {"order_line_id": line_id, "sku": order_sku, "quantity": qty - from_stock,
                     "cost": str(_cost(k))})
        frs: list[dict[str, Any]] = []
        for warehouse, items in internal.items():
            frs.append({"id": f"FR-{order_id}-{len(frs) + 1}", "type": "internal",
                        "warehouse": warehouse, "items": items})
        for (key, _ns_id), items in external.items():
            frs.append({"id": f"FR-{order_id}-{len(frs) + 1}", "type": "external",
                        "vendor": {"id": key, "name": f"Vendor {key[-1]}"}, "items": items})
        return lines, frs

    def shipments_and_bills(self, order: dict[str, Any],
                            ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        rng, day = self.rng, order["placed_at"][:10]
        shipments, bills = [], []
        for fr in order["fulfillment_requests"]:
            fr_id = fr["id"]
            tracking = [f"1Z{rng.randrange(10**15):015d}" for _ in range(rng.choice((1, 1, 2)))]
            shipments.append({
                "id": f"SH-{fr_id}", "order_id": order["id"], "fulfillment_request_id": fr_id,
                "shipped_at": f"{day}T23:40:00Z", "carrier": "UPS", "method": "Ground",
                "tracking_numbers": tracking,
                "items": [{"sku": it["sku"], "quantity": it["quantity"]} for it in fr["items"]],
            })
            if fr["type"] != "external":
                continue
            items = [{"sku": it["sku"], "quantity": it["quantity"], "cost": it["cost"]}
                     for it in fr["items"]]
            stages = [items]
            if len(items) >= 2 and rng.random() < 0.3:  # staged billing: two invoices
                stages = [items[:1], items[1:]]
            for n, stage in enumerate(stages, 1):
                bills.append({"id": f"VB-{fr_id}-{n}", "order_id": order["id"],
                              "fulfillment_request_id": fr_id, "number": f"INV-{fr_id}-{n}",
                              "invoiced_at": f"{day}T23:50:00Z", "items": stage})
        return shipments, bills


def iter_dataset(n_orders: int, *, seed: int = 7, prefix: str = "BN",
                 shapes: Iterable[tuple[str, float]] = (("internal", 0.5), ("dropship", 0.3),
                                                        ("mixed", 0.2)),
                 returning: float = 0.5, into: Dataset | None = None,
                 ) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]]:
    """(order, its shipments, its vendor bills), one order at a time (ids PREFIX-000001...),
    so that 100k orders can be written without holding them all."""
    rng = random.Random(f"{seed}:{prefix}")
    builder = _Builder(rng, prefix)
    names, weights = zip(*shapes, strict=True)
    for number in range(1, n_orders + 1):
        shape = rng.choices(names, weights)[0]
        order = builder.order(number, shape, builder.pick_customer(returning))
        if into is not None:
            into.shapes[shape] = into.shapes.get(shape, 0) + 1
        yield (order, *builder.shipments_and_bills(order))
    if into is not None:
        into.customers = list(dict.fromkeys(builder.used))


def generate(n_orders: int, **options: Any) -> Dataset:
    """`n_orders` orders with their shipments and vendor bills (see `iter_dataset`)."""
    data = Dataset()
    for order, shipments, bills in iter_dataset(n_orders, into=data, **options):
        data.orders.append(order)
        data.shipments += shipments
        data.vendor_bills += bills
    return data


def returning_orders(n_orders: int, shape: str, customers_from: Dataset, *, prefix: str,
                     seed: int = 11) -> list[dict[str, Any]]:
    """Orders from customers flx has already met, for items it has already looked up: what
    an order costs once caches are warm."""
    rng = random.Random(f"{seed}:{prefix}")
    builder = _Builder(rng, prefix)
    known = customers_from.customers
    return [builder.order(number, shape, rng.choice(known))
            for number in range(1, n_orders + 1)]


def ndjson_lines(data: Dataset) -> Iterator[str]:
    for kind, records in (("order", data.orders), ("shipment", data.shipments),
                          ("vendor_bill", data.vendor_bills)):
        for record in records:
            yield json.dumps({"kind": kind, **record}, separators=(",", ":"))


def write_ndjson(path: Path, data: Dataset) -> Path:
    with path.open("w", encoding="utf-8") as handle:
        for line in ndjson_lines(data):
            handle.write(line + "\n")
    return path


def write_orders_ndjson(path: Path, n_orders: int, **options: Any) -> Path:
    """`n_orders` orders only (no shipments or bills), streamed to NDJSON."""
    with path.open("w", encoding="utf-8") as handle:
        for order, _shipments, _bills in iter_dataset(n_orders, **options):
            handle.write(json.dumps({"kind": "order", **order}, separators=(",", ":")) + "\n")
    return path


def write_json(path: Path, **kinds: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(kinds, separators=(",", ":")), encoding="utf-8")
    return path
