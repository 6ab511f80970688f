"""send-shipments end to end: the real CLI against the NetSuite emulator. What a user sees in
the run report and what NetSuite holds afterwards (Item Fulfillments, the Sales Order's
fulfilled quantities, status and tracking numbers).

`make_order` and `make_shipment` build records for the other shipment and bill tests too."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Workspace

Line = tuple[str, int] | tuple[str, int, float]


def make_order(order_id: str, lines: list[Line], *,
               requests: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """An order of `lines` (sku, quantity[, unit weight]) for the seeded customer 107. By
    default one internal request ships everything from MAIN; `requests` replaces it, each
    {"id", "type", "warehouse" | "vendor", "items": [(order line id, sku, quantity[, cost])]}."""
    order_lines = []
    for index, spec in enumerate(lines, start=1):
        line: dict[str, Any] = {"id": f"L{index}", "sku": spec[0], "title": f"Item {spec[0]}",
                                "quantity": spec[1], "unit_price": "10.00"}
        if len(spec) > 2:
            line["weight"] = spec[2]
        order_lines.append(line)
    if requests is None:
        requests = [{"id": f"{order_id}-FR1", "type": "internal", "warehouse": "MAIN",
                     "items": [(f"L{i}", spec[0], spec[1]) for i, spec in
                               enumerate(lines, start=1)]}]
    frs = []
    for fr in requests:
        items = []
        for item in fr["items"]:
            entry: dict[str, Any] = {"order_line_id": item[0], "sku": item[1],
                                     "quantity": item[2]}
            if len(item) > 3:
                entry["cost"] = item[3]
            items.append(entry)
        frs.append({**{k: v for k, v in fr.items() if k != "items"}, "items": items})
    address = {"name": "Jane Doe", "address1": "1 Main St", "city": "Austin", "region": "TX",
               "postal_code": "78701", "country": "US"}
    return {
        "id": order_id, "number": order_id.split("-")[-1], "channel": "shopify",
        "source": "main-store", "status": "open", "placed_at": "2026-11-20T14:03:00Z",
        "currency": "USD",
        "customer": {"netsuite_id": "107", "email": "jane@example.com", "first_name": "Jane",
                     "last_name": "Doe"},
        "shipping_address": address, "billing_address": address,
        "lines": order_lines, "shipping": {"method": "Ground", "amount": "5.00"},
        "tax_total": "0", "discount_total": "0", "fulfillment_requests": frs,
        "custom_fields": {},
    }


def make_shipment(shipment_id: str, order_id: str, items: list[dict[str, Any]] | list[
                  tuple[str, int]], *, tracking: list[str] | None = None,
                  **extra: Any) -> dict[str, Any]:
    """A shipment of `items` ((sku, quantity) pairs or full item dicts)."""
    shipped = [item if isinstance(item, dict) else {"sku": item[0], "quantity": item[1]}
               for item in items]
    return {"id": shipment_id, "order_id": order_id, "shipped_at": "2026-11-21T16:00:00Z",
            "tracking_numbers": tracking or [], "items": shipped, **extra}


def sales_order(ws: Workspace, order_id: str) -> dict[str, Any]:
    return ws.by_external_id("salesOrder", order_id)


def fulfilled(so: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(item, ordered, fulfilled) per Sales Order line."""
    return [(ln["item"]["refName"], ln["quantity"], ln["quantityFulfilled"])
            for ln in so["item"]["items"]]


def fulfillment_lines(ws: Workspace, shipment_id: str) -> list[tuple[int, str, int]]:
    record = ws.by_external_id("itemFulfillment", shipment_id)
    return [(ln["orderLine"], ln["item"]["refName"], ln["quantity"])
            for ln in record["item"]["items"]]


def tracking_of(ws: Workspace, shipment_id: str) -> list[tuple[str, float]]:
    record = ws.by_external_id("itemFulfillment", shipment_id)
    return [(p["packageTrackingNumber"], float(p["packageWeight"]))
            for p in record["package"]["items"]]


def send_orders(ws: Workspace, *orders: dict[str, Any]) -> None:
    code, output = ws.import_records(orders=list(orders))
    assert code == 0, output
    report = ws.run("send-orders")
    assert report["exit_code"] == 0, report["rows"]


