"""Which transaction already in NetSuite is really this order's (send-orders' link_existing).

A Sales Order found by flx's own external id for the order is its own. One found only by the
order number (otherRefNum) may belong to another order with the same number: stores and
channels often share number sequences. Such a match is linked only when nothing says it is
another order's:
- its external id decodes to another order in flx's store (flx made it for that order);
- it is a Sales Order of another customer than the one this order resolves to (or the order's
  customer is not in NetSuite at all, so no Sales Order of theirs can exist yet).
A Cash Sale (the store's own point of sale) is matched by number alone: it is often booked to a
generic customer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flx_netsuite.ids import parse_external_id

if TYPE_CHECKING:
    from flx_netsuite.common import NetSuiteContext
    from flx_netsuite.customers import CustomerResolver


def foreign_match(ctx: NetSuiteContext, customers: CustomerResolver, order: dict[str, Any],
                  found: dict[str, str], own_external_id: str) -> str | None:
    """Why the transaction `found` for `order` is not the order's own (a warning for the
    order), or None when it may be linked."""
    external = str(found.get("externalid") or "")
    if external.lower() == own_external_id.lower() or found.get("type") == "CashSale":
        return None
    number, tranid = order.get("number"), found.get("tranid") or found.get("id")
    other = _flx_order(ctx, external)
    if other is not None and other != order["id"]:
        return (f"Sales Order {tranid} has the same number {number} but flx made it for order "
                f"{other}: not linked; a Sales Order of its own was created")
    entity = str(found.get("entity") or "")
    if not entity:
        return None  # nothing to compare: the number decides, as documented
    mine = customers.find(order)
    expected = mine[0] if mine else (
        str(customers.default_id) if customers.on_missing == "default" and customers.default_id
        else None)
    if expected != entity:
        ours = expected or "the order's, who is new"
        return (f"Sales Order {tranid} has the same number {number} but another customer "
                f"(NetSuite customer {entity}, not {ours}): not linked; a Sales Order of its "
                "own was created")
    return None


def _flx_order(ctx: NetSuiteContext, external_id: str) -> str | None:
    """The order id an external id flx would give a Sales Order decodes to, when flx's store
    has such an order."""
    if not external_id:
        return None
    try:
        parts = parse_external_id(external_id)
    except ValueError:
        return None  # another system's id
    if len(parts) != 1 or not ctx.runtime.record("order", parts[0]):
        return None
    return parts[0]
