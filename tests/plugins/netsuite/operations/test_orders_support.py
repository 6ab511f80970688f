"""Order builders and golden-file helpers shared by the send-orders tests (no tests here).

Orders are built against the emulator's seeded account (docs/emulator.md, "The seeded
account"): items FLX-SKU123 (501, drop-ship, Vendor A), VA-SKU123 (502, stock), SKU001 (503),
VB-SKU500 (507, drop-ship, Vendor B); customers 107 Jane Doe (jane@example.com), 108 Acme.
"""

from __future__ import annotations

import copy
import json
import os
from pathlib import Path
from typing import Any

GOLDEN_DIR = Path(__file__).resolve().parents[3] / "fixtures" / "golden" / "orders"
# FLX_UPDATE_GOLDEN=1 .venv/bin/pytest tests/plugins/netsuite/operations/test_orders_golden.py
# rewrites the golden files from the current templates; review the diff before committing.
UPDATE_ENV = "FLX_UPDATE_GOLDEN"

ADDRESS = {"name": "Jane Doe", "address1": "1 Main St", "address2": None, "city": "Austin",
           "region": "TX", "postal_code": "78701", "country": "US", "phone": None}
JANE = {"netsuite_id": None, "email": "jane@example.com", "first_name": "Jane",
        "last_name": "Doe", "company": None, "phone": "+1 555 0100"}


def person(first: str, last: str, email: str | None, **extra: Any) -> dict[str, Any]:
    return {"netsuite_id": None, "email": email, "first_name": first, "last_name": last,
            "company": None, "phone": None, **extra}


def line(line_id: str, sku: str, quantity: int, price: str, title: str = "") -> dict[str, Any]:
    return {"id": line_id, "sku": sku, "title": title or f"{sku} item", "quantity": quantity,
            "unit_price": price, "weight": 1.0}


def internal(fr_id: str, warehouse: str, *items: tuple[str, str, int, str]) -> dict[str, Any]:
    """An internal fulfillment request; items are (order line id, sku, quantity, cost)."""
    return {"id": fr_id, "type": "internal", "warehouse": warehouse,
            "items": [_fr_item(*i) for i in items]}


def external(fr_id: str, vendor: str, name: str,
             *items: tuple[str, str, int, str]) -> dict[str, Any]:
    """A dropship fulfillment request to vendor `vendor` (the profile's tables.vendors key)."""
    return {"id": fr_id, "type": "external", "vendor": {"id": vendor, "name": name},
            "items": [_fr_item(*i) for i in items]}


def _fr_item(line_id: str, sku: str, quantity: int, cost: str) -> dict[str, Any]:
    return {"order_line_id": line_id, "sku": sku, "quantity": quantity, "cost": cost}


def order(order_id: str, lines: list[dict[str, Any]], requests: list[dict[str, Any]], *,
          customer: dict[str, Any] | None = None, **extra: Any) -> dict[str, Any]:
    """A complete, fully routed order of the shopify channel (override anything by keyword)."""
    number = order_id.rsplit("-", 1)[-1]
    data: dict[str, Any] = {
        "id": order_id, "number": number, "channel": "shopify", "source": "main-store",
        "status": "open", "placed_at": "2026-11-20T14:03:00Z", "currency": "USD",
        "customer": copy.deepcopy(customer if customer is not None else JANE),
        "shipping_address": dict(ADDRESS), "billing_address": dict(ADDRESS),
        "lines": lines, "shipping": {"method": "Ground", "amount": "5.00"},
        "tax_total": "0", "discount_total": "0", "fulfillment_requests": requests,
        "custom_fields": {},
    }
    data.update(extra)
    return data


def internal_order(order_id: str, **extra: Any) -> dict[str, Any]:
    """Two stock lines from warehouse MAIN."""
    return order(order_id, [line("L1", "SKU001", 2, "12.50", "Blue mug"),
                            line("L2", "VA-SKU123", 1, "19.99", "Widget (stock)")],
                 [internal(f"FR-{order_id}-1", "MAIN", ("L1", "SKU001", 2, "4.00"),
                           ("L2", "VA-SKU123", 1, "8.00"))], **extra)


def dropship_order(order_id: str, **extra: Any) -> dict[str, Any]:
    """One drop-ship line to Vendor A."""
    return order(order_id, [line("L1", "FLX-SKU123", 2, "19.99", "Widget")],
                 [external(f"FR-{order_id}-1", "V-A", "Vendor A",
                           ("L1", "FLX-SKU123", 2, "9.00"))], **extra)


def exploded_order(order_id: str, **extra: Any) -> dict[str, Any]:
    """The reference page's example: FLX-SKU123 x3 ordered, routed as VA-SKU123 x1 from the
    warehouse and FLX-SKU123 x2 from Vendor A."""
    return order(order_id, [line("L1", "FLX-SKU123", 3, "19.99", "Widget")],
                 [internal(f"FR-{order_id}-1", "MAIN", ("L1", "VA-SKU123", 1, "8.00")),
                  external(f"FR-{order_id}-2", "V-A", "Vendor A",
                           ("L1", "FLX-SKU123", 2, "9.00"))], **extra)


# -- golden files -------------------------------------------------------------------------------


def assert_golden(name: str, actual: Any) -> None:
    """`actual` equals tests/fixtures/golden/orders/<name>.json exactly (key order aside).
    With FLX_UPDATE_GOLDEN=1 the file is (re)written instead."""
    path = GOLDEN_DIR / f"{name}.json"
    text = json.dumps(actual, indent=2, sort_keys=True) + "\n"
    if os.environ.get(UPDATE_ENV):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return
    assert path.is_file(), f"no golden file {path}: run with {UPDATE_ENV}=1 to create it"
    # Text, not parsed values: 5 and 5.0 compare equal in Python but are different payloads.
    assert text == path.read_text(), (
        f"payloads differ from {path.name}; if the change is intended, regenerate with "
        f"{UPDATE_ENV}=1 and review the diff:\n{text}")


def json_output(output: str) -> Any:
    """The JSON document in a CLI output (it starts at the first [ or {)."""
    starts = [i for i in (output.find("["), output.find("{")) if i >= 0]
    return json.loads(output[min(starts):])