# -- the reference page's example ---------------------------------------------------------------


def test_reference_example_two_fulfillments_leave_the_order_fulfilled_with_both_numbers(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7001", [("SKU001", 1), ("SKU002", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7001-1", "ORD-7001", [("SKU001", 1)], tracking=["123"])])

    # Fulfillment #1 ships SKU001 and explicitly leaves SKU002 unfulfilled.
    preview = workspace.run("send-shipments", "--dry-run")
    body = workspace.rows(preview)["SHP-7001-1"]["payloads"][0]["body"]
    assert body["item"]["items"] == [
        {"orderLine": 1, "itemReceive": True, "quantity": 1, "location": {"id": "1"}},
        {"orderLine": 4, "itemReceive": False}]
    first = workspace.run("send-shipments")
    assert first["exit_code"] == 0, first["rows"]
    row = workspace.rows(first)["SHP-7001-1"]
    assert row["status"] == "sent" and "tracking 123" in row["message"]
    so = sales_order(workspace, "ORD-7001")
    assert so["status"]["refName"] == "Partially Fulfilled"
    assert fulfilled(so) == [("SKU001", 1, 1), ("SKU002", 1, 0)]
    assert so["linkedTrackingNumbers"] == "123"

    # Fulfillment #2, later: the rest, with its own tracking number.
    workspace.import_records(shipments=[
        make_shipment("SHP-7001-2", "ORD-7001", [("SKU002", 1)], tracking=["234"])])
    second = workspace.run("send-shipments")
    assert second["counts"]["sent"] == 1, second["rows"]
    so = sales_order(workspace, "ORD-7001")
    assert so["status"]["refName"] == "Pending Billing"  # fully fulfilled
    assert fulfilled(so) == [("SKU001", 1, 1), ("SKU002", 1, 1)]
    assert so["linkedTrackingNumbers"].split() == ["123", "234"]
    assert fulfillment_lines(workspace, "SHP-7001-1") == [(1, "SKU001", 1)]
    assert fulfillment_lines(workspace, "SHP-7001-2") == [(4, "SKU002", 1)]
    assert [n for n, _ in tracking_of(workspace, "SHP-7001-2")] == ["234"]

    # Running again sends nothing and creates nothing.
    before = workspace.emulator.stats()["records"]
    again = workspace.run("send-shipments")
    assert again["rows"] == [] and again["requests"] == 0
    assert workspace.emulator.stats()["records"] == before
    assert len(workspace.records("itemFulfillment")) == 2

    # Even forced, a sent shipment is found in NetSuite and not fulfilled again.
    forced = workspace.run("send-shipments", "--only", "SHP-7001-1", "--force")
    row = workspace.rows(forced)["SHP-7001-1"]
    assert forced["exit_code"] == 0 and row["status"] == "sent", row
    assert "already in NetSuite" in row["message"]
    code, output = workspace.flx("render", "send-shipments", "--connection", "ns",
                                 "--id", "SHP-7001-2")
    assert code == 0, output
    assert json.loads(output)[0]["action"] == "link"
    assert workspace.emulator.stats()["records"] == before


def test_a_shipment_waits_until_its_order_is_in_netsuite_and_status_says_why(
        workspace: Workspace) -> None:
    workspace.import_records(
        orders=[make_order("ORD-7002", [("SKU001", 2)])],
        shipments=[make_shipment("SHP-7002", "ORD-7002", [("SKU001", 2)], tracking=["1Z9"])])
    report = workspace.run("send-shipments")
    row = workspace.rows(report)["SHP-7002"]
    assert report["exit_code"] == 0 and report["requests"] == 0
    assert row["status"] == "waiting"
    assert "order ORD-7002 is not in" in row["message"] and "not sent" in row["message"]
    code, output = workspace.flx("status", "--json")
    assert code == 0, output
    status = json.loads(output)
    shipments = next(s for s in status["sync"] if s["operation"] == "send-shipments")
    assert shipments["counts"] == {"waiting": 1}
    assert any("not in" in w["reason"] and "not sent" in w["reason"]
               for w in shipments["waiting"]), shipments
    assert workspace.records("itemFulfillment") == []

    assert workspace.run("send-orders")["exit_code"] == 0
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SHP-7002"]["status"] == "sent"
    assert fulfilled(sales_order(workspace, "ORD-7002")) == [("SKU001", 2, 2)]


