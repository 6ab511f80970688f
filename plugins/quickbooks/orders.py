"""send-orders: a Sales Receipt (or Invoice, by profile) per order, the customer found or
created first, and a Purchase Order per drop-ship vendor.

Never a duplicate (quickbooks-api.md §5): each document's number and flx's marker are stored
as in_flight before it is sent, the write carries a requestid derived from the payload, an
unanswered write is looked up by DocNumber before it is sent again, and a 6140 (number taken)
adopts the document only when it carries this order's marker."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

from flx import DuplicateError, MappingError, RecordResult, Runtime

from .client import quote
from .context import QboContext, doc_number, guarded, marker
from .customers import Customers, qbo_address
from .errors import DuplicateNumberError
from .lookups import item, resolve_items, vendor

OPERATION = "send-orders"
CENT = Decimal("0.01")
EARLIER = ("in_flight", "failed", "sent", "linked")
Done = Literal["sent", "linked"]


def money(value: Any) -> Decimal:
    return Decimal(str(value or 0)).quantize(CENT, rounding=ROUND_HALF_UP)


def txn_date(value: Any) -> str | None:
    return str(value)[:10] if value else None


def line_sku(ctx: QboContext, order_line: dict[str, Any], fr_item: dict[str, Any] | None) -> str:
    if ctx.profile.get("sku_level") == "po" and fr_item and fr_item.get("sku"):
        return str(fr_item["sku"])
    return str(order_line["sku"])


class OrderSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = QboContext.of(runtime)
        self.sale_type = "Invoice" if self.ctx.profile.get("sale_type") == "Invoice" \
            else "SalesReceipt"
        self.prefix = str(self.ctx.options.get("doc_number_prefix") or "")
        self.customers = Customers(self.ctx)

    def send(self, orders: list[dict[str, Any]]) -> list[RecordResult]:
        skus = {str(line["sku"]) for o in orders for line in o.get("lines") or []}
        skus |= {str(i["sku"]) for o in orders for fr in o.get("fulfillment_requests") or []
                 for i in fr.get("items") or [] if i.get("sku")}
        resolve_items(self.ctx, skus)
        return self.runtime.map(lambda o: guarded(self.ctx, o["id"], lambda: self.one(o)),
                                orders)

    # --- one order ------------------------------------------------------------------------------

    def one(self, order: dict[str, Any]) -> RecordResult:
        state = self.runtime.state(order["id"])
        ids = dict(state.remote_ids) if state else {}
        earlier = state is not None and state.status in EARLIER
        lines, total = self.sale_lines(order)
        purchase_groups = self.purchase_groups(order)
        customer_id, new_customer = self.customers.resolve(order, ids.get("customer"))
        sale_body = self.sale_payload(order, customer_id, lines)
        if self.runtime.dry_run:
            payloads = [{"name": self.sale_type, "method": "POST", "body": sale_body}]
            payloads += [{"name": "PurchaseOrder", "method": "POST",
                          "body": self.po_payload(order, frs, vendor_id, customer_id)}
                         for vendor_id, frs in purchase_groups.items()]
            note = " and a new customer" if new_customer else ""
            return RecordResult(order["id"], "dry_run", message=f"would send{note}",
                                payloads=payloads)
        self.runtime.checkpoint(order["id"], remote_ids={"customer": customer_id})
        status, sale = self.sale(order, sale_body, total, ids, earlier)
        purchase_orders = dict(ids.get("purchase_orders") or {})
        for vendor_id, frs in purchase_groups.items():
            self.purchase_order(order, frs, vendor_id, customer_id, purchase_orders, earlier)
        # The details later operations need go to the state; the result shows the ids.
        self.runtime.checkpoint(order["id"], remote_ids={
            "sale_type": self.sale_type, "sale_sync_token": sale["SyncToken"],
            "purchase_orders": purchase_orders})
        ids_shown = {"sale": sale["Id"]}
        if purchase_orders:
            ids_shown["purchase_order"] = ", ".join(sorted({str(p["id"]) for p in
                                                            purchase_orders.values()}))
        return RecordResult(order["id"], status, message=f"{self.sale_type} {sale['DocNumber']}",
                            remote_ids=ids_shown)

    # --- the sale ---------------------------------------------------------------------------------

    def sale_lines(self, order: dict[str, Any]) -> tuple[list[dict[str, Any]], Decimal]:
        out: list[dict[str, Any]] = []
        total = Decimal(0)
        discount = money(order.get("discount_total"))
        shares = self.shares(order)
        for n, line in enumerate(order.get("lines") or []):
            where = f"lines[{n}] ({line.get('id')})"
            price = Decimal(str(line.get("unit_price") or 0))
            discount += money(line.get("discount"))
            for sku, qty in shares.get(str(line["id"])) or [(str(line["sku"]),
                                                             Decimal(str(line["quantity"])))]:
                found = item(self.ctx, sku, record_id=order["id"], where=where)
                amount = money(qty * price)
                total += amount
                out.append({"DetailType": "SalesItemLineDetail", "Amount": amount,
                            "Description": line.get("title") or sku,
                            "SalesItemLineDetail": {"ItemRef": {"value": found["Id"]},
                                                    "Qty": qty, "UnitPrice": price}})
        shipping = money((order.get("shipping") or {}).get("amount"))
        mode = self.ctx.options.get("shipping", "item")
        if shipping and mode != "skip":
            if mode == "field":
                ref = "SHIPPING_ITEM_ID"  # the sales form's own Shipping box (§3.5)
            else:
                ref = self._named_item(str(self.ctx.options.get("shipping_item") or "Shipping"),
                                       order["id"])
            out.append({"DetailType": "SalesItemLineDetail", "Amount": shipping,
                        "Description": "Shipping",
                        "SalesItemLineDetail": {"ItemRef": {"value": ref}}})
            total += shipping
        if discount:
            out.append({"DetailType": "DiscountLineDetail", "Amount": discount,
                        "DiscountLineDetail": {"PercentBased": False}})
            total -= discount
        return out, total + money(order.get("tax_total"))

    def shares(self, order: dict[str, Any]) -> dict[str, list[tuple[str, Decimal]]]:
        """With `sku_level = "po"`, each order line's shares by fulfillment request, under the
        request's SKU (exploded SKUs); what no request covers keeps the order's SKU. Each share
        is priced at the line's unit price, so the shares add up to the line."""
        if self.ctx.profile.get("sku_level") != "po":
            return {}
        by_line = {str(line["id"]): line for line in order.get("lines") or []}
        out: dict[str, list[tuple[str, Decimal]]] = {}
        for fr in order.get("fulfillment_requests") or []:
            for fr_item in fr.get("items") or []:
                line = by_line.get(str(fr_item["order_line_id"]))
                if line is not None:
                    out.setdefault(str(line["id"]), []).append(
                        (line_sku(self.ctx, line, fr_item), Decimal(str(fr_item["quantity"]))))
        for line_id, parts in out.items():
            rest = Decimal(str(by_line[line_id]["quantity"])) - sum(q for _, q in parts)
            if rest > 0:
                parts.append((str(by_line[line_id]["sku"]), rest))
        return out

    def _named_item(self, name: str, record_id: str) -> str:
        def find() -> list[dict[str, Any]]:
            return self.ctx.client.query(f"SELECT * FROM Item WHERE Name = {quote(name)}")
        rows = self.ctx.remember("items_by_name", name, find)
        if not rows:
            raise MappingError(f"order {record_id}: the shipping item {name!r} is not in "
                               "QuickBooks", hint="create a service item with that name, or set "
                               "options.shipping_item (or options.shipping = \"field\")",
                               record_id=record_id)
        return str(rows[0]["Id"])

    def sale_payload(self, order: dict[str, Any], customer_id: str,
                     lines: list[dict[str, Any]]) -> dict[str, Any]:
        custom = []
        renderer = self.runtime.renderer
        for definition, expr in ((self.ctx.profile.get("custom_fields") or {})
                                 .get("body") or {}).items():
            value = renderer.render_value(expr, {"order": order}, order["id"],
                                          where=f"custom_fields.body.{definition}") \
                if renderer else expr
            if value not in (None, ""):
                custom.append({"DefinitionId": str(definition), "Type": "StringType",
                               "StringValue": str(value)})
        tax = money(order.get("tax_total"))
        return self.ctx.render("sale", {
            "order": order, "sale_type": self.sale_type,
            "doc_number": doc_number(self.prefix, str(order.get("number") or order["id"])),
            "customer_id": customer_id, "lines": lines, "tax_total": tax or None,
            "bill_addr": qbo_address(order.get("billing_address")),
            "ship_addr": qbo_address(order.get("shipping_address")),
            "private_note": marker("order", order["id"]), "custom_fields": custom,
            "txn_date": txn_date(order.get("placed_at")),
            "customer_email": (order.get("customer") or {}).get("email")}, order["id"])

    def sale(self, order: dict[str, Any], body: dict[str, Any], total: Decimal,
             ids: dict[str, Any], earlier: bool) -> tuple[Done, dict[str, Any]]:
        if ids.get("sale") and ids.get("sale_type") == self.sale_type:
            return "sent", self.ctx.client.read(self.sale_type, str(ids["sale"]))
        doc = str(body["DocNumber"])
        if earlier or self.ctx.options.get("link_existing", True):
            found = self.existing(self.sale_type, doc, order["id"], body, total)
            if found is not None:
                return found
        self.runtime.checkpoint(order["id"], status="in_flight",
                                remote_ids={"sale_doc": doc, "sale_type": self.sale_type})
        try:
            written = self.ctx.client.create(
                self.sale_type, body, what=f"order {order['id']}: {self.sale_type} {doc}",
                requestid=self.ctx.requestid(OPERATION, order["id"], body),
                find_existing=lambda: self._ours(self.sale_type, doc, order["id"]))
        except DuplicateNumberError as dup:
            found = self.existing(self.sale_type, doc, order["id"], body, total)
            if found is None:
                raise DuplicateError(f"order {order['id']}: {dup.message}", hint=dup.hint,
                                     record_id=order["id"]) from None
            return found
        self.runtime.checkpoint(order["id"], remote_ids={"sale": written.obj["Id"]})
        return "sent", written.obj

    def existing(self, entity: str, doc: str, order_id: str, body: dict[str, Any],
                 total: Decimal) -> tuple[Done, dict[str, Any]] | None:
        """The sale already in QuickBooks under this number: flx's own (marker) -> sent; a
        matching one made elsewhere (same customer and total) -> linked; else a refusal."""
        rows = self.ctx.client.query(f"SELECT * FROM {entity} WHERE DocNumber = {quote(doc)}")
        if not rows:
            return None
        ours = [r for r in rows if marker("order", order_id) in str(r.get("PrivateNote", ""))]
        if ours:
            return "sent", ours[0]
        same = [r for r in rows if r.get("CustomerRef", {}).get("value")
                == body["CustomerRef"]["value"] and money(r.get("TotalAmt")) == total]
        if same:
            return "linked", same[0]
        first = rows[0]
        raise DuplicateError(
            f"order {order_id}: QuickBooks already has {entity} {doc} (Id {first['Id']}) for "
            f"another customer or total ({money(first.get('TotalAmt'))} instead of {total})",
            hint="if it is this order, fix it in QuickBooks and run `flx skip`; otherwise set "
                 "options.doc_number_prefix in the mapping profile", record_id=order_id)

    def _ours(self, entity: str, doc: str, order_id: str) -> dict[str, Any] | None:
        rows = self.ctx.client.query(f"SELECT * FROM {entity} WHERE DocNumber = {quote(doc)}")
        mine = [r for r in rows if marker("order", order_id) in str(r.get("PrivateNote", ""))]
        return mine[0] if mine else None

    # --- drop-ship purchase orders ----------------------------------------------------------------

    def purchase_groups(self, order: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
        """The order's external fulfillment requests by QuickBooks vendor Id."""
        groups: dict[str, list[dict[str, Any]]] = {}
        for n, fr in enumerate(order.get("fulfillment_requests") or []):
            if fr.get("type") != "external":
                continue
            found = vendor(self.ctx, fr.get("vendor"), record_id=order["id"],
                           where=f"fulfillment_requests[{n}] ({fr['id']}).vendor")
            groups.setdefault(str(found["Id"]), []).append(fr)
        return groups

    def po_payload(self, order: dict[str, Any], frs: list[dict[str, Any]], vendor_id: str,
                   customer_id: str) -> dict[str, Any]:
        by_line = {str(line["id"]): line for line in order.get("lines") or []}
        lines = []
        for fr in frs:
            for n, fr_item in enumerate(fr.get("items") or []):
                order_line = by_line.get(str(fr_item["order_line_id"]), {"sku": fr_item.get("sku")})
                sku = line_sku(self.ctx, order_line, fr_item)
                found = item(self.ctx, sku, record_id=order["id"],
                             where=f"fulfillment request {fr['id']} items[{n}]")
                qty = Decimal(str(fr_item["quantity"]))
                cost = Decimal(str(fr_item.get("cost") or found.get("PurchaseCost") or 0))
                lines.append({"DetailType": "ItemBasedExpenseLineDetail",
                              "Amount": money(qty * cost), "Description": sku,
                              "ItemBasedExpenseLineDetail": {
                                  "ItemRef": {"value": found["Id"]}, "Qty": qty,
                                  "UnitPrice": cost, "CustomerRef": {"value": customer_id}}})
        first = frs[0]["id"]
        return self.ctx.render("purchaseOrder", {
            "order": order, "requests": frs, "doc_number": doc_number(self.prefix, first),
            "vendor_id": vendor_id, "customer_id": customer_id, "lines": lines,
            "ship_addr": qbo_address(order.get("shipping_address")),
            "memo": f"Drop-ship for order {order.get('number') or order['id']}",
            "private_note": marker("order", order["id"]) + " " + " ".join(f["id"] for f in frs),
            "txn_date": txn_date(order.get("placed_at"))}, order["id"])

    def purchase_order(self, order: dict[str, Any], frs: list[dict[str, Any]], vendor_id: str,
                       customer_id: str, known: dict[str, Any], earlier: bool) -> None:
        if all((known.get(fr["id"]) or {}).get("id") for fr in frs):
            return
        body = self.po_payload(order, frs, vendor_id, customer_id)
        doc = str(body["DocNumber"])
        found = self._ours("PurchaseOrder", doc, order["id"]) if earlier else None
        if found is None:
            pending = {fr["id"]: {"doc": doc, "vendor": vendor_id} for fr in frs}
            self.runtime.checkpoint(order["id"], status="in_flight",
                                    remote_ids={"purchase_orders": {**known, **pending}})
            try:
                found = self.ctx.client.create(
                    "PurchaseOrder", body, what=f"order {order['id']}: purchase order {doc}",
                    requestid=self.ctx.requestid(OPERATION, f"{order['id']}/{doc}", body),
                    find_existing=lambda: self._ours("PurchaseOrder", doc, order["id"])).obj
            except DuplicateNumberError as dup:
                found = self._ours("PurchaseOrder", doc, order["id"])
                if found is None:
                    raise DuplicateError(f"order {order['id']}: {dup.message}", hint=dup.hint,
                                         record_id=order["id"]) from None
        po_lines = [line for line in found.get("Line", [])
                    if line.get("DetailType") == "ItemBasedExpenseLineDetail"]
        position = 0
        for fr in frs:
            lines = {}
            for fr_item in fr.get("items") or []:
                line = po_lines[position]
                position += 1
                lines[str(fr_item["order_line_id"])] = {
                    "line": line["Id"],
                    "qty": str(line["ItemBasedExpenseLineDetail"]["Qty"])}
            known[fr["id"]] = {"id": found["Id"], "doc": doc, "vendor": vendor_id,
                               "lines": lines}
        self.runtime.checkpoint(order["id"], remote_ids={"purchase_orders": dict(known)})


def send_orders(runtime: Runtime, orders: list[dict[str, Any]]) -> list[RecordResult]:
    return OrderSender(runtime).send(orders)
