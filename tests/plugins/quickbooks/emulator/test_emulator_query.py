"""The query subset: IN, quote escaping, paging, COUNT, and the two query faults."""

from __future__ import annotations

from .helpers import Api


def test_in_list_and_quote_escaping(api: Api) -> None:
    api.create("Customer", {"DisplayName": "O'Brien Hardware"})
    rows = api.query("SELECT * FROM Item WHERE Sku IN ('SKU001', 'SKU003', 'NOPE')")
    assert sorted(i["Sku"] for i in rows["QueryResponse"]["Item"]) == ["SKU001", "SKU003"]
    found = api.query("SELECT * FROM Customer WHERE DisplayName = 'O\\'Brien Hardware'")
    assert found["QueryResponse"]["Customer"][0]["DisplayName"] == "O'Brien Hardware"


def test_no_match_has_no_entity_key_and_count_works(api: Api) -> None:
    assert api.query("SELECT * FROM Item WHERE Sku = 'missing'")["QueryResponse"] == {}
    count = api.query("SELECT COUNT(*) FROM Item")
    assert count["QueryResponse"]["totalCount"] == 10


def test_paging_is_one_based_and_capped_at_1000(api: Api) -> None:
    first = api.query("SELECT * FROM Item STARTPOSITION 1 MAXRESULTS 4")["QueryResponse"]
    second = api.query("SELECT * FROM Item STARTPOSITION 5 MAXRESULTS 4")["QueryResponse"]
    assert len(first["Item"]) == 4 and first["startPosition"] == 1
    assert not {i["Id"] for i in first["Item"]} & {i["Id"] for i in second["Item"]}
    too_many = api.query("SELECT * FROM Item MAXRESULTS 1001")
    assert too_many["Fault"]["Error"][0]["code"] == "4001"


def test_post_form_of_a_query(api: Api) -> None:
    answer = api.call("POST", "query", content="SELECT * FROM Vendor WHERE DisplayName = "
                      "'Vendor B'", headers={"Content-Type": "application/text"})
    assert answer.json()["QueryResponse"]["Vendor"][0]["DisplayName"] == "Vendor B"


def test_not_queryable_and_parse_errors(api: Api) -> None:
    note = api.query("SELECT * FROM SalesReceipt WHERE PrivateNote = 'flx:1'")
    assert note["Fault"]["Error"][0]["code"] == "4001"
    assert "not queryable" in note["Fault"]["Error"][0]["Detail"]
    bad = api.query("SELECT * FROM Item WHERE Sku = 'a' OR Sku = 'b'")
    assert bad["Fault"]["Error"][0]["code"] == "4000"
    wrong_case = api.query("SELECT * FROM item")
    assert wrong_case["Fault"]["Error"][0]["code"] == "4000"


def test_vendor_email_filter_is_a_switch(api: Api) -> None:
    text = "SELECT * FROM Vendor WHERE PrimaryEmailAddr = 'po@vendor-b.example'"
    assert api.query(text)["Fault"]["Error"][0]["code"] == "4001"
    api.emu.behaviour.vendor_email_queryable = True
    assert api.query(text)["QueryResponse"]["Vendor"][0]["DisplayName"] == "Vendor B"


def test_email_case_is_a_switch(api: Api) -> None:
    api.customer()
    text = "SELECT * FROM Customer WHERE PrimaryEmailAddr = 'ADA@example.com'"
    assert api.query(text)["QueryResponse"] == {}
    api.emu.behaviour.email_case_insensitive = True
    assert len(api.query(text)["QueryResponse"]["Customer"]) == 1