# -- failures the user must fix, while the others go through -------------------------------------


def test_over_shipping_fails_that_shipment_naming_line_and_quantities_others_go_through(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7003", [("SKU001", 2), ("SKU002", 1)]),
                make_order("ORD-7004", [("SKU003", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7003-1", "ORD-7003", [("SKU001", 1)], tracking=["T-1"]),
        make_shipment("SHP-7003-2", "ORD-7003", [("SKU001", 2)], tracking=["T-2"]),
        make_shipment("SHP-7003-3", "ORD-7003", [("SKU002", 1)], tracking=["T-3"]),
        make_shipment("SHP-7004-1", "ORD-7004", [("SKU003", 1)], tracking=["T-4"]),
    ])
    report = workspace.run("send-shipments")
    rows = workspace.rows(report)
    assert report["exit_code"] == 3
    assert {rid: r["status"] for rid, r in rows.items()} == {
        "SHP-7003-1": "sent", "SHP-7003-2": "failed", "SHP-7003-3": "sent",
        "SHP-7004-1": "sent"}
    failed = rows["SHP-7003-2"]
    # The second shipment asks for 2 of SKU001 after the first took 1 of the 2 ordered.
    assert "SKU001" in failed["message"] and "asks for 2" in failed["message"]
    assert "only 1 remain open" in failed["message"]
    assert "line 1: 1 of 2 open" in failed["message"]
    assert "SO1001" in failed["message"] or "Sales Order" in failed["message"]
    assert failed["hint"] and "quantities" in failed["hint"]
    assert fulfilled(sales_order(workspace, "ORD-7003")) == [("SKU001", 2, 1), ("SKU002", 1, 1)]
    assert len(workspace.records("itemFulfillment")) == 3

    # `flx errors` lists it with what to do.
    code, output = workspace.flx("errors", "--json")
    errors = {e["record_id"]: e for e in json.loads(output)["errors"]}
    assert "asks for 2" in errors["SHP-7003-2"]["message"]

    # Corrected at the source and re-imported, it goes on the next run.
    workspace.import_records(shipments=[
        make_shipment("SHP-7003-2", "ORD-7003", [("SKU001", 1)], tracking=["T-2"])])
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SHP-7003-2"]["status"] == "sent"
    assert fulfilled(sales_order(workspace, "ORD-7003")) == [("SKU001", 2, 2), ("SKU002", 1, 1)]


def test_more_than_ordered_in_one_shipment_is_refused_before_anything_is_sent(
        workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7005", [("SKU001", 2)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7005", "ORD-7005", [("SKU001", 5)], tracking=["T-5"])])
    report = workspace.run("send-shipments")
    row = workspace.rows(report)["SHP-7005"]
    assert row["status"] == "failed" and row["error_class"] == "data"
    assert "asks for 5 but only 2 remain open" in row["message"]
    assert "line 1: 2 of 2 open" in row["message"]
    assert workspace.records("itemFulfillment") == []
    routes = workspace.emulator.stats()["routes"]
    assert routes["GET salesOrder/{id}"] == 1  # read, then refused before any write
    assert "POST salesOrder/!transform/itemFulfillment" not in routes


def test_a_sku_on_no_line_of_the_sales_order_names_sku_parity(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7006", [("SKU001", 1), ("SKU002", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7006-1", "ORD-7006", [("SKU003", 1)], tracking=["T-6"]),
        make_shipment("SHP-7006-2", "ORD-7006", [("NO-SUCH-SKU", 1)], tracking=["T-7"]),
        make_shipment("SHP-7006-3", "ORD-7006", [("SKU002", 1)], tracking=["T-8"]),
    ])
    report = workspace.run("send-shipments")
    rows = workspace.rows(report)
    for rid, sku in (("SHP-7006-1", "SKU003"), ("SHP-7006-2", "NO-SUCH-SKU")):
        assert rows[rid]["status"] == "failed"
        assert f"SKU '{sku}' is on no line of Sales Order" in rows[rid]["message"]
        assert "SKU parity" in rows[rid]["hint"]
    assert rows["SHP-7006-3"]["status"] == "sent"
    assert fulfilled(sales_order(workspace, "ORD-7006")) == [("SKU001", 1, 0), ("SKU002", 1, 1)]


