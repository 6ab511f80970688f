"""The two transforms flx uses, with NetSuite's line rules, including the harmful defaults:

- salesOrder -> itemFulfillment: a line the body does not list is fulfilled IN FULL;
  `itemReceive: false` (or quantity 0) leaves a listed line open.
- purchaseOrder -> vendorBill: a line the body does not list is billed IN FULL, unless the
  query says `?replace=item`, in which case only the listed lines are on the bill. A line
  with an `item` and no `orderLine` is on no PO line (a vendor's charge): it is added, with or
  without `replace`, and bills no PO quantity.

A client must therefore list every open line. Drop-ship lines may be fulfilled through the
sales-order transform (standing in for the UI's "Mark Shipped"); that also marks the drop-ship
purchase-order line received."""

from __future__ import annotations

import copy
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from .behaviour import CARRIERS
from .errors import NsError, invalid_value, missing_fields, user_error
from .orders import check_location, fulfillable, so_status
from .purchase import po_status
from .records import Options, check_form, commit, ensure_unique_eid, make_checker, money

if TYPE_CHECKING:
    from .state import Emulator

NO_LINES = "You must enter at least one line item for this transaction."
TRANSFORMS = {("salesOrder", "itemFulfillment"), ("purchaseOrder", "vendorBill"),
              ("purchaseOrder", "itemFulfillment")}
KNOWN_ELSEWHERE = {("salesOrder", "invoice"), ("salesOrder", "cashSale"),
                   ("salesOrder", "fulfillmentRequest"), ("salesOrder", "returnAuthorization"),
                   ("purchaseOrder", "itemReceipt"),
                   ("purchaseOrder", "vendorReturnAuthorization")}


def refuse_plain_create(emu: Emulator, record_type: str, clean: dict[str, Any]) -> str:
    source = "salesOrder" if record_type == "itemFulfillment" else "purchaseOrder"
    raise user_error(f"The emulator creates a {record_type} only by transforming its "
                     f"{source}: POST /record/v1/{source}/{{id}}/!transform/{record_type}.")


def _listed(lines: list[dict[str, Any]], source: dict[str, Any], what: str,
            free: list[tuple[int, dict[str, Any]]] | None = None,
            ) -> dict[int, tuple[int, dict[str, Any]]]:
    """The body's lines by orderLine, each checked against the source transaction. When
    `free` is given (vendor bills), a line with an item but no orderLine is not a line of the
    source: it goes to `free` with its index instead of being refused."""
    by_number = {line["line"]: line for line in source["item"]}
    listed: dict[int, tuple[int, dict[str, Any]]] = {}
    for index, line in enumerate(lines):
        path = f"item.items[{index}]"
        number = line.get("orderLine")
        if number is None:
            if free is not None and line.get("item") is not None:
                free.append((index, line))
                continue
            raise missing_fields(["Order Line"] if free is None else ["Order Line", "Item"],
                                 f"{path}.orderLine")
        source_line = by_number.get(number)
        if source_line is None:
            raise user_error(f"The {what} has no line {number}; read its lines with GET "
                             f".../{what}/{source['id']}/item.", f"{path}.orderLine")
        if number in listed:
            raise user_error(f"Order line {number} is listed twice.", f"{path}.orderLine")
        if line.get("item") is not None and line["item"]["id"] != source_line["item"]["id"]:
            raise user_error(f"The item does not match order line {number}.", f"{path}.item")
        listed[number] = (index, line)
    return listed


# --- sales order -> item fulfillment --------------------------------------------------------


