"""Flxpoint JSON -> flx records (order, shipment, vendor_bill). The one place that knows the
shape of Flxpoint's objects; where that shape is uncertain, the profile says where to look.

Each `map_*` returns the flx record, or None for an object flx deliberately leaves out (a
draft order, a return shipment, a credit invoice), and raises `FlxpointMappingError` naming
the Flxpoint object, the field and the fix when a record cannot be mapped."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from .profile import MappingProfile
from .reading import FOUR, MAX_ID, FlxpointMappingError, Reader, as_int, compact, decimal

__all__ = ["Context", "FlxpointMappingError", "map_invoice", "map_order", "map_shipment"]


@dataclass
class Context:
    """What mapping needs beyond the object: the profile, Flxpoint's sources and channels
    (by id), and for invoices the order of each fulfillment request."""

    profile: MappingProfile
    sources: dict[int, dict[str, Any]] = field(default_factory=dict)
    channels: dict[int, dict[str, Any]] = field(default_factory=dict)
    fr_orders: dict[int, int] = field(default_factory=dict)


# --- orders ------------------------------------------------------------------------------------


def map_order(raw: Any, ctx: Context,
              frs: list[Any] | None = None) -> dict[str, Any] | None:
    """An order (with its FRs embedded, or given as `frs` when fetched separately)."""
    p = ctx.profile
    r = Reader("order", raw)
    order_id = r.ident("id")
    r = Reader(f"order {order_id}", raw, order_id)
    status = r.text("orderStatus")
    if status in p.data.get("skip_order_statuses", []):
        return None
    channel_id = r.text(p.path("order.channel_id"))
    channel = ctx.channels.get(as_int(channel_id) or -1)
    lines, cancelled = _lines(r, p)
    fr_path, fr_rows = ("fulfillmentRequests", frs) if frs is not None else \
        r.rows(p.path("order.fulfillment_requests"))
    requests = [fr for i, row in enumerate(fr_rows)
                if (fr := _request(r, f"{fr_path}[{i}]", row, ctx, cancelled)) is not None]
    billing = _address(r, "billingAddress")
    shipping_address = _address(r, "shippingAddress")
    order = {
        "id": order_id,
        "number": r.text(p.path("order.number"), limit=MAX_ID),
        "channel": (channel or {}).get("name") or channel_id,
        "source": channel_id,
        "status": _status(status, p),
        "placed_at": r.time("orderedAt"),
        "currency": _currency(r.text(p.path("order.currency")) or p.currency, r),
        "customer": _customer(r),
        "shipping_address": shipping_address,
        "billing_address": billing,
        "lines": lines,
        "shipping": compact({"method": r.text(p.path("order.shipping_method")),
                              "amount": r.money(p.path("order.shipping_amount"))}),
        "subtotal": r.money(p.path("order.subtotal")),
        "tax_total": r.money(p.path("order.tax_total")),
        "discount_total": r.money(p.path("order.discount_total")),
        "total": r.money("orderTotal"),
        "fulfillment_requests": requests,
        "custom_fields": _custom_fields(r, p.path("order.custom_fields")),
        "flxpoint": compact({"id": order_id, "order_number": r.text("orderNumber"),
                              "updated_at": r.time("updatedAt")}),
    }
    return compact(order)


def _status(status: str | None, p: MappingProfile) -> str | None:
    if status is None:
        return None
    mapped = p.data.get("order_statuses", {}).get(status)
    return str(mapped) if mapped else status.lower()


def _currency(code: str, r: Reader) -> str:
    if len(code) != 3 or not code.isalpha():
        raise r.fail("currency", f"is {code!r}, not a three-letter code",
                     "set the profile's `currency` (e.g. USD)")
    return code.upper()


def _lines(r: Reader, p: MappingProfile) -> tuple[list[dict[str, Any]], set[str]]:
    """The order's lines, and the ids of items cancelled to nothing (left out)."""
    path, rows = r.rows(p.path("order.lines"))
    lines, cancelled = [], set()
    for i, row in enumerate(rows):
        line = Reader(f"{r.what} {path}[{i}]", row, r.record_id)
        quantity = line.units(p.path("line.quantity"))
        if not quantity:
            cancelled.add(line.ident(p.path("line.id")))
            continue
        lines.append(compact({
            "id": line.ident(p.path("line.id")), "sku": line.ident(p.path("line.sku")),
            "title": line.text(p.path("line.title")), "quantity": quantity,
            "unit_price": line.money(p.path("line.unit_price"), FOUR),
            "discount": line.money(p.path("line.discount")),
            "tax": line.money(p.path("line.tax")), "weight": _weight(line, p),
        }))
    if not lines:
        raise r.fail(path or "orderItems", "holds no item with a quantity",
                     "an order needs at least one item; if Flxpoint keeps the items under "
                     "another name, set `fields.order.lines` in the profile")
    return lines, cancelled