# -- which line a shipment fulfils -------------------------------------------------------------


def test_the_fulfillment_request_decides_between_two_lines_of_one_sku(
        workspace: Workspace) -> None:
    order = make_order("ORD-7007", [("SKU001", 3)], requests=[
        {"id": "FR-MAIN", "type": "internal", "warehouse": "MAIN",
         "items": [("L1", "SKU001", 1)]},
        {"id": "FR-EAST", "type": "internal", "warehouse": "EAST",
         "items": [("L1", "SKU001", 2)]}])
    send_orders(workspace, order)
    workspace.import_records(shipments=[
        make_shipment("SHP-7007-E", "ORD-7007", [("SKU001", 2)], tracking=["E-1"],
                      fulfillment_request_id="FR-EAST")])
    assert workspace.run("send-shipments")["counts"]["sent"] == 1
    # Line 4 is the EAST share: without the request, line order would have taken line 1.
    assert fulfillment_lines(workspace, "SHP-7007-E") == [(4, "SKU001", 2)]
    record = workspace.by_external_id("itemFulfillment", "SHP-7007-E")
    assert record["item"]["items"][0]["location"]["id"] == "2"
    assert fulfilled(sales_order(workspace, "ORD-7007")) == [("SKU001", 1, 0), ("SKU001", 2, 2)]

    # Without a request, open quantities are used in line order.
    workspace.import_records(shipments=[
        make_shipment("SHP-7007-X", "ORD-7007", [("SKU001", 1)], tracking=["X-1"])])
    assert workspace.run("send-shipments")["counts"]["sent"] == 1
    assert fulfillment_lines(workspace, "SHP-7007-X") == [(1, "SKU001", 1)]
    assert sales_order(workspace, "ORD-7007")["status"]["refName"] == "Pending Billing"


def test_exploded_and_dropship_lines_are_fulfilled_through_the_sales_order(
        workspace: Workspace) -> None:
    # FLX-SKU123 x 3: one unit as VA-SKU123 from the warehouse, two drop-shipped by Vendor A.
    order = make_order("ORD-7008", [("FLX-SKU123", 3, 1.2)], requests=[
        {"id": "FR-W", "type": "internal", "warehouse": "MAIN",
         "items": [("L1", "VA-SKU123", 1)]},
        {"id": "FR-D", "type": "external", "vendor": {"id": "V-A", "name": "Vendor A"},
         "items": [("L1", "FLX-SKU123", 2, "9.00")]}])
    send_orders(workspace, order)
    workspace.import_records(shipments=[
        make_shipment("SHP-7008-D", "ORD-7008", [("FLX-SKU123", 2)], carrier="FedEx",
                      tracking=["7946-1", "7946-2"], fulfillment_request_id="FR-D"),
        make_shipment("SHP-7008-W", "ORD-7008", [("VA-SKU123", 1)], tracking=["1Z-W"],
                      fulfillment_request_id="FR-W"),
    ])
    report = workspace.run("send-shipments")
    assert report["counts"]["sent"] == 2, report["rows"]
    assert fulfillment_lines(workspace, "SHP-7008-D") == [(4, "FLX-SKU123", 2)]
    assert fulfillment_lines(workspace, "SHP-7008-W") == [(1, "VA-SKU123", 1)]
    # Both numbers kept; the two units weigh 2 x 1.2 lb, shared by the two parcels.
    assert tracking_of(workspace, "SHP-7008-D") == [("7946-1", 1.2), ("7946-2", 1.2)]
    # The exploded SKU weighs what its order line weighs.
    assert tracking_of(workspace, "SHP-7008-W") == [("1Z-W", 1.2)]
    so = sales_order(workspace, "ORD-7008")
    assert so["status"]["refName"] == "Pending Billing"
    po_id = so["item"]["items"][1]["createdPo"]["id"]
    po = next(p for p in workspace.records("purchaseOrder") if p["id"] == po_id)
    assert po["trackingNumbers"].split() == ["7946-1", "7946-2"]