def fulfill(emu: Emulator, so: dict[str, Any], body: Any, opts: Options) -> tuple[str, list[str]]:
    checker = make_checker(emu, "itemFulfillment", "transform", opts)
    clean = checker.body(body)
    ensure_unique_eid(emu, "itemFulfillment", clean.get("externalId"), None)
    check_form(emu, "itemFulfillment", clean)
    if so["status"] == "A":
        raise user_error("The sales order is pending approval; approve it (orderStatus B) "
                         "before fulfilling it.")
    if so["status"] in ("C", "H"):
        raise user_error("The sales order is closed; nothing can be fulfilled.")
    listed = _listed(clean.get("item") or [], so, "salesOrder")
    via_po = emu.behaviour.dropship_fulfillment == "purchase_order"
    chosen: list[tuple[dict[str, Any], int, dict[str, Any] | None, str]] = []
    for so_line in so["item"]:
        number = so_line["line"]
        index, line = listed.get(number, (None, None))
        path = f"item.items[{index}]" if index is not None else "item"
        if via_po and so_line.get("createPo") == "DropShip":
            # This reading: a drop-ship line is fulfilled only through its PO (Mark Shipped).
            if line is not None:
                raise user_error(f"Order line {number} is a drop-ship line; mark it shipped "
                                 "on its purchase order instead.", f"{path}.orderLine")
            continue
        if not fulfillable(emu, so_line):
            if line is not None:  # such a line is on no fulfillment, not even unticked
                raise user_error(f"Order line {number} can not be fulfilled (its item is a "
                                 "discount, service or charge).", f"{path}.orderLine")
            continue
        if so_line.get("isClosed"):
            if line is not None and line.get("itemReceive", True) and line.get("quantity", 1):
                raise user_error(f"Order line {number} is closed or can not be fulfilled.",
                                 f"{path}.orderLine")
            continue
        remaining = so_line["quantity"] - so_line["quantityFulfilled"]
        if line is None:
            quantity = remaining  # NetSuite's default for an unlisted line: all of it
            location = so_line.get("location") or so.get("location")
        else:
            if line.get("itemReceive", True) is False:
                if line.get("quantity"):
                    raise user_error("A line with itemReceive false can not have a quantity.",
                                     f"{path}.quantity")
                continue
            quantity = line.get("quantity", remaining)
            if quantity < 0:
                raise invalid_value(quantity, "quantity", f"{path}.quantity", "negative")
            if quantity > remaining:
                _, item = emu.lookup(("item",), so_line["item"]["id"])
                raise user_error(f"You can not fulfill more than the remaining quantity "
                                 f"({remaining}) of item {item.get('itemId')} on order line "
                                 f"{number}.", f"{path}.quantity")
            location = line.get("location") or so_line.get("location") or so.get("location")
        if quantity > 0:
            chosen.append((so_line, quantity, location, path))
    if not chosen:
        raise user_error(NO_LINES, "item")
    _check_locations(emu, so, chosen)
    return _save_fulfillment(emu, so, clean, chosen, checker.warnings)


def fulfill_po(emu: Emulator, po: dict[str, Any], body: Any,
               opts: Options) -> tuple[str, list[str]]:
    """purchaseOrder -> itemFulfillment, the dropship_fulfillment=purchase_order reading of
    Mark Shipped: the body's lines name PO lines; the fulfillment is of the sales order the
    PO was generated from. A PO line not listed is fulfilled in full, as on the SO."""
    if emu.behaviour.dropship_fulfillment != "purchase_order":
        raise user_error("Transforming purchaseOrder to itemFulfillment is not allowed.")
    checker = make_checker(emu, "itemFulfillment", "transform", opts)
    clean = checker.body(body)
    ensure_unique_eid(emu, "itemFulfillment", clean.get("externalId"), None)
    check_form(emu, "itemFulfillment", clean)
    so = emu.maybe("salesOrder", (po.get("createdFrom") or {}).get("id"))
    if so is None:
        raise user_error("Only a drop-ship purchase order can be marked shipped.")
    listed = _listed(clean.get("item") or [], po, "purchaseOrder")
    so_lines = {line["line"]: line for line in so["item"]}
    chosen: list[tuple[dict[str, Any], int, dict[str, Any] | None, str]] = []
    for po_line in po["item"]:
        index, line = listed.get(po_line["line"], (None, None))
        path = f"item.items[{index}]" if index is not None else "item"
        so_line = so_lines[po_line["_soLine"]]
        remaining = so_line["quantity"] - so_line["quantityFulfilled"]
        if line is not None and line.get("itemReceive", True) is False:
            continue
        quantity = remaining if line is None else line.get("quantity", remaining)
        if quantity > remaining:
            raise user_error(f"You can not fulfill more than the remaining quantity "
                             f"({remaining}) on order line {po_line['line']}.",
                             f"{path}.quantity")
        if quantity > 0:
            chosen.append((so_line, quantity, None, path))
    if not chosen:
        raise user_error(NO_LINES, "item")
    return _save_fulfillment(emu, so, clean, chosen, checker.warnings)


