"""Is a record ready to go to a connection now? Connector-neutral rules, one per operation.

Each check returns None (eligible) or an `Ineligible` reason:
- `waiting=True`: the record belongs to this connection but a prerequisite is missing (not
  fully routed, cancelled, its order not sent yet ...). The runner stores it as `waiting` with
  the reason, and takes it again on a later run.
- `waiting=False`: the record is not this connection's at all (its channel or source is not
  selected). The runner leaves it untouched: another connection may own it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from flx.records.validate import routing_gaps

if TYPE_CHECKING:
    from flx.store.store import Store

__all__ = ["Ineligible", "Prefetched", "Reads", "check", "check_order", "check_shipment",
           "check_vendor_bill", "in_scope"]

CANCELLED = frozenset({"cancelled", "canceled"})
SENT = frozenset({"sent", "linked"})


@dataclass(frozen=True)
class Ineligible:
    """Why a record is not sent now. `message` has no prefix; str() adds "waiting:"/"skipped:"."""

    message: str
    waiting: bool = True
    # Not a missing prerequisite but a record that can never go as it is: the runner fails
    # it (class "data", with this fix) instead of letting it wait for ever.
    fix: str | None = None

    def __str__(self) -> str:
        return f"{'waiting' if self.waiting else 'skipped'}: {self.message}"


class Reads(Protocol):
    """The store reads the checks make (a Store, or Prefetched)."""

    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None: ...

    def get_sync(self, connection: str, operation: str, record_id: str) -> Any: ...


class Prefetched:
    """The store reads the shipment and bill checks make (each record's order, and the
    order's send-orders state), made for a whole page of candidates in two queries. Stands
    in for the store in `check`."""

    def __init__(self, store: Store, connection: str, records: Sequence[Mapping[str, Any]]
                 ) -> None:
        ids = {str(r["order_id"]) for r in records if r.get("order_id")}
        self._orders = store.get_records("order", ids)
        self._states = store.get_syncs(connection, "send-orders", ids)
        self._connection = connection

    def get_record(self, kind: str, record_id: str) -> dict[str, Any] | None:
        assert kind == "order"
        return self._orders.get(record_id)

    def get_sync(self, connection: str, operation: str, record_id: str) -> Any:
        assert connection == self._connection and operation == "send-orders"
        return self._states.get(record_id)


def _listed(settings: Mapping[str, Any] | None, key: str) -> Sequence[str]:
    return list((settings or {}).get(key) or [])


def in_scope(order: Mapping[str, Any], connection: str,
             settings: Mapping[str, Any] | None) -> Ineligible | None:
    """The channel/source filter of a connection's operation settings (empty list: all)."""
    for key, field in (("channels", "channel"), ("sources", "source")):
        allowed = _listed(settings, key)
        value = order.get(field)
        if allowed and value not in allowed:
            return Ineligible(f"{field} {value!r} is not selected for connection {connection}",
                              waiting=False)
    return None


def check_order(order: Mapping[str, Any], connection: str,
                settings: Mapping[str, Any] | None, *,
                gaps: Callable[[Mapping[str, Any]], list[str]] = routing_gaps,
                ) -> Ineligible | None:
    """In scope, not cancelled and fully routed."""
    outside = in_scope(order, connection, settings)
    if outside is not None:
        return outside
    status = str(order.get("status") or "").strip().lower()
    if status in CANCELLED:
        return Ineligible(f"order {order.get('id')} is {status}")
    missing = gaps(order)
    if missing:
        return Ineligible("; ".join(missing))
    return None


def _order_sent(store: Reads, connection: str, connector_name: str, order_id: str,
                ) -> Ineligible | None:
    state = store.get_sync(connection, "send-orders", order_id)
    if state is not None and state.status in SENT:
        return None
    status = state.status if state is not None else "not sent"
    return Ineligible(f"order {order_id} is not in {connector_name} yet (send-orders: {status})")


def _order_of(record: Mapping[str, Any], kind: str, store: Reads, connection: str,
              settings: Mapping[str, Any] | None, order_settings: Mapping[str, Any] | None,
              ) -> tuple[Mapping[str, Any] | None, Ineligible | None]:
    order_id = record.get("order_id")
    order = store.get_record("order", str(order_id)) if order_id else None
    if order is None:
        return None, Ineligible(f"{kind} {record.get('id')}: order {order_id} has not been "
                                "imported yet")
    # A shipment of an order another connection owns is not this connection's either.
    scope = settings if (_listed(settings, "channels") or _listed(settings, "sources")) \
        else order_settings
    return order, in_scope(order, connection, scope)


def _request(order: Mapping[str, Any], fr_id: Any) -> Mapping[str, Any] | None:
    for fr in order.get("fulfillment_requests") or []:
        if isinstance(fr, Mapping) and fr.get("id") == fr_id:
            return fr
    return None


def check_shipment(shipment: Mapping[str, Any], *, store: Reads, connection: str,
                   connector_name: str, settings: Mapping[str, Any] | None = None,
                   order_settings: Mapping[str, Any] | None = None) -> Ineligible | None:
    """Its order is sent or linked on this connection (and names the shipment's request)."""
    order, reason = _order_of(shipment, "shipment", store, connection, settings, order_settings)
    if reason is not None or order is None:
        return reason
    fr_id = shipment.get("fulfillment_request_id")
    if fr_id and _request(order, fr_id) is None:
        return Ineligible(f"fulfillment request {fr_id} is not on order {order['id']} "
                          "(re-import the order with its current routing)")
    return _order_sent(store, connection, connector_name, str(order["id"]))


def check_vendor_bill(bill: Mapping[str, Any], *, store: Reads, connection: str,
                      connector_name: str, settings: Mapping[str, Any] | None = None,
                      order_settings: Mapping[str, Any] | None = None) -> Ineligible | None:
    """Its order is sent or linked, and it bills an external (dropship) request of that order."""
    order, reason = _order_of(bill, "vendor bill", store, connection, settings, order_settings)
    if reason is not None or order is None:
        return reason
    fr_id = bill.get("fulfillment_request_id")
    fr = _request(order, fr_id)
    if fr is None:
        return Ineligible(f"fulfillment request {fr_id} is not on order {order['id']} "
                          "(re-import the order with its current routing)")
    if fr.get("type") != "external":
        return Ineligible(
            f"vendor bill {bill.get('id')}: fulfillment_request_id {fr_id} is "
            f"{fr.get('type') or 'untyped'} on order {order['id']}, not a dropship (external) "
            "request, so there is no vendor Purchase Order to bill",
            fix="point fulfillment_request_id at the order's dropship request and re-import "
                "the bill, or fix the order's routing (type \"external\"), re-import it and "
                f"run `flx retry {bill.get('id')}`")
    return _order_sent(store, connection, connector_name, str(order["id"]))


def check(operation: str, record: Mapping[str, Any], *, store: Reads, connection: str,
          connector_name: str, settings: Mapping[str, Any] | None = None,
          order_settings: Mapping[str, Any] | None = None) -> Ineligible | None:
    """Dispatch on the operation ("send-orders", "send-shipments", "send-vendor-bills")."""
    if operation == "send-orders":
        return check_order(record, connection, settings)
    if operation == "send-shipments":
        return check_shipment(record, store=store, connection=connection,
                              connector_name=connector_name, settings=settings,
                              order_settings=order_settings)
    if operation == "send-vendor-bills":
        return check_vendor_bill(record, store=store, connection=connection,
                                 connector_name=connector_name, settings=settings,
                                 order_settings=order_settings)
    raise ValueError(f"unknown operation {operation!r}")