def _weight(line: Reader, p: MappingProfile) -> float | None:
    path, value = line.raw(p.path("line.weight"))
    if value is None:
        return None
    number = decimal(value)
    if number is None or not 0 <= number <= 10**6:
        raise line.fail(path, f"is {value!r}, not a weight of 0 or more",
                        "correct the weight in Flxpoint")
    return float(number)


def _request(r: Reader, where: str, row: Any, ctx: Context,
             cancelled: set[str]) -> dict[str, Any] | None:
    p = ctx.profile
    fr = Reader(f"{r.what} {where}", row, r.record_id)
    fr_id = fr.ident("id")
    fr = Reader(f"{r.what} fulfillment request {fr_id}", row, r.record_id)
    status = fr.text(p.path("fr.status"))
    if status in p.data.get("drop_fr_statuses", []):
        return None  # no longer routed: flx counts every listed request
    items_path, rows = fr.rows(p.path("fr.items"))
    items = []
    for i, item_row in enumerate(rows):
        item = Reader(f"{fr.what} {items_path}[{i}]", item_row, r.record_id)
        left = (item.units(p.path("fr_item.quantity"))
                or 0) - (item.units(p.path("fr_item.voided_quantity"), required=False)
                         or 0) - (item.units(p.path("fr_item.cancelled_quantity"),
                                             required=False) or 0)
        if left <= 0:
            continue
        line_id = item.ident(p.path("fr_item.order_line_id"))
        if line_id in cancelled:
            continue  # its order item was cancelled to nothing (left out above)
        items.append(compact({"order_line_id": line_id,
                               "sku": item.text(p.path("fr_item.sku"), limit=MAX_ID),
                               "quantity": left,
                               "cost": item.money(p.path("fr_item.cost"), FOUR)}))
    if not items:
        return None
    return compact({"id": fr_id, **_routing(fr, ctx), "status": status, "items": items})


def _routing(fr: Reader, ctx: Context) -> dict[str, Any]:
    """internal (a warehouse) or external (a dropship vendor), from the FR's Flxpoint source."""
    p = ctx.profile
    source_id = fr.text("sourceId")
    if source_id is None:
        raise fr.fail("sourceId", "is missing", "route the request to a source in Flxpoint")
    over = p.source_override(source_id)
    source = ctx.sources.get(as_int(source_id) or -1)
    if source is None and "type" not in over:
        raise fr.fail("sourceId", f"names source {source_id}, which Flxpoint's /sources does "
                      "not list (archived?)",
                      f"add \"sources\": {{\"{source_id}\": {{\"type\": \"internal\" or "
                      "\"external\"}} to the profile")
    source = source or {}
    handle = str(((source.get("type") or {}).get("handle")) or "")
    kind = over.get("type") or p.data.get("source_types", {}).get(handle)
    if kind not in ("internal", "external"):
        raise fr.fail("sourceId", f"names source {source_id} of type {handle or 'unknown'!r}, "
                      "which the profile does not classify",
                      f"add \"{handle}\": \"internal\" or \"external\" to the profile's "
                      "source_types, or a type under sources")
    name = str(over.get("name") or source.get("name") or source_id)
    if kind == "internal":
        return {"type": "internal", "warehouse": str(over.get("warehouse") or name)}
    vendor = source.get("vendor") or {}
    vendor_id = over.get("vendor_id") or {
        "source_id": source_id, "source_name": name,
        "vendor_id": str(vendor.get("id") or source_id)}[p.data["vendor_id"]]
    return {"type": "external",
            "vendor": {"id": str(vendor_id), "name": str(vendor.get("name") or name)}}


def _address(r: Reader, key: str) -> dict[str, Any] | None:
    _, value = r.raw(key)
    if value is None:
        return None
    a = Reader(f"{r.what} {key}", value, r.record_id)
    if a.obj.get("redacted") is True:
        return None  # PII retention expired: an empty address says nothing false
    first, last = a.text("firstName"), a.text("lastName")
    country = a.text("countryCode")
    return compact({
        "name": a.text("name") or " ".join(x for x in (first, last) if x) or None,
        "company": a.text("companyName"), "address1": a.text("addressLine1"),
        "address2": a.text("addressLine2"), "city": a.text("city"),
        "region": a.text("stateCode|state"), "postal_code": a.text("postal"),
        "country": country.upper() if country and len(country) == 2 and country.isalpha()
        else None,
        "phone": a.text("phone"),
    }) or None


