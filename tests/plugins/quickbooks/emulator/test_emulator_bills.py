"""Bills linked to PO lines: partial billing, closing, dropped links, over-billing readings."""

from __future__ import annotations

import pytest

from .helpers import Api


def purchase_order(api: Api) -> dict:
    return api.create("PurchaseOrder", {
        "VendorRef": {"value": api.vendor_id("Vendor B")}, "DocNumber": "FR-1",
        "Line": [api.po_line("VB-SKU500", 4, "12.00"), api.po_line("VB-SKU501", 2, "18.50")]})


def bill(api: Api, po: dict, number: str, qty: int, line: int = 0) -> dict:
    body = api.po_line("VB-SKU500", qty, "12.00")
    body["LinkedTxn"] = [{"TxnId": po["Id"], "TxnType": "PurchaseOrder",
                          "TxnLineId": po["Line"][line]["Id"]}]
    return {"VendorRef": {"value": api.vendor_id("Vendor B")}, "DocNumber": number,
            "Line": [body]}


def test_two_stage_billing_links_and_closes_the_po(api: Api) -> None:
    po = purchase_order(api)
    first = api.create("Bill", bill(api, po, "INV-1", 3))
    assert first["Line"][0]["LinkedTxn"][0]["TxnLineId"] == po["Line"][0]["Id"]
    assert first["LinkedTxn"] == [{"TxnId": po["Id"], "TxnType": "PurchaseOrder"}]
    second = api.create("Bill", bill(api, po, "INV-2", 1))
    assert second["Line"][0]["LinkedTxn"]
    hoses = api.po_line("VB-SKU501", 2, "18.50")
    hoses["LinkedTxn"] = [{"TxnId": po["Id"], "TxnType": "PurchaseOrder",
                           "TxnLineId": po["Line"][1]["Id"]}]
    third = bill(api, po, "INV-3", 0)
    third["Line"] = [hoses]
    api.create("Bill", third)
    read = api.call("GET", f"purchaseorder/{po['Id']}").json()["PurchaseOrder"]
    assert read["POStatus"] == "Closed" and read["SyncToken"] == "3"


def test_a_link_to_an_unknown_line_is_dropped_silently(api: Api) -> None:
    po = purchase_order(api)
    body = bill(api, po, "INV-9", 1)
    body["Line"][0]["LinkedTxn"][0]["TxnLineId"] = "77"
    created = api.create("Bill", body)
    assert "LinkedTxn" not in created["Line"][0] and created["LinkedTxn"] == []


@pytest.mark.parametrize("mode", ["drop_link", "link", "refuse"])
def test_over_billing_readings(api: Api, mode: str) -> None:
    api.emu.behaviour.overbilling = mode
    po = purchase_order(api)
    body = bill(api, po, "INV-5", 5)
    if mode == "refuse":
        assert api.fault("Bill", body)["code"] == "6000"
        return
    created = api.create("Bill", body)
    assert bool(created["Line"][0].get("LinkedTxn")) is (mode == "link")


def test_bill_numbers_are_unique_per_vendor(api: Api) -> None:
    po = purchase_order(api)
    api.create("Bill", bill(api, po, "INV-7", 1))
    assert api.fault("Bill", bill(api, po, "INV-7", 1))["code"] == "6140"
    other = {"VendorRef": {"value": api.vendor_id("Vendor A")}, "DocNumber": "INV-7",
             "Line": [api.po_line("VA-SKU123", 1, "8.00")]}
    api.create("Bill", other)


def test_deleting_a_bill_reopens_its_po_quantity(api: Api) -> None:
    po = purchase_order(api)
    created = api.create("Bill", bill(api, po, "INV-8", 4))
    api.call("POST", "bill", params={"operation": "delete"},
             json={"Id": created["Id"], "SyncToken": created["SyncToken"]})
    assert api.create("Bill", bill(api, po, "INV-8", 4))["Line"][0]["LinkedTxn"]
