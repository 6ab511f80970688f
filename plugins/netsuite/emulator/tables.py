"""SuiteQL's view of the account: one row builder per table. Values are what SuiteQL returns:
strings (or None, which the response omits), booleans as 'T'/'F', dates as M/D/YYYY."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from . import schema as S

if TYPE_CHECKING:
    from .state import Emulator

Row = dict[str, "str | None"]


def _s(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "T" if value else "F"
    if isinstance(value, dict):
        return _s(value.get("id"))
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return str(value)


def _date(value: str | None) -> str | None:
    if not value:
        return None
    year, month, day = value.split("-")
    return f"{int(month)}/{int(day)}/{year}"  # the account's date format preference


def _customer(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    return [{"id": r["id"], "entityid": _s(r.get("entityId")), "email": _s(r.get("email")),
             "firstname": _s(r.get("firstName")), "lastname": _s(r.get("lastName")),
             "companyname": _s(r.get("companyName")),
             "isperson": _s(bool(r.get("isPerson"))), "subsidiary": _s(r.get("subsidiary")),
             "externalid": _s(r.get("externalId")), "phone": _s(r.get("phone")),
             "category": _s(r.get("category")), "entitystatus": _s(r.get("entityStatus")),
             "currency": _s(r.get("currency")), "isinactive": _s(bool(r.get("isInactive")))}]


def _vendor(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    return [{"id": r["id"], "entityid": _s(r.get("entityId")),
             "companyname": _s(r.get("companyName")), "externalid": _s(r.get("externalId")),
             "email": _s(r.get("email")), "subsidiary": _s(r.get("subsidiary")),
             "isperson": _s(bool(r.get("isPerson"))),
             "isinactive": _s(bool(r.get("isInactive")))}]


_SUBTYPE = {"nonInventorySaleItem": "Sale", "nonInventoryResaleItem": "Resale"}


def item_of(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    return [{"id": r["id"], "itemid": _s(r.get("itemId")),
             "itemtype": S.SUITEQL_ITEM_TYPE[record_type], "subtype": _SUBTYPE.get(record_type),
             "displayname": _s(r.get("displayName")),
             "isdropshipitem": _s(bool(r.get("isDropShipItem"))),
             "upccode": _s(r.get("upcCode")), "externalid": _s(r.get("externalId")),
             "isinactive": _s(bool(r.get("isInactive")))}]


def _transaction(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    status = r.get("shipStatus") if record_type == "itemFulfillment" else r.get("status")
    return [{"id": r["id"], "tranid": _s(r.get("tranId")),
             "type": S.SUITEQL_TRAN_TYPE[record_type], "externalid": _s(r.get("externalId")),
             "otherrefnum": _s(r.get("otherRefNum")), "entity": _s(r.get("entity")),
             "status": _s(status), "trandate": _date(r.get("tranDate")),
             "memo": _s(r.get("memo"))}]


def _transaction_lines(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    rows: list[Row] = [{"transaction": r["id"], "id": "0", "linesequencenumber": "0",
                        "uniquekey": str(int(r["id"]) * 1000), "mainline": "T", "item": None,
                        "quantity": None, "isclosed": "F", "location": _s(r.get("location"))}]
    for seq, line in enumerate(r.get("item") or [], start=1):
        rows.append({"transaction": r["id"], "id": _s(line.get("line")),
                     "linesequencenumber": str(seq),
                     "uniquekey": str(int(r["id"]) * 1000 + int(line.get("line", seq))),
                     "mainline": "F", "item": _s(line.get("item")),
                     "quantity": _s(line.get("quantity")),
                     "isclosed": _s(bool(line.get("isClosed"))),
                     "location": _s(line.get("location"))})
    return rows


def _subsidiary(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    return [{"id": r["id"], "name": _s(r.get("name")), "country": _s(r.get("country")),
             "currency": _s(r.get("currency")), "parent": _s(r.get("parent")),
             "isinactive": _s(bool(r.get("isInactive")))}]


def _location(emu: Emulator, record_type: str, r: dict[str, Any]) -> list[Row]:
    return [{"id": r["id"], "name": _s(r.get("name")), "subsidiary": _s(r.get("subsidiary")),
             "externalid": _s(r.get("externalId")),
             "isinactive": _s(bool(r.get("isInactive")))}]


@dataclass(frozen=True)
class Table:
    columns: tuple[str, ...]
    record_types: tuple[str, ...]
    rows: Callable[[Emulator, str, dict[str, Any]], list[Row]]  # the rows of one record
    indexed: dict[str, str]  # column -> record field the emulator indexes ("id": internal id)

    def scan(self, emu: Emulator) -> Iterator[Row]:
        found = [(record_type, r) for record_type in self.record_types
                 for r in emu.all(record_type)]
        found.sort(key=lambda pair: int(pair[1]["id"]))
        for record_type, record in found:
            yield from self.rows(emu, record_type, record)

    def fetch(self, emu: Emulator, keys: set[tuple[str, str]]) -> Iterator[Row]:
        for record_type, record_id in sorted(keys, key=lambda key: int(key[1])):
            record = emu.maybe(record_type, record_id)
            if record is not None:
                yield from self.rows(emu, record_type, record)

    def lookup(self, emu: Emulator, column: str, folded: str) -> set[tuple[str, str]]:
        field = self.indexed[column]
        keys = set()
        for record_type in self.record_types:
            if field == "id":
                if emu.maybe(record_type, folded) is not None:
                    keys.add((record_type, folded))
            else:
                keys |= {(record_type, i) for i in emu.lookup_ids(record_type, field, folded)}
        return keys


_ENTITY_INDEX = {"id": "id", "externalid": "externalId", "entityid": "entityId",
                 "companyname": "companyName"}
TABLES: dict[str, Table] = {
    "customer": Table(("id", "entityid", "email", "firstname", "lastname", "companyname",
                       "isperson", "subsidiary", "externalid", "phone", "category",
                       "entitystatus", "currency", "isinactive"), ("customer",), _customer,
                      {**_ENTITY_INDEX, "email": "email"}),
    "vendor": Table(("id", "entityid", "companyname", "externalid", "email", "subsidiary",
                     "isperson", "isinactive"), ("vendor",), _vendor, _ENTITY_INDEX),
    "item": Table(("id", "itemid", "itemtype", "subtype", "displayname", "isdropshipitem",
                   "upccode", "externalid", "isinactive"), S.ITEMS, item_of,
                  {"id": "id", "itemid": "itemId", "externalid": "externalId"}),
    "transaction": Table(("id", "tranid", "type", "externalid", "otherrefnum", "entity",
                          "status", "trandate", "memo"), tuple(S.SUITEQL_TRAN_TYPE),
                         _transaction, {"id": "id", "tranid": "tranId",
                                        "externalid": "externalId",
                                        "otherrefnum": "otherRefNum"}),
    "transactionline": Table(("transaction", "id", "linesequencenumber", "uniquekey",
                              "mainline", "item", "quantity", "isclosed", "location"),
                             tuple(S.SUITEQL_TRAN_TYPE), _transaction_lines,
                             {"transaction": "id"}),
    "subsidiary": Table(("id", "name", "country", "currency", "parent", "isinactive"),
                        ("subsidiary",), _subsidiary, {"id": "id"}),
    "location": Table(("id", "name", "subsidiary", "externalid", "isinactive"),
                      ("location",), _location, {"id": "id"}),
}
# Columns holding numbers: compared and sorted numerically.
NUMERIC = {"id", "transaction", "linesequencenumber", "uniquekey", "quantity", "entity",
           "subsidiary", "item", "currency", "parent", "category", "entitystatus", "location"}
