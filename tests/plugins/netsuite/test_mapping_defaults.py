"""NetSuite's own profile keys (sku_level, item_lookup_field, customer) are declared, checked
and defaulted by the connector's mapping schema, not by core's: a profile that leaves them out
reads the same as before they moved."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flx import Connector
from flx.errors import ConfigError
from flx.plugins import build_plugins
from flx.render.mapping import load_profile
from flx_netsuite import plugin as netsuite_plugin

DEFAULT_CUSTOMER = {"match": ["id", "email", "name"], "on_missing": "create", "fields": {}}


@pytest.fixture(scope="module")
def netsuite() -> Connector:
    return build_plugins(netsuite_plugin, autoload=False).connector("netsuite")


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "acme.json"
    path.write_text(json.dumps(data))
    return path


def test_a_profile_that_leaves_them_out_gets_the_defaults(netsuite: Connector,
                                                          tmp_path: Path) -> None:
    profile = load_profile(netsuite, str(write(tmp_path, {"name": "acme"})))
    assert profile.data["sku_level"] == "order"
    assert profile.data["item_lookup_field"] == "itemid"
    assert profile.data["customer"] == DEFAULT_CUSTOMER
    assert profile.data["tables"] == {}  # core's own defaults still come first


def test_a_partial_customer_policy_keeps_the_other_defaults(netsuite: Connector,
                                                            tmp_path: Path) -> None:
    path = write(tmp_path, {"customer": {"on_missing": "default",
                                         "default_customer_id": "42"}})
    assert load_profile(netsuite, str(path)).data["customer"] == {
        "on_missing": "default", "default_customer_id": "42",
        "match": ["id", "email", "name"], "fields": {}}


def test_every_shipped_profile_reads_its_own_values(netsuite: Connector) -> None:
    for name in ("default", "demo"):
        profile = load_profile(netsuite, name)
        assert profile.data["sku_level"] in ("order", "po")
        assert set(DEFAULT_CUSTOMER) <= set(profile.data["customer"])


def test_invalid_netsuite_keys_are_listed_with_core_problems(netsuite: Connector,
                                                             tmp_path: Path) -> None:
    path = write(tmp_path, {
        "sku_level": "line",
        "custmer": {},
        "customer": {"on_missing": "default", "match": ["phone"],
                     "fields": {"subsidiary": 3}},
        "tables": {"vendors": ["V-A"]},
    })
    with pytest.raises(ConfigError) as err:
        load_profile(netsuite, str(path))
    assert err.value.problems == [
        "$.custmer: unknown setting (did you mean 'customer'?)",
        "$.customer.fields.subsidiary: 3 is not of type 'string'",
        "$.customer.match[0]: 'phone' is not one of ['id', 'email', 'name']",
        "$.customer: 'default_customer_id' is a required property",
        "$.sku_level: 'line' is not one of ['order', 'po']",
        "$.tables.vendors: ['V-A'] is not of type 'object'",
    ]


def test_another_connector_does_not_get_netsuites_keys(tmp_path: Path) -> None:
    other = Connector(name="books", connection_schema={}, operations=("send-orders",))
    profile = load_profile(other, str(write(tmp_path, {"name": "acme"})))
    assert not {"sku_level", "item_lookup_field", "customer"} & set(profile.data)
    with pytest.raises(ConfigError) as err:
        load_profile(other, str(write(tmp_path, {"sku_level": "po"})))
    assert err.value.problems == ["$.sku_level: unknown setting"]
