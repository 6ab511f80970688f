"""Every installed connector (and the test connector) passes the conformance checks; a broken
connector is caught with a message that names the problem; and the fake connector passes the
shipped suite (flx.testing.ConnectorSuite), as any connector package's tests would run it."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import httpx
import pytest

from flx.plugins import build_plugins
from flx.testing import ConnectorSuite, Ledger, check_connector
from flx.testing import fake as fake_plugin
from flx.testing.harness import make_bill, make_order, make_shipment

PLUGINS = build_plugins(fake_plugin)


@pytest.mark.parametrize("name", sorted(PLUGINS.connectors))
def test_connector_conforms(name: str) -> None:
    assert check_connector(PLUGINS.connectors[name]) == []


def test_netsuite_is_among_the_checked_connectors() -> None:
    assert "netsuite" in PLUGINS.connectors


def test_a_broken_connector_is_reported() -> None:
    good = PLUGINS.connectors["netsuite"]
    broken = replace(good, name="broken",
                     payload_schemas={**good.payload_schemas,
                                      "missing.json.j2": {"type": "objekt"}})
    problems = check_connector(broken)
    assert any("missing.json.j2" in p and "not a valid JSON Schema" in p for p in problems)
    assert any("'missing.json.j2' but no such template" in p for p in problems)


class TestFakebooks(ConnectorSuite):
    plugin = fake_plugin
    connector = "fakebooks"

    def setup_method(self) -> None:
        self.ledger = Ledger()

    def settings(self) -> dict[str, Any]:
        return {"api_key": self.ledger.api_key, "concurrency": 2}

    def transport(self) -> httpx.BaseTransport:
        return self.ledger.transport()

    def records(self) -> dict[str, list[dict[str, Any]]]:
        orders = [make_order(f"ORD-{n}") for n in range(1, 6)]
        return {"orders": orders,
                "shipments": [make_shipment(f"SH-{n}", f"ORD-{n}") for n in range(1, 4)],
                "vendor_bills": [make_bill(f"VB-{n}", f"ORD-{n}") for n in range(1, 3)]}

    def duplicates(self) -> int:
        return self.ledger.duplicate_attempts  # it refuses a second copy (409): count those
