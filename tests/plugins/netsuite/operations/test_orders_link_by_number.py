"""link_existing matches an order to a transaction already in NetSuite by flx's external id or
by the order number. Stores and channels share number sequences, so a match by number alone is
linked only when it can be this order's: not a Sales Order flx made for another order, not a
Sales Order of another customer. Otherwise the order gets its own Sales Order, with a warning."""

from __future__ import annotations

from typing import Any

from .conftest import Workspace
from .test_orders_golden import _existing_sales_order
from .test_orders_support import internal_order, person

CAROL = person("Carol", "Ng", "carol@example.com")  # not in NetSuite: created by flx


def _sales_orders_with_number(ws: Workspace, number: str) -> list[dict[str, Any]]:
    return [so for so in ws.records("salesOrder") if so.get("otherRefNum") == number]


def test_another_store_order_with_the_same_number_gets_its_own_sales_order(
        workspace: Workspace) -> None:
    rows = workspace.import_and_run("send-orders", 0, orders=[
        internal_order("STORE1-1001", number="1001")])
    first = rows["STORE1-1001"]["remote_ids"]["sales_order"]

    rows = workspace.import_and_run("send-orders", 0, orders=[
        internal_order("STORE3-1001", number="1001", customer=CAROL)])
    row = rows["STORE3-1001"]
    assert row["status"] == "sent", row  # created, not linked to STORE1-1001's Sales Order
    assert row["remote_ids"]["sales_order"] != first
    assert any("flx made it for order STORE1-1001: not linked" in w for w in row["warnings"])
    assert len(_sales_orders_with_number(workspace, "1001")) == 2
    assert workspace.emulator.stats()["duplicate_external_ids"] == 0


def test_a_sales_order_of_another_system_is_linked_only_for_the_same_customer(
        workspace: Workspace) -> None:
    # Made by the integration flx replaces: its own external id, the order number, Jane (107).
    theirs = _existing_sales_order(workspace, externalId="CELIGO-2001", otherRefNum="2001")
    workspace.import_records(orders=[
        internal_order("WEB-2001", number="2001"),  # Jane's order: that Sales Order is hers
        internal_order("POS-2001", number="2001", customer=CAROL)])  # another customer's
    report = workspace.run("send-orders", "--only", "WEB-2001")
    row = workspace.rows(report)["WEB-2001"]
    assert (row["status"], row["remote_ids"]["sales_order"]) == ("linked", theirs)

    preview = workspace.rows(workspace.run("send-orders", "--only", "POS-2001", "--dry-run"))
    assert preview["POS-2001"]["message"] == "would send"
    row = workspace.rows(workspace.run("send-orders", "--only", "POS-2001"))["POS-2001"]
    assert row["status"] == "sent" and row["remote_ids"]["sales_order"] != theirs
    assert any("another customer (NetSuite customer 107" in w for w in row["warnings"])
    assert len(_sales_orders_with_number(workspace, "2001")) == 2