def _save_fulfillment(emu: Emulator, so: dict[str, Any], clean: dict[str, Any],
                      chosen: list[tuple[dict[str, Any], int, dict[str, Any] | None, str]],
                      warnings: list[str]) -> tuple[str, list[str]]:
    packages = clean.get("package") or []
    method = (clean.get("shipMethod") or so.get("shipMethod") or {}).get("id")
    carrier = emu.behaviour.carrier_ship_methods.get(str(method))
    if carrier and packages:
        raise user_error(f"Ship method {method} uses carrier integration: put the packages in "
                         f"{carrier}, not package.", "package")
    for sublist in ("package", *CARRIERS):
        suffix = "" if sublist == "package" else sublist[len("package"):].replace(
            "Fedex", "FedEx")
        for index, package in enumerate(clean.get(sublist) or []):
            weight = package.get(f"packageWeight{suffix}")
            if weight is None or weight <= 0:  # stricter: NetSuite may default the weight
                raise missing_fields(["Package Weight"],
                                     f"{sublist}.items[{index}].packageWeight{suffix}")
    record: dict[str, Any] = {k: v for k, v in clean.items()
                              if v is not None and k not in ("item", "package", *CARRIERS)}
    record.update(createdFrom={"id": so["id"]}, entity=copy.deepcopy(so["entity"]))
    for name in ("subsidiary", "shipMethod"):
        if so.get(name) is not None:
            record.setdefault(name, copy.deepcopy(so[name]))
    record.setdefault("shipStatus", "C")
    record.setdefault("tranDate", emu.today())
    record.setdefault("tranId", emu.next_tran_id("itemFulfillment"))
    record["createdDate"] = record["lastModifiedDate"] = emu.now_iso()
    record["item"] = []
    for number, (so_line, quantity, location, _) in enumerate(chosen, start=1):
        record["item"].append({
            "line": number, "orderLine": so_line["line"], "item": copy.deepcopy(so_line["item"]),
            "quantity": quantity, "itemReceive": True, "location": copy.deepcopy(location),
            "description": so_line.get("description"),
            "createdPo": copy.deepcopy(so_line.get("createdPo"))})
    record["package"] = [dict(p) for p in packages]
    for sublist in CARRIERS:
        if clean.get(sublist):
            record[sublist] = [dict(p) for p in clean[sublist]]
    record_id = emu.insert("itemFulfillment", record)
    _apply_fulfillment(emu, record, +1)
    return record_id, warnings


def _check_locations(emu: Emulator, so: dict[str, Any], chosen: list[Any]) -> None:
    """Stock lines need a location, and one fulfillment ships from one location."""
    seen: set[str] = set()
    for so_line, _, location, path in chosen:
        if so_line.get("createPo") == "DropShip":
            continue  # the vendor ships drop-ship lines; no warehouse involved
        if location is None:
            raise missing_fields(["Inventory Location"], f"{path}.location")
        check_location(emu, so, location, f"{path}.location")
        seen.add(location["id"])
    if len(seen) > 1:
        raise user_error("Fulfillments can be shipped from only one location when using "
                         "Multi-Location Inventory.", "item")


def _apply_fulfillment(emu: Emulator, record: dict[str, Any], sign: int) -> None:
    so = emu.maybe("salesOrder", record["createdFrom"]["id"])
    if so is None:
        return
    lines = {line["line"]: line for line in so["item"]}
    touched_pos: set[str] = set()
    for line in record["item"]:
        so_line = lines.get(line["orderLine"])
        if so_line is None:
            continue
        so_line["quantityFulfilled"] += sign * line["quantity"]
        po = emu.maybe("purchaseOrder", (so_line.get("createdPo") or {}).get("id"))
        if po is not None:
            for po_line in po["item"]:
                if po_line.get("_soLine") == so_line["line"]:
                    po_line["quantityReceived"] += sign * line["quantity"]
            touched_pos.add(po["id"])
    so["status"] = so_status(emu, so)
    fulfillments = emu.children(so["id"], "itemFulfillment")
    so["linkedTrackingNumbers"] = _tracking(fulfillments) or None
    for po_id in touched_pos:
        po = emu.maybe("purchaseOrder", po_id)
        assert po is not None
        po["status"] = po_status(po)
        po["trackingNumbers"] = _tracking(
            [f for f in fulfillments
             if any((line.get("createdPo") or {}).get("id") == po_id for line in f["item"])]
        ) or None


