"""Bills linked to purchase order lines (quickbooks-api.md §3.10): a link needs TxnId, TxnType
and a real TxnLineId of an open PO of the same vendor, or QBO drops it without a word; billed
quantities are tracked per PO line and the PO closes once every line is billed."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Protocol

from .behaviour import Behaviour
from .errors import QboFault


class Books(Protocol):
    """What linking needs of a company (books.Books)."""

    behaviour: Behaviour
    billed: dict[tuple[str, str], Decimal]
    objects: dict[str, dict[str, dict[str, Any]]]

    def get(self, entity: str, ident: Any) -> dict[str, Any] | None: ...


def _po_line(po: dict[str, Any], line_id: Any) -> dict[str, Any] | None:
    return next((line for line in po.get("Line", []) if line.get("Id") == str(line_id)), None)


def _qty(line: dict[str, Any]) -> Decimal:
    detail = line.get("ItemBasedExpenseLineDetail") or {}
    return Decimal(str(detail.get("Qty", 1)))


def link_bill(books: Books, bill: dict[str, Any]) -> None:
    vendor = bill["VendorRef"]["value"]
    pending: list[tuple[tuple[str, str], Decimal]] = []  # ((PO Id, line Id), qty) this bill
    for line in bill.get("Line", []):
        kept = []
        for link in line.get("LinkedTxn") or []:
            po = books.get("PurchaseOrder", link.get("TxnId"))
            po_line = _po_line(po, link.get("TxnLineId")) if po else None
            if (po is None or po_line is None or link.get("TxnType") != "PurchaseOrder"
                    or po.get("POStatus") == "Closed" or po["VendorRef"]["value"] != vendor):
                continue  # silently dropped, as QBO does
            qty = _qty(line)
            key = (po["Id"], po_line["Id"])
            left = _qty(po_line) - books.billed.get(key, Decimal(0)) - sum(
                q for k, q in pending if k == key)
            if qty > left:
                mode = books.behaviour.overbilling
                if mode == "refuse":
                    raise QboFault("6000", "Business Validation Error",
                                   f"Quantity {qty} is more than the {left} open on purchase "
                                   f"order {po['Id']} line {po_line['Id']}")
                if mode == "drop_link":
                    continue
            kept.append({"TxnId": po["Id"], "TxnType": "PurchaseOrder",
                         "TxnLineId": po_line["Id"]})
            pending.append((key, qty))
        if kept:
            line["LinkedTxn"] = kept
        else:
            line.pop("LinkedTxn", None)
    header = []
    for (po_id, line_id), qty in pending:
        books.billed[(po_id, line_id)] = books.billed.get((po_id, line_id), Decimal(0)) + qty
        if {"TxnId": po_id, "TxnType": "PurchaseOrder"} not in header:
            header.append({"TxnId": po_id, "TxnType": "PurchaseOrder"})
    bill["LinkedTxn"] = header
    for po_id in {h["TxnId"] for h in header}:
        po = books.objects["PurchaseOrder"][po_id]
        po.setdefault("LinkedTxn", []).append({"TxnId": bill["Id"], "TxnType": "Bill"})
        if all(books.billed.get((po_id, line["Id"]), Decimal(0)) >= _qty(line)
               for line in po["Line"] if line.get("DetailType") == "ItemBasedExpenseLineDetail"):
            po["POStatus"] = "Closed"
        po["SyncToken"] = str(int(po["SyncToken"]) + 1)


def unlink_bill(books: Books, bill: dict[str, Any]) -> None:
    for line in bill.get("Line", []):
        for link in line.get("LinkedTxn") or []:
            key = (link["TxnId"], link["TxnLineId"])
            books.billed[key] = books.billed.get(key, Decimal(0)) - _qty(line)
    for link in bill.get("LinkedTxn") or []:
        po = books.get("PurchaseOrder", link["TxnId"])
        if po is not None:
            po["LinkedTxn"] = [t for t in po.get("LinkedTxn", []) if t["TxnId"] != bill["Id"]]
            po["POStatus"] = "Open"
            po["SyncToken"] = str(int(po["SyncToken"]) + 1)
