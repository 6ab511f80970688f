"""Batched, cached look-ups: one SuiteQL query answers many records, and the store's lookup
cache makes a returning SKU or customer cost no request at all."""

from __future__ import annotations

import json
import threading
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from flx import MappingError, RecordValidationError, RemoteRejectedError
from flx_netsuite.client import in_list, suiteql_quote
from flx_netsuite.common import NetSuiteContext

IN_CHUNK = 500  # SuiteQL IN lists stay well below Oracle's 1000-element limit


def chunks(values: list[str], size: int = IN_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


# --- one refused value must not cost its neighbours their look-up -------------------------

_PROBE = "flx-probe"  # a value any look-up takes: tells a refused value from a refused query


def query_parts(ctx: NetSuiteContext, values: list[str],
                query: Callable[[list[str]], list[dict[str, Any]]],
                refused: dict[str, str],
                quotable: Callable[[str], object] = suiteql_quote,
                probe: Callable[[], object] | None = None) -> list[dict[str, Any]]:
    """The rows of `query(part)` for every chunk of `values`. A value SuiteQL cannot carry (a
    NUL) is not sent; a chunk NetSuite refuses (400) is split in halves until the values it
    refuses are alone, so the others are still answered. Refused values land in `refused`
    (value -> why). When the query is refused even for a plain probe value, it is the query
    that is wrong, not the data: that error is raised, as before."""
    sendable = []
    for value in values:
        try:
            quotable(value)
            sendable.append(value)
        except ValueError as err:
            refused[value] = str(err)
    rows: list[dict[str, Any]] = []
    pending = list(chunks(sendable))
    probed = False
    while pending:
        part = pending.pop()
        try:
            rows += query(part)
        except RemoteRejectedError as err:
            if err.status != 400:
                raise
            if not probed:
                (probe or (lambda: query([_PROBE])))()  # raises if the query is at fault
                probed = True
            if len(part) == 1:
                refused[part[0]] = err.detail or err.message
            else:
                half = len(part) // 2
                pending += [part[half:], part[:half]]
    return rows


def refused_error(record_id: str, where: str, field: str, value: str,
                  why: str) -> RecordValidationError:
    """The record whose `field` holds a value NetSuite cannot look up: it fails alone."""
    bad = sorted({f"U+{ord(c):04X}" for c in value
                  if unicodedata.category(c) in ("Cc", "Cs", "Cn") and c not in "\t\n\r"})
    what = f"contains {', '.join(bad)} (a control character)" if bad else "was refused"
    return RecordValidationError(
        f"{where}: {field} {value!r} {what}; NetSuite cannot look it up ({why})",
        hint=f"correct {field} at the source (remove the control characters) and import the "
             "record again; the other records of its batch are sent without it",
        record_id=record_id, path=field)


@dataclass(frozen=True)
class Item:
    id: str
    sku: str
    itemtype: str = ""
    dropship: bool | None = None  # None: the account did not say


class ItemResolver:
    """SKU → NetSuite item, by the profile's `item_lookup_field` (itemid by default)."""

    def __init__(self, ctx: NetSuiteContext) -> None:
        self.ctx = ctx
        self.field = str(ctx.profile.get("item_lookup_field") or "itemid").lower()
        self.cache_kind = f"item:{self.field}"
        self._known: dict[str, Item] = {}
        self._absent: set[str] = set()  # asked this run and not found: not asked again
        self.refused: dict[str, str] = {}  # SKUs NetSuite would not look up -> why
        # SKU -> (id, itemid) of the inactive item that alone matched it (§10.9)
        self._inactive: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def resolve(self, skus: Iterable[str]) -> dict[str, Item]:
        wanted = sorted({s for s in skus if s} - set(self._known) - self._absent)
        if wanted:
            runtime = self.ctx.runtime
            for sku, raw in runtime.cache_get_many(self.cache_kind, wanted).items():
                self._known[sku] = Item(**json.loads(raw))
            missing = [s for s in wanted if s not in self._known]
            found: dict[str, str] = {}
            for part in chunks(missing):
                rows = query_parts(self.ctx, part, lambda p: self.ctx.client.suiteql(
                    f"SELECT id, itemid, itemtype, isdropshipitem, isinactive, {self.field} "
                    f"FROM item WHERE {self.field} IN {in_list(p)} ORDER BY id"
                    if self.field != "itemid" else
                    f"SELECT id, itemid, itemtype, isdropshipitem, isinactive FROM item "
                    f"WHERE itemid IN {in_list(p)} ORDER BY id"), self.refused)
                for row in rows:
                    sku = row.get(self.field, "")
                    if row.get("isinactive") == "T":  # NetSuite refuses an inactive item
                        with self._lock:
                            self._inactive.setdefault(sku, (row["id"], row.get("itemid", "")))
                        continue
                    if sku in part and sku not in found:
                        flag = row.get("isdropshipitem")
                        item = Item(row["id"], sku, row.get("itemtype", ""),
                                    None if flag is None else flag == "T")
                        with self._lock:
                            self._known[sku] = item
                        found[sku] = json.dumps(item.__dict__)
            with self._lock:
                self._absent.update(s for s in missing if s not in found)
            if found and not self.ctx.runtime.dry_run:
                runtime.cache_put_many(self.cache_kind, found)
        return {s: self._known[s] for s in skus if s in self._known}

    def item(self, sku: str, record_id: str, where: str) -> Item:
        found = self.resolve([sku])
        if sku in self.refused:
            raise refused_error(record_id, where, "sku", sku, self.refused[sku])
        if sku not in found and sku in self._inactive:
            item_id, name = self._inactive[sku]
            raise MappingError(
                f"{where}: SKU {sku!r} matches only inactive NetSuite item {item_id} ({name}), "
                "which NetSuite refuses on a transaction",
                hint=f"reactivate item {item_id} in NetSuite (clear Inactive), or give the SKU "
                     f"an active item with {self.field} = {sku!r}", record_id=record_id)
        if sku not in found:
            raise MappingError(
                f"{where}: SKU {sku!r} has no NetSuite item (searched item.{self.field})",
                hint=(f"create the item in NetSuite with {self.field} = {sku!r}, or check the "
                      "profile's sku_level (order- vs PO-level SKU) and item_lookup_field"),
                record_id=record_id)
        return found[sku]


def name_key(customer: dict[str, Any]) -> str | None:
    company = (customer.get("company") or "").strip()
    person = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    name = company or person.strip()
    return name.lower() if name else None


class CustomerFinder:
    """Find customers by email and by name, many at once, through the cache then SuiteQL."""

    def __init__(self, ctx: NetSuiteContext) -> None:
        self.ctx = ctx
        self._absent: dict[str, set[str]] = {"email": set(), "name": set()}
        # Found this run: a dry run writes no cache, and must not ask NetSuite twice either.
        self._found: dict[str, dict[str, str]] = {"email": {}, "name": {}}
        # Customers created in this batch, cached with one write when the batch ends (losing
        # them in a crash costs a look-up by e-mail next time, never a duplicate).
        self._unsaved: dict[str, dict[str, str]] = {"email": {}, "name": {}}
        self.refused: dict[str, dict[str, str]] = {"email": {}, "name": {}}  # key -> why
        # kind -> key -> (id, entityid) of the inactive customer that alone matched (§10.9)
        self.inactive: dict[str, dict[str, tuple[str, str]]] = {"email": {}, "name": {}}
        self._lock = threading.Lock()

    def by_email(self, emails: Iterable[str]) -> dict[str, str]:
        return self._find("email", sorted({e.lower() for e in emails if e}),
                          "SELECT id, email, entityid, firstname, lastname, companyname, "
                          "isinactive FROM customer WHERE LOWER(email) IN {values} ORDER BY id",
                          lambda row: [row.get("email", "").lower()])

    def by_name(self, names: Iterable[str]) -> dict[str, str]:
        return self._find("name", sorted({n for n in names if n}),
                          "SELECT id, entityid, companyname, isinactive FROM customer WHERE "
                          "LOWER(entityid) "
                          "IN {values} OR LOWER(companyname) IN {values} ORDER BY id",
                          lambda row: [row.get("entityid", "").lower(),
                                       row.get("companyname", "").lower()])

    def remember(self, kind: str, key: str, customer_id: str) -> None:
        with self._lock:
            self._absent[kind].discard(key)
            self._found[kind][key] = customer_id
            if not self.ctx.runtime.dry_run:
                self._unsaved[kind][key] = customer_id

    def save(self) -> None:
        """Cache the customers created since the last save (the end of each batch)."""
        with self._lock:
            unsaved = {kind: dict(keys) for kind, keys in self._unsaved.items() if keys}
            for keys in self._unsaved.values():
                keys.clear()
        for kind, keys in unsaved.items():
            self.ctx.runtime.cache_put_many(f"customer:{kind}", keys)

    def _find(self, kind: str, keys: list[str], query: str, keys_of: Any) -> dict[str, str]:
        if not keys:
            return {}
        runtime = self.ctx.runtime
        absent, memo = self._absent[kind], self._found[kind]
        found = {k: memo[k] for k in keys if k in memo}
        keys = [k for k in keys if k not in absent and k not in found]
        if keys:
            found.update(runtime.cache_get_many(f"customer:{kind}", keys))
        missing = [k for k in keys if k not in found]
        fresh: dict[str, str] = {}
        for part in chunks(missing):
            rows = query_parts(self.ctx, part, lambda p: self.ctx.client.suiteql(
                query.format(values=in_list(p))), self.refused[kind])
            wanted = set(part)
            for row in rows:  # ordered by id: the oldest active matching customer wins
                if row.get("isinactive") == "T":
                    for key in keys_of(row):
                        if key in wanted:
                            with self._lock:
                                self.inactive[kind].setdefault(
                                    key, (row["id"], row.get("entityid", "")))
                    continue
                for key in keys_of(row):
                    if key in wanted and key not in fresh:
                        fresh[key] = row["id"]
        absent.update(k for k in missing if k not in fresh)
        if fresh and not self.ctx.runtime.dry_run:
            runtime.cache_put_many(f"customer:{kind}", fresh)
        found.update(fresh)
        memo.update(found)
        return found


def existing_transactions(ctx: NetSuiteContext, orders: list[dict[str, Any]],
                          external_ids: dict[str, str],
                          refused: dict[str, str] | None = None) -> dict[str, dict[str, str]]:
    """Sales orders or cash sales already in NetSuite for these orders, by flx's external id or
    by the order number (otherRefNum). One query per batch. Returns order id → {id, type};
    orders whose number NetSuite refuses to look up go to `refused` (order id -> why)."""
    if not orders:
        return {}
    by_eid = {external_ids[o["id"]]: o["id"] for o in orders}
    by_number: dict[str, str] = {}
    number_of: dict[str, str] = {}
    for order in orders:
        if order.get("number"):
            number_of[order["id"]] = str(order["number"])
            by_number.setdefault(str(order["number"]), order["id"])

    def quotable(order_id: str) -> None:
        suiteql_quote(external_ids[order_id])
        if order_id in number_of:
            suiteql_quote(number_of[order_id])

    def query(part: list[str], probe: bool = False) -> list[dict[str, Any]]:
        conds = [f"externalid IN {in_list([_PROBE] if probe else [external_ids[o] for o in part])}"]
        numbers = [_PROBE] if probe else sorted({number_of[o] for o in part if o in number_of})
        if numbers:
            conds.append(f"otherrefnum IN {in_list(numbers)}")
        return ctx.client.suiteql(
            "SELECT id, tranid, type, externalid, otherrefnum, entity FROM transaction WHERE "
            "type IN "
            f"('SalesOrd', 'CashSale') AND ({' OR '.join(conds)}) ORDER BY id")

    out: dict[str, dict[str, str]] = {}
    found = query_parts(ctx, list(dict.fromkeys(o["id"] for o in orders)), query,
                        refused if refused is not None else {}, quotable,
                        lambda: query([], probe=True))
    for row in sorted(found, key=lambda r: (len(r.get("id", "")), r.get("id", ""))):
        order_id = by_eid.get(row.get("externalid", "")) or by_number.get(
            row.get("otherrefnum", ""))
        if order_id and order_id not in out:
            out[order_id] = {"id": row["id"], "type": row.get("type", "SalesOrd"),
                             "tranid": row.get("tranid", ""),
                             "externalid": row.get("externalid", ""),
                             "entity": str(row.get("entity") or "")}
    return out


def vendor_bills_by_number(ctx: NetSuiteContext, numbers: Iterable[str],
                           ) -> dict[tuple[str, str], list[dict[str, str]]]:
    """Vendor Bills already in NetSuite whose document number (tranId: the vendor's invoice
    number) is one of `numbers`, letter case and outer spaces ignored. One query per batch
    (per 500 numbers). Returns (vendor internal id, folded number) → rows (id, tranid,
    entity, externalid when set), oldest first."""
    wanted = sorted({n.strip().lower() for n in numbers if n and n.strip()})
    out: dict[tuple[str, str], list[dict[str, str]]] = {}
    for part in chunks(wanted):
        # A number NetSuite refuses to look up is left out: its bill is refused on its own.
        rows = query_parts(ctx, part, lambda p: ctx.client.suiteql(
            "SELECT id, tranid, entity, externalid FROM transaction WHERE type = 'VendBill' "
            f"AND LOWER(tranid) IN {in_list(p)} ORDER BY id"), {})
        for row in rows:
            if row.get("entity") and row.get("tranid"):
                key = (str(row["entity"]), str(row["tranid"]).strip().lower())
                out.setdefault(key, []).append(row)
    return out


__all__ = ["CustomerFinder", "Item", "ItemResolver", "existing_transactions", "name_key",
           "query_parts", "refused_error", "suiteql_quote", "vendor_bills_by_number"]
