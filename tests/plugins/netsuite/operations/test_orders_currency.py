"""The order's currency on its Sales Order (`tables.currencies`: ISO 4217 code -> NetSuite
currency internal id), end to end through `flx render` / `flx run send-orders` against the
emulator. An EUR order used to go in as the profile's fixed currency (USD) without a word.

The emulator's account has currencies USD (1), GBP (2), CAD (3) and EUR (4); its customers
107 (Jane) and 108 take USD, and a customer flx creates takes `customer.fields.currency`."""

from __future__ import annotations

from typing import Any

from .conftest import Workspace
from .test_orders_support import dropship_order, internal_order, json_output, person

EVA = person("Eva", "Euro", "eva@example.eu")  # not in NetSuite: flx creates her


def _body(ws: Workspace, order_id: str) -> dict[str, Any]:
    code, output = ws.flx("render", "send-orders", "--connection", "ns", "--id", order_id)
    assert code == 0, output
    body: dict[str, Any] = json_output(output)[-1]["body"]
    return body


def _multi_currency(ws: Workspace, **currencies: str) -> None:
    ws.profile["tables"]["currencies"] = currencies
    ws.profile["customer"]["fields"]["currency"] = "4"  # customers flx creates bill in EUR


def test_without_a_currencies_table_no_currency_is_sent(workspace: Workspace) -> None:
    """Single-currency accounts need nothing: NetSuite takes the customer's currency."""
    del workspace.profile["header"]["currency"]
    code, output = workspace.import_records(orders=[internal_order("ORD-701")])
    assert code == 0, output
    assert "currency" not in _body(workspace, "ORD-701")
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0 and report["rows"][0]["warnings"] == [], report
    so = workspace.by_external_id("salesOrder", "ORD-701")
    assert so["currency"]["refName"] == "USD"  # Jane's


def test_the_orders_currency_goes_on_its_sales_order(workspace: Workspace) -> None:
    """The table's id wins over the profile's fixed header.currency ("1", USD)."""
    _multi_currency(workspace, USD="1", EUR="4")
    euro = internal_order("ORD-702", currency="EUR", customer=EVA)
    dollar = internal_order("ORD-703")  # USD, Jane
    code, output = workspace.import_records(orders=[euro, dollar])
    assert code == 0, output
    assert _body(workspace, "ORD-702")["currency"] == {"id": "4"}
    assert _body(workspace, "ORD-703")["currency"] == {"id": "1"}
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    assert workspace.by_external_id("salesOrder", "ORD-702")["currency"]["refName"] == "EUR"
    assert workspace.by_external_id("salesOrder", "ORD-703")["currency"]["refName"] == "USD"


def test_a_currency_the_table_lacks_fails_the_order_before_anything_is_written(
        workspace: Workspace) -> None:
    _multi_currency(workspace, USD="1")
    code, output = workspace.import_records(orders=[
        internal_order("ORD-704", currency="EUR", customer=EVA), internal_order("ORD-705")])
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] == 3, report
    row = workspace.rows(report)["ORD-704"]
    assert (row["status"], row["error_class"]) == ("failed", "reference"), row
    assert row["message"] == ("order ORD-704: currency EUR has no NetSuite currency in "
                              "tables.currencies, so its Sales Order would be in another "
                              "currency")
    assert row["hint"].startswith('add "EUR": "<NetSuite currency internal id>" under '
                                  "tables.currencies in the mapping profile")
    assert workspace.rows(report)["ORD-705"]["status"] == "sent"
    assert [so["externalId"] for so in workspace.records("salesOrder")] == ["ORD-705"]
    assert not [c for c in workspace.records("customer") if c.get("email") == EVA["email"]]
    code, output = workspace.flx("render", "send-orders", "--connection", "ns", "--id",
                                 "ORD-704")
    assert code != 0 and "currency EUR has no NetSuite currency in tables.currencies" in output

    # The fix the message names, then a retry: sent in EUR.
    workspace.profile["tables"]["currencies"]["EUR"] = "4"
    code, output = workspace.flx("retry", "ORD-704")
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    assert workspace.by_external_id("salesOrder", "ORD-704")["currency"]["refName"] == "EUR"


