"""Send vendor bills: a vendor's invoice for a dropship fulfillment request becomes a Vendor
Bill by transforming the Purchase Order, billed in stages when the vendor invoices in parts.

Strategies (profile options.bill_strategy), because NetSuite's default for unlisted lines is
UNCERTAIN (netsuite-rest.md §4.4):
- zero_quantity_lines (default): list every PO line that still has something to bill; lines
  not on this invoice get quantity 0. The first bill of a PO thus lists every line (unbilled
  ones at 0) and a later bill lists only lines still open — the reference page's two examples.
  Lines still open but not invoiced now are listed at 0 rather than left out, because a line
  a transform does not list may be billed in full (the emulator does so, the stricter case).
- replace_lines: send `?replace=item` with only the invoiced lines.

Shipping and tax on the invoice (options.bill_shipping, options.bill_tax) go on an expense
line (mode expense, `account`), on an item line with no orderLine (mode item, `item`: a line
on no PO line, so it bills no PO quantity), or nowhere, with a warning (mode skip)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from core.errors import MappingError, RemoteRejectedError, TemplateError
from core.model import RecordResult
from core.runtime import Runtime
from plugins.netsuite.common import (
    NetSuiteContext,
    already_there,
    earlier_record,
    eid,
    guarded,
    map_grouped,
    money,
    tran_date,
    transform_once,
    with_defaults,
)
from plugins.netsuite.lines import allocate, remote_lines
from plugins.netsuite.lookups import ItemResolver

# Sync states after which NetSuite may already hold the record (a crash, a lost answer, or
# `flx run --only ID --force` on a record that was sent).
OPERATION = "send-vendor-bills"
STRATEGIES = ("zero_quantity_lines", "replace_lines")
CHARGE_MODES = ("expense", "item", "skip")
CHARGES = (("shipping", "Shipping"), ("tax", "Tax"))


class BillSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = NetSuiteContext.of(runtime)
        self.items = ItemResolver(self.ctx)
        self.strategy = self.ctx.options.get("bill_strategy", "zero_quantity_lines")

    def send(self, bills: list[dict[str, Any]]) -> list[RecordResult]:
        # Bills of one order go one after the other: they may share a Purchase Order.
        self.runtime.prefetch("order", (b["order_id"] for b in bills),
                              operation="send-orders")
        return map_grouped(self.runtime, bills, lambda b: b["order_id"],
                           lambda b: guarded(self.ctx, b["id"], lambda: self._one(b)))

    def purchase_order(self, bill: dict[str, Any]) -> tuple[dict[str, Any], str | None,
                                                             list[dict[str, Any]]]:
        order = self.runtime.record("order", bill["order_id"]) or {}
        state = self.runtime.state(bill["order_id"], operation="send-orders")
        remote = (state.remote_ids if state else {}) or {}
        pos = remote.get("purchase_orders") or {}
        po_id = pos.get(bill["fulfillment_request_id"])
        # The PO's lines, in order, are the dropship lines of every request it serves (NetSuite
        # makes one PO per vendor, so two requests to one vendor share it).
        planned = [p for p in remote.get("lines") or []
                   if p.get("fr_type") == "external" and po_id and pos.get(p.get("fr_id")) == po_id]
        return order, po_id, planned

    def _one(self, bill: dict[str, Any]) -> RecordResult:
        order, po_id, planned = self.purchase_order(bill)
        if not po_id:
            return RecordResult(bill["id"], "waiting", message=(
                f"no Purchase Order is recorded for fulfillment request "
                f"{bill['fulfillment_request_id']} of order {bill['order_id']} yet"))
        earlier = self.existing(bill)
        if earlier is not None:
            return already_there(self.ctx, bill["id"], f"Vendor Bill {earlier[1]} ({earlier[0]})",
                                 {"vendor_bill": earlier[0], "purchase_order": po_id})
        body, replace, warnings = self.payload(bill, order, po_id, planned)
        if self.runtime.dry_run:
            return RecordResult(bill["id"], "dry_run", message="would send",
                                payloads=[self._envelope(po_id, body, replace)],
                                warnings=warnings)
        try:
            created_id = transform_once(
                self.ctx, bill["id"], ("purchaseOrder", po_id), "vendorBill", body,
                f"the Vendor Bill for invoice {bill['id']}", replace=replace)
        except RemoteRejectedError as err:
            _, charges = charge_lines(bill, self.ctx.options, [])
            raise _name_charge_setting(err, body, [c["key"] for c in charges]) from err
        # Charge lines (no orderLine) bill no PO quantity: only PO lines are tracked.
        billed = [ln for ln in body["item"]["items"] if "orderLine" in ln and ln["quantity"]]
        extra = sum("orderLine" not in ln for ln in body["item"]["items"])
        return RecordResult(
            bill["id"], "sent", warnings=warnings,
            remote_ids={"vendor_bill": created_id, "purchase_order": po_id,
                        "lines": [{"order_line": ln["orderLine"], "quantity": ln["quantity"]}
                                  for ln in billed]},
            message=f"Vendor Bill {bill.get('number')} for {len(billed)} PO line(s)"
                    + (f" and {extra} charge line(s)" if extra else ""))

    def existing(self, bill: dict[str, Any]) -> tuple[str, str] | None:
        """The Vendor Bill an earlier attempt at this invoice made, if any."""
        found = earlier_record(self.ctx, bill["id"], "vendorBill")
        if found is not None and found[1] == found[0]:
            return found[0], str(bill.get("number") or found[0])
        return found

    def _envelope(self, po_id: str, body: dict[str, Any], replace: str | None) -> dict[str, Any]:
        path = f"/services/rest/record/v1/purchaseOrder/{po_id}/!transform/vendorBill"
        return {"name": "vendorBill", "method": "POST",
                "path": path + (f"?replace={replace}" if replace else ""), "body": body}

    def payload(self, bill: dict[str, Any], order: dict[str, Any], po_id: str,
                planned: list[dict[str, Any]]) -> tuple[dict[str, Any], str | None, list[str]]:
        if self.strategy not in STRATEGIES:
            raise MappingError(f"options.bill_strategy {self.strategy!r} is not known",
                               hint=f"use one of: {', '.join(STRATEGIES)}", record_id=bill["id"])
        po = self.ctx.client.get("purchaseOrder", po_id, expand=True)
        lines = remote_lines(po, "quantityBilled", planned)
        what = f"vendor bill {bill['id']} (invoice {bill.get('number')})"
        transaction = f"Purchase Order {po.get('tranId') or po_id}"
        rates: dict[int, Decimal] = {}
        warnings: list[str] = []
        invoiced = Decimal(0)  # what the invoice's lines come to, for the total check
        for item in bill.get("items", []):
            taken = allocate(lines, item["sku"], int(item["quantity"]),
                             fr_id=bill["fulfillment_request_id"],
                             order_line_id=item.get("order_line_id"),
                             item_id_of=lambda sku: self._item_id(sku), what=what,
                             record_id=bill["id"], transaction=transaction,
                             open_word="unbilled")
            cost = None if item.get("cost") in (None, "") else Decimal(str(item["cost"]))
            for ln, quantity in taken:
                po_rate = None if ln.rate is None else Decimal(str(ln.rate))
                invoiced += money((cost if cost is not None else po_rate or 0) * quantity)
                if cost is None:
                    continue
                rates[ln.line] = cost
                if po_rate is not None and po_rate != cost:
                    warnings.append(
                        f"{item['sku']}: invoiced cost {cost} differs from the PO rate "
                        f"{_shown(po_rate)} on PO line {ln.line}; billed at {cost}")
        if self.strategy == "replace_lines":
            chosen, replace = [ln for ln in lines if ln.taken > 0], "item"
        else:
            chosen, replace = [ln for ln in lines if ln.quantity - ln.done > 0], None
        # Decimals go to the template as they are: its `json` filter writes them exactly.
        body_lines = [{"order_line": ln.line, "quantity": ln.taken,
                       "rate": rates[ln.line] if ln.line in rates and ln.taken else None}
                      for ln in chosen]
        expenses, charges = charge_lines(bill, self.ctx.options, warnings)
        self._check_total(bill, invoiced, warnings)
        header = self._header(bill, order)
        profile_memo = header.pop("memo", None)
        context = {
            "bill": bill, "order": order, "profile": self.ctx.profile,
            "external_id": eid(bill["id"]),
            "tran_date": tran_date(bill.get("invoiced_at")),
            "due_date": tran_date(bill.get("due_at")),
            # The profile's vendor_bill.header memo, else the invoice's own, else flx's.
            "memo": profile_memo or bill.get("memo") or (
                f"Invoice {bill.get('number')} for order "
                f"{order.get('number') or bill['order_id']} ({bill['fulfillment_request_id']})"),
            "header": header, "lines": body_lines, "expenses": expenses, "charges": charges,
        }
        body = self.ctx.render("vendorBill", context, bill["id"])
        _check_charges_rendered(bill, body, expenses, charges)
        return body, replace, warnings

    def _header(self, bill: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
        """The profile's vendor_bill.header and vendor_bill.custom_fields.body values."""
        section = self.ctx.profile.get("vendor_bill") or {}
        context = {"bill": bill, "order": with_defaults(order), "tables": self.ctx.tables}
        header = self.ctx.header(section.get("header") or {}, context, bill["id"],
                                 "vendor_bill.header")
        header.update(self.ctx.fields((section.get("custom_fields") or {}).get("body") or {},
                                      context, bill["id"], "vendor_bill.custom_fields.body"))
        return header

    def _check_total(self, bill: dict[str, Any], invoiced: Decimal, warnings: list[str]) -> None:
        """A printed total that the invoice's own lines do not add up to is worth a look."""
        if bill.get("total") in (None, ""):
            return
        expected = invoiced + money(bill.get("shipping")) + money(bill.get("tax"))
        if money(bill["total"]) != expected:
            warnings.append(
                f"the invoice total {money(bill['total'])} is not its lines + shipping + tax "
                f"({expected}); the bill follows the lines")

    def _item_id(self, sku: str) -> str | None:
        found = self.items.resolve([sku])
        return found[sku].id if sku in found else None


