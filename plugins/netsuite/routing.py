"""How an order's lines become Sales Order lines: each order line's share routed to one
fulfillment request is one line (reference page, "exploded SKUs")."""

from __future__ import annotations

from dataclasses import dataclass, fields
from decimal import Decimal
from typing import Any

from plugins.netsuite.common import rate


@dataclass
class PlannedLine:
    """One Sales Order line: an order line's share routed to one fulfillment request."""

    order_line_id: str
    fr_id: str
    fr_type: str
    sku: str
    order_sku: str
    quantity: int
    rate: Decimal
    description: str
    warehouse: str | None = None
    vendor_key: str | None = None
    vendor_name: str | None = None
    cost: Decimal | None = None
    item_id: str = ""
    location_id: str | None = None
    vendor_id: str | None = None
    line: int | None = None  # NetSuite's line number, once read back

    @property
    def dropship(self) -> bool:
        return self.fr_type == "external"

    def summary(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}  # all scalars
        # Fixed-point text: rates are normalised Decimals, and str() would write 10 as "1E+1".
        data["rate"] = format(self.rate, "f")
        data["cost"] = None if self.cost is None else format(self.cost, "f")
        return data


def plan_lines(order: dict[str, Any], sku_level: str) -> list[PlannedLine]:
    """Split the order's lines along its routing (exploded SKUs: reference page example)."""
    by_id = {line["id"]: line for line in order.get("lines", [])}
    planned = []
    for fr in order.get("fulfillment_requests") or []:
        vendor = fr.get("vendor") or {}
        for item in fr.get("items") or []:
            line = by_id[item["order_line_id"]]
            planned.append(PlannedLine(
                order_line_id=line["id"], fr_id=fr["id"], fr_type=fr.get("type", "internal"),
                # A request item without its own SKU ships the ordered one (docs/records.md).
                sku=(item.get("sku") or line["sku"]) if sku_level == "po" else line["sku"],
                order_sku=line["sku"],
                quantity=int(item["quantity"]), rate=rate(line.get("unit_price", "0")),
                description=line.get("title") or "", warehouse=fr.get("warehouse"),
                vendor_key=vendor.get("id"),
                # A vendor that carries its NetSuite id needs no tables.vendors entry.
                vendor_id=str(vendor["netsuite_id"]) if vendor.get("netsuite_id") else None,
                vendor_name=vendor.get("name"),
                cost=None if item.get("cost") in (None, "") else rate(item["cost"]),
            ))
    return planned
