"""The demo company: the same SKUs and vendors as the NetSuite emulator, so one set of sample
records runs against either."""

from __future__ import annotations

from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .books import Books

DEMO_REALM = "9130350000000001"
DEMO_CLIENT_ID = "flx-demo-client-id-not-a-secret"
DEMO_CLIENT_SECRET = "flx-demo-client-secret-not-a-secret"

ITEMS = [
    ("FLX-SKU123", "Widget (drop-ship)", "19.99", "9.00"),
    ("VA-SKU123", "Widget (warehouse stock)", "19.99", "8.00"),
    ("SKU001", "Small gadget", "9.95", "4.10"),
    ("SKU002", "Large gadget", "24.50", "11.25"),
    ("SKU003", "Gadget case", "6.00", "2.00"),
    ("SKU004", "Gadget charger", "14.99", "5.40"),
    ("VB-SKU500", "Garden hose 15m", "29.00", "12.00"),
    ("VB-SKU501", "Garden hose 30m", "44.00", "18.50"),
    ("VC-SKU900", "Maple bench", "199.00", "90.00"),
]
VENDORS = [("Vendor A", "orders@vendor-a.example"), ("Vendor B", "po@vendor-b.example"),
           ("Vendor C", "")]


def seed_demo(books: Books) -> None:
    for sku, name, price, cost in ITEMS:
        books.seed("Item", {"Name": name, "Sku": sku, "Type": "NonInventory",
                            "UnitPrice": Decimal(price), "PurchaseCost": Decimal(cost)})
    books.seed("Item", {"Name": "Shipping", "Type": "Service"})
    for name, email in VENDORS:
        vendor: dict[str, Any] = {"DisplayName": name, "CompanyName": name}
        if email:
            vendor["PrimaryEmailAddr"] = {"Address": email}
        books.seed("Vendor", vendor)