def charge_lines(bill: dict[str, Any], options: dict[str, Any], warnings: list[str],
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The invoice's shipping and tax as (expense lines, charge item lines), each where the
    profile's options.bill_shipping / options.bill_tax say; a skipped one adds a warning."""
    expenses: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for key, label in CHARGES:
        amount = money(bill.get(key))
        if not amount:
            continue
        setting = options.get(f"bill_{key}") or {"mode": "skip"}
        mode = setting.get("mode")
        memo = f"{label} on invoice {bill.get('number')}"
        if mode == "skip":
            warnings.append(f"{label.lower()} {amount} on the invoice was not sent "
                            f"(options.bill_{key}.mode = skip)")
        elif mode == "expense":
            account = _required(setting, "account", bill, key, amount,
                                "goes to an expense line", "a NetSuite expense account id")
            expenses.append({"account_id": account, "amount": amount, "memo": memo})
        elif mode == "item":
            item = _required(setting, "item", bill, key, amount, "goes on an item line",
                             "the internal id of the NetSuite item to bill it as")
            items.append({"key": key, "item_id": item, "quantity": 1, "rate": amount,
                          "description": memo})
        else:  # the profile schema refuses this at load; kept for profiles built in code
            raise MappingError(
                f"vendor bill {bill['id']}: options.bill_{key}.mode {mode!r} is not known",
                hint=f"use one of: {', '.join(CHARGE_MODES)}", record_id=bill["id"])
    return expenses, items


def _required(setting: dict[str, Any], name: str, bill: dict[str, Any], key: str,
              amount: Decimal, goes: str, what: str) -> str:
    value = setting.get(name)
    if value in (None, ""):
        raise MappingError(
            f"vendor bill {bill['id']}: {key} {amount} {goes} but options.bill_{key}.{name} "
            "is not set", hint=f"set options.bill_{key}.{name} to {what}",
            record_id=bill["id"])
    return str(value)


def _check_charges_rendered(bill: dict[str, Any], body: dict[str, Any],
                            expenses: list[dict[str, Any]], charges: list[dict[str, Any]]) -> None:
    """A template override written before item mode existed (or one that leaves out the
    expenses) would drop a charge in silence and bill less than the invoice: refuse."""
    rendered_charges = [ln for ln in body["item"]["items"] if "orderLine" not in ln]
    rendered_expenses = (body.get("expense") or {}).get("items") or []
    if len(rendered_charges) >= len(charges) and len(rendered_expenses) >= len(expenses):
        return  # an override may add lines of its own
    raise TemplateError(
        f"vendor bill {bill['id']}: the vendorBill template rendered "
        f"{len(rendered_charges)} charge item line(s) and {len(rendered_expenses)} expense "
        f"line(s), but options.bill_shipping / options.bill_tax ask for {len(charges)} and "
        f"{len(expenses)}", record_id=bill["id"],
        hint="render the context's `charges` (item lines without orderLine) and `expenses` as "
             "the connector's vendorBill.json.j2 does, in your template override")


def _name_charge_setting(err: RemoteRejectedError, body: dict[str, Any],
                         keys: list[str]) -> RemoteRejectedError:
    """NetSuite's errorPath on a charge line (`keys`: the charges of the lines without an
    orderLine, in order) names the profile's options.bill_<charge>.item in the hint: the
    shared errorPath table cannot tell a charge line's `item` from a PO line's."""
    charge_indexes = [i for i, line in enumerate(body["item"]["items"]) if "orderLine" not in line]
    for index, key in zip(charge_indexes, keys, strict=False):
        path = err.path or ""
        if path == f"item.items[{index}]" or path.startswith(f"item.items[{index}]."):
            return RemoteRejectedError(
                err.message, code=err.code, detail=err.detail, status=err.status,
                path=err.path, record_id=err.record_id,
                hint=(f"NetSuite refused the {key} charge line: check options.bill_{key}.item "
                      "against the item internal ids in your NetSuite account"))
    return err


def _shown(amount: Decimal) -> str:
    """A rate as people read it: cents always, more decimals only when it has them."""
    cents = money(amount)
    return f"{cents if cents == amount else amount.normalize()}"


def send_vendor_bills(runtime: Runtime, bills: list[dict[str, Any]]) -> list[RecordResult]:
    return BillSender(runtime).send(list(bills))


def render_vendor_bill(runtime: Runtime, bill: dict[str, Any]) -> list[dict[str, Any]]:
    sender = BillSender(runtime)
    order, po_id, planned = sender.purchase_order(bill)
    if not po_id:
        return []
    earlier = sender.existing(bill)
    if earlier is not None:  # a run would record it and send nothing
        return [{"name": "vendorBill", "action": "link", "id": earlier[0], "tranId": earlier[1],
                 "message": f"Vendor Bill {earlier[1]} is already in NetSuite; nothing would "
                            "be sent"}]
    body, replace, _ = sender.payload(bill, order, po_id, planned)
    return [sender._envelope(po_id, body, replace)]
