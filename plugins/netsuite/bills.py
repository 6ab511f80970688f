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
on no PO line, so it bills no PO quantity), or nowhere, with a warning (mode skip).

A vendor's invoice number bills a Purchase Order once: an invoice whose number the same vendor
already has on a Vendor Bill of the same Purchase Order (flx's, or one keyed in by hand, whose
Purchase Order flx cannot tell; one query per batch), or on a bill of that PO sent earlier in
the run, fails as a duplicate before anything is read or sent for it. One invoice covering
several Purchase Orders (one bill record per PO, same number) is not a duplicate."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flx import (
    DuplicateError,
    MappingError,
    RecordResult,
    RemoteRejectedError,
    Runtime,
)
from flx_netsuite.bill_charges import (
    charge_lines,
    check_charges_rendered,
    name_charge_setting,
    shown_amount,
)
from flx_netsuite.common import (
    NetSuiteContext,
    already_there,
    earlier_record,
    eid,
    find_own_record,
    found_unrecorded,
    guarded,
    had_earlier_attempt,
    map_grouped,
    money,
    tran_date,
    transform_once,
    with_defaults,
)
from flx_netsuite.ids import parse_external_id
from flx_netsuite.lines import OverQuantityError, allocate, remote_lines
from flx_netsuite.lookups import ItemResolver, vendor_bills_by_number

# Sync states after which NetSuite may already hold the record (a crash, a lost answer, or
# `flx run --only ID --force` on a record that was sent).
OPERATION = "send-vendor-bills"
STRATEGIES = ("zero_quantity_lines", "replace_lines")

InvoiceKey = tuple[str, str]  # (the vendor's NetSuite internal id, invoice number folded)


class BillSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = NetSuiteContext.of(runtime)
        self.items = ItemResolver(self.ctx)
        self.strategy = self.ctx.options.get("bill_strategy", "zero_quantity_lines")
        # Vendor Bills NetSuite holds for the batch's invoice numbers (one query per batch),
        # and the invoices billed (or, in a dry run, to be billed) in this run: (key, PO) →
        # (the Vendor Bill's internal id, or None in a dry run; the flx record).
        self._in_netsuite: dict[InvoiceKey, list[dict[str, str]]] = {}
        self._billed: dict[tuple[InvoiceKey, str], tuple[str | None, str]] = {}
        self._lock = threading.Lock()

    def send(self, bills: list[dict[str, Any]]) -> list[RecordResult]:
        self.runtime.prefetch("order", (b["order_id"] for b in bills),
                              operation="send-orders")
        keys = {b["id"]: self.invoice_key(b) for b in bills}
        before = self.ctx.client.thread_requests
        self.find_billed(k for k in keys.values() if k)
        shared = self.ctx.client.thread_requests - before
        # Bills of one order go one after the other: they may share a Purchase Order (and so a
        # duplicate invoice of one PO is seen by the second bill).
        results = map_grouped(self.runtime, bills, lambda b: b["order_id"],
                              lambda b: guarded(self.ctx, b["id"], lambda: self._one(b)))
        if results:  # the batch's look-up, counted once
            results[0].requests += shared
        return results

    def invoice_key(self, bill: dict[str, Any]) -> InvoiceKey | None:
        """(vendor internal id, invoice number) of a bill that may go now; None when its
        number, its Purchase Order or its vendor is not known (nothing to compare)."""
        order, po_id, planned = self.purchase_order(bill)
        return self._key(bill, order, po_id, planned)

    def _key(self, bill: dict[str, Any], order: dict[str, Any], po_id: str | None,
             planned: list[dict[str, Any]]) -> InvoiceKey | None:
        number = str(bill.get("number") or "").strip().lower()
        if not number or not po_id:
            return None
        vendor_id = self._vendor(bill, order, planned)[0]
        return (vendor_id, number) if vendor_id else None

    def find_billed(self, keys: Iterable[InvoiceKey]) -> None:
        """Ask NetSuite once for the Vendor Bills carrying any of these invoice numbers."""
        wanted = list(keys)
        if wanted:
            self._in_netsuite.update(vendor_bills_by_number(self.ctx, [k[1] for k in wanted]))

    def _vendor(self, bill: dict[str, Any], order: dict[str, Any],
                planned: list[dict[str, Any]]) -> tuple[str | None, str]:
        """The NetSuite id of the bill's vendor (the one its Purchase Order was made for, as
        send-orders resolved it) and how people name it."""
        fr_id = bill.get("fulfillment_request_id")
        fr: dict[str, Any] = next(
            (f for f in order.get("fulfillment_requests") or [] if f.get("id") == fr_id), {})
        vendor = fr.get("vendor") or {}
        vendor_id = next((str(p["vendor_id"]) for p in planned
                          if p.get("fr_id") == fr_id and p.get("vendor_id")), None) or next(
            (str(p["vendor_id"]) for p in planned if p.get("vendor_id")), None)
        if vendor_id is None:
            found = vendor.get("netsuite_id") or self.ctx.table_value("vendors", vendor.get("id"))
            vendor_id = str(found) if found else None
        name, key = vendor.get("name"), vendor.get("id")
        label = (f"{name} ({key})" if name and key and name != key else
                 str(name or key or vendor_id or "unknown"))
        return vendor_id, label

    def duplicate(self, bill: dict[str, Any], order: dict[str, Any],
                  planned: list[dict[str, Any]], key: InvoiceKey | None, po_id: str | None,
                  ) -> DuplicateError | None:
        """The error for an invoice its vendor has already billed on this Purchase Order: a
        Vendor Bill in NetSuite with the same number (not this record's own earlier attempt,
        nor flx's bill of another PO), or one sent in this run; None when there is none."""
        if key is None or po_id is None:
            return None
        own = eid(bill["id"]).lower()
        where = None
        for row in self._in_netsuite.get(key, []):
            if str(row.get("externalid") or "").lower() == own:
                continue
            other = self._made_by(row)
            if other is None:  # keyed in by hand: its PO is unknown, so the safe side
                where = f"Vendor Bill {row['id']} (entered in NetSuite, not by flx)"
                break
            if self._same_purchase_order(other, bill, po_id):
                where = f"Vendor Bill {row['id']} ({other['id']})"
                break
        if where is None:
            with self._lock:
                earlier = self._billed.get((key, po_id))
            if earlier is None or earlier[1] == bill["id"]:
                return None
            where = (f"Vendor Bill {earlier[0]} ({earlier[1]}, sent earlier in this run)"
                     if earlier[0] else f"{earlier[1]} (which this run would send first)")
        number = str(bill.get("number")).strip()
        vendor = self._vendor(bill, order, planned)[1]
        return DuplicateError(
            f"vendor bill {bill['id']}: invoice {number} of vendor {vendor} is already billed "
            f"as {where}; nothing was sent",
            hint=f"if {bill['id']} is a different invoice, correct its invoice number at the "
                 f"source and re-import it; if it is the same invoice, mark it dealt with: "
                 f'`flx resolve {bill["id"]} --note "duplicate of invoice {number}"`',
            record_id=bill["id"])

    def _same_purchase_order(self, other: dict[str, Any], bill: dict[str, Any],
                             po_id: str) -> bool:
        """Whether another flx bill of the same vendor and number is on this bill's Purchase
        Order: the PO send-orders recorded for the other bill's fulfillment request (two
        requests to one vendor share NetSuite's PO; in explicit_po mode each has its own),
        else the one its own bill was sent to. When neither is known, the same order is
        taken as the same PO (NetSuite makes one PO per vendor of a Sales Order)."""
        other_po = (self.purchase_order(other)[1]
                    if other.get("order_id") and other.get("fulfillment_request_id") else None)
        if other_po is None:
            state = self.runtime.state(str(other.get("id")))
            other_po = ((state.remote_ids if state else None) or {}).get("purchase_order")
        if other_po is not None:
            return str(other_po) == str(po_id)
        return bool(other.get("order_id")) and other.get("order_id") == bill.get("order_id")

    def _made_by(self, row: dict[str, str]) -> dict[str, Any] | None:
        """The flx vendor bill record whose external id the NetSuite bill carries, if any."""
        try:
            parts = parse_external_id(str(row.get("externalid") or ""))
        except ValueError:
            parts = ()
        if len(parts) == 1 and parts[0]:
            return self.runtime.record("vendor_bill", parts[0])
        return None

    def _remember(self, bill: dict[str, Any], key: InvoiceKey | None, po_id: str | None,
                  vendor_bill_id: str | None) -> None:
        if key is not None and po_id is not None:
            with self._lock:
                self._billed.setdefault((key, po_id), (vendor_bill_id, bill["id"]))

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
        key = self._key(bill, order, po_id, planned)
        earlier = self.existing(bill)
        if earlier is not None:
            self._remember(bill, key, po_id, earlier[0])
            return already_there(self.ctx, bill["id"], f"Vendor Bill {earlier[1]} ({earlier[0]})",
                                 {"vendor_bill": earlier[0], "purchase_order": po_id})
        duplicate = self.duplicate(bill, order, planned, key, po_id)
        if duplicate is not None:
            raise duplicate
        try:
            body, replace, warnings = self.payload(bill, order, po_id, planned)
        except AwaitingReceipt as waiting:
            return RecordResult(bill["id"], "waiting", message=str(waiting))
        except OverQuantityError:
            found = self.unrecorded(bill)
            if found is None:
                raise
            self._remember(bill, key, po_id, found[0])
            return found_unrecorded(self.ctx, bill["id"], f"Vendor Bill {found[1]} ({found[0]})",
                                    {"vendor_bill": found[0], "purchase_order": po_id})
        if self.runtime.dry_run:
            self._remember(bill, key, po_id, None)
            return RecordResult(bill["id"], "dry_run", message="would send",
                                payloads=[self._envelope(po_id, body, replace)],
                                warnings=warnings)
        try:
            created_id = transform_once(
                self.ctx, bill["id"], ("purchaseOrder", po_id), "vendorBill", body,
                f"the Vendor Bill for invoice {bill['id']}", replace=replace)
        except RemoteRejectedError as err:
            _, charges = charge_lines(bill, self.ctx.options, [])
            raise name_charge_setting(err, body, [c["key"] for c in charges]) from err
        self._remember(bill, key, po_id, created_id)
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
        return self._numbered(bill, earlier_record(self.ctx, bill["id"], "vendorBill"))

    def unrecorded(self, bill: dict[str, Any]) -> tuple[str, str] | None:
        """The Vendor Bill NetSuite holds for this invoice though this store has no attempt
        that may have made it (a fresh or restored store, another connection to the account,
        `flx retry`): asked only when the PO's unbilled quantities refuse the invoice, as
        they would once it is billed, so a normal bill costs no extra request. None when
        `existing` already asked."""
        if had_earlier_attempt(self.ctx, bill["id"]):
            return None
        return self._numbered(bill, find_own_record(self.ctx, bill["id"], "vendorBill"))

    @staticmethod
    def _numbered(bill: dict[str, Any], found: tuple[str, str] | None
                  ) -> tuple[str, str] | None:
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
        # The planned lines' numbers are the Sales Order's: PO lines pair by item, in order.
        lines = remote_lines(po, "quantityBilled", [{**p, "line": None} for p in planned])
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
                        f"{shown_amount(po_rate)} on PO line {ln.line}; billed at {cost}")
        if self.ctx.options.get("bill_timing") == "after_shipment":
            _await_receipt(po, lines, transaction)
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
        check_charges_rendered(bill, body, expenses, charges)
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


