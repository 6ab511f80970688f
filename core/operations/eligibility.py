"""The built-in operations' rules (flx.operations.builtin registers them): is an order, a
shipment or a vendor bill ready to go to a connection now? Connector-neutral; a connector adds
its own through `Connector.rules`. What a rule returns is explained in
flx.operations.registry (`Ineligible`, `RuleContext`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from flx.operations.registry import (
    Ineligible,
    Prefetched,
    Reads,
    RuleContext,
    in_scope,
)
from flx.records.validate import routing_gaps

__all__ = ["Ineligible", "Prefetched", "Reads", "bill_request_on_order", "check_order",
           "fulfillment_request", "in_scope", "order_in_scope", "order_not_cancelled",
           "order_routed", "shipment_request_on_order"]

CANCELLED = frozenset({"cancelled", "canceled"})


def order_in_scope(ctx: RuleContext, order: Mapping[str, Any]) -> Ineligible | None:
    return in_scope(order, ctx.connection, ctx.settings)


def order_not_cancelled(ctx: RuleContext, order: Mapping[str, Any]) -> Ineligible | None:
    status = str(order.get("status") or "").strip().lower()
    return Ineligible(f"order {order.get('id')} is {status}") if status in CANCELLED else None


def order_routed(ctx: RuleContext, order: Mapping[str, Any]) -> Ineligible | None:
    missing = routing_gaps(order)
    return Ineligible("; ".join(missing)) if missing else None


def check_order(order: Mapping[str, Any], connection: str,
                settings: Mapping[str, Any] | None, *,
                gaps: Callable[[Mapping[str, Any]], list[str]] = routing_gaps,
                ) -> Ineligible | None:
    """In scope, not cancelled and fully routed (the rules of send-orders, in one call)."""
    ctx = RuleContext(store=_NoReads(), connection=connection, connector_name="",
                      settings=settings)
    reason = order_in_scope(ctx, order) or order_not_cancelled(ctx, order)
    if reason is not None:
        return reason
    missing = gaps(order)
    return Ineligible("; ".join(missing)) if missing else None


def fulfillment_request(order: Mapping[str, Any], fr_id: Any) -> Mapping[str, Any] | None:
    for fr in order.get("fulfillment_requests") or []:
        if isinstance(fr, Mapping) and fr.get("id") == fr_id:
            return fr
    return None


def _order(ctx: RuleContext, record: Mapping[str, Any]) -> Mapping[str, Any] | None:
    order_id = record.get("order_id")
    return ctx.store.get_record("order", str(order_id)) if order_id else None


def _on_order(order: Mapping[str, Any], fr_id: Any) -> Ineligible | None:
    if fulfillment_request(order, fr_id) is None:
        return Ineligible(f"fulfillment request {fr_id} is not on order {order['id']} "
                          "(re-import the order with its current routing)")
    return None


def shipment_request_on_order(ctx: RuleContext, shipment: Mapping[str, Any]
                              ) -> Ineligible | None:
    """A shipment that names a fulfillment request names one of its order's (as imported)."""
    order, fr_id = _order(ctx, shipment), shipment.get("fulfillment_request_id")
    return _on_order(order, fr_id) if order is not None and fr_id else None


def bill_request_on_order(ctx: RuleContext, bill: Mapping[str, Any]) -> Ineligible | None:
    """A vendor bill bills one of its order's fulfillment requests (as imported)."""
    order = _order(ctx, bill)
    return _on_order(order, bill.get("fulfillment_request_id")) if order is not None else None


class _NoReads:
    """check_order reads nothing from the store."""

    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        return None

    def get_sync(self, connection: str, operation: str, record_id: str) -> Any:
        return None

