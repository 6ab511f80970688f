"""send-vendor-bills: where an invoice's shipping and tax go (options.bill_shipping,
options.bill_tax). Mode `item` puts a charge on the bill as an item line with no orderLine: it
adds to the bill's total and bills no PO quantity. Expense and skip modes are covered in
test_bills_flow.py and test_bills_golden.py."""

from __future__ import annotations

from decimal import Decimal
from importlib import resources
from typing import Any

import pytest

from flx.errors import MappingError
from flx_netsuite.bill_charges import charge_lines

from .conftest import Workspace
from .test_bills_flow import billed, dropship_order, make_bill, purchase_order
from .test_bills_golden import item_lines, render_bill
from .test_shipments_flow import send_orders
from .test_shipments_golden import assert_golden

SHIPPING_ITEM = {"mode": "item", "item": "602"}  # the emulator's "HANDLING" non-inventory item


def charge_rows(record: dict[str, Any]) -> list[tuple[str, int, Decimal, str]]:
    """(item id, quantity, amount, description) of a Vendor Bill's lines on no PO line."""
    return [(ln["item"]["id"], ln["quantity"], Decimal(str(ln["amount"])), ln["description"])
            for ln in record["item"]["items"] if "orderLine" not in ln]


def test_shipping_as_an_item_line_adds_to_the_bill_and_leaves_the_po_to_its_lines(
        workspace: Workspace) -> None:
    workspace.profile["options"]["bill_shipping"] = SHIPPING_ITEM
    send_orders(workspace, dropship_order("ORD-7501"))
    # First stage: line 1 and the vendor's shipping.
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7501-1", "ORD-7501", "INV-C1", [("VB-SKU500", 1, "22.00")], shipping="4.95",
        total="26.95")])
    report = workspace.run("send-vendor-bills")
    row = workspace.rows(report)["VB-7501-1"]
    assert report["exit_code"] == 0 and row["status"] == "sent", row
    assert row["warnings"] == []  # the total adds up, nothing skipped
    assert row["message"] == "Vendor Bill INV-C1 for 1 PO line(s) and 1 charge line(s)"
    assert row["remote_ids"]["lines"] == [{"order_line": 1, "quantity": 1}]
    first = workspace.by_external_id("vendorBill", "VB-7501-1")
    assert charge_rows(first) == [("602", 1, Decimal("4.95"), "Shipping on invoice INV-C1")]
    assert Decimal(str(first["total"])) == Decimal("26.95")  # 22.00 + 4.95
    assert (first.get("expense") or {}).get("items", []) == []  # item mode: no expense line
    # The charge billed nothing of the PO: line 2 is still open.
    po = purchase_order(workspace, "ORD-7501")
    assert billed(po) == [(1, "VB-SKU500", 1, 1), (2, "VB-SKU501", 1, 0)]
    assert po["status"]["refName"] == "Partially Billed"

    # Second stage: line 2 alone ends the PO fully billed by its own lines.
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7501-2", "ORD-7501", "INV-C2", [("VB-SKU501", 1, "6.00")])])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7501-2"]
    assert row["status"] == "sent", row
    po = purchase_order(workspace, "ORD-7501")
    assert billed(po) == [(1, "VB-SKU500", 1, 1), (2, "VB-SKU501", 1, 1)]
    assert po["status"]["refName"] == "Fully Billed"
    second = workspace.by_external_id("vendorBill", "VB-7501-2")
    assert charge_rows(second) == [] and Decimal(str(second["total"])) == Decimal("6.00")

    # A re-run sends nothing and creates nothing.
    before = workspace.emulator.stats()["records"]
    again = workspace.run("send-vendor-bills")
    assert again["rows"] == [] and again["requests"] == 0
    assert workspace.emulator.stats()["records"] == before


def test_shipping_and_tax_as_item_lines_with_replace_lines(workspace: Workspace) -> None:
    options = workspace.profile["options"]
    options.update(bill_strategy="replace_lines", bill_shipping=SHIPPING_ITEM,
                   bill_tax={"mode": "item", "item": "601"})
    send_orders(workspace, dropship_order("ORD-7502"))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7502", "ORD-7502", "INV-C3", [("VB-SKU501", 1)], shipping="3.10", tax="0.47")])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7502"]
    assert row["status"] == "sent", row
    record = workspace.by_external_id("vendorBill", "VB-7502")
    assert [ln.get("orderLine") for ln in record["item"]["items"]] == [2, None, None]
    assert charge_rows(record) == [("602", 1, Decimal("3.10"), "Shipping on invoice INV-C3"),
                                   ("601", 1, Decimal("0.47"), "Tax on invoice INV-C3")]
    assert Decimal(str(record["total"])) == Decimal("9.57")  # 6.00 + 3.10 + 0.47
    assert billed(purchase_order(workspace, "ORD-7502")) == [
        (1, "VB-SKU500", 1, 0), (2, "VB-SKU501", 1, 1)]