class AwaitingReceipt(Exception):
    """options.bill_timing = "after_shipment": the PO lines billed are not received (or
    marked shipped) yet, and the account refuses billing before receipt (§10.8)."""


def _await_receipt(po: dict[str, Any], lines: list[Any], transaction: str) -> None:
    received = {int(raw["line"]): int(float(raw.get("quantityReceived") or 0))
                for raw in (po.get("item") or {}).get("items") or []}
    short = [f"line {ln.line}: {max(received.get(ln.line, 0) - ln.done, 0)} of "
             f"{ln.taken} received" for ln in lines
             if ln.taken and ln.done + ln.taken > received.get(ln.line, 0)]
    if short:
        raise AwaitingReceipt(
            f"{transaction} is not yet received or marked shipped for what this bill bills "
            f"({', '.join(short)}); with options.bill_timing = \"after_shipment\" the bill "
            "waits for its shipment")


def send_vendor_bills(runtime: Runtime, bills: list[dict[str, Any]]) -> list[RecordResult]:
    return BillSender(runtime).send(list(bills))


def render_vendor_bill(runtime: Runtime, bill: dict[str, Any]) -> list[dict[str, Any]]:
    sender = BillSender(runtime)
    order, po_id, planned = sender.purchase_order(bill)
    if not po_id:
        return []
    earlier = sender.existing(bill)
    if earlier is None:
        key = sender.invoice_key(bill)
        sender.find_billed([key] if key else [])
        duplicate = sender.duplicate(bill, order, planned, key, po_id)
        if duplicate is not None:  # a run would fail it and send nothing
            raise duplicate
        try:
            body, replace, _ = sender.payload(bill, order, po_id, planned)
            return [sender._envelope(po_id, body, replace)]
        except OverQuantityError:
            earlier = sender.unrecorded(bill)
            if earlier is None:
                raise
    # A run would record it and send nothing.
    return [{"name": "vendorBill", "action": "link", "id": earlier[0], "tranId": earlier[1],
             "message": f"Vendor Bill {earlier[1]} is already in NetSuite; nothing would "
                        "be sent"}]
