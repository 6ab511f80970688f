"""One QuickBooks company: its lists and transactions, with the rules flx runs into (references
must exist and be active, unique names and document numbers, SyncToken, sparse updates, line
ids, computed totals). Bill-to-PO linking lives in purchasing.py."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from . import purchasing
from .behaviour import Behaviour
from .errors import QboFault, invalid, not_found, required
from .query import execute, parse

ENTITIES = {"customer": "Customer", "vendor": "Vendor", "item": "Item",
            "salesreceipt": "SalesReceipt", "invoice": "Invoice",
            "purchaseorder": "PurchaseOrder", "bill": "Bill"}
SALES = frozenset({"SalesReceipt", "Invoice"})
NAMED = frozenset({"Customer", "Vendor"})
TRANSACTIONS = SALES | {"PurchaseOrder", "Bill"}
READ_ONLY = ("Id", "SyncToken", "MetaData", "TotalAmt", "Balance", "domain", "sparse")
CENT = Decimal("0.01")


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT, rounding=ROUND_HALF_UP)


class Books:
    def __init__(self, realm_id: str, behaviour: Behaviour, clock: Callable[[], float]) -> None:
        self.realm_id = realm_id
        self.behaviour = behaviour
        self.clock = clock
        self.objects: dict[str, dict[str, dict[str, Any]]] = {e: {} for e in ENTITIES.values()}
        self.billed: dict[tuple[str, str], Decimal] = {}  # (PO Id, PO line Id) -> qty billed
        self.company_name = "flx Sandbox Company US"
        self.preferences: dict[str, Any] = {
            "SalesFormsPrefs": {"CustomTxnNumbers": True, "AllowShipping": True,
                                "AllowDiscount": True},
            "VendorAndPurchasesPrefs": {"TrackingByCustomer": True},
            "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
            "TaxPrefs": {"UsingSalesTax": True, "PartnerTaxEnabled": True},
        }
        self._next_id = 100
        self.lock = threading.RLock()

    # --- helpers ------------------------------------------------------------------------------

    def now(self) -> str:
        return datetime.fromtimestamp(self.clock(), UTC).isoformat(timespec="seconds")

    def new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def get(self, entity: str, ident: Any) -> dict[str, Any] | None:
        return self.objects[entity].get(str(ident))

    def ref(self, entity: str, body: dict[str, Any], element: str,
            needed: bool = True) -> dict[str, Any] | None:
        ref = body.get(element)
        if not isinstance(ref, dict) or not ref.get("value"):
            if needed:
                raise required(element)
            return None
        target = self.get(entity, ref["value"])
        if target is None or target.get("Active") is False:
            raise not_found(entity, str(ref["value"]))
        return target

    # --- the API --------------------------------------------------------------------------------

    def seed(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            return self.create(entity, body)

    def create(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            if body.get("Id"):
                return self.update(entity, body)
            obj = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
            obj["Id"] = self.new_id()
            self._check(entity, obj)
            if entity == "Bill":
                purchasing.link_bill(self, obj)
            obj.update(SyncToken="0", domain="QBO", sparse=False,
                       MetaData={"CreateTime": self.now(), "LastUpdatedTime": self.now()})
            self.objects[entity][obj["Id"]] = obj
            return copy.deepcopy(obj)

    def update(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            current = self.get(entity, body.get("Id"))
            if current is None:
                raise not_found(entity, str(body.get("Id")))
            if str(body.get("SyncToken")) != current["SyncToken"]:
                raise QboFault("5010", "Stale Object Error",
                               "Stale Object Error : You and flx were working on this at the "
                               "same time. flx finished before you did, so your work was not "
                               "saved.")
            changes = {k: copy.deepcopy(v) for k, v in body.items() if k not in READ_ONLY}
            if body.get("sparse") is True:
                obj = {**copy.deepcopy(current), **changes}
            else:
                obj = {**{k: current[k] for k in READ_ONLY if k in current}, **changes}
            obj["Id"] = current["Id"]
            self._check(entity, obj, previous=current)
            obj["SyncToken"] = str(int(current["SyncToken"]) + 1)
            obj["MetaData"] = {**current["MetaData"], "LastUpdatedTime": self.now()}
            obj["sparse"] = False
            self.objects[entity][obj["Id"]] = obj
            return copy.deepcopy(obj)

    def read(self, entity: str, ident: str) -> dict[str, Any]:
        with self.lock:
            obj = self.get(entity, ident)
            if obj is None:
                raise not_found(entity, ident)
            return copy.deepcopy(obj)

    def delete(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            current = self.read(entity, str(body.get("Id")))
            if str(body.get("SyncToken")) != current["SyncToken"]:
                raise QboFault("5010", "Stale Object Error", "Stale Object Error")
            if entity == "Bill":
                purchasing.unlink_bill(self, current)
            del self.objects[entity][current["Id"]]
            return {"Id": current["Id"], "status": "Deleted", "domain": "QBO"}

    def query(self, text: str) -> dict[str, Any]:
        q = parse(text)
        if q.entity not in self.objects:
            raise QboFault("4000", "Error parsing query",
                           f"QueryParserError: Invalid entity name {q.entity}")
        extra = (frozenset({"PrimaryEmailAddr"}) if q.entity == "Vendor"
                 and self.behaviour.vendor_email_queryable else frozenset())
        fold = (frozenset({"PrimaryEmailAddr"}) if self.behaviour.email_case_insensitive
                else frozenset())
        with self.lock:
            rows = copy.deepcopy(list(self.objects[q.entity].values()))
        return execute(q, rows, extra_filterable=extra, fold_case=fold)

    # --- rules ------------------------------------------------------------------------------

    def _check(self, entity: str, obj: dict[str, Any],
               previous: dict[str, Any] | None = None) -> None:
        if entity in NAMED:
            self._check_name(obj)
        elif entity == "Item":
            self._check_item(obj)
        else:
            self._check_transaction(entity, obj, previous)

    def _check_name(self, obj: dict[str, Any]) -> None:
        if not obj.get("DisplayName"):
            parts = [obj.get(k) for k in ("Title", "GivenName", "MiddleName", "FamilyName",
                                          "Suffix")]
            obj["DisplayName"] = " ".join(str(p) for p in parts if p)
        name = str(obj.get("DisplayName") or "")
        if not name:
            raise required("DisplayName")
        if ":" in name:
            raise invalid("DisplayName", "Display name cannot contain a colon (:).")
        obj.setdefault("Active", True)
        for kind in NAMED:
            for other in self.objects[kind].values():
                if other["Id"] != obj["Id"] and other["DisplayName"].lower() == name.lower():
                    raise QboFault("6240", "Duplicate Name Exists Error",
                                   "The name supplied already exists. : Another customer, "
                                   "vendor or employee is already using this name. Please use "
                                   f"a different name. Id={other['Id']}", element="DisplayName")

    def _check_item(self, obj: dict[str, Any]) -> None:
        name = str(obj.get("Name") or "")
        if not name:
            raise required("Name")
        obj.setdefault("Active", True)
        obj.setdefault("Type", "NonInventory")
        for other in self.objects["Item"].values():
            if other["Id"] != obj["Id"] and other["Name"].lower() == name.lower():
                raise QboFault("6240", "Duplicate Name Exists Error",
                               f"Another product or service is already using this name: "
                               f"{name}", element="Name")

    def _check_transaction(self, entity: str, obj: dict[str, Any],
                           previous: dict[str, Any] | None) -> None:
        if entity in SALES:
            self.ref("Customer", obj, "CustomerRef")
        else:
            self.ref("Vendor", obj, "VendorRef")
        lines = obj.get("Line")
        if not isinstance(lines, list) or not lines:
            raise required("Line")
        self._number_lines(lines, previous)
        total = Decimal(0)
        for line in lines:
            total += self._check_line(entity, line)
        tax = (obj.get("TxnTaxDetail") or {}).get("TotalTax")
        if tax is not None and entity in SALES:
            total += cents(tax)
        obj["TotalAmt"] = total
        if entity in ("Invoice", "Bill"):
            obj["Balance"] = total
        if entity == "PurchaseOrder":
            obj.setdefault("POStatus", "Open")
        obj.setdefault("TxnDate", self.now()[:10])
        for custom in obj.get("CustomField") or []:
            value = str(custom.get("StringValue") or "")
            if len(value) > self.behaviour.custom_field_max:
                raise invalid("CustomField", f"String length of CustomField "
                              f"{custom.get('DefinitionId')} is more than "
                              f"{self.behaviour.custom_field_max}")
        self._check_doc_number(entity, obj)

    def _number_lines(self, lines: list[dict[str, Any]],
                      previous: dict[str, Any] | None) -> None:
        known = {str(line.get("Id")) for line in (previous or {}).get("Line", [])}
        used = {int(i) for i in known if i.isdigit()}
        for number, line in enumerate(lines, 1):
            if str(line.get("Id")) not in known:
                line["Id"] = str(max(used, default=0) + 1)
                used.add(int(line["Id"]))
            line["LineNum"] = number

    def _check_line(self, entity: str, line: dict[str, Any]) -> Decimal:
        kind = line.get("DetailType")
        if kind == "DescriptionOnly":
            return Decimal(0)
        if line.get("Amount") is None:
            raise required("Line.Amount")
        amount = cents(line["Amount"])
        line["Amount"] = amount
        if kind == "DiscountLineDetail":
            return -amount
        detail = line.get(kind) if isinstance(kind, str) else None
        if kind not in ("SalesItemLineDetail", "ItemBasedExpenseLineDetail",
                        "AccountBasedExpenseLineDetail") or not isinstance(detail, dict):
            raise invalid("Line.DetailType", f"Unsupported line DetailType {kind!r}")
        if kind == "AccountBasedExpenseLineDetail":
            return amount
        if detail.get("ItemRef", {}).get("value") != "SHIPPING_ITEM_ID":
            self.ref("Item", detail, "ItemRef")
        qty, price = detail.get("Qty"), detail.get("UnitPrice")
        if self.behaviour.amount_check and qty is not None and price is not None:
            if cents(Decimal(str(qty)) * Decimal(str(price))) != amount:
                raise QboFault("6070", "Business Validation Error",
                               f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount}",
                               element="Line.Amount")
        return amount

    def _check_doc_number(self, entity: str, obj: dict[str, Any]) -> None:
        number = obj.get("DocNumber")
        if not number:
            return
        if len(str(number)) > 21:
            raise invalid("DocNumber", "String length is either shorter or longer than "
                          "supported by specification. Min:0 Max:21 supported. Supplied "
                          f"length:{len(str(number))}")
        mode = self.behaviour.doc_numbers
        if mode == "off":
            return
        if entity == "Bill":
            kinds: tuple[str, ...] = ("Bill",)
        elif mode == "per_type":
            kinds = (entity,)
        else:
            kinds = ("SalesReceipt", "Invoice", "PurchaseOrder")
        for kind in kinds:
            for other in self.objects[kind].values():
                if other["Id"] == obj["Id"] or other.get("DocNumber") != number:
                    continue
                if kind == "Bill" and other["VendorRef"]["value"] != obj["VendorRef"]["value"]:
                    continue
                raise QboFault("6140", "Duplicate Document Number Error",
                               "Duplicate Document Number Error : You must specify a different "
                               "number. This number has already been used. "
                               f"DocNumber={number} is assigned to TxnType={kind} with "
                               f"TxnId={other['Id']}", element="DocNumber")
