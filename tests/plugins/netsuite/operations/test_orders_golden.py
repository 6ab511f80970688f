"""Golden payloads of send-orders: what `flx render send-orders --id ORD` prints and what
`flx run send-orders --dry-run` would send, compared exactly with tests/fixtures/golden/orders/.

A template or mapping change that alters a payload fails here with the new payload printed.
When the change is intended, regenerate the files and review the diff:

    FLX_UPDATE_GOLDEN=1 .venv/bin/pytest tests/plugins/netsuite/operations/test_orders_golden.py

Every case runs against the emulator's seeded account with the `demo` profile (PO-level SKUs,
channel departments, custom fields), changed where the case says so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.plugins.netsuite.emulator.helpers import NS

from .conftest import Workspace
from .test_orders_support import (
    JANE,
    assert_golden,
    dropship_order,
    exploded_order,
    internal_order,
    json_output,
    person,
)

ACME = {"netsuite_id": None, "email": None, "first_name": None, "last_name": None,
        "company": "Acme", "phone": None}  # seeded customer 108, found by its name only


def _profile(**changes: Any) -> Callable[[Workspace], None]:
    def apply(ws: Workspace) -> None:
        for dotted, value in changes.items():
            section, _, key = dotted.partition("__")
            if key:
                ws.profile.setdefault(section, {})[key] = value
            else:
                ws.profile[section] = value
    return apply


def _nothing(ws: Workspace) -> None:
    return None


# name -> (order, change to the workspace before rendering)
CASES: dict[str, tuple[dict[str, Any], Callable[[Workspace], None]]] = {
    # Stock lines from warehouse MAIN; the customer is found by email (Jane Doe, 107).
    "internal": (internal_order("ORD-G1"), _nothing),
    # One dropship line: createPo DropShip, poVendor from tables.vendors, poRate = FR cost;
    # the customer id is given on the order.
    "dropship": (dropship_order("ORD-G2", customer={**JANE, "netsuite_id": "108"}), _nothing),
    # The reference page's exploded SKU: FLX-SKU123 x3 -> VA-SKU123 x1 internal + FLX-SKU123
    # x2 dropship. PO-level SKUs; the customer is found by company name.
    "exploded_po_sku": (exploded_order("ORD-G3", customer=ACME), _nothing),
    # The same routing with order-level SKUs: both lines carry the ordered FLX-SKU123.
    "exploded_order_sku": (exploded_order("ORD-G4"), _profile(sku_level="order")),
    # No customer matches: the customer payload comes first (subsidiary and category from
    # customer.fields), the Sales Order refers to it.
    "customer_created": (internal_order("ORD-G5", customer=person(
        "Nora", "Newman", "nora@example.net", phone="+1 555 0199")), _nothing),
    # Custom body fields (a template expression over the order's custom fields, and the
    # channel/source) and a custom column field per line.
    "custom_fields": (internal_order("ORD-G6", custom_fields={"gift_message": "Happy birthday"}),
                      _profile(custom_fields={
                          "body": {"custbody_gift_message":
                                   "{{ order.custom_fields.gift_message | default('') }}",
                                   "custbody_flx_source": "{{ order.channel }}/{{ order.source }}"},
                          "column": {"custcol_flx_line_id":
                                     "{{ line.order_line_id }}:{{ line.fr_id }}"}})),
    # A discount goes on the discount item the profile names.
    "discount": (internal_order("ORD-G7", discount_total="2.50"),
                 _profile(options__discount_item="701")),
    # options.dropship_mode = explicit_po: no createPo on the Sales Order, flx posts the PO.
    "explicit_po": (exploded_order("ORD-G8"), _profile(options__dropship_mode="explicit_po")),
}


def _render(ws: Workspace, order_id: str) -> Any:
    code, output = ws.flx("render", "send-orders", "--connection", "ns", "--id", order_id)
    assert code == 0, output
    return json_output(output)


def _dry_run(ws: Workspace, order_id: str) -> dict[str, Any]:
    report = ws.run("send-orders", "--dry-run", "--only", order_id)
    assert report["exit_code"] == 0, report
    (row,) = report["rows"]
    assert row["status"] == "dry_run", row
    return row


@pytest.mark.parametrize("case", sorted(CASES))
def test_render_and_dry_run_print_the_golden_payloads(workspace: Workspace, case: str) -> None:
    order, change = CASES[case]
    change(workspace)
    code, output = workspace.import_records(orders=[order])
    assert code == 0, output

    payloads = _render(workspace, order["id"])
    assert_golden(case, payloads)
    assert _dry_run(workspace, order["id"])["payloads"] == payloads

    # Previews send nothing: no record was created in NetSuite.
    routes = workspace.emulator.stats()["routes"]
    assert set(routes) == {"POST suiteql"}, routes


def test_the_previewed_payloads_are_what_netsuite_receives(workspace: Workspace) -> None:
    """The golden Sales Order of the exploded case is accepted as is: NetSuite then holds
    the same lines, quantities and amounts."""
    order, _ = CASES["exploded_po_sku"]
    workspace.import_records(orders=[order])
    (preview,) = _render(workspace, order["id"])
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    held = workspace.by_external_id("salesOrder", order["id"])
    sent_lines = preview["body"]["item"]["items"]
    held_lines = held["item"]["items"]
    assert [(h["item"]["id"], h["quantity"], str(h["amount"])) for h in held_lines] == [
        (s["item"]["id"], s["quantity"], f"{s['amount']:.2f}") for s in sent_lines]
    assert held["entity"]["id"] == "108"


# -- link to existing ---------------------------------------------------------------------------


def _existing_sales_order(ws: Workspace, **header: Any) -> str:
    ns = NS(ws.emulator)
    try:
        return ns.create("salesOrder", {
            "entity": {"id": "107"}, "orderStatus": {"id": "B"}, **header,
            "item": {"items": [{"item": {"id": "503"}, "quantity": 2, "rate": 12.5,
                                "location": {"id": "1"}}]}})
    finally:
        ns.close()


LINK_CASES: dict[str, tuple[str, dict[str, Any], str]] = {
    # golden name -> (order id, header of the transaction already in NetSuite, its type)
    "link_existing_external_id": ("ORD-L1", {"externalId": "ORD-L1"}, "salesOrder"),
    "link_existing_order_number": ("ORD-L2", {"otherRefNum": "L2"}, "salesOrder"),
    # The seeded cash sale CS-9001 (otherRefNum 9001), entered by the store's POS.
    "link_existing_cash_sale": ("ORD-9001", {}, "cashSale"),
}


@pytest.mark.parametrize("case", sorted(LINK_CASES))
def test_an_order_already_in_netsuite_is_linked_not_created(workspace: Workspace,
                                                            case: str) -> None:
    order_id, header, record_type = LINK_CASES[case]
    existing = _existing_sales_order(workspace, **header) if header else "651"
    workspace.import_records(orders=[internal_order(order_id)])

    payloads = _render(workspace, order_id)
    assert_golden(case, payloads)
    assert payloads[0]["action"] == "link" and payloads[0]["id"] == existing
    row = _dry_run(workspace, order_id)
    assert row["payloads"] == payloads
    assert "would link" in row["message"]

    before = workspace.emulator.stats()["routes"]
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    row = workspace.rows(report)[order_id]
    assert row["status"] == "linked", row
    key = "cash_sale" if record_type == "cashSale" else "sales_order"
    assert row["remote_ids"][key] == existing
    after = workspace.emulator.stats()["routes"]
    assert after.get("POST salesOrder", 0) == before.get("POST salesOrder", 0)
    assert after.get("POST customer", 0) == before.get("POST customer", 0)
    assert len(workspace.records("salesOrder")) == (1 if header else 0)
