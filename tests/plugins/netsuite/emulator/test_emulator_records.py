"""Record endpoints: create/read/update/upsert/delete, external ids, references and field-name
validation, with NetSuite's answers (204 + Location, error documents with errorPath)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from flx_netsuite.emulator import Emulator

from .helpers import NS, error, sales_order

PERSON = {"isPerson": True, "firstName": "Ann", "lastName": "Lee", "email": "ann@example.com",
          "subsidiary": {"id": "1"}}
STRICT = {"X-NetSuite-PropertyNameValidation": "Error"}


def test_create_answers_204_with_a_lowercase_location(ns: NS) -> None:
    response = ns.post("customer", {**PERSON, "externalId": "CUST-ann"})
    assert response.status_code == 204
    assert response.content == b""
    location = response.headers["location"]
    assert location.startswith("https://1234567-sb1.suitetalk.api.netsuite.com/services/rest"
                               "/record/v1/customer/")
    record = ns.read("customer", location.rsplit("/", 1)[1])
    assert record["entityId"] == "Ann Lee"
    assert record["subsidiary"]["refName"] == "FLX Demo Company"


def test_record_types_in_paths_are_case_insensitive(ns: NS) -> None:
    assert ns.get("CUSTOMER/107").status_code == 200
    assert ns.get("Customer/107").json()["entityId"] == "Jane Doe"


def test_unknown_record_and_unknown_type_answer_404(ns: NS) -> None:
    missing = ns.get("customer/999999")
    assert missing.status_code == 404
    assert error(missing)["o:errorCode"] == "NONEXISTENT_ID"
    assert ns.get("spaceship/1").status_code == 404


def test_customer_in_oneworld_needs_a_subsidiary(ns: NS) -> None:
    response = ns.post("customer", {k: v for k, v in PERSON.items() if k != "subsidiary"})
    assert response.status_code == 400
    assert error(response)["detail"] == "Please enter value(s) for: Subsidiary"
    assert error(response)["o:errorCode"] == "USER_ERROR"


def test_person_needs_names_and_company_needs_company_name(ns: NS) -> None:
    person = ns.post("customer", {"isPerson": True, "firstName": "Ann",
                                  "subsidiary": {"id": "1"}})
    assert error(person)["detail"] == "Please enter value(s) for: Last Name"
    company = ns.post("customer", {"subsidiary": {"id": "1"}, "email": "x@y.com"})
    assert error(company)["detail"] == "Please enter value(s) for: Company Name"


@pytest.mark.parametrize(("field", "value", "name"), [
    ("category", {"id": "99"}, "category"),
    ("subsidiary", {"id": "77"}, "subsidiary"),
    ("customForm", {"id": "68"}, "customform"),  # a sales-order form on a customer
    ("entityStatus", {"id": "6"}, "entitystatus"),  # a LEAD status on a customer
])
def test_references_are_checked(ns: NS, field: str, value: dict[str, str], name: str) -> None:
    response = ns.post("customer", {**PERSON, field: value})
    assert response.status_code == 400
    assert error(response) == {
        "detail": f"Invalid Field Value {value['id']} for the following field: {name}",
        "o:errorCode": "INVALID_KEY_OR_REF", "o:errorPath": field}


def test_reference_by_external_id_resolves(ns: NS, emu: Emulator) -> None:
    new_id = ns.create("customer", {**PERSON, "subsidiary": {"id": "1"}})
    so_id = ns.create("salesOrder", sales_order(
        {"item": {"id": "503"}, "quantity": 1, "location": {"externalId": "EAST"}},
        entity={"id": new_id}))
    assert emu.record("salesOrder", so_id)["item"]["items"][0]["location"]["id"] == "2"


def test_nested_reference_error_has_a_json_path(ns: NS) -> None:
    response = ns.post("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                                 {"item": {"id": "9999"}, "quantity": 1}))
    assert error(response)["o:errorPath"] == "item.items[1].item"
    assert error(response)["o:errorCode"] == "INVALID_KEY_OR_REF"


def test_unknown_field_refused_under_strict_name_validation(ns: NS, emu: Emulator) -> None:
    before = emu.stats()["records"]["customer"]
    response = ns.post("customer", {**PERSON, "emial": "typo@example.com"}, headers=STRICT)
    assert response.status_code == 400
    assert error(response)["o:errorCode"] == "NONEXISTENT_FIELD"
    assert error(response)["o:errorPath"] == "emial"
    assert "emial" in error(response)["detail"]
    assert emu.stats()["records"]["customer"] == before


def test_unknown_field_ignored_with_a_warning_header_by_default(ns: NS, emu: Emulator) -> None:
    response = ns.post("customer", {**PERSON, "emial": "typo@example.com"})
    assert response.status_code == 204
    assert "Unknown field name emial" in response.headers["x-netsuite-propertyvalidation"]
    record = emu.record("customer", response.headers["location"].rsplit("/", 1)[1])
    assert record is not None and "emial" not in record


def test_field_names_are_case_sensitive(ns: NS) -> None:
    response = ns.post("customer", {**PERSON, "companyname": "Acme"}, headers=STRICT)
    assert error(response)["o:errorPath"] == "companyname"


def test_unknown_custom_fields_are_unknown_and_known_ones_kept(ns: NS, emu: Emulator) -> None:
    unknown = ns.post("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                                custbody_nope="x"), headers=STRICT)
    assert error(unknown)["o:errorPath"] == "custbody_nope"
    line = {"item": {"id": "503"}, "quantity": 1, "custcol_flx_line_id": "L1"}
    so_id = ns.create("salesOrder", sales_order(line, custbody_gift_message="Happy birthday"),
                      headers=STRICT)
    so = emu.record("salesOrder", so_id)
    assert so is not None
    assert so["custbody_gift_message"] == "Happy birthday"
    assert so["item"]["items"][0]["custcol_flx_line_id"] == "L1"


def test_read_only_field_is_refused(ns: NS) -> None:
    response = ns.post("purchaseOrder", {"entity": {"id": "201"}, "createdFrom": {"id": "1"},
                                         "item": {"items": [{"item": {"id": "503"},
                                                             "quantity": 1}]}})
    assert response.status_code == 400
    assert error(response)["o:errorPath"] == "createdFrom"


@pytest.mark.parametrize(("field", "value"), [("tranDate", "11/20/2026"),
                                              ("tranDate", "2026-02-30"),
                                              ("shippingCost", 1.005), ("shippingCost", "5.00")])
def test_bad_values_are_refused_with_their_path(ns: NS, field: str, value: object) -> None:
    response = ns.post("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                                 **{field: value}))
    assert response.status_code == 400
    assert error(response)["o:errorPath"] == field


def test_duplicate_external_id_is_refused(ns: NS, emu: Emulator) -> None:
    ns.create("customer", {**PERSON, "externalId": "CUST-1"})
    again = ns.post("customer", {**PERSON, "externalId": "CUST-1"})
    assert again.status_code == 400
    assert error(again) == {"detail": "A record with the external ID 'CUST-1' already exists.",
                            "o:errorCode": "USER_ERROR", "o:errorPath": "externalId"}
    assert emu.stats()["duplicate_external_ids"] == 0


def test_same_external_id_on_different_record_types_is_fine(ns: NS) -> None:
    ns.create("customer", {**PERSON, "externalId": "X-1"})
    ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                        externalId="X-1"))


def test_get_by_external_id_and_url_characters(ns: NS) -> None:
    ns.create("customer", {**PERSON, "externalId": "CUST_a-1"})
    assert ns.get("customer/eid:CUST_a-1").json()["firstName"] == "Ann"
    assert ns.get("customer/eid:nope").status_code == 404
    bad = ns.get("customer/eid:%231001")
    assert bad.status_code == 400
    assert "#1001" in error(bad)["detail"]


def test_put_eid_upserts(ns: NS, emu: Emulator) -> None:
    first = ns.request("PUT", "customer/eid:CUST-UP", json=PERSON)
    assert first.status_code == 204
    new_id = first.headers["location"].rsplit("/", 1)[1]
    second = ns.request("PUT", "customer/eid:CUST-UP", json={"phone": "+1 555 0199"})
    assert second.status_code == 204
    assert second.headers["location"].endswith(f"/customer/{new_id}")
    record = emu.record("customer", new_id)
    assert record is not None
    assert (record["externalId"], record["phone"]) == ("CUST-UP", "+1 555 0199")
    assert emu.stats()["records"]["customer"] == 4


def test_patch_updates_only_the_fields_sent(ns: NS, emu: Emulator) -> None:
    response = ns.patch("customer/107", {"phone": "+1 555 0111"})
    assert response.status_code == 204
    record = emu.record("customer", "107")
    assert record is not None and (record["phone"], record["email"]) == (
        "+1 555 0111", "jane@example.com")


def test_patch_cannot_take_another_records_external_id(ns: NS) -> None:
    ns.create("customer", {**PERSON, "externalId": "TAKEN"})
    response = ns.patch("customer/107", {"externalId": "TAKEN"})
    assert error(response)["o:errorPath"] == "externalId"


def test_sublists_are_links_unless_expanded(ns: NS) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 2}))
    plain = ns.get(f"salesorder/{so_id}").json()
    assert set(plain["item"]) == {"links"}
    assert plain["item"]["links"][0]["href"].endswith(f"/salesorder/{so_id}/item")
    expanded = ns.read("salesOrder", so_id)
    assert expanded["item"]["items"][0]["quantity"] == 2
    sublist = ns.get(f"salesOrder/{so_id}/item").json()
    assert [line["line"] for line in sublist["items"]] == [1]
    one = ns.get(f"salesOrder/{so_id}/item/1").json()
    assert one["item"]["refName"] == "SKU001"


def test_address_book_and_addresses(ns: NS, emu: Emulator) -> None:
    body = {**PERSON, "addressBook": {"items": [{"defaultShipping": True, "addressBookAddress": {
        "addr1": "2 Oak Ave", "city": "Reno", "state": "NV", "zip": "89501",
        "country": {"id": "US"}}}]}}
    new_id = ns.create("customer", body)
    record = emu.record("customer", new_id)
    assert record is not None
    assert record["addressBook"]["items"][0]["addressBookAddress"]["city"] == "Reno"
    bad = ns.post("customer", {**PERSON, "addressBook": {"items": [{"addressBookAddress": {
        "country": {"id": "XX"}}}]}})
    assert error(bad)["o:errorPath"] == "addressBook.items[0].addressBookAddress.country"


def test_delete_refuses_records_with_dependents(ns: NS, emu: Emulator) -> None:
    ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1}))
    refused = ns.request("DELETE", "customer/107")
    assert refused.status_code == 400
    new_id = ns.create("customer", PERSON)
    assert ns.request("DELETE", f"customer/{new_id}").status_code == 204
    assert emu.record("customer", new_id) is None


def test_refused_write_changes_nothing(ns: NS, emu: Emulator) -> None:
    before = emu.stats()["records"]
    bad = ns.post("salesOrder", sales_order({"item": {"id": "501"}, "quantity": 1},
                                            {"item": {"id": "510"}, "quantity": 1,
                                             "createPo": {"id": "DropShip"}},
                                            orderStatus={"id": "B"}))
    assert bad.status_code == 400  # the second drop-ship line has no vendor
    assert emu.stats()["records"] == before


def test_items_and_vendors_can_be_created(ns: NS, emu: Emulator) -> None:
    vendor = ns.create("vendor", {"companyName": "Vendor D", "subsidiary": {"id": "1"},
                                  "externalId": "V-D"})
    item = ns.create("inventoryItem", {"itemId": "VD-1", "isDropShipItem": True,
                                       "vendor": {"id": vendor}, "cost": 2.5,
                                       "subsidiary": {"id": "1"}})
    record = emu.record("inventoryItem", item)
    assert record is not None and record["cost"] == Decimal("2.5")
    dup = ns.post("inventoryItem", {"itemId": "vd-1", "subsidiary": {"id": "1"}})
    assert error(dup)["o:errorPath"] == "itemId"


def test_plain_create_of_a_fulfillment_is_refused(ns: NS) -> None:
    response = ns.post("itemFulfillment", {"memo": "x"})
    assert response.status_code == 400
    assert "!transform" in error(response)["detail"]


def test_collection_lists_ids_with_paging(ns: NS) -> None:
    page = ns.get("vendor", params={"limit": 2}).json()
    assert [item["id"] for item in page["items"]] == ["201", "202"]
    assert (page["hasMore"], page["totalResults"]) == (True, 4)


def test_fields_parameter_limits_the_answer(ns: NS) -> None:
    answer = ns.get("customer/107", params={"fields": "email,phone"}).json()
    assert set(answer) == {"links", "id", "email", "phone"}


def test_body_must_be_json(ns: NS) -> None:
    response = ns.request("POST", "customer", content=b"companyName: Acme",
                          headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    assert error(response)["o:errorHeader"] == "Content-Type"
    broken = ns.request("POST", "customer", content=b"{not json",
                        headers={"Content-Type": "application/json"})
    assert broken.status_code == 400
