"""send-orders end to end through the CLI against the emulator."""

from __future__ import annotations

import json
from decimal import Decimal

from .conftest import Workspace, dropship, order


def test_internal_order_creates_customer_and_sales_receipt(workspace: Workspace) -> None:
    workspace.import_records(orders=[order("1001", ("SKU001", 2, "9.95"), ("SKU002", 1, "24.50"))])
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, json.dumps(report, default=str)[:3000]
    row = report["by_id"]["ORD-1001"]
    assert row["status"] == "sent", row
    [receipt] = workspace.objects("SalesReceipt")
    assert receipt["DocNumber"] == "1001" and receipt["TotalAmt"] == Decimal("49.40")
    assert "flx:order:ORD-1001" in receipt["PrivateNote"]
    [customer] = workspace.objects("Customer")
    assert customer["DisplayName"] == "Jane Doe"
    assert receipt["CustomerRef"]["value"] == customer["Id"]
    again = workspace.run("send-orders")
    assert again["exit_code"] == 0 and len(workspace.objects("SalesReceipt")) == 1
    assert len(workspace.emulator.writes()) == 2


def test_dropship_with_two_vendors_makes_one_po_each(workspace: Workspace) -> None:
    frs = [dropship("FR-2001-A", "V-A", ("L1", "FLX-SKU123", 2, "9.00")),
           dropship("FR-2001-B", "V-B", ("L2", "VB-SKU500", 1, "12.00"),
                    ("L3", "VB-SKU501", 1, "18.50"))]
    workspace.import_records(orders=[order("2001", ("FLX-SKU123", 2, "19.99"),
                                           ("VB-SKU500", 1, "29.00"), ("VB-SKU501", 1, "44.00"),
                                           frs=frs)])
    report = workspace.run("send-orders")
    assert report["by_id"]["ORD-2001"]["status"] == "sent", report
    pos = {po["DocNumber"]: po for po in workspace.objects("PurchaseOrder")}
    assert set(pos) == {"FR-2001-A", "FR-2001-B"}
    assert len(pos["FR-2001-B"]["Line"]) == 2
    assert pos["FR-2001-A"]["ShipAddr"]["City"] == "Austin"
    workspace.run("send-orders")
    assert len(workspace.objects("PurchaseOrder")) == 2


def test_existing_customer_found_by_email_and_name_clash_disambiguated(
        workspace: Workspace) -> None:
    books = workspace.emulator.company(workspace.emulator.companies.__iter__().__next__())
    books.seed("Customer", {"DisplayName": "Ada Shop",
                            "PrimaryEmailAddr": {"Address": "ada@example.com"}})
    books.seed("Vendor", {"DisplayName": "Jane Doe"})
    workspace.import_records(orders=[
        order("3001", ("SKU001", 1, "9.95"), email="ada@example.com", first="Ada", last="L"),
        order("3002", ("SKU001", 1, "9.95"))])
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, json.dumps(report, default=str)[:3000]
    names = sorted(c["DisplayName"] for c in workspace.objects("Customer"))
    assert names == ["Ada Shop", "Jane Doe (jane@example.com)"]


def test_unknown_sku_fails_the_order_with_the_fix(workspace: Workspace) -> None:
    workspace.import_records(orders=[order("4001", ("GHOST-404", 1, "5.00"))])
    report = workspace.run("send-orders")
    row = report["by_id"]["ORD-4001"]
    assert row["status"] == "failed" and "GHOST-404" in str(row)
    assert not workspace.objects("SalesReceipt")


def test_exploded_skus_at_po_level_split_the_sale_along_the_routing(
        workspace: Workspace) -> None:
    workspace.profile["sku_level"] = "po"
    frs = [{"id": "FR-8001-1", "type": "internal", "warehouse": "MAIN",
            "items": [{"order_line_id": "L1", "sku": "VA-SKU123", "quantity": 1}]},
           dropship("FR-8001-2", "V-A", ("L1", "FLX-SKU123", 2, "9.00"))]
    workspace.import_records(orders=[order("8001", ("FLX-SKU123", 3, "19.99"), frs=frs)])
    assert workspace.run("send-orders")["by_id"]["ORD-8001"]["status"] == "sent"
    [receipt] = workspace.objects("SalesReceipt")
    skus = {i["Id"]: i["Sku"] for i in workspace.objects("Item") if i.get("Sku")}
    sold = [(skus[detail["ItemRef"]["value"]], detail["Qty"]) for line in receipt["Line"]
            if (detail := line["SalesItemLineDetail"])["ItemRef"]["value"] in skus]
    assert sold == [("VA-SKU123", 1), ("FLX-SKU123", 2)]
    assert receipt["TotalAmt"] == Decimal("64.97")  # 3 x 19.99 + 5.00 shipping
    [po] = workspace.objects("PurchaseOrder")
    assert po["Line"][0]["ItemBasedExpenseLineDetail"]["Qty"] == 2


def test_two_orders_of_one_new_customer_side_by_side_make_one_customer(
        workspace: Workspace) -> None:
    workspace.settings["concurrency"] = 4
    workspace.import_records(orders=[order(str(n), ("SKU001", 1, "9.95")) for n in range(1, 9)])
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0
    assert [c["DisplayName"] for c in workspace.objects("Customer")] == ["Jane Doe"]
    assert len(workspace.objects("SalesReceipt")) == 8


def test_discounts_and_tax_and_no_customer_details(workspace: Workspace) -> None:
    sale = order("9001", ("SKU002", 2, "24.50"), discount_total="5.00", tax_total="3.21")
    sale["lines"][0]["discount"] = "1.00"
    sale["customer"] = None
    workspace.import_records(orders=[sale])
    row = workspace.run("send-orders")["by_id"]["ORD-9001"]
    assert row["status"] == "sent", row
    [receipt] = workspace.objects("SalesReceipt")
    discount = [line for line in receipt["Line"] if line["DetailType"] == "DiscountLineDetail"]
    assert discount[0]["Amount"] == Decimal("6.00")
    assert receipt["TotalAmt"] == Decimal("49.00") + Decimal("5.00") - 6 + Decimal("3.21")
    [customer] = workspace.objects("Customer")
    assert customer["DisplayName"] == "Customer ORD-9001"