def test_every_tracking_number_of_a_shipment_reaches_netsuite(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7009", [("SKU001", 2, 0.8), ("SKU002", 1, 0.5)]))
    workspace.import_records(shipments=[make_shipment(
        "SHP-7009", "ORD-7009",
        [{"sku": "SKU001", "quantity": 2, "tracking_numbers": ["P-1"]},
         {"sku": "SKU002", "quantity": 1}],
        tracking=["P-1", "S-1", "S-2"], carrier="UPS", method="Ground")])
    report = workspace.run("send-shipments")
    assert workspace.rows(report)["SHP-7009"]["status"] == "sent"
    # P-1 holds SKU001 (2 x 0.8 lb); S-1 and S-2 share SKU002's 0.5 lb.
    assert tracking_of(workspace, "SHP-7009") == [("P-1", 1.6), ("S-1", 0.25), ("S-2", 0.25)]
    so = sales_order(workspace, "ORD-7009")
    assert so["linkedTrackingNumbers"].split() == ["P-1", "S-1", "S-2"]
    record = workspace.by_external_id("itemFulfillment", "SHP-7009")
    assert record["shipMethod"]["id"] == "3"  # tables.ship_methods: Ground
    assert record["shipStatus"]["id"] == "C"


def test_a_shipment_of_an_order_paid_by_cash_sale_has_nothing_to_fulfil(
        workspace: Workspace) -> None:
    # Order 9001 is already in NetSuite as the seeded Cash Sale CS-9001 (otherRefNum 9001).
    order = make_order("ORD-9001", [("SKU001", 1)])
    workspace.import_records(orders=[order])
    orders = workspace.run("send-orders")
    assert workspace.rows(orders)["ORD-9001"]["status"] == "linked", orders["rows"]
    workspace.import_records(shipments=[
        make_shipment("SHP-9001", "ORD-9001", [("SKU001", 1)], tracking=["CS-1"])])
    row = workspace.rows(workspace.run("send-shipments"))["SHP-9001"]
    assert row["status"] == "linked"
    assert "cash sale" in row["message"] and "nothing to fulfil" in row["message"]
    assert workspace.records("itemFulfillment") == []


def test_the_order_line_decides_between_two_lines_of_one_sku(workspace: Workspace) -> None:
    send_orders(workspace, make_order("ORD-7010", [("SKU001", 1), ("SKU001", 2)]))
    workspace.import_records(shipments=[make_shipment(
        "SHP-7010", "ORD-7010", [{"sku": "SKU001", "quantity": 1, "order_line_id": "L2"}],
        tracking=["OL-1"])])
    assert workspace.run("send-shipments")["counts"]["sent"] == 1
    assert fulfillment_lines(workspace, "SHP-7010") == [(4, "SKU001", 1)]
    assert fulfilled(sales_order(workspace, "ORD-7010")) == [("SKU001", 1, 0), ("SKU001", 2, 1)]


def test_the_profiles_shipment_header_and_custom_fields_reach_the_fulfillment(
        workspace: Workspace) -> None:
    workspace.profile["shipment"] = {
        "header": {"memo": "Shipped by {{ shipment.carrier | default_if_none('carrier') }}"},
        "custom_fields": {"body": {"custbody_flx_source": "{{ order.channel }}/{{ shipment.id }}"}}}
    send_orders(workspace, make_order("ORD-7011", [("SKU001", 1)]))
    workspace.import_records(shipments=[
        make_shipment("SHP-7011", "ORD-7011", [("SKU001", 1)], tracking=["H-1"], carrier="UPS")])
    row = workspace.rows(workspace.run("send-shipments"))["SHP-7011"]
    assert row["status"] == "sent", row
    record = workspace.by_external_id("itemFulfillment", "SHP-7011")
    assert record["memo"] == "Shipped by UPS"
    assert record["custbody_flx_source"] == "shopify/SHP-7011"