def _customer(r: Reader) -> dict[str, Any] | None:
    for key in ("billingAddress", "shippingAddress"):
        _, value = r.raw(key)
        if isinstance(value, Mapping) and value.get("redacted") is not True:
            a = Reader(f"{r.what} {key}", value, r.record_id)
            email = a.text("email")
            return compact({"email": email if email and "@" in email else None,
                             "first_name": a.text("firstName"),
                             "last_name": a.text("lastName"),
                             "company": a.text("companyName"), "phone": a.text("phone")}) or None
    return None


def _custom_fields(r: Reader, paths: list[str]) -> dict[str, Any]:
    path, rows = r.rows(paths)
    fields = {}
    for i, row in enumerate(rows):
        cf = Reader(f"{r.what} {path}[{i}]", row, r.record_id)
        name = cf.text("name", limit=200)
        _, value = cf.raw("value")
        if name and (value is None or isinstance(value, str | int | bool | Decimal)):
            # Flxpoint's value types are not documented: scalars are kept as text.
            fields[name] = None if value is None else str(value)[:4000]
    return fields


# --- shipments and invoices ------------------------------------------------------------------


def map_shipment(raw: Any, ctx: Context) -> dict[str, Any] | None:
    r = Reader("shipment", raw)
    shipment_id = r.ident("id")
    r = Reader(f"shipment {shipment_id}", raw, shipment_id)
    if r.obj.get("rmaId") is not None:
        return None  # a return's shipment, not a fulfillment
    path, rows = r.rows("shipmentItems")
    items = []
    for i, row in enumerate(rows):
        item = Reader(f"{r.what} {path}[{i}]", row, shipment_id)
        quantity = item.units("quantity")
        if quantity:
            items.append(compact({"sku": item.ident("sku"), "quantity": quantity,
                                   "order_line_id": item.text("orderItemId", limit=MAX_ID)}))
    if not items:
        raise r.fail("shipmentItems", "holds no item with a quantity",
                     "add the shipped items to the shipment in Flxpoint")
    tracking = r.text("trackingNumber", limit=255)
    return compact({
        "id": shipment_id, "order_id": r.ident("orderId"),
        "fulfillment_request_id": r.text("fulfillmentRequestId|purchaseOrderId", limit=MAX_ID),
        "shipped_at": r.time("shippedAt|insertedAt"), "carrier": r.text("carrier"),
        "method": r.text("method"), "tracking_numbers": [tracking] if tracking else None,
        "items": items, "flxpoint": compact({"tracking_url": r.text("trackingUrl"),
                                              "updated_at": r.time("updatedAt")}),
    })


def map_invoice(raw: Any, ctx: Context) -> dict[str, Any] | None:
    r = Reader("source invoice", raw)
    invoice_id = r.ident("id")
    r = Reader(f"source invoice {invoice_id}", raw, invoice_id)
    if r.obj.get("rmaId") is not None:
        return None  # a vendor credit for a return, not a bill
    fr_id = r.ident("fulfillmentRequestId|purchaseOrderId")
    order_id = ctx.fr_orders.get(as_int(fr_id) or -1)
    if order_id is None:
        raise r.fail("fulfillmentRequestId", f"names fulfillment request {fr_id}, whose order "
                     "Flxpoint did not return", "pull again; if it persists, the request was "
                     "deleted in Flxpoint")
    path, rows = r.rows("invoiceItems")
    items = []
    for i, row in enumerate(rows):
        item = Reader(f"{r.what} {path}[{i}]", row, invoice_id)
        _, kind = item.raw("invoiceItemType.handle")
        if str(kind or "product").lower() != "product":
            continue  # shipping, tax, fee and other come from the invoice totals
        items.append(compact({"sku": item.ident("sku"), "quantity": item.units("quantity"),
                               "cost": item.money(ctx.profile.path("invoice_item.cost"),
                                                  FOUR)}))
    if not any(item["quantity"] for item in items):
        raise r.fail("invoiceItems", "bills no product quantity",
                     "add the billed products to the invoice in Flxpoint")
    source_id = r.text("sourceId")
    source = ctx.sources.get(as_int(source_id) or -1)
    currency = str(((source or {}).get("currency") or {}).get("code") or ctx.profile.currency)
    return compact({
        "id": invoice_id, "order_id": str(order_id), "fulfillment_request_id": fr_id,
        "number": r.ident("invoiceNumber|fulfillmentRequestNumber"),
        "invoiced_at": r.time("invoiceDate"), "currency": _currency(currency, r),
        "items": items, "shipping": r.money("totalShippingCost"),
        "tax": r.money("totalTaxCost"), "total": r.money("totalCost"),
        "flxpoint": compact({"status": r.text("invoiceStatus.handle"),
                              "fee": r.money("totalFeeCost"), "other": r.money("totalOtherCost"),
                              "updated_at": r.time("updatedAt")}),
    })
