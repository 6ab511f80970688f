"""The operations flx ships: send-orders, send-shipments and send-vendor-bills, registered by
a default plugin that loads even with plugin autoload off (flx.plugins.DEFAULT_PLUGINS).
Their rules are connector-neutral (flx.operations.eligibility); a connector adds its own
through `Connector.rules` (NetSuite: a vendor bill must bill a dropship request).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

import pluggy

from flx.operations import eligibility as rules
from flx.operations.registry import (
    Ineligible,
    Operation,
    Operations,
    OperationWords,
    Reads,
    RegisterOperation,
    RuleContext,
)

# The same marker as flx.hookimpl (pluggy matches markers by project name); defined here so
# that flx.operations does not import the plugin manager that loads it.
hookimpl = pluggy.HookimplMarker("flx")

PLUGIN_NAME = "flx.operations"


def _schema(kind: str) -> dict[str, Any]:
    text = resources.files("flx.schemas").joinpath(f"{kind}.schema.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def _builtin() -> tuple[Operation, ...]:
    return (
        Operation("send-orders", "order", _schema("order"), "orders",
                  OperationWords("order", "orders"), position=10, plugin_name=PLUGIN_NAME,
                  rules=(rules.order_in_scope, rules.order_not_cancelled, rules.order_routed),
                  description="Orders become sales orders (or the system's equivalent)."),
        Operation("send-shipments", "shipment", _schema("shipment"), "shipments",
                  OperationWords("shipment", "shipments"), requires="send-orders",
                  rules=(rules.shipment_request_on_order,), position=20,
                  plugin_name=PLUGIN_NAME,
                  description="Shipments of sent orders become fulfillments."),
        Operation("send-vendor-bills", "vendor_bill", _schema("vendor_bill"), "vendor_bills",
                  OperationWords("vendor bill", "vendor bills"), requires="send-orders",
                  rules=(rules.bill_request_on_order,), position=30, plugin_name=PLUGIN_NAME,
                  description="Vendors' invoices for sent orders become vendor bills."),
    )


@cache
def builtin_operations() -> Operations:
    """A registry of the built-in operations only (for code that runs without plugins)."""
    ops = Operations(_builtin())
    ops.validate()
    return ops


@hookimpl
def register_operations(register: RegisterOperation) -> None:
    for op in _builtin():
        register(op)


def check(operation: str, record: Mapping[str, Any], *, store: Reads, connection: str,
          connector_name: str, settings: Mapping[str, Any] | None = None,
          order_settings: Mapping[str, Any] | None = None) -> Ineligible | None:
    """The built-in operations' check of one record, without any connector's own rules."""
    return builtin_operations().check(operation, record, RuleContext(
        store=store, connection=connection, connector_name=connector_name, settings=settings,
        required_settings=order_settings))
