"""The example client profile mappings/netsuite/examples/acme-outdoor.json: it loads, its
template override (one template: salesOrder.json.j2) is used while every other template still
comes from the connector, and what it renders is what NetSuite accepts.

Regenerate its golden file with FLX_UPDATE_GOLDEN=1 (see test_orders_golden.py)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from flx.plugins import build_plugins
from flx.render.mapping import load_profile
from flx_netsuite import plugin as netsuite_plugin

from .conftest import Workspace
from .test_orders_support import assert_golden, exploded_order, json_output, person


def example_path() -> Path:
    node = resources.files("flx_netsuite.mappings").joinpath("examples/acme-outdoor.json")
    return Path(str(node))


@pytest.fixture
def acme(workspace: Workspace) -> Workspace:
    workspace.operation_settings["send-orders"] = {"mapping": str(example_path())}
    return workspace


def amazon_order(order_id: str, **extra: Any) -> dict[str, Any]:
    """The reference page's exploded order, from Amazon, with a gift message and a discount."""
    return exploded_order(order_id, channel="amazon", source="amazon-us",
                          custom_fields={"gift_message": "For the trail"},
                          shipping={"method": "2-Day", "amount": "9.95"},
                          discount_total="5.00", **extra)


def test_the_example_profile_loads_with_its_template_folder() -> None:
    connector = build_plugins(netsuite_plugin, autoload=False).connector("netsuite")
    profile = load_profile(connector, str(example_path()))  # raises on any problem
    assert profile.name == "acme-outdoor"
    assert [d.name for d in profile.template_dirs] == ["acme-outdoor-templates"]
    # One template overridden; every other one still comes from the connector.
    assert sorted(p.name for p in profile.template_dirs[0].iterdir()) == ["salesOrder.json.j2"]
    assert profile.data["customer"]["fields"]["custom_form"] == "112"


def test_the_example_profile_renders_its_override_and_the_shipped_customer_template(
        acme: Workspace) -> None:
    new_buyer = person("Lee", "Hiker", "lee.hiker@example.com")
    acme.import_records(orders=[amazon_order("ORD-A1", customer=new_buyer)])
    code, output = acme.flx("render", "send-orders", "--connection", "ns", "--id", "ORD-A1")
    assert code == 0, output
    payloads = json_output(output)
    assert_golden("acme_outdoor", payloads)

    customer, sales_order = (p["body"] for p in payloads)
    # The override: Acme's memo, no billing address, no confirmation e-mail.
    assert sales_order["memo"] == "Acme Outdoor amazon #A1"
    assert "billingAddress" not in sales_order and sales_order["toBeEmailed"] is False
    # The profile: header, channel table, ship methods, discount item, custom fields.
    assert sales_order["customForm"] == {"id": "120"}
    assert (sales_order["department"], sales_order["class"]) == ({"id": "2"}, {"id": "2"})
    assert sales_order["shipMethod"] == {"id": "4"}
    assert sales_order["discountItem"] == {"id": "701"}
    assert sales_order["custbody_gift_message"] == "For the trail"
    assert [ln["custcol_flx_line_id"] for ln in sales_order["item"]["items"]] == ["L1", "L1"]
    # The customer comes from the connector's own template, with the profile's ids.
    assert {k: customer[k] for k in ("subsidiary", "category", "customForm", "entityStatus")} \
        == {"subsidiary": {"id": "1"}, "category": {"id": "1"}, "customForm": {"id": "112"},
            "entityStatus": {"id": "13"}}


def test_the_example_profile_sends_what_netsuite_accepts(acme: Workspace) -> None:
    known = {"netsuite_id": None, "email": "AP@acme.example", "first_name": None,
             "last_name": None, "company": "Acme", "phone": None}
    acme.import_records(orders=[amazon_order("ORD-A2", customer=known),
                                amazon_order("ORD-A3", customer=person(
                                    "Lee", "Hiker", "lee.hiker@example.com"))])
    report = acme.run("send-orders")
    assert report["exit_code"] == 0, report
    rows = acme.rows(report)
    # tables.customers maps Acme's accounts-payable address to customer 108: no look-up.
    assert rows["ORD-A2"]["remote_ids"]["customer_match"] == "id"
    so = acme.by_external_id("salesOrder", "ORD-A2")
    assert so["entity"]["id"] == "108"
    assert so["memo"] == "Acme Outdoor amazon #A2"
    assert so["customForm"]["id"] == "120"
    assert so["toBeEmailed"] is False
    assert str(so["total"]) == "64.92"  # 19.99 + 39.98 + 9.95 shipping - 5.00 discount
    assert "createdPo" in so["item"]["items"][1]

    created = acme.emulator.record("customer", rows["ORD-A3"]["remote_ids"]["customer"])
    assert created is not None
    assert (created["customForm"]["id"], created["entityStatus"]["id"]) == ("112", "13")
