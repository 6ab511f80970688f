"""Create, update and delete by record type: each type's handlers live in records (entities,
items), orders, purchase and transforms; this module only routes to them, so those modules
never import one another in a circle."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import orders, purchase, transforms
from . import schema as S
from .errors import user_error
from .records import (
    Options,
    create_entity,
    create_item,
    ensure_unique_eid,
    make_checker,
    update_entity,
    update_item,
)

if TYPE_CHECKING:
    from .state import Emulator

Creator = Callable[["Emulator", str, dict[str, Any]], str]
Updater = Callable[["Emulator", str, dict[str, Any], dict[str, Any], frozenset[str]], None]


def _handlers() -> dict[str, tuple[Creator, Updater]]:
    table: dict[str, tuple[Creator, Updater]] = {
        "customer": (create_entity, update_entity), "vendor": (create_entity, update_entity),
        "salesOrder": (orders.create_sales_order, orders.update_sales_order),
        "purchaseOrder": (purchase.create_purchase_order, purchase.update_purchase_order),
        "itemFulfillment": (transforms.refuse_plain_create, transforms.update_fulfillment),
        "vendorBill": (transforms.refuse_plain_create, transforms.update_bill),
    }
    for item_type in S.SALE_ITEMS:
        table[item_type] = (create_item, update_item)
    return table


def create(emu: Emulator, record_type: str, body: Any, opts: Options,
           url_eid: str | None = None) -> tuple[str, list[str]]:
    handlers = _handlers()
    if record_type not in handlers:
        raise user_error(f"The emulator does not create {record_type} records; they come "
                         "from its seed data.")
    checker = make_checker(emu, record_type, "create", opts)
    clean = checker.body(body)
    if url_eid is not None:
        if clean.get("externalId") not in (None, url_eid):
            raise user_error("The externalId in the body differs from the eid: in the URL.",
                             "externalId")
        clean["externalId"] = url_eid
    ensure_unique_eid(emu, record_type, clean.get("externalId"), None)
    return handlers[record_type][0](emu, record_type, clean), checker.warnings


def update(emu: Emulator, record_type: str, record: dict[str, Any], body: Any,
           opts: Options) -> list[str]:
    handlers = _handlers()
    if record_type not in handlers:
        raise user_error(f"The emulator does not change {record_type} records.")
    checker = make_checker(emu, record_type, "update", opts)
    clean = checker.body(body)
    if "externalId" in clean:
        ensure_unique_eid(emu, record_type, clean["externalId"], record["id"])
    handlers[record_type][1](emu, record_type, record, clean, opts.replace)
    return checker.warnings


def delete(emu: Emulator, record_type: str, record: dict[str, Any]) -> None:
    if record_type not in _handlers():
        raise user_error(f"The emulator does not delete {record_type} records.")
    if record_type == "itemFulfillment":
        return transforms.delete_fulfillment(emu, record)
    if record_type == "vendorBill":
        return transforms.delete_bill(emu, record)
    if record_type == "purchaseOrder":
        purchase.before_po_delete(emu, record)
    elif _has_dependents(emu, record_type, record["id"]):
        raise user_error("This record cannot be deleted because it has dependent records.")
    emu.remove(record_type, record["id"])


def _has_dependents(emu: Emulator, record_type: str, record_id: str) -> bool:
    fam = S.family(record_type)
    if fam == "transaction":
        return bool(emu.children(record_id))
    for tran_type in S.TRANSACTIONS:
        for tran in emu.all(tran_type):
            if fam == "entity" and (tran.get("entity") or {}).get("id") == record_id:
                return True
            if fam == "item" and any((line.get("item") or {}).get("id") == record_id
                                     for line in tran.get("item") or []):
                return True
    return False
