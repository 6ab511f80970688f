"""`flx connections test ns --deep` against the emulator in each reading of the UNCERTAIN
behaviours: it reports the fulfillment NetSuite would make, the bill behaviour and the
missing features, each finding with its fix, and writes nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from flx_netsuite.emulator import Emulator
from flx_netsuite.emulator.behaviour import Behaviour

from .conftest import Workspace
from .test_orders_support import exploded_order


def _deep(ws: Workspace) -> tuple[int, dict[str, dict[str, Any]]]:
    code, output = ws.flx("connections", "test", "ns", "--deep", "--json")
    report = json.loads(output[output.index("{"):])
    return code, {c["name"]: c for c in report["checks"]}


def _account(ws: Workspace, **switches: Any) -> None:
    ws.emulator = Emulator(behaviour=Behaviour(**switches))
    rows = ws.import_and_run("send-orders", 0, orders=[exploded_order("ORD-D1")])
    assert rows["ORD-D1"]["status"] == "sent"


FULFIL = "drop-ship fulfilment (prefilled Item Fulfillment, not saved)"
RECEIPT = "billing before receipt (prefilled Vendor Bill, not saved)"
ZERO = "zero-quantity bill lines (prefilled Vendor Bill, not saved)"
FEATURES = "account features (record metadata)"


def test_an_account_as_the_defaults_expect_passes_and_nothing_is_written(
        workspace: Workspace) -> None:
    _account(workspace)
    before = workspace.emulator.stats()["records"]
    code, checks = _deep(workspace)
    assert code == 0, checks
    assert checks[FULFIL]["detail"] == (
        "Sales Order SO1001 would be fulfilled with line 1 VA-SKU123 x 1, line 4 FLX-SKU123 x 2 "
        "(options.dropship_fulfillment = sales_order)")
    assert checks[RECEIPT]["ok"] and checks[ZERO]["ok"] and checks[FEATURES]["ok"]
    assert checks[ZERO]["detail"].startswith("a line sent with quantity 0 is kept off the bill")
    stats = workspace.emulator.stats()
    assert stats["records"] == before  # nothing saved
    assert stats["routes"]["POST salesOrder/!transform/itemFulfillment (create-form)"] == 1


def test_each_other_reading_is_a_finding_with_its_profile_fix(workspace: Workspace) -> None:
    _account(workspace, dropship_fulfillment="purchase_order", bill_before_receipt=False,
             missing_features=frozenset({"pickpackship"}))
    before = workspace.emulator.stats()["records"]
    code, checks = _deep(workspace)
    assert code == 1
    fulfil = checks[FULFIL]
    assert not fulfil["ok"]
    assert fulfil["detail"].startswith(
        "Sales Order SO1001 would be fulfilled with line 1 VA-SKU123 x 1; drop-ship lines go "
        "through Purchase Order PO1001: line 4 FLX-SKU123 x 2: this account fulfils drop-ship "
        "lines through the purchase order, not the sales order")
    assert fulfil["fix"] == ('set "dropship_fulfillment": "purchase_order" under options in '
                             "the mapping profile")
    assert not checks[RECEIPT]["ok"]
    assert "before it is received" in checks[RECEIPT]["detail"]
    assert '"bill_timing": "after_shipment"' in checks[RECEIPT]["fix"]
    features = checks[FEATURES]
    assert not features["ok"]
    assert "itemFulfillment.shipStatus (Pick, Pack and Ship is off)" in features["detail"]
    assert '"omit_fields": ["shipStatus"]' in features["fix"]
    assert workspace.emulator.stats()["records"] == before

    # The profile lines it names make the account pass.
    options = workspace.profile["options"]
    options.update(dropship_fulfillment="purchase_order", bill_timing="after_shipment",
                   omit_fields=["shipStatus"])
    code, checks = _deep(workspace)
    assert code == 0, checks


@pytest.mark.parametrize("reading", ["kept_off", "refused"])
def test_zero_quantity_bill_lines_in_both_readings(workspace: Workspace, reading: str) -> None:
    workspace.emulator = Emulator(behaviour=Behaviour(zero_quantity_bill_lines=reading))
    two_lines = exploded_order("ORD-D2")
    two_lines["lines"].append({"id": "L2", "sku": "FLX-SKU123", "title": "Widget",
                               "quantity": 1, "unit_price": "19.99"})
    two_lines["fulfillment_requests"][1]["items"].append(
        {"order_line_id": "L2", "sku": "FLX-SKU123", "quantity": 1, "cost": "9.00"})
    workspace.import_and_run("send-orders", 0, orders=[two_lines])
    code, checks = _deep(workspace)
    zero = checks[ZERO]
    assert zero["ok"] is (reading == "kept_off")
    if reading == "refused":
        assert code == 1
        assert zero["fix"] == ('set "bill_strategy": "replace_lines" under options in the '
                               "mapping profile")


def test_an_account_with_no_drop_ship_po_yet_says_so(workspace: Workspace) -> None:
    code, checks = _deep(workspace)
    assert code == 0
    assert checks["drop-ship fulfilment and billing"]["detail"].startswith(
        "not probed: the account has no drop-ship Purchase Order yet")


def test_the_probe_runs_under_the_dry_run_guard(workspace: Workspace,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """A probe that tried to write would be stopped before the request left the machine."""
    import flx_netsuite.probe as probe

    def writes(client: Any, profile: dict[str, Any]) -> list[Any]:
        client.create("customer", {"companyName": "Probe Inc", "subsidiary": {"id": "1"}})
        return []

    monkeypatch.setattr(probe, "deep_checks", writes)
    before = workspace.emulator.stats()
    code, output = workspace.flx("connections", "test", "ns", "--deep")
    assert code == 1
    assert "dry run: refused POST /services/rest/record/v1/customer (nothing was sent)" in output
    after = workspace.emulator.stats()
    assert after["records"] == before["records"]
    assert "POST customer" not in after["routes"]
