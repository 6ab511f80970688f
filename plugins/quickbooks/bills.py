"""send-vendor-bills: a Bill per vendor invoice, each line linked to its Purchase Order line
(LinkedTxn), DocNumber = the vendor's invoice number.

Partial billing is tracked per PO line in the order's state (which bill billed what), so a PO
billed in stages is checked before anything is sent: a line above what is still open is
refused with the numbers (QBO itself may link it, drop the link, or refuse: §3.10). QBO can
create a bill and silently drop a link it cannot make, so the answer is checked; a bill missing
a link is deleted again and the record fails, naming the line."""

from __future__ import annotations

from decimal import Decimal
from functools import partial
from typing import Any

from flx import (
    DuplicateError,
    RecordResult,
    RecordValidationError,
    RemoteRejectedError,
    Runtime,
)

from .client import quote
from .context import QboContext, doc_number, guarded, marker
from .errors import DuplicateNumberError
from .lookups import item
from .orders import money, txn_date

OPERATION = "send-vendor-bills"
ORDERS = "send-orders"
EARLIER = ("in_flight", "failed", "sent", "linked")


class BillSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = QboContext.of(runtime)

    def send(self, bills: list[dict[str, Any]]) -> list[RecordResult]:
        self.runtime.prefetch("order", (b["order_id"] for b in bills), operation=ORDERS)
        groups: dict[str, list[dict[str, Any]]] = {}
        for bill in bills:
            groups.setdefault(str(bill["order_id"]), []).append(bill)
        results = self.runtime.map(self._group, list(groups.values()))
        return [r for group in results for r in group]

    def _group(self, bills: list[dict[str, Any]]) -> list[RecordResult]:
        state = self.runtime.state(str(bills[0]["order_id"]), ORDERS)
        ids = dict(state.remote_ids) if state else {}  # later bills see earlier ones' billing
        return [guarded(self.ctx, b["id"], partial(self.one, b, ids)) for b in bills]

    # --- planning ---------------------------------------------------------------------------------

    def plan(self, bill: dict[str, Any], ids: dict[str, Any]
             ) -> tuple[dict[str, Any], dict[str, Any], dict[str, str]]:
        """(the PO entry, the Bill payload, {PO line Id: quantity billed}) or a refusal."""
        fr_id = str(bill["fulfillment_request_id"])
        po = (ids.get("purchase_orders") or {}).get(fr_id)
        if not po or not po.get("id"):
            raise RecordValidationError(
                f"vendor bill {bill['id']}: fulfillment request {fr_id} of order "
                f"{bill['order_id']} has no QuickBooks purchase order on this connection",
                hint="run `flx run send-orders` first; only drop-ship (external) requests get "
                     "purchase orders", record_id=bill["id"])
        billed = self._billed_elsewhere(ids, bill["id"])
        by_sku = self._order_lines_by_sku(bill, fr_id)
        lines: list[dict[str, Any]] = []
        quantities: dict[str, str] = {}  # PO line Id -> quantity this bill bills
        for n, bill_item in enumerate(bill.get("items") or []):
            where = f"items[{n}] ({bill_item['sku']})"
            line_id = str(bill_item.get("order_line_id") or by_sku.get(bill_item["sku"], ""))
            po_line = (po.get("lines") or {}).get(line_id)
            if po_line is None:
                raise RecordValidationError(
                    f"vendor bill {bill['id']} {where}: no line of purchase order {po['doc']} "
                    f"is for it", hint="correct the SKU or order_line_id of the bill line",
                    record_id=bill["id"], path=where)
            qty = Decimal(str(bill_item["quantity"]))
            ordered = Decimal(po_line["qty"])
            this_bill = Decimal(quantities.get(po_line["line"], "0"))
            before = billed.get(po_line["line"], Decimal(0)) + this_bill
            if qty > ordered - before:
                raise RecordValidationError(
                    f"vendor bill {bill['id']} {where}: bills {qty} but purchase order "
                    f"{po['doc']} line {po_line['line']} has {ordered} ordered and {before} "
                    f"billed already, so {ordered - before} is open",
                    hint="correct the bill's quantity, or `flx skip` it if the vendor billed "
                         "too much", record_id=bill["id"], path=where)
            quantities[po_line["line"]] = str(this_bill + qty)
            found = item(self.ctx, str(bill_item["sku"]), record_id=bill["id"], where=where)
            cost = Decimal(str(bill_item.get("cost") or found.get("PurchaseCost") or 0))
            lines.append({"DetailType": "ItemBasedExpenseLineDetail", "Amount": money(qty * cost),
                          "Description": bill_item["sku"],
                          "ItemBasedExpenseLineDetail": {"ItemRef": {"value": found["Id"]},
                                                         "Qty": qty, "UnitPrice": cost},
                          "LinkedTxn": [{"TxnId": po["id"], "TxnType": "PurchaseOrder",
                                         "TxnLineId": po_line["line"]}]})
        body = self.ctx.render("bill", {
            "bill": bill, "doc_number": doc_number("", str(bill["number"])),
            "vendor_id": po["vendor"], "po_id": po["id"], "lines": lines,
            "txn_date": txn_date(bill.get("invoiced_at")), "due_date": txn_date(bill.get("due_at")),
            "private_note": marker("bill", bill["id"])}, bill["id"])
        return po, body, quantities

    @staticmethod
    def _billed_elsewhere(ids: dict[str, Any], bill_id: str) -> dict[str, Decimal]:
        total: dict[str, Decimal] = {}
        for other, lines in (ids.get("billed") or {}).items():
            if other == bill_id:
                continue
            for line, qty in lines.items():
                total[line] = total.get(line, Decimal(0)) + Decimal(qty)
        return total

    def _order_lines_by_sku(self, bill: dict[str, Any], fr_id: str) -> dict[str, str]:
        order = self.runtime.record("order", str(bill["order_id"])) or {}
        for fr in order.get("fulfillment_requests") or []:
            if str(fr["id"]) == fr_id:
                return {str(i.get("sku")): str(i["order_line_id"]) for i in fr.get("items") or []}
        return {}

    def preview(self, bill: dict[str, Any]) -> list[dict[str, Any]]:
        state = self.runtime.state(str(bill["order_id"]), ORDERS)
        _, body, _ = self.plan(bill, dict(state.remote_ids) if state else {})
        return [{"name": "Bill", "method": "POST", "body": body}]

    # --- sending ----------------------------------------------------------------------------------

    def one(self, bill: dict[str, Any], ids: dict[str, Any]) -> RecordResult:
        po, body, quantities = self.plan(bill, ids)
        if self.runtime.dry_run:
            return RecordResult(bill["id"], "dry_run", message="would send",
                                payloads=[{"name": "Bill", "method": "POST", "body": body}])
        doc = str(body["DocNumber"])
        state = self.runtime.state(bill["id"])
        earlier = state is not None and state.status in EARLIER
        created = self._existing(bill, doc, po["vendor"], earlier)
        if created is None:
            self.runtime.checkpoint(bill["id"], status="in_flight", remote_ids={"bill_doc": doc})
            try:
                created = self.ctx.client.create(
                    "Bill", body, what=f"vendor bill {bill['id']}: Bill {doc}",
                    requestid=self.ctx.requestid(OPERATION, bill["id"], body),
                    find_existing=lambda: self._ours(bill["id"], doc, po["vendor"])).obj
            except DuplicateNumberError:
                created = self._existing(bill, doc, po["vendor"], True)
                if created is None:
                    raise
            self.runtime.checkpoint(bill["id"], remote_ids={"bill": created["Id"]})
        self._check_links(bill, body, created)
        ids["billed"] = {**(ids.get("billed") or {}), bill["id"]: quantities}
        self.runtime.checkpoint(str(bill["order_id"]), operation=ORDERS,
                                remote_ids={"billed": ids["billed"]})
        return RecordResult(bill["id"], "sent", remote_ids={"bill": created["Id"]},
                            message=f"Bill {doc} linked to purchase order {po['doc']}")

    def _ours(self, bill_id: str, doc: str, vendor_id: str) -> dict[str, Any] | None:
        rows = self.ctx.client.query(f"SELECT * FROM Bill WHERE DocNumber = {quote(doc)}")
        mine = [r for r in rows if r.get("VendorRef", {}).get("value") == vendor_id
                and marker("bill", bill_id) in str(r.get("PrivateNote", ""))]
        return mine[0] if mine else None

    def _existing(self, bill: dict[str, Any], doc: str, vendor_id: str,
                  earlier: bool) -> dict[str, Any] | None:
        """A bill with this number from this vendor: flx's own is adopted; another one means
        the vendor invoice is in QuickBooks already, which flx will not double."""
        rows = self.ctx.client.query(f"SELECT * FROM Bill WHERE DocNumber = {quote(doc)}")
        same_vendor = [r for r in rows if r.get("VendorRef", {}).get("value") == vendor_id]
        mine = [r for r in same_vendor if marker("bill", bill["id"]) in str(r.get("PrivateNote",
                                                                                   ""))]
        if mine:
            return mine[0]
        if same_vendor:
            raise DuplicateError(
                f"vendor bill {bill['id']}: the vendor's invoice {doc} is already a Bill in "
                f"QuickBooks (Id {same_vendor[0]['Id']}), not made by flx for this record",
                hint="if it is the same invoice, `flx skip` this record; otherwise correct the "
                     "invoice number", record_id=bill["id"])
        return None

    def _check_links(self, bill: dict[str, Any], body: dict[str, Any],
                     created: dict[str, Any]) -> None:
        wanted = {(link["TxnId"], link["TxnLineId"]) for line in body["Line"]
                  for link in line.get("LinkedTxn") or []}
        got = {(link.get("TxnId"), link.get("TxnLineId")) for line in created.get("Line") or []
               for link in line.get("LinkedTxn") or []}
        missing = sorted(wanted - got)
        if not missing:
            return
        self.ctx.client.delete("Bill", created["Id"], created["SyncToken"],
                               requestid=self.ctx.requestid(OPERATION, bill["id"],
                                                            ["delete", created["Id"]]),
                               what=f"vendor bill {bill['id']}: removing the unlinked Bill")
        self.runtime.checkpoint(bill["id"], remote_ids={"bill": None})
        lines = ", ".join(f"purchase order {po} line {line}" for po, line in missing)
        raise RemoteRejectedError(
            f"vendor bill {bill['id']}: QuickBooks created the Bill but dropped its link to "
            f"{lines}; flx deleted that Bill again", record_id=bill["id"],
            hint="the purchase order line may be closed or billed in QuickBooks already; check "
                 "it there, then `flx retry` or `flx skip` this bill")


def send_vendor_bills(runtime: Runtime, bills: list[dict[str, Any]]) -> list[RecordResult]:
    return BillSender(runtime).send(bills)