def test_golden_shipping_item_line_and_tax_expense_line(workspace: Workspace) -> None:
    workspace.profile["options"].update(
        bill_shipping=SHIPPING_ITEM, bill_tax={"mode": "expense", "account": "59"})
    send_orders(workspace, dropship_order("ORD-8104"))
    payloads = render_bill(workspace, make_bill(
        "VB-8104", "ORD-8104", "INV-7003", [("VB-SKU500", 1, "22.00")], shipping="5.00",
        tax="1.07"))
    assert item_lines(payloads) == [
        {"orderLine": 1, "quantity": 1, "rate": 22.00}, {"orderLine": 2, "quantity": 0},
        {"item": {"id": "602"}, "quantity": 1, "rate": 5.00,
         "description": "Shipping on invoice INV-7003"}]
    assert payloads[0]["body"]["expense"] == {"items": [
        {"account": {"id": "59"}, "amount": 1.07, "memo": "Tax on invoice INV-7003"}]}
    assert_golden("bills", "shipping_item_line", payloads)


def test_an_unknown_charge_item_fails_that_invoice_naming_the_setting(
        workspace: Workspace) -> None:
    workspace.profile["options"]["bill_shipping"] = {"mode": "item", "item": "999"}
    send_orders(workspace, dropship_order("ORD-7503"), dropship_order("ORD-7504"))
    workspace.import_records(vendor_bills=[
        make_bill("VB-7503", "ORD-7503", "INV-C4", [("VB-SKU500", 1)], shipping="2.00"),
        make_bill("VB-7504", "ORD-7504", "INV-C5", [("VB-SKU500", 1)])])
    report = workspace.run("send-vendor-bills")
    rows = workspace.rows(report)
    assert report["exit_code"] == 3
    assert rows["VB-7504"]["status"] == "sent"  # no shipping on it: no charge line
    failed = rows["VB-7503"]
    assert failed["status"] == "failed" and failed["error_class"] == "rejected"
    assert "Invalid Field Value 999" in failed["message"]
    assert "(at item.items[2].item)" in failed["message"]
    assert "options.bill_shipping.item" in failed["hint"]
    assert [b["tranId"] for b in workspace.records("vendorBill")] == ["INV-C5"]
    assert billed(purchase_order(workspace, "ORD-7503")) == [
        (1, "VB-SKU500", 1, 0), (2, "VB-SKU501", 1, 0)]


def test_item_mode_without_an_item_is_refused_when_the_profile_loads(
        workspace: Workspace) -> None:
    workspace.profile["options"]["bill_tax"] = {"mode": "item", "account": "59"}
    code, output = workspace.flx("run", "send-vendor-bills", "--connection", "ns")
    assert code != 0
    assert "$.options.bill_tax: 'item' is a required property" in output
    workspace.profile["options"]["bill_tax"] = {"mode": "items", "item": "602"}
    code, output = workspace.flx("run", "send-vendor-bills", "--connection", "ns")
    assert code != 0 and "$.options.bill_tax.mode" in output


@pytest.mark.parametrize(("setting", "missing"), [
    ({"mode": "item"}, "options.bill_shipping.item"),
    ({"mode": "item", "item": ""}, "options.bill_shipping.item"),
    ({"mode": "expense"}, "options.bill_shipping.account"),
])
def test_a_charge_mode_without_its_id_is_a_mapping_error(setting: dict[str, Any],
                                                         missing: str) -> None:
    # A profile built in code skips the load-time schema check; the sender still refuses.
    bill = make_bill("VB-1", "ORD-1", "INV-1", [("X", 1)], shipping="4.95")
    with pytest.raises(MappingError) as caught:
        charge_lines(bill, {"bill_shipping": setting}, [])
    assert f"but {missing} is not set" in caught.value.message
    assert "shipping 4.95" in caught.value.message
    assert (caught.value.hint or "").startswith(f"set {missing} to ")
    assert caught.value.record_id == "VB-1"


def test_no_charge_no_line_and_skip_warns() -> None:
    warnings: list[str] = []
    bill = make_bill("VB-2", "ORD-2", "INV-2", [("X", 1)], shipping="0.00", tax="1.10")
    expenses, items = charge_lines(
        bill, {"bill_shipping": SHIPPING_ITEM, "bill_tax": {"mode": "skip"}}, warnings)
    assert (expenses, items) == ([], [])
    assert warnings == ["tax 1.10 on the invoice was not sent (options.bill_tax.mode = skip)"]


def test_a_template_override_that_drops_the_charge_fails_instead_of_billing_less(
        workspace: Workspace) -> None:
    original = resources.files("flx_netsuite").joinpath(
        "templates/vendorBill.json.j2").read_text()
    start = original.index("{%- for charge in charges %}")
    end = original.index("{%- endfor %}", start) + len("{%- endfor %}")
    old = original[:start] + original[end:]
    old = old.replace('{{ "," if not loop.last or charges }}', '{{ "," if not loop.last }}')
    (workspace.path / "overrides").mkdir()
    (workspace.path / "overrides" / "vendorBill.json.j2").write_text(old)
    workspace.profile["templates"] = "overrides"
    workspace.profile["options"]["bill_shipping"] = SHIPPING_ITEM
    send_orders(workspace, dropship_order("ORD-7505"))
    workspace.import_records(vendor_bills=[make_bill(
        "VB-7505", "ORD-7505", "INV-C6", [("VB-SKU500", 1)], shipping="4.00")])
    row = workspace.rows(workspace.run("send-vendor-bills"))["VB-7505"]
    assert row["status"] == "failed" and row["error_class"] == "template"
    assert "rendered 0 charge item line(s)" in row["message"]
    assert "`charges`" in row["hint"]
    assert workspace.records("vendorBill") == []
