"""Small pieces of a Sales Order and of its preview: what a line says about a Purchase Order,
a rate written exactly, and what a preview shows for an order a run would link."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flx_netsuite.routing import PlannedLine


def create_po(line: PlannedLine, mode: str) -> str | None:
    """What a Sales Order line says about a Purchase Order: "DropShip" on a dropship line
    (create_po mode), "none" (an explicit null) on a line of a Drop Ship Item that is served
    from stock or by an explicit PO (NetSuite would default it to Drop Ship), and None (the
    field left out) on any other item, whose Create PO field NetSuite dims (§10.2)."""
    if line.dropship and mode == "create_po":
        return "DropShip"
    return "none" if line.dropship_item else None


def exact_number(value: Decimal) -> float | Decimal:
    """A float when it writes the same number (as the other amounts are), else the exact
    Decimal: a net rate can carry up to 8 decimals."""
    as_float = float(value)
    return as_float if Decimal(repr(as_float)) == value else value


def link_payload(found: dict[str, str]) -> dict[str, Any]:
    """What a preview shows for an order a run would link instead of create: no request."""
    cash_sale = found.get("type") == "CashSale"
    label = "Cash Sale" if cash_sale else "Sales Order"
    number = f" {found['tranid']}" if found.get("tranid") else ""
    return {"name": "cashSale" if cash_sale else "salesOrder", "action": "link",
            "id": found["id"], "tranId": found.get("tranid", ""),
            "message": f"would link to the existing {label}{number} (internal id "
                       f"{found['id']}); nothing is sent"}