def test_a_currency_the_customer_cannot_use_names_the_table_entry(workspace: Workspace) -> None:
    """Jane bills in USD: NetSuite refuses an EUR Sales Order for her, and the hint points at
    tables.currencies (not at the fixed header.currency it replaced)."""
    _multi_currency(workspace, USD="1", EUR="4")
    rows = workspace.import_and_run("send-orders", 3,
                                    orders=[internal_order("ORD-706", currency="EUR")])
    row = rows["ORD-706"]
    assert row["error_class"] == "rejected", row
    assert "Invalid currency reference key 4 for entity 107" in row["message"]
    assert row["hint"].startswith("NetSuite refused currency '4' (EUR), set by "
                                  "tables.currencies.EUR in the mapping profile")
    assert "check that the customer can be billed in EUR" in row["hint"]


def test_an_explicit_purchase_order_takes_the_vendors_currency(workspace: Workspace) -> None:
    """flx sends no currency on a Purchase Order: NetSuite gives it the vendor's (Vendor A
    bills in USD) while the Sales Order is in the order's EUR."""
    _multi_currency(workspace, USD="1", EUR="4")
    workspace.profile["options"]["dropship_mode"] = "explicit_po"
    euro = dropship_order("ORD-707", currency="EUR", customer=EVA)
    code, output = workspace.import_records(orders=[euro])
    assert code == 0, output
    code, output = workspace.flx("render", "send-orders", "--connection", "ns", "--id",
                                 "ORD-707")
    assert code == 0, output
    bodies = {entry["name"]: entry["body"] for entry in json_output(output)}
    assert bodies["salesOrder"]["currency"] == {"id": "4"}
    assert "currency" not in bodies["purchaseOrder"]
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    assert workspace.by_external_id("salesOrder", "ORD-707")["currency"]["refName"] == "EUR"
    (po,) = workspace.records("purchaseOrder")
    assert po["currency"]["refName"] == "USD"


def test_an_order_without_a_currency_is_sent_with_a_warning(workspace: Workspace) -> None:
    _multi_currency(workspace, USD="1", EUR="4")
    bare = internal_order("ORD-708")
    del bare["currency"]
    rows = workspace.import_and_run("send-orders", 0, orders=[bare])
    assert rows["ORD-708"]["warnings"] == [
        "the order gives no currency, so tables.currencies does not apply: the Sales Order is "
        "in header.currency's currency"]


def test_a_currencies_table_is_checked_with_the_profile(workspace: Workspace) -> None:
    workspace.profile["tables"]["currencies"] = {"eur": "4", "USD": 1}
    code, output = workspace.import_records(orders=[internal_order("ORD-709")])
    assert code == 0, output
    report_code, output = workspace.flx("run", "send-orders", "--connection", "ns")
    assert report_code != 0
    assert "$.tables.currencies: 'eur' does not match '^[A-Z]{3}$'" in output
    assert "$.tables.currencies.USD: 1 is not of type 'string'" in output


def test_a_new_customer_bills_in_the_currency_of_their_first_order(workspace: Workspace) -> None:
    """Without a fixed customer.fields.currency, a customer flx creates takes the order's
    currency (mapped through tables.currencies): NetSuite would refuse an EUR Sales Order for
    a customer billing in the subsidiary's USD."""
    workspace.profile["tables"]["currencies"] = {"USD": "1", "EUR": "4"}
    workspace.profile["customer"]["fields"].pop("currency", None)
    rows = workspace.import_and_run("send-orders", 0, orders=[
        internal_order("ORD-709", currency="EUR", customer=EVA)])
    assert rows["ORD-709"]["status"] == "sent", rows
    customer = next(c for c in workspace.records("customer")
                    if c.get("email") == "eva@example.eu")
    assert customer["currency"]["refName"] == "EUR"
    assert workspace.by_external_id("salesOrder", "ORD-709")["currency"]["refName"] == "EUR"