def _tracking(fulfillments: list[dict[str, Any]]) -> str:
    numbers: list[str] = []
    for record in fulfillments:
        for sublist in ("package", *CARRIERS):
            for package in record.get(sublist) or []:
                number = next((v for k, v in package.items()
                               if k.startswith("packageTrackingNumber")
                               and not k.startswith("packageTrackingNumberReturn")), None)
                if number and number not in numbers:
                    numbers.append(number)
    return " ".join(numbers)


def delete_fulfillment(emu: Emulator, record: dict[str, Any]) -> None:
    """Deleting a fulfillment gives its quantities back to the order (and drop-ship PO)."""
    emu.remove("itemFulfillment", record["id"])
    _apply_fulfillment(emu, record, -1)


def update_fulfillment(emu: Emulator, record_type: str, record: dict[str, Any],
                       clean: dict[str, Any], replace: frozenset[str]) -> None:
    if "item" in clean:
        raise user_error("The emulator does not change the lines of an existing item "
                         "fulfillment; delete it and transform again.", "item")
    new = copy.deepcopy(record)
    for name, value in clean.items():
        if name == "package":
            added = [dict(package) for package in value or []]
            new["package"] = added if "package" in replace else new.get("package", []) + added
            for index, package in enumerate(added):
                if package.get("packageWeight") is None or package["packageWeight"] <= 0:
                    raise missing_fields(["Package Weight"],
                                         f"package.items[{index}].packageWeight")
        elif value is None:
            new.pop(name, None)
        else:
            new[name] = value
    check_form(emu, "itemFulfillment", new)
    commit(emu, "itemFulfillment", record, new)
    _apply_fulfillment(emu, record, 0)  # refresh tracking numbers on the SO and POs


# --- purchase order -> vendor bill ----------------------------------------------------------


def bill(emu: Emulator, po: dict[str, Any], body: Any, opts: Options) -> tuple[str, list[str]]:
    checker = make_checker(emu, "vendorBill", "transform", opts)
    clean = checker.body(body)
    ensure_unique_eid(emu, "vendorBill", clean.get("externalId"), None)
    check_form(emu, "vendorBill", clean)
    if po["status"] == "H":
        raise user_error("The purchase order is closed; it can not be billed.")
    free: list[tuple[int, dict[str, Any]]] = []
    listed = _listed(clean.get("item") or [], po, "purchaseOrder", free)
    only_listed = "item" in opts.replace
    lines: list[dict[str, Any]] = []
    for po_line in po["item"]:
        number = po_line["line"]
        index, line = listed.get(number, (None, None))
        path = f"item.items[{index}]" if index is not None else "item"
        if po_line.get("isClosed"):
            if line is not None and line.get("quantity", 1):
                raise user_error(f"Order line {number} is closed.", f"{path}.orderLine")
            continue
        remaining = po_line["quantity"] - po_line["quantityBilled"]
        if line is None:
            if only_listed or remaining <= 0:
                continue
            quantity, rate, amount = remaining, po_line["rate"], None
        else:
            doc = line.get("orderDoc")
            if doc is not None and doc["id"] != po["id"]:
                raise NsError(400, "INVALID_KEY_OR_REF", f"Invalid Field Value {doc['id']} "
                              "for the following field: orderdoc", path=f"{path}.orderDoc")
            quantity = line.get("quantity", remaining)
            if quantity < 0:
                raise invalid_value(quantity, "quantity", f"{path}.quantity", "negative")
            if quantity == 0 and emu.behaviour.zero_quantity_bill_lines == "refused":
                raise invalid_value(quantity, "quantity", f"{path}.quantity",
                                    "must be greater than 0")
            if quantity > remaining:
                raise user_error(f"You can not bill more than the remaining quantity "
                                 f"({remaining}) on order line {number}.", f"{path}.quantity")
            rate = line["rate"] if line.get("rate") is not None else po_line["rate"]
            amount = line.get("amount")
        if quantity == 0:
            continue
        received = po_line["quantityReceived"] - po_line["quantityBilled"]
        if not emu.behaviour.bill_before_receipt and quantity > received:
            raise user_error(f"You can not bill more than has been received ({max(received, 0)})"
                             f" on order line {number}; receive it or mark it shipped first.",
                             f"{path}.quantity")
        computed = money(Decimal(quantity) * rate)
        if amount is not None and amount != computed:
            raise user_error(f"The amount {amount} does not equal quantity x rate ({quantity} "
                             f"x {rate} = {computed}).", f"{path}.amount")
        extra = _line_extra(line or {})
        lines.append({"orderDoc": {"id": po["id"]}, "orderLine": number,
                      "item": copy.deepcopy(po_line["item"]), "quantity": quantity,
                      "rate": rate, "amount": computed, **extra})
    lines += [_free_line(index, line) for index, line in free]
    expenses = _expenses(clean.get("expense") or [])
    if not lines and not expenses:
        raise user_error(NO_LINES, "item")
    record: dict[str, Any] = {k: v for k, v in clean.items()
                              if v is not None and k not in ("item", "expense")}
    record.update(createdFrom={"id": po["id"]}, entity=copy.deepcopy(po["entity"]),
                  status="A")
    for name in ("subsidiary", "currency"):
        if po.get(name) is not None:
            record[name] = copy.deepcopy(po[name])
    record.setdefault("tranDate", emu.today())
    record["createdDate"] = record["lastModifiedDate"] = emu.now_iso()
    record["item"] = [{"line": n, **line} for n, line in enumerate(lines, start=1)]
    record["expense"] = [{"line": n, **line} for n, line in enumerate(expenses, start=1)]
    total = sum((line["amount"] for line in lines + expenses), Decimal("0.00"))
    record["total"] = record["userTotal"] = total
    record_id = emu.insert("vendorBill", record)
    _apply_bill(emu, record, +1)
    return record_id, checker.warnings


