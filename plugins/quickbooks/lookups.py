"""Items, vendors and customers looked up once per run and shared by every record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flx import MappingError

from .client import quote, where_equals
from .context import QboContext

IN_CHUNK = 100  # values per `IN (...)`; Intuit documents no limit (§3.3), stay modest


def item_field(ctx: QboContext) -> str:
    return "Name" if ctx.profile.get("item_lookup_field") == "Name" else "Sku"


def resolve_items(ctx: QboContext, skus: Iterable[str]) -> None:
    """Look every SKU not seen yet up in as few queries as possible."""
    field = item_field(ctx)
    table = ctx.cache.setdefault("items", {})
    missing = sorted({s for s in skus if s and s not in table})
    for start in range(0, len(missing), IN_CHUNK):
        chunk = missing[start:start + IN_CHUNK]
        values = ", ".join(quote(s) for s in chunk)
        rows = ctx.client.query(f"SELECT * FROM Item WHERE {field} IN ({values})")
        found: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            if row.get("Active", True):
                found.setdefault(str(row.get(field)), []).append(row)
        for sku in chunk:
            table[sku] = found.get(sku, [])


def item(ctx: QboContext, sku: str, *, record_id: str, where: str) -> dict[str, Any]:
    resolve_items(ctx, [sku])
    rows = ctx.cache["items"][sku]
    field = item_field(ctx)
    if not rows:
        raise MappingError(
            f"{where}: SKU {sku!r} is no active product in QuickBooks ({field} = {sku!r})",
            hint=f"create the product with {field} {sku!r} in QuickBooks (Sales > Products and "
                 "services), or set `item_lookup_field` in the mapping profile",
            record_id=record_id, path=where)
    if len(rows) > 1:
        ids = ", ".join(r["Id"] for r in rows)
        raise MappingError(f"{where}: SKU {sku!r} matches {len(rows)} QuickBooks products "
                           f"(Ids {ids})", hint=f"make the {field} unique in QuickBooks",
                           record_id=record_id, path=where)
    return rows[0]


def vendor(ctx: QboContext, flx_vendor: dict[str, Any] | None, *, record_id: str,
           where: str) -> dict[str, Any]:
    vendor_key = str((flx_vendor or {}).get("id") or "")
    mapped = ((ctx.profile.get("tables") or {}).get("vendors") or {}).get(vendor_key)
    if not mapped:
        raise MappingError(
            f"{where}: vendor {vendor_key or '(none)'} has no QuickBooks vendor in the mapping",
            hint=f"add \"{vendor_key}\": \"<the vendor's QuickBooks display name>\" to "
                 "tables.vendors in the mapping profile", record_id=record_id, path=where)
    name = str(mapped)

    def find() -> list[dict[str, Any]]:
        rows = ctx.client.query("SELECT * FROM Vendor WHERE " + where_equals("DisplayName",
                                                                             name))
        return [r for r in rows if r.get("DisplayName") == name and r.get("Active", True)]

    rows = ctx.remember("vendors", name, find)
    if not rows:
        raise MappingError(f"{where}: no active QuickBooks vendor is named {name!r} (mapped "
                           f"from vendor {vendor_key})",
                           hint="create the vendor in QuickBooks (Expenses > Vendors) or correct "
                                "tables.vendors", record_id=record_id, path=where)
    return dict(rows[0])
