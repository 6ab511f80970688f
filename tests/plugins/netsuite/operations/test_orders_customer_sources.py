"""Customers, end to end through the CLI against the emulator: text custom entity fields set
from the profile (customer.custom_fields), a refused customer id blamed on where it came from
(the order, tables.customers, the default customer), and a Sales Order made by an earlier
attempt that waited for approval is not reported as "interrupted"."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from flx.render.mapping import validate_profile
from flx_netsuite.emulator import EmulatorTransport
from tests.plugins.netsuite.emulator.helpers import NS

from .conftest import Workspace
from .test_orders_support import dropship_order, internal_order, person


class Recording(httpx.BaseTransport):
    """The emulator, keeping every POST body it was sent."""

    def __init__(self, inner: EmulatorTransport) -> None:
        self.inner = inner
        self.posts: list[tuple[str, dict[str, Any]]] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.content:
            try:
                self.posts.append((request.url.path, json.loads(request.content)))
            except ValueError:
                pass
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_customer_custom_fields_are_sent_as_written_and_rendered(workspace: Workspace) -> None:
    workspace.profile["customer"]["custom_fields"] = {
        "custentity_source": "flx {{ order.channel }}",
        "custentity_loyalty_tier": "{{ order.custom_fields.tier | default('none') }}",
        "custentity_vip": True,
    }
    new = internal_order("ORD-700", customer=person("Nia", "New", "nia@example.com"),
                         custom_fields={"tier": "gold"})
    code, output = workspace.import_records(orders=[new])
    assert code == 0, output
    # The preview shows the customer payload with the values as text, not {"id": ...}.
    code, output = workspace.flx("render", "send-orders", "--connection", "ns", "--id", "ORD-700")
    assert code == 0, output
    assert '"custentity_loyalty_tier": "gold"' in output, output
    recording = Recording(EmulatorTransport(workspace.emulator))
    report = workspace.run("send-orders", transport=recording)
    (body,) = [b for path, b in recording.posts if path.endswith("/customer")]
    assert body["custentity_loyalty_tier"] == "gold"
    assert body["custentity_source"] == f"flx {new.get('channel')}"
    assert body["custentity_vip"] is True
    # The emulator's account has no custom entity fields: NetSuite's refusal names the
    # profile key that sent it.
    row = workspace.rows(report)["ORD-700"]
    assert row["status"] == "failed" and "(at custentity_" in row["message"], row
    assert "customer.custom_fields.custentity_" in row["hint"], row["hint"]
    assert body["subsidiary"] == {"id": "1"}  # customer.fields stay references


def test_customer_custom_fields_keys_are_checked(workspace: Workspace) -> None:
    workspace.profile["customer"]["custom_fields"] = {"custbody_tier": "gold"}
    workspace.profile["customer"]["custom_feilds"] = {}
    code, output = workspace.import_records(orders=[internal_order("ORD-701")])
    assert code == 0, output
    report_code, output = workspace.flx("run", "send-orders", "--connection", "ns")
    assert report_code != 0
    flat = " ".join(output.split())
    assert "custbody_tier" in flat and "custentity_" in flat, output
    assert "$.customer.custom_feilds: unknown setting (did you mean 'custom_fields'?)" in flat
    assert workspace.records("salesOrder") == []


def test_customer_custom_fields_are_valid_in_the_profile_schema() -> None:
    from flx_netsuite.plugin import register_connectors
    found: list[Any] = []
    register_connectors(found.append)
    (netsuite,) = [c for c in found if c.name == "netsuite"]
    ok = {"customer": {"custom_fields": {"custentity_tier": "{{ order.custom_fields.tier }}"}}}
    assert validate_profile(ok, netsuite) == []
    bad = {"customer": {"custom_fields": {"custentiy_tier": "x"}}}
    assert any("custentiy_tier" in p for p in validate_profile(bad, netsuite))


def test_refused_netsuite_id_from_the_order_names_the_order(workspace: Workspace) -> None:
    wrong = internal_order("ORD-710", customer=person("Jane", "Doe", "jane@example.com",
                                                      netsuite_id="9999"))
    row = workspace.import_and_run("send-orders", 3, orders=[wrong])["ORD-710"]
    assert row["status"] == "failed" and "entity" in row["message"], row
    assert "order ORD-710's customer.netsuite_id 9999 is not a NetSuite customer" in row["hint"]
    assert "correct it at the source and re-import" in row["hint"]
    assert "mapping profile" not in row["hint"], row["hint"]
    assert workspace.records("salesOrder") == []


def test_refused_id_from_tables_customers_names_the_table(workspace: Workspace) -> None:
    workspace.profile["tables"]["customers"] = {"jane@example.com": "9999"}
    row = workspace.import_and_run("send-orders", 3, orders=[internal_order(
        "ORD-711", customer=person("Jane", "Doe", "Jane@Example.com"))])["ORD-711"]
    assert "tables.customers maps jane@example.com to 9999" in row["hint"], row["hint"]
    assert "customer.netsuite_id" not in row["hint"]


def test_refused_default_customer_names_the_setting(workspace: Workspace) -> None:
    workspace.profile["customer"].update(on_missing="default", default_customer_id="9999")
    row = workspace.import_and_run("send-orders", 3, orders=[internal_order(
        "ORD-712", customer=person("Zed", "Unknown", "zed@example.com"))])["ORD-712"]
    assert "customer.default_customer_id 9999" in row["hint"], row["hint"]


def test_retry_after_approval_does_not_say_interrupted(workspace: Workspace) -> None:
    workspace.profile["options"]["order_status"] = "A"
    row = workspace.import_and_run("send-orders", 3, orders=[dropship_order("ORD-720")])["ORD-720"]
    assert "Pending Approval" in row["message"], row
    so = workspace.by_external_id("salesOrder", "ORD-720")
    ns = NS(workspace.emulator)
    try:
        assert ns.patch(f"salesOrder/{so['id']}", {"orderStatus": {"id": "B"}}).status_code == 204
    finally:
        ns.close()
    code, output = workspace.flx("retry", "ORD-720")
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    row = workspace.rows(report)["ORD-720"]
    assert row["status"] == "sent" and row["remote_ids"]["sales_order"] == so["id"]
    assert "interrupted" not in row["message"], row["message"]
    assert "Pending Approval" in row["message"] and "not created again" in row["message"]
    assert len(workspace.records("salesOrder")) == 1


@pytest.mark.parametrize("state, words", [
    (None, "(created by an earlier attempt; found by its external id"),
    ({"status": "in_flight"}, "(by an earlier attempt that was interrupted;"),
    ({"status": "failed", "error": {"message": "read timed out"}},
     "(by an earlier attempt that failed after NetSuite saved it;"),
])
def test_recovered_note_follows_the_earlier_state(state: dict[str, Any] | None,
                                                  words: str) -> None:
    from flx.store.sync import SyncState
    from flx_netsuite.recovery import recovered_note
    sync = SyncState("ns", "send-orders", "ORD-1", **state) if state else None
    assert words in recovered_note(sync)