def _line_extra(line: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in line.items()
            if k.startswith("custcol_") or k in ("description", "department", "class",
                                                 "location")}


def _free_line(index: int, line: dict[str, Any]) -> dict[str, Any]:
    """An item line that is on no PO line (a vendor's shipping or handling charge, say): it
    adds to the bill and leaves the PO's billed quantities alone. Stricter than NetSuite,
    which may default them from the item record: quantity and rate must be given, and the
    quantity must be positive (a zero line here would bill nothing and hide a mistake)."""
    path = f"item.items[{index}]"
    if line.get("orderDoc") is not None:
        raise user_error("A line without orderLine is not on the purchase order; it can not "
                         "carry an orderDoc.", f"{path}.orderDoc")
    for name in ("quantity", "rate"):
        if line.get(name) is None:
            raise missing_fields([name.capitalize()], f"{path}.{name}")
    quantity, rate = line["quantity"], line["rate"]
    if quantity <= 0:
        raise invalid_value(quantity, "quantity", f"{path}.quantity",
                            "a line not on the purchase order needs a quantity above 0")
    if rate < 0:
        raise invalid_value(rate, "rate", f"{path}.rate", "negative")
    computed = money(Decimal(quantity) * rate)
    amount = line.get("amount")
    if amount is not None and amount != computed:
        raise user_error(f"The amount {amount} does not equal quantity x rate ({quantity} "
                         f"x {rate} = {computed}).", f"{path}.amount")
    return {"item": copy.deepcopy(line["item"]), "quantity": quantity, "rate": rate,
            "amount": computed, **_line_extra(line)}


def _expenses(expenses: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for index, line in enumerate(expenses):
        path = f"expense.items[{index}]"
        for name in ("account", "amount"):
            if line.get(name) is None:
                raise missing_fields([name.capitalize()], f"{path}.{name}")
        out.append({k: v for k, v in line.items() if v is not None})
    return out


def _apply_bill(emu: Emulator, record: dict[str, Any], sign: int) -> None:
    po = emu.maybe("purchaseOrder", record["createdFrom"]["id"])
    if po is None:
        return
    lines = {line["line"]: line for line in po["item"]}
    for line in record["item"]:
        if line.get("orderLine") in lines:  # lines not on the PO bill no PO quantity
            lines[line["orderLine"]]["quantityBilled"] += sign * line["quantity"]
    po["status"] = po_status(po)


def delete_bill(emu: Emulator, record: dict[str, Any]) -> None:
    emu.remove("vendorBill", record["id"])
    _apply_bill(emu, record, -1)


def update_bill(emu: Emulator, record_type: str, record: dict[str, Any],
                clean: dict[str, Any], replace: frozenset[str]) -> None:
    if "item" in clean or "expense" in clean:
        raise user_error("The emulator does not change the lines of an existing vendor bill; "
                         "delete it and transform again.", "item" if "item" in clean
                         else "expense")
    new = copy.deepcopy(record)
    for name, value in clean.items():
        if value is None:
            new.pop(name, None)
        else:
            new[name] = value
    check_form(emu, "vendorBill", new)
    commit(emu, "vendorBill", record, new)
