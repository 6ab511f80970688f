"""Batched, cached look-ups: one SuiteQL query answers many records, and the store's lookup
cache makes a returning SKU or customer cost no request at all."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from core.errors import MappingError
from plugins.netsuite.client import in_list, suiteql_quote
from plugins.netsuite.common import NetSuiteContext

IN_CHUNK = 500  # SuiteQL IN lists stay well below Oracle's 1000-element limit


def chunks(values: list[str], size: int = IN_CHUNK) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start:start + size]


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
        # SKU -> (id, itemid) of the inactive item that alone matched it (§10.9)
        self._inactive: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def resolve(self, skus: Iterable[str]) -> dict[str, Item]:
        wanted = sorted({s for s in skus if s} - set(self._known) - self._absent)
        if wanted:
            store, conn = self.ctx.runtime.store, self.ctx.runtime.connection.name
            for sku, raw in store.cache_get_many(conn, self.cache_kind, wanted).items():
                self._known[sku] = Item(**json.loads(raw))
            missing = [s for s in wanted if s not in self._known]
            found: dict[str, str] = {}
            for part in chunks(missing):
                rows = self.ctx.client.suiteql(
                    f"SELECT id, itemid, itemtype, isdropshipitem, isinactive, {self.field} "
                    f"FROM item WHERE {self.field} IN {in_list(part)} ORDER BY id"
                    if self.field != "itemid" else
                    f"SELECT id, itemid, itemtype, isdropshipitem, isinactive FROM item "
                    f"WHERE itemid IN {in_list(part)} ORDER BY id")
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
                store.cache_put_many(conn, self.cache_kind, found)
        return {s: self._known[s] for s in skus if s in self._known}

    def item(self, sku: str, record_id: str, where: str) -> Item:
        found = self.resolve([sku])
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
            self.ctx.runtime.store.cache_put_many(
                self.ctx.runtime.connection.name, f"customer:{kind}", keys)

    def _find(self, kind: str, keys: list[str], query: str, keys_of: Any) -> dict[str, str]:
        if not keys:
            return {}
        store, conn = self.ctx.runtime.store, self.ctx.runtime.connection.name
        absent, memo = self._absent[kind], self._found[kind]
        found = {k: memo[k] for k in keys if k in memo}
        keys = [k for k in keys if k not in absent and k not in found]
        if keys:
            found.update(store.cache_get_many(conn, f"customer:{kind}", keys))
        missing = [k for k in keys if k not in found]
        fresh: dict[str, str] = {}
        for part in chunks(missing):
            rows = self.ctx.client.suiteql(query.format(values=in_list(part)))
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
            store.cache_put_many(conn, f"customer:{kind}", fresh)
        found.update(fresh)
        memo.update(found)
        return found


def existing_transactions(ctx: NetSuiteContext, orders: list[dict[str, Any]],
                          external_ids: dict[str, str]) -> dict[str, dict[str, str]]:
    """Sales orders or cash sales already in NetSuite for these orders, by flx's external id or
    by the order number (otherRefNum). One query per batch. Returns order id → {id, type}."""
    if not orders:
        return {}
    by_eid = {external_ids[o["id"]]: o["id"] for o in orders}
    by_number: dict[str, str] = {}
    for order in orders:
        if order.get("number"):
            by_number.setdefault(str(order["number"]), order["id"])
    out: dict[str, dict[str, str]] = {}
    eids, numbers = list(by_eid), list(by_number)
    for start in range(0, max(len(eids), len(numbers)), IN_CHUNK):
        e_part, n_part = eids[start:start + IN_CHUNK], numbers[start:start + IN_CHUNK]
        conds = []
        if e_part:
            conds.append(f"externalid IN {in_list(e_part)}")
        if n_part:
            conds.append(f"otherrefnum IN {in_list(n_part)}")
        rows = ctx.client.suiteql(
            "SELECT id, tranid, type, externalid, otherrefnum, entity FROM transaction WHERE "
            "type IN "
            f"('SalesOrd', 'CashSale') AND ({' OR '.join(conds)}) ORDER BY id")
        for row in rows:
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
        rows = ctx.client.suiteql(
            "SELECT id, tranid, entity, externalid FROM transaction WHERE type = 'VendBill' "
            f"AND LOWER(tranid) IN {in_list(part)} ORDER BY id")
        for row in rows:
            if row.get("entity") and row.get("tranid"):
                key = (str(row["entity"]), str(row["tranid"]).strip().lower())
                out.setdefault(key, []).append(row)
    return out


__all__ = ["CustomerFinder", "Item", "ItemResolver", "existing_transactions", "name_key",
           "suiteql_quote", "vendor_bills_by_number"]
