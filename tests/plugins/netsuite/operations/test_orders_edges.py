"""Send-orders edge cases a new user met: optional fields left out, a forced re-send of a
changed order, order tax, and orders already in NetSuite whose vendors flx cannot map."""

from __future__ import annotations

import json

import httpx

from .conftest import Workspace
from .test_orders_support import dropship_order, exploded_order, internal_order


def test_optional_fields_left_out_still_send(workspace: Workspace) -> None:
    bare = internal_order("ORD-501")
    for key in ("placed_at", "custom_fields", "channel", "source"):
        bare.pop(key)
    po_level = exploded_order("ORD-502")
    for request in po_level["fulfillment_requests"]:
        for item in request["items"]:
            item.pop("sku")  # documented as optional: the ordered SKU ships
    workspace.profile["sku_level"] = "po"
    workspace.import_records(orders=[bare, po_level])
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, [r["message"] for r in report["rows"]]
    so = workspace.by_external_id("salesOrder", "ORD-501")
    assert "tranDate" in so  # NetSuite's default date
    assert so["custbody_flx_source"] == "/"  # the demo profile's channel/source expression
    lines = workspace.by_external_id("salesOrder", "ORD-502")["item"]["items"]
    assert [ln["item"]["refName"] for ln in lines] == ["FLX-SKU123", "FLX-SKU123"]


def test_a_forced_resend_of_a_changed_order_says_nothing_was_changed(
        workspace: Workspace) -> None:
    order = internal_order("ORD-503")
    workspace.import_records(orders=[order])
    assert workspace.run("send-orders")["exit_code"] == 0
    order["lines"][0]["unit_price"] = "13.50"
    workspace.import_records(orders=[order])
    forced = workspace.run("send-orders", "--only", "ORD-503", "--force")
    row = workspace.rows(forced)["ORD-503"]
    assert row["status"] == "sent"
    assert "already in NetSuite; nothing sent" in row["message"]
    assert "does not change" in row["message"]
    held = workspace.by_external_id("salesOrder", "ORD-503")
    assert str(held["item"]["items"][0]["rate"]) == "12.5"  # untouched, and flx says so


def test_order_tax_is_flagged_not_silently_dropped(workspace: Workspace) -> None:
    workspace.import_records(orders=[internal_order("ORD-504", tax_total="1.20")])
    report = workspace.run("send-orders")
    row = workspace.rows(report)["ORD-504"]
    assert row["status"] == "sent"
    assert any("tax 1.20 was not sent" in w for w in row["warnings"])


def test_an_order_already_in_netsuite_links_even_when_its_vendor_is_unmapped(
        workspace: Workspace) -> None:
    order = dropship_order("ORD-505")
    workspace.import_records(orders=[order])
    assert workspace.run("send-orders")["exit_code"] == 0
    # A second flx store (another machine, or a fresh start) meets the same order, and its
    # profile does not map the vendor: linking needs no vendor, so it links.
    (workspace.path / "flx.db").unlink()
    workspace.profile["tables"]["vendors"] = {}
    workspace.import_records(orders=[order])
    report = workspace.run("send-orders")
    row = workspace.rows(report)["ORD-505"]
    assert row["status"] == "linked", row
    assert any("linked without matching" in w for w in row["warnings"])
    assert len([s for s in workspace.records("salesOrder")
                if s.get("externalId") == "ORD-505"]) == 1


def test_an_unreachable_netsuite_stops_the_run_and_leaves_records_untouched(
        workspace: Workspace, fast_retries: None) -> None:
    workspace.import_records(orders=[internal_order("ORD-506"), dropship_order("ORD-507")])

    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("[Errno 111] Connection refused", request=request)

    report = workspace.run("send-orders", transport=httpx.MockTransport(refuse))
    assert report["exit_code"] == 1
    assert "NetSuite could not be reached" in report["aborted"]
    code, output = workspace.flx("errors", "--json")
    assert json.loads(output)["errors"] == []  # not the records' fault: none marked failed
    # Once NetSuite answers again, the same records go through.
    assert workspace.run("send-orders")["exit_code"] == 0
