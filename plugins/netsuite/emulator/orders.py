"""Sales orders, and the drop-ship purchase orders an approved sales order generates (plus
the header, line and pricing checks purchase.py shares). Line numbers follow NetSuite's habit
of not being 1..n: sales-order lines are numbered 1, 4, 7, ... (purchase-order lines 1, 2,
3), so a client that assumes positions instead of reading `line` breaks here, not in
production."""

from __future__ import annotations

import copy
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import schema as S
from .errors import NsError, invalid_value, missing_fields, user_error
from .records import check_form, commit, merge_lines, money

if TYPE_CHECKING:
    from .state import Emulator

SO_LINE_STEP = 3
_RATE_PLACES = Decimal("0.00000001")
INSERTED_ITEM = "601"  # the seed's GIFT-WRAP, a non-inventory sale item
_FROZEN_WHEN_PO = ("item", "quantity", "createPo", "poVendor", "poRate")


def item_of(emu: Emulator, ref: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    return emu.lookup(("item",), ref["id"])


# Items NetSuite puts on no fulfillment: nothing ships for a discount, a service or a charge.
UNFULFILLABLE = ("discountItem", "serviceSaleItem", "otherChargeSaleItem")


def fulfillable(emu: Emulator, line: dict[str, Any]) -> bool:
    return item_of(emu, line["item"])[0] not in UNFULFILLABLE


# --- shared header and line checks -----------------------------------------------------------


def check_header(emu: Emulator, record_type: str, tran: dict[str, Any],
                 entity: dict[str, Any]) -> None:
    """Subsidiary, currency and location must agree with the entity (OneWorld rules)."""
    eid = entity["id"]
    sub = tran.setdefault("subsidiary", copy.deepcopy(entity.get("subsidiary")))
    if sub is None:
        tran.pop("subsidiary")
    elif entity.get("subsidiary") and sub["id"] != entity["subsidiary"]["id"]:
        raise NsError(400, "INVALID_KEY_OR_REF",
                      f"Invalid subsidiary reference key {sub['id']} for entity {eid}.",
                      path="subsidiary")
    currency = tran.setdefault("currency", copy.deepcopy(entity.get("currency")))
    if currency is None:
        tran.pop("currency")
    elif entity.get("currency") and currency["id"] != entity["currency"]["id"]:
        raise NsError(400, "INVALID_KEY_OR_REF",
                      f"Invalid currency reference key {currency['id']} for entity {eid}.",
                      path="currency")
    check_form(emu, record_type, tran)
    check_location(emu, tran, tran.get("location"), "location")
    tran.setdefault("tranDate", emu.today())


def check_location(emu: Emulator, tran: dict[str, Any], location: dict[str, Any] | None,
                   path: str) -> None:
    if location is None or "subsidiary" not in tran:
        return
    found = emu.maybe("location", location["id"])
    if found and found.get("subsidiary", tran["subsidiary"])["id"] != tran["subsidiary"]["id"]:
        raise NsError(400, "INVALID_KEY_OR_REF",
                      f"Invalid location reference key {location['id']} for subsidiary "
                      f"{tran['subsidiary']['id']}.", path=path)


def price_line(line: dict[str, Any], raw: dict[str, Any], item: dict[str, Any], item_type: str,
               path: str, default_rate: str, old: dict[str, Any] | None = None) -> None:
    """Rate and amount: amount = quantity x rate rounded to the cent (half up). When both are
    sent they must agree (stricter than NetSuite, which keeps the amount sent). A line whose
    item changes without a new rate takes the new item's price."""
    if old is not None and raw.get("item", old["item"]) != old["item"]:
        if raw.get("rate") is None and raw.get("amount") is None:
            line.pop("rate", None)
    qty = Decimal(line["quantity"]) if line.get("quantity") is not None else Decimal(1)
    rate, amount = raw.get("rate"), raw.get("amount")
    if rate is not None and amount is not None:
        if money(qty * rate) != amount:
            raise user_error(f"The amount {amount} does not equal quantity x rate "
                             f"({qty} x {rate} = {money(qty * rate)}).", f"{path}.amount")
    elif amount is not None:
        line["rate"] = (amount / qty).quantize(_RATE_PLACES).normalize()
    elif rate is None and line.get("rate") is None:
        fallback = item.get(default_rate)
        if fallback is None:
            raise missing_fields(["Rate"], f"{path}.rate")
        line["rate"] = fallback
    if amount is None:
        line["amount"] = money(qty * line["rate"])
    if item_type != "discountItem" and (line["rate"] < 0 or line["amount"] < 0):
        raise invalid_value(line["rate"], "rate", f"{path}.rate",
                            "only a discount item may have a negative rate")


def check_quantity(line: dict[str, Any], path: str, item_type: str) -> None:
    qty = line.get("quantity")
    if qty is None:
        if item_type == "discountItem":
            return
        raise missing_fields([S.label("quantity")], f"{path}.quantity")
    if qty <= 0:
        raise invalid_value(qty, "quantity", f"{path}.quantity", "must be greater than 0")


def _reprice(emu: Emulator, line: dict[str, Any], raw: dict[str, Any], item: dict[str, Any],
             item_type: str) -> None:
    """The reprice_lines switch: a rate sent without the custom price level is replaced by
    the item's base price, as an account re-sourcing rates from price levels does."""
    if not emu.behaviour.reprice_lines or item_type == "discountItem" \
            or item.get("basePrice") is None or (line.get("price") or {}).get("id") == "-1":
        return
    if raw.get("rate") is None and raw.get("amount") is None:
        return
    qty = Decimal(line["quantity"]) if line.get("quantity") is not None else Decimal(1)
    line["rate"] = item["basePrice"]
    line["amount"] = money(qty * line["rate"])


def _component_line() -> dict[str, Any]:
    """The line the insert_lines switch adds, as an item group adds its components."""
    return {"item": {"id": INSERTED_ITEM}, "quantity": 1, "rate": Decimal("0"),
            "amount": Decimal("0.00"), "description": "Item group component",
            "createPo": None}


def _check_so_line(emu: Emulator, so: dict[str, Any], line: dict[str, Any],
                   raw: dict[str, Any], path: str, old: dict[str, Any] | None) -> None:
    if line.get("item") is None:
        raise missing_fields([S.label("item")], f"{path}.item")
    item_type, item = item_of(emu, line["item"])
    if old is not None and old.get("createdPo"):
        for name in _FROZEN_WHEN_PO:
            if name in raw and raw[name] != old.get(name):
                raise user_error(f"Line {old['line']} already has a drop-ship purchase order; "
                                 f"change that purchase order instead.", f"{path}.{name}")
    if old is not None and old.get("quantityFulfilled"):
        if "item" in raw and raw["item"] != old["item"]:
            raise user_error(f"Line {old['line']} is already fulfilled; its item can not "
                             "change.", f"{path}.item")
        if line.get("quantity", 0) < old["quantityFulfilled"]:
            raise user_error(f"Line {old['line']} has {old['quantityFulfilled']} fulfilled; "
                             "the quantity can not go below that.", f"{path}.quantity")
    check_quantity(line, path, item_type)
    price_line(line, raw, item, item_type, path, "basePrice", old)
    _reprice(emu, line, raw, item, item_type)
    check_location(emu, so, line.get("location"), f"{path}.location")
    behaviour = emu.behaviour
    unsaid = "createPo" not in line or (line["createPo"] is None
                                        and behaviour.null_create_po == "ignored")
    if unsaid and old is None and item.get("isDropShipItem") and item.get("vendor") \
            and "dropship" not in behaviour.missing_features:
        # NetSuite: a drop-ship item with a preferred vendor defaults Create PO to Drop Ship.
        # Send "createPo": null to ship such an item from stock instead (unless the
        # null_create_po switch says the account ignores a null on a line).
        line["createPo"] = "DropShip"
    create_po = line.get("createPo")
    if create_po == "SpecOrd":
        raise user_error("The emulator supports only createPo DropShip (not special orders).",
                         f"{path}.createPo")
    if create_po == "DropShip" and not item.get("isDropShipItem"):
        raise user_error(f"Item {item.get('itemId')} is not a drop-ship item, so Create PO "
                         "can not be Drop Ship on this line.", f"{path}.createPo")
    for name in ("poVendor", "poRate"):
        if line.get(name) is not None and create_po is None:
            raise user_error(f"{name} applies only to a line with createPo.", f"{path}.{name}")
    if line.get("poRate") is not None and line["poRate"] < 0:
        raise invalid_value(line["poRate"], "poRate", f"{path}.poRate", "must not be negative")


# --- drop-ship purchase orders ------------------------------------------------------------


def plan_dropship(emu: Emulator, so: dict[str, Any],
                  lines: Iterable[tuple[int, dict[str, Any]]]) -> dict[str, list[Any]]:
    """Which PO each open drop-ship line goes to; refuses before anything is written."""
    plan: dict[str, list[Any]] = {}
    for index, line in lines:
        if line.get("createPo") != "DropShip" or line.get("createdPo") or line.get("isClosed"):
            continue
        path = f"item.items[{index}]"
        _, item = item_of(emu, line["item"])
        vendor_ref = line.get("poVendor") or item.get("vendor")
        if vendor_ref is None:
            raise user_error(f"Item {item.get('itemId')} has no preferred vendor; set poVendor "
                             "on the line to drop-ship it.", f"{path}.poVendor")
        vendor = emu.maybe("vendor", vendor_ref["id"])
        assert vendor is not None  # references were checked
        if so.get("subsidiary") and vendor.get("subsidiary", so["subsidiary"])["id"] != \
                so["subsidiary"]["id"]:
            raise user_error(f"Vendor {vendor.get('entityId')} does not belong to the order's "
                             "subsidiary; a drop-ship purchase order can not be generated.",
                             f"{path}.poVendor")
        rate = line["poRate"] if line.get("poRate") is not None else item.get("cost")
        if rate is None:
            raise missing_fields(["PO Rate"], f"{path}.poRate")
        plan.setdefault(vendor_ref["id"], []).append((line, rate))
    return plan


def create_pos(emu: Emulator, so: dict[str, Any], plan: dict[str, list[Any]]) -> None:
    for vendor_id, entries in plan.items():
        po: dict[str, Any] = {
            "tranId": emu.next_tran_id("purchaseOrder"), "tranDate": so["tranDate"],
            "entity": {"id": vendor_id}, "createdFrom": {"id": so["id"]},
            "shipTo": copy.deepcopy(so["entity"]), "status": "B",
            "createdDate": emu.now_iso(), "lastModifiedDate": emu.now_iso(),
        }
        for name in ("subsidiary", "currency", "shippingAddress"):
            if so.get(name) is not None:
                po[name] = copy.deepcopy(so[name])
        po["item"] = []
        for number, (so_line, rate) in enumerate(entries, start=1):
            po["item"].append({
                "line": number, "item": copy.deepcopy(so_line["item"]),
                "quantity": so_line["quantity"], "rate": rate,
                "amount": money(Decimal(so_line["quantity"]) * rate),
                "description": so_line.get("description"), "quantityBilled": 0,
                "quantityReceived": 0, "isClosed": False, "_soLine": so_line["line"]})
        po["total"] = sum((line["amount"] for line in po["item"]), Decimal("0.00"))
        po_id = emu.insert("purchaseOrder", po)
        for number, (so_line, _) in enumerate(entries, start=1):
            so_line["createdPo"] = {"id": po_id}
            so_line["_poLine"] = number


# --- status and totals --------------------------------------------------------------------


def so_status(emu: Emulator, so: dict[str, Any]) -> str:
    if so.get("orderStatus") == "A":
        return "A"
    lines = [line for line in so["item"] if fulfillable(emu, line)]
    open_lines = [line for line in lines if not line.get("isClosed")]
    if not open_lines:
        return "H"
    if all(line["quantityFulfilled"] >= line["quantity"] for line in open_lines):
        return "F"
    if any(line["quantityFulfilled"] > 0 for line in lines):
        return "D"
    return "B"


def _so_totals(so: dict[str, Any]) -> None:
    subtotal = sum((line["amount"] for line in so["item"]), Decimal("0.00"))
    so["subtotal"] = subtotal
    # No tax engine: total = lines + shipping + header discount.
    so["total"] = subtotal + so.get("shippingCost", Decimal(0)) + so.get("discountRate",
                                                                          Decimal(0))


# --- sales order ----------------------------------------------------------------------------


def _customer_defaults(emu: Emulator, so: dict[str, Any]) -> dict[str, Any]:
    if so.get("entity") is None:
        raise missing_fields([S.label("entity")], "entity")
    customer = emu.maybe("customer", so["entity"]["id"])
    assert customer is not None
    check_header(emu, "salesOrder", so, customer)
    if customer.get("email"):
        so.setdefault("email", customer["email"])
    for field, flag in (("shippingAddress", "defaultShipping"),
                        ("billingAddress", "defaultBilling")):
        book = [a for a in customer.get("addressBook") or [] if a.get(flag)]
        if field not in so and book and book[0].get("addressBookAddress"):
            so[field] = copy.deepcopy(book[0]["addressBookAddress"])
    return customer


def _header_checks(emu: Emulator, so: dict[str, Any]) -> None:
    if so.get("shippingCost") is not None and so["shippingCost"] < 0:
        raise invalid_value(so["shippingCost"], "shippingCost", "shippingCost",
                            "must not be negative")
    if so.get("discountItem") is not None and item_of(emu, so["discountItem"])[0] != \
            "discountItem":
        raise NsError(400, "INVALID_KEY_OR_REF", "Invalid Field Value "
                      f"{so['discountItem']['id']} for the following field: discountitem",
                      path="discountItem")


def create_sales_order(emu: Emulator, record_type: str, clean: dict[str, Any]) -> str:
    so = {k: v for k, v in clean.items() if v is not None and k != "item"}
    _customer_defaults(emu, so)
    _header_checks(emu, so)
    raw_lines = clean.get("item") or []
    if not raw_lines:
        raise user_error("You must enter at least one line item for this transaction.", "item")
    lines: list[tuple[int, dict[str, Any]]] = []
    for index, raw in enumerate(raw_lines):
        line = dict(raw)
        _check_so_line(emu, so, line, raw, f"item.items[{index}]", None)
        lines.append((index, line))
    numbered = [line for _, line in lines]
    if emu.behaviour.insert_lines:
        numbered.insert(0, _component_line())
    for position, line in enumerate(numbered):
        line.update(line=1 + SO_LINE_STEP * position, quantityFulfilled=0, quantityBilled=0,
                    isClosed=bool(line.get("isClosed")))
    so["item"] = numbered
    so.setdefault("orderStatus", "A")  # no approval preference: orders wait for approval
    plan = plan_dropship(emu, so, lines) if so["orderStatus"] != "A" else {}
    so.setdefault("tranId", emu.next_tran_id("salesOrder"))
    so["createdDate"] = so["lastModifiedDate"] = emu.now_iso()
    _so_totals(so)
    so["status"] = so_status(emu, so)
    so_id = emu.insert("salesOrder", so)
    create_pos(emu, so, plan)
    return so_id


def update_sales_order(emu: Emulator, record_type: str, so: dict[str, Any],
                       clean: dict[str, Any], replace: frozenset[str]) -> None:
    for name in ("entity", "subsidiary", "currency"):
        if name in clean and clean[name] != so.get(name):
            raise user_error(f"The emulator does not support changing {name} on an existing "
                             "sales order.", name)
    if so.get("orderStatus") != "A" and clean.get("orderStatus") == "A":
        raise user_error("An approved sales order can not go back to Pending Approval.",
                         "orderStatus")
    new = copy.deepcopy(so)
    for name, value in clean.items():
        if name == "item":
            continue
        if value is None:
            new.pop(name, None)
        else:
            new[name] = value
    _header_checks(emu, new)
    check_location(emu, new, new.get("location"), "location")
    check_form(emu, "salesOrder", new)
    touched: list[tuple[int, dict[str, Any]]] = []
    if "item" in clean:
        old_lines = {line["line"]: line for line in so["item"]}
        merged = merge_lines(so["item"], clean["item"] or [], key="line",
                             replace="item" in replace, path="item")
        kept = {line["line"] for _, line in merged if "line" in line}
        for number, old in old_lines.items():
            if number not in kept and (old["quantityFulfilled"] or old.get("createdPo")):
                raise user_error(f"Line {number} is fulfilled or has a purchase order and can "
                                 "not be removed.", "item")
        next_number = max(old_lines, default=1 - SO_LINE_STEP) + SO_LINE_STEP
        for index, line in merged:
            if index is None:
                continue
            raw = clean["item"][index]
            old = old_lines.get(line.get("line"))
            _check_so_line(emu, new, line, raw, f"item.items[{index}]", old)
            if old is None:
                line.update(line=next_number, quantityFulfilled=0, quantityBilled=0,
                            isClosed=bool(raw.get("isClosed")))
                next_number += SO_LINE_STEP
            touched.append((index, line))
        new["item"] = [line for _, line in merged]
        if not new["item"]:
            raise user_error("You must enter at least one line item for this transaction.",
                             "item")
    # Error paths point into the body for lines it touched, else at the line's position.
    body_index = {id(line): index for index, line in touched}
    candidates = [(body_index.get(id(line), pos), line) for pos, line in enumerate(new["item"])]
    plan = plan_dropship(emu, new, candidates) if new.get("orderStatus") != "A" else {}
    _so_totals(new)
    new["status"] = so_status(emu, new)
    commit(emu, "salesOrder", so, new)  # so now holds new's line objects, which plan names
    create_pos(emu, so, plan)
    so["status"] = so_status(emu, so)
