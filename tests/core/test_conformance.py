"""Every installed connector (and the test connector) passes the conformance checks; a broken
connector is caught with a message that names the problem."""

from __future__ import annotations

from dataclasses import replace

import pytest

from flx.plugins import build_plugins
from flx.testing.conformance import check_connector
from tests.fake_plugin import plugin as fake_plugin

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
