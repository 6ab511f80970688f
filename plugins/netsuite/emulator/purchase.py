"""Purchase orders: explicit creates (a client placing its own drop-ship PO), updates,
deletes, and the PO status that receipts and bills move."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import schema as S
from .errors import missing_fields, user_error
from .orders import check_header, check_location, check_quantity, item_of, price_line
from .records import check_form, commit, merge_lines

if TYPE_CHECKING:
    from .state import Emulator


def po_status(po: dict[str, Any]) -> str:
    lines = [line for line in po["item"] if not line.get("isClosed")]
    if not lines:
        return "H"
    if all(line["quantityBilled"] >= line["quantity"] for line in lines):
        return "G"
    if any(line["quantityBilled"] > 0 for line in po["item"]):
        return "E"
    if all(line["quantityReceived"] >= line["quantity"] for line in lines):
        return "F"
    return "B"


def _check_po_line(emu: Emulator, line: dict[str, Any], raw: dict[str, Any], path: str,
                   old: dict[str, Any] | None, po: dict[str, Any]) -> None:
    if line.get("item") is None:
        raise missing_fields([S.label("item")], f"{path}.item")
    if old is not None and old.get("_soLine") is not None:
        for name in ("item", "quantity"):
            if name in raw and raw[name] != old.get(name):
                raise user_error(f"Line {old['line']} comes from a drop-ship sales order; "
                                 "change the sales order instead.", f"{path}.{name}")
    if old is not None and line.get("quantity", 0) < old["quantityBilled"]:
        raise user_error(f"Line {old['line']} has {old['quantityBilled']} billed; the "
                         "quantity can not go below that.", f"{path}.quantity")
    item_type, item = item_of(emu, line["item"])
    check_quantity(line, path, item_type)
    price_line(line, raw, item, item_type, path, "cost", old)
    check_location(emu, po, line.get("location"), f"{path}.location")


def create_purchase_order(emu: Emulator, record_type: str, clean: dict[str, Any]) -> str:
    po = {k: v for k, v in clean.items() if v is not None and k != "item"}
    if po.get("entity") is None:
        raise missing_fields(["Vendor"], "entity")
    vendor = emu.maybe("vendor", po["entity"]["id"])
    assert vendor is not None
    check_header(emu, "purchaseOrder", po, vendor)
    raw_lines = clean.get("item") or []
    if not raw_lines:
        raise user_error("You must enter at least one line item for this transaction.", "item")
    po["item"] = []
    for index, raw in enumerate(raw_lines):
        line = dict(raw)
        _check_po_line(emu, line, raw, f"item.items[{index}]", None, po)
        line.update(line=index + 1, quantityBilled=0, quantityReceived=0,
                    isClosed=bool(raw.get("isClosed")))
        po["item"].append(line)
    po.setdefault("tranId", emu.next_tran_id("purchaseOrder"))
    po["createdDate"] = po["lastModifiedDate"] = emu.now_iso()
    po["total"] = sum((line["amount"] for line in po["item"]), Decimal("0.00"))
    po["status"] = po_status(po)
    return emu.insert("purchaseOrder", po)


def update_purchase_order(emu: Emulator, record_type: str, po: dict[str, Any],
                          clean: dict[str, Any], replace: frozenset[str]) -> None:
    for name in ("entity", "subsidiary", "currency"):
        if name in clean and clean[name] != po.get(name):
            raise user_error(f"The emulator does not support changing {name} on an existing "
                             "purchase order.", name)
    new = copy.deepcopy(po)
    new.update({k: v for k, v in clean.items() if k != "item"})
    new = {k: v for k, v in new.items() if v is not None}
    check_form(emu, "purchaseOrder", new)
    if "item" in clean:
        old_lines = {line["line"]: line for line in po["item"]}
        merged = merge_lines(po["item"], clean["item"] or [], key="line",
                             replace="item" in replace, path="item")
        kept = {line["line"] for _, line in merged if "line" in line}
        for number, old in old_lines.items():
            if number not in kept and (old["quantityBilled"] or old["quantityReceived"]
                                       or old.get("_soLine") is not None):
                raise user_error(f"Line {number} is billed, received or linked to a sales "
                                 "order and can not be removed.", "item")
        next_number = max(old_lines, default=0) + 1
        for index, line in merged:
            if index is None:
                continue
            old = old_lines.get(line.get("line"))
            _check_po_line(emu, line, clean["item"][index], f"item.items[{index}]", old, new)
            if old is None:
                line.update(line=next_number, quantityBilled=0, quantityReceived=0,
                            isClosed=bool(line.get("isClosed")))
                next_number += 1
        new["item"] = [line for _, line in merged]
        if not new["item"]:
            raise user_error("You must enter at least one line item for this transaction.",
                             "item")
    new["total"] = sum((line["amount"] for line in new["item"]), Decimal("0.00"))
    new["status"] = po_status(new)
    commit(emu, "purchaseOrder", po, new)


def before_po_delete(emu: Emulator, po: dict[str, Any]) -> None:
    if emu.children(po["id"], "vendorBill") or any(line["quantityReceived"] for line in po["item"]):
        raise user_error("This record cannot be deleted because it has dependent records.")
    source = po.get("createdFrom")
    so = emu.maybe("salesOrder", source["id"]) if source else None
    for line in so["item"] if so else []:
        if (line.get("createdPo") or {}).get("id") == po["id"]:
            line.pop("createdPo", None)
            line.pop("_poLine", None)
