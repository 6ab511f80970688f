"""SuiteQL: the queries flx sends, SuiteQL's response quirks, paging, and loud refusals for
anything the emulator does not understand."""

from __future__ import annotations

from typing import Any

import pytest

from flx_netsuite.emulator import Emulator

from .helpers import NS, error, sales_order


def rows(ns: NS, query: str, **params: Any) -> list[dict[str, Any]]:
    response = ns.suiteql(query, **params)
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    assert all(item.pop("links") == [] for item in items)
    return items


def test_customer_by_email_case_insensitively(ns: NS) -> None:
    ns.create("customer", {"companyName": "Big Box", "email": "Buyer@BigBox.example",
                           "subsidiary": {"id": "1"}})
    found = rows(ns, "SELECT id, email, entityid, firstname, lastname, companyname FROM "
                 "customer WHERE LOWER(email) IN ('jane@example.com', 'buyer@bigbox.example') "
                 "ORDER BY id")
    assert found[0] == {"id": "107", "email": "jane@example.com", "entityid": "Jane Doe",
                        "firstname": "Jane", "lastname": "Doe"}  # null companyname omitted
    assert found[1]["companyname"] == "Big Box"
    assert len(found) == 2


def test_customer_by_name(ns: NS) -> None:
    found = rows(ns, "SELECT id, entityid, companyname FROM customer WHERE LOWER(entityid) "
                 "IN ('jane doe') OR LOWER(companyname) IN ('acme') ORDER BY id")
    assert [row["id"] for row in found] == ["107", "108"]


def test_items_by_sku(ns: NS) -> None:
    found = rows(ns, "SELECT id, itemid, itemtype, isdropshipitem FROM item WHERE itemid IN "
                 "('FLX-SKU123', 'VA-SKU123', 'GIFT-WRAP') ORDER BY id")
    assert found == [
        {"id": "501", "itemid": "FLX-SKU123", "itemtype": "InvtPart", "isdropshipitem": "T"},
        {"id": "502", "itemid": "VA-SKU123", "itemtype": "InvtPart", "isdropshipitem": "F"},
        {"id": "601", "itemid": "GIFT-WRAP", "itemtype": "NonInvtPart", "isdropshipitem": "F"}]


def test_transactions_by_external_id_or_reference(ns: NS) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                                externalId="ORD-1", otherRefNum="1001"))
    found = rows(ns, "SELECT id, tranid, type, externalid, otherrefnum FROM transaction WHERE "
                 "type IN ('SalesOrd', 'CashSale') AND (externalid IN ('ORD-1', 'SHOP-9001') "
                 "OR otherrefnum IN ('1001')) ORDER BY id")
    assert found == [
        {"id": "651", "tranid": "CS-9001", "type": "CashSale", "externalid": "SHOP-9001",
         "otherrefnum": "9001"},
        {"id": so_id, "tranid": "SO1001", "type": "SalesOrd", "externalid": "ORD-1",
         "otherrefnum": "1001"}]


def test_connection_test_query_and_paging(ns: NS) -> None:
    first = ns.suiteql("SELECT id FROM customer ORDER BY id", limit=1).json()
    assert (first["count"], first["hasMore"], first["offset"], first["totalResults"]) == (
        1, True, 0, 3)  # 107, 108 and the inactive 109
    assert first["items"] == [{"links": [], "id": "107"}]
    assert any(link["rel"] == "next" for link in first["links"])
    second = ns.suiteql("SELECT id FROM customer ORDER BY id", limit=1, offset=1).json()
    assert (second["items"][0]["id"], second["hasMore"]) == ("108", True)


@pytest.mark.parametrize(("params", "name"), [({"limit": 2, "offset": 3}, "offset"),
                                              ({"limit": 1001}, "limit"),
                                              ({"limit": 0}, "limit")])
def test_bad_paging_is_refused(ns: NS, params: dict[str, int], name: str) -> None:
    response = ns.suiteql("SELECT id FROM customer", **params)
    assert response.status_code == 400
    assert error(response)["o:errorCode"] == "INVALID_PARAMETER"
    assert error(response)["o:errorQueryParam"] == name


