"""What send-orders works out from an order and the profile alone, before anything is sent:
problems that stop the order (an order discount larger than its lines, a discount with no
discount item, a currency tables.currencies does not map) and warnings about what the Sales
Order leaves out or does not add up to (tax, the channel's total). A run, `--dry-run` and
`flx render` all give the same, since nothing here asks NetSuite."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flx_netsuite.common import money
from flx_netsuite.routing import PlannedLine, Problem

ZERO = Decimal("0.00")


def net_lines(lines: list[PlannedLine]) -> Decimal:
    """What the Sales Order's item lines come to: each net of its line discount share."""
    return sum((p.amount for p in lines), ZERO)


def order_discount_problem(order: dict[str, Any], lines: list[PlannedLine]) -> Problem | None:
    """An order discount (`discount_total`, on top of the line discounts) larger than the
    lines it is taken off would make the Sales Order's item subtotal negative: a data problem,
    like a line discount larger than its line."""
    discount = money(order.get("discount_total"))
    net = net_lines(lines)
    if not discount or not lines or discount <= net:
        return None
    return Problem(
        f"order {order['id']}: the order discount {discount} (discount_total) is more than "
        f"the order's lines {net} (net of their line discounts), so the Sales Order's "
        f"subtotal would be negative ({net - discount})",
        "correct discount_total (the order-level discount taken off on top of the line "
        "discounts, at most what the lines come to after their own discounts) in the source "
        "system, then import the order again", kind="data", path="$.discount_total")


def discount_item_problem(order: dict[str, Any], options: dict[str, Any]) -> Problem | None:
    discount = money(order.get("discount_total"))
    if not discount or options.get("discount_item"):
        return None
    return Problem(
        f"order {order['id']} has an order discount of {discount} (discount_total) but the "
        "profile names no discount item, so the Sales Order total would be wrong",
        "set options.discount_item to a NetSuite discount item id")


def currency_id(order: dict[str, Any],
                tables: dict[str, dict[str, Any]]) -> tuple[str | None, Problem | None]:
    """The NetSuite currency of the order's Sales Order, from tables.currencies (ISO 4217
    code -> currency internal id). An empty table (or an order without a currency) sends
    none, so NetSuite uses the customer's; a currency the table lacks is a problem, never
    sent as some other currency."""
    table = tables.get("currencies") or {}
    code = order.get("currency")
    if not table or code in (None, ""):
        return None, None
    found = table.get(str(code))
    if found not in (None, ""):
        return str(found), None
    return None, Problem(
        f"order {order['id']}: currency {code} has no NetSuite currency in tables.currencies, "
        f"so its Sales Order would be in another currency",
        f'add "{code}": "<NetSuite currency internal id>" under tables.currencies in the '
        "mapping profile (Lists > Accounting > Currencies shows the ids)")


def order_tax(order: dict[str, Any]) -> tuple[Decimal, str]:
    """The order's tax and what it is called in messages: `tax_total`, or when the order
    gives none the sum of its `lines[].tax`."""
    if order.get("tax_total") not in (None, ""):
        return money(order["tax_total"]), "the order's tax"
    lines_tax = sum((money(line.get("tax")) for line in order.get("lines") or []), ZERO)
    return lines_tax, "the lines' tax"


def order_warnings(order: dict[str, Any], lines: list[PlannedLine],
                   profile: dict[str, Any]) -> list[str]:
    """What the Sales Order built from this order leaves out or does not add up to."""
    warnings = []
    if ((profile.get("tables") or {}).get("currencies")
            and order.get("currency") in (None, "")):
        whose = ("header.currency's" if (profile.get("header") or {}).get("currency")
                 else "the customer's")
        warnings.append(f"the order gives no currency, so tables.currencies does not apply: "
                        f"the Sales Order is in {whose} currency")
    tax, tax_name = order_tax(order)
    from_lines = tax_name == "the lines' tax"
    if tax:
        source = " (lines[].tax added up; the order has no tax_total)" if from_lines else ""
        warnings.append(f"{tax_name} {tax}{source} was not sent: NetSuite computes tax from the "
                        "account's tax set-up (tax codes, nexus); compare the Sales Order total")
    if order.get("total") in (None, ""):
        return warnings
    total = money(order["total"])
    net = net_lines(lines)
    discount = money(order.get("discount_total"))
    shipping = money((order.get("shipping") or {}).get("amount"))
    expected = net - discount + shipping + tax
    if expected != total:
        text = (f"the channel's total {total} differs from the Sales Order's expected total "
                f"{expected} (lines {net} net of line discounts - order discount {discount}"
                f" + shipping {shipping} + {tax_name} {tax}, which NetSuite computes "
                f"itself) by {abs(total - expected)}; check discounts, shipping and tax")
        line_discounts = sum((p.discount for p in lines), ZERO)
        if line_discounts and total - expected == line_discounts and discount:
            text += (f". The difference is the line discounts ({line_discounts}): if the "
                     "channel's discount_total already includes them, export discount_total "
                     "without them (flx takes line discounts off the lines)")
        warnings.append(text)
    return warnings


def location_problem(order_id: str, p: PlannedLine, locations: dict[str, Any]) -> Problem | None:
    """A line shipped from a warehouse gets its location from tables.locations. Without
    one, the Sales Order line has no location and its shipment later fails on it, so the
    order is refused now, with the line to add (or the option that leaves it to
    NetSuite)."""
    p.location_id = locations.get(p.warehouse) if p.warehouse is not None else None
    if p.location_id:
        return None
    leave = ('or set options.line_location = "netsuite" in the profile if NetSuite picks '
             "the location (an item or subsidiary default)")
    if p.warehouse is None:
        return Problem(
            f"order {order_id}: fulfillment request {p.fr_id} names no warehouse, so its "
            "Sales Order lines would have no location",
            f"give the fulfillment request a warehouse in the source data, {leave}",
            kind="data")
    return Problem(
        f"order {order_id}: warehouse {p.warehouse!r} of fulfillment request {p.fr_id} "
        "has no NetSuite location",
        f'add "{p.warehouse}": "<location internal id>" under tables.locations in the '
        f"mapping profile, {leave}")
