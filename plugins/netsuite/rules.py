"""Eligibility rules only NetSuite has, added to flx's own (Connector.rules): a vendor bill is
billed against the Purchase Order NetSuite made for a dropship line, so a bill for a
warehouse (internal) request has nothing to bill and can never go as it is."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flx import Ineligible, RuleContext


def _request(order: Mapping[str, Any], fr_id: Any) -> Mapping[str, Any] | None:
    for fr in order.get("fulfillment_requests") or []:
        if isinstance(fr, Mapping) and fr.get("id") == fr_id:
            return fr
    return None


def bill_has_a_purchase_order(ctx: RuleContext, bill: Mapping[str, Any]) -> Ineligible | None:
    """The bill's fulfillment request is a dropship (external) one: NetSuite has a vendor PO
    for it. flx's own rules already checked the order is imported and holds the request."""
    order_id = bill.get("order_id")
    order = ctx.store.get_record("order", str(order_id)) if order_id else None
    fr_id = bill.get("fulfillment_request_id")
    fr = _request(order, fr_id) if order is not None else None
    if order is None or fr is None or fr.get("type") == "external":
        return None
    return Ineligible(
        f"vendor bill {bill.get('id')}: fulfillment_request_id {fr_id} is "
        f"{fr.get('type') or 'untyped'} on order {order['id']}, not a dropship (external) "
        "request, so there is no vendor Purchase Order to bill",
        fix="point fulfillment_request_id at the order's dropship request and re-import "
            "the bill, or fix the order's routing (type \"external\"), re-import it and "
            f"run `flx retry {bill.get('id')}`")


RULES = {"send-vendor-bills": (bill_has_a_purchase_order,)}
