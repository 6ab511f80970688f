"""Entity rules: unique names, SyncToken, sparse and full updates, document numbers, amounts."""

from __future__ import annotations

from .helpers import Api


def sale(api: Api, number: str, customer: str) -> dict:
    return {"CustomerRef": {"value": customer}, "DocNumber": number,
            "Line": [api.sale_line("SKU001", 3, "9.95")]}


def test_display_name_is_unique_across_customers_and_vendors(api: Api) -> None:
    error = api.fault("Customer", {"DisplayName": "vendor a"})
    assert error["code"] == "6240"
    assert api.fault("Customer", {"DisplayName": "A: B"})["code"] == "2050"


def test_sale_totals_line_ids_and_stale_sync_token(api: Api) -> None:
    customer = api.customer()
    receipt = api.create("SalesReceipt", {**sale(api, "1001", customer["Id"]),
                                          "TxnTaxDetail": {"TotalTax": 2.5}})
    assert receipt["TotalAmt"] == 32.35 and receipt["Line"][0]["Id"] == "1"
    assert receipt["SyncToken"] == "0"
    update = {"Id": receipt["Id"], "SyncToken": "0", "sparse": True, "TrackingNum": "1Z9"}
    updated = api.create("SalesReceipt", update)
    assert updated["SyncToken"] == "1" and updated["DocNumber"] == "1001"
    assert updated["TrackingNum"] == "1Z9"
    stale = api.fault("SalesReceipt", update)
    assert stale["code"] == "5010"


def test_full_update_drops_what_it_leaves_out(api: Api) -> None:
    customer = api.customer()
    receipt = api.create("SalesReceipt", {**sale(api, "1002", customer["Id"]),
                                          "PrivateNote": "flx:o-1"})
    full = {**sale(api, "1002", customer["Id"]), "Id": receipt["Id"], "SyncToken": "0"}
    assert "PrivateNote" not in api.create("SalesReceipt", full)


def test_document_numbers_cross_type_per_type_and_off(api: Api) -> None:
    customer = api.customer()
    api.create("SalesReceipt", sale(api, "2001", customer["Id"]))
    error = api.fault("Invoice", sale(api, "2001", customer["Id"]))
    assert error["code"] == "6140" and "TxnType=SalesReceipt" in error["Detail"]
    api.emu.behaviour.doc_numbers = "per_type"
    api.create("Invoice", sale(api, "2001", customer["Id"]))
    assert api.fault("SalesReceipt", sale(api, "2001", customer["Id"]))["code"] == "6140"
    api.emu.behaviour.doc_numbers = "off"
    api.create("SalesReceipt", sale(api, "2001", customer["Id"]))
    assert api.fault("SalesReceipt", sale(api, "x" * 22, customer["Id"]))["code"] == "2050"


def test_amount_must_equal_qty_times_price_unless_switched_off(api: Api) -> None:
    customer = api.customer()
    body = sale(api, "3001", customer["Id"])
    body["Line"][0]["Amount"] = "29.86"
    assert api.fault("SalesReceipt", body)["code"] == "6070"
    api.emu.behaviour.amount_check = False
    assert api.create("SalesReceipt", body)["TotalAmt"] == 29.86


def test_inactive_or_unknown_references_are_610(api: Api) -> None:
    assert api.fault("SalesReceipt", sale(api, "4001", "999999"))["code"] == "610"
    customer = api.customer()
    api.create("Customer", {"Id": customer["Id"], "SyncToken": "0", "sparse": True,
                            "Active": False})
    assert api.fault("SalesReceipt", sale(api, "4002", customer["Id"]))["code"] == "610"


def test_custom_field_length_is_a_switch(api: Api) -> None:
    customer = api.customer()
    body = {**sale(api, "5001", customer["Id"]),
            "CustomField": [{"DefinitionId": "1", "Type": "StringType",
                             "StringValue": "x" * 32}]}
    assert api.fault("SalesReceipt", body)["code"] == "2050"
    api.emu.behaviour.custom_field_max = 100
    api.create("SalesReceipt", body)


def test_read_by_id_and_minor_version_floor(api: Api) -> None:
    customer = api.customer()
    read = api.call("GET", f"customer/{customer['Id']}").json()["Customer"]
    assert read["DisplayName"] == "Ada Lovelace"
    old = api.call("GET", f"customer/{customer['Id']}", params={"minorversion": 65})
    assert old.json()["Fault"]["Error"][0]["code"] == "2010"