def test_response_quirks(ns: NS) -> None:
    response = ns.suiteql("SELECT c.id AS internalId, c.isperson, c.phone FROM customer c "
                          "WHERE c.isinactive = 'F' ORDER BY c.id DESC")
    assert response.headers["preference-applied"] == "transient"
    items = response.json()["items"]
    assert items[0] == {"links": [], "internalid": "108", "isperson": "F"}
    assert items[1] == {"links": [], "internalid": "107", "isperson": "T",
                        "phone": "+1 555 0100"}


def test_quotes_not_and_null_tests(ns: NS) -> None:
    ns.create("customer", {"isPerson": True, "firstName": "Pat", "lastName": "O'Brien",
                           "subsidiary": {"id": "1"}})
    assert rows(ns, "SELECT lastname FROM customer WHERE lastname = 'O''Brien'") == [
        {"lastname": "O'Brien"}]
    found = rows(ns, "SELECT id FROM customer WHERE email IS NULL")
    assert len(found) == 1
    assert rows(ns, "SELECT id FROM customer WHERE NOT (id = 107) AND email IS NOT NULL") == [
        {"id": "108"}, {"id": "110"}]
    assert rows(ns, "SELECT id FROM vendor WHERE id <> 201 AND UPPER(entityid) NOT IN "
                "('VENDOR B') ORDER BY id") == [{"id": "203"}, {"id": "204"}]


def test_transaction_lines(ns: NS, emu: Emulator) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                                {"item": {"id": "504"}, "quantity": 2}))
    found = rows(ns, "SELECT tl.id, tl.linesequencenumber, tl.item, tl.quantity FROM "
                 f"transactionline tl WHERE tl.transaction = {so_id} AND tl.mainline = 'F' "
                 "ORDER BY tl.linesequencenumber")
    assert found == [{"id": "1", "linesequencenumber": "1", "item": "503", "quantity": "1"},
                     {"id": "4", "linesequencenumber": "2", "item": "504", "quantity": "2"}]


@pytest.mark.parametrize(("query", "named"), [
    ("SELECT c.id FROM customer c JOIN transaction t ON t.entity = c.id", "JOIN"),
    ("SELECT entity FROM transaction GROUP BY entity", "GROUP"),
    ("SELECT id FROM customer WHERE email LIKE '%example%'", "LIKE"),
    ("SELECT id FROM invoice", "invoice"),
    ("SELECT id, nickname FROM customer", "nickname"),
    ("SELECT COUNT(id) FROM customer", "COUNT"),
    ("SELECT BUILTIN.DF(status) FROM transaction", "BUILTIN.DF"),
    ("SELECT id FROM customer WHERE id > 5", ">"),
    ("SELECT id FROM customer WHERE", "end of query"),
    ("DELETE FROM customer", "SELECT"),
])
def test_unsupported_queries_are_refused_by_name(ns: NS, query: str, named: str) -> None:
    response = ns.suiteql(query)
    assert response.status_code == 400, response.text
    assert error(response)["o:errorCode"] == "INVALID_PARAMETER"
    assert named in error(response)["detail"]


def test_suiteql_requires_prefer_transient(ns: NS) -> None:
    response = ns.request("POST", "/services/rest/query/v1/suiteql",
                          json={"q": "SELECT id FROM customer"})
    assert response.status_code == 400
    assert error(response)["o:errorHeader"] == "Prefer"


def test_indexed_lookups_follow_updates_and_match_a_full_scan(ns: NS) -> None:
    so_id = ns.create("salesOrder", sales_order({"item": {"id": "503"}, "quantity": 1},
                                                externalId="OLD-1", otherRefNum="5005"))
    ns.patch(f"salesOrder/{so_id}", {"externalId": "NEW-1", "otherRefNum": "5006"})
    indexed = "SELECT id FROM transaction WHERE externalid IN ('OLD-1', 'NEW-1') OR " \
              "otherrefnum = '5006'"
    scanned = "SELECT id FROM transaction WHERE NOT (externalid <> 'NEW-1')"
    assert rows(ns, indexed) == rows(ns, scanned) == [{"id": so_id}]
    assert rows(ns, "SELECT id FROM transaction WHERE otherrefnum = '5005'") == []
    assert rows(ns, "SELECT id FROM customer WHERE UPPER(email) = 'JANE@EXAMPLE.COM'") == [
        {"id": "107"}]
    assert rows(ns, "SELECT id FROM customer WHERE email = 'JANE@EXAMPLE.COM'") == []
    ns.request("DELETE", f"salesOrder/{so_id}")
    assert rows(ns, indexed) == []
