"""A record whose value NetSuite refuses in a batch look-up fails alone; its neighbours go.

The poisoned records are written to the store directly: `flx import` refuses control
characters, but a store filled by an older flx (or by hand) may still hold them."""

from __future__ import annotations

import copy
import json
from typing import Any

from flx.store.store import Store
from tests.plugins.netsuite.operations.conftest import Workspace


def poisoned(data: dict[str, Any], new_id: str, number: str, **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(data["orders"][1])  # ORD-1002: a customer, one line, a dropship PO
    order["id"], order["number"] = new_id, number
    for fr in order["fulfillment_requests"]:
        fr["id"] = fr["id"].replace("ORD-1002", new_id)
    for path, value in changes.items():
        node = order
        *parents, leaf = path.split("__")
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        node[leaf] = value
    return order


def test_a_refused_lookup_value_fails_only_its_order(workspace: Workspace,
                                                    data: dict[str, Any]) -> None:
    code, output = workspace.import_records(orders=data["orders"])
    assert code == 0, output
    bad = [
        poisoned(data, "ORD-SKU", "77001", fulfillment_requests__1__items__0__sku="FLX-\x01SKU"),
        poisoned(data, "ORD-MAIL", "77002", customer__email="sam\x02@example.org"),
        poisoned(data, "ORD-NUL", "77003", customer__email="nul@example.org",
                 customer__first_name="Sa\x00m"),
        poisoned(data, "ORD-NUM", "770\x1b04", customer__email="num@example.org"),
    ]
    with Store(f"sqlite:///{workspace.path / 'flx.db'}") as store:
        store.upsert_records("order", bad)
    report = workspace.run("send-orders")
    rows = workspace.rows(report)
    good = ["ORD-1001", "ORD-1002", "ORD-1003"]  # ORD-1004 names an unknown SKU on purpose
    assert {rid: rows[rid]["status"] for rid in good} == {rid: "sent" for rid in good}, rows
    assert rows["ORD-1004"]["error_class"] == "reference"
    expect = {"ORD-SKU": ("sku", "U+0001"), "ORD-MAIL": ("customer.email", "U+0002"),
              "ORD-NUL": ("customer.first_name/last_name", "U+0000"),
              "ORD-NUM": ("number", "U+001B")}
    for rid, (field, char) in expect.items():
        row = rows[rid]
        assert row["status"] == "failed", row
        assert row["error_class"] == "data", row
        assert f"{field} " in row["message"] and char in row["message"], row
        assert "remove the control characters" in row["hint"], row
    # Each good order reached NetSuite exactly once; no poisoned one did.
    eids = [so.get("externalId") for so in workspace.records("salesOrder")]
    assert len(eids) == len(set(eids)) == len(good)
    # The failures are the record's own: `flx errors` lists them as data, not plugin bugs.
    code, output = workspace.flx("errors", "--connection", "ns", "--class", "data")
    assert all(rid in output for rid in expect), output


def test_a_query_refused_for_every_value_still_stops_the_batch(workspace: Workspace,
                                                             data: dict[str, Any]) -> None:
    """The culprit search probes first: a look-up NetSuite refuses whatever the values (a
    misspelt item_lookup_field) is the profile's fault and is reported once, not per SKU."""
    workspace.profile["item_lookup_field"] = "nosuchfield"
    code, output = workspace.import_records(orders=data["orders"])
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] != 0
    assert "nosuchfield" in json.dumps(report)
    assert not workspace.records("salesOrder")


def test_a_bug_met_on_one_orders_data_fails_that_order_only(
        workspace: Workspace, data: dict[str, Any], monkeypatch: Any) -> None:
    """A plugin bug that only one record's data triggers (here a KeyError while building its
    payload) fails that record, class plugin; its batch neighbours are sent."""
    from flx_netsuite.orders import OrderSender

    original = OrderSender.sales_order_payload

    def buggy(self: OrderSender, order: dict[str, Any], *args: Any) -> dict[str, Any]:
        if order["id"] == "ORD-1002":
            raise KeyError("shipping_total")
        return original(self, order, *args)

    monkeypatch.setattr(OrderSender, "sales_order_payload", buggy)
    rows = workspace.import_and_run("send-orders", 3, orders=data["orders"])
    assert rows["ORD-1002"]["status"] == "failed"
    assert rows["ORD-1002"]["error_class"] == "plugin"
    assert "KeyError" in rows["ORD-1002"]["message"]
    assert rows["ORD-1001"]["status"] == rows["ORD-1003"]["status"] == "sent"
