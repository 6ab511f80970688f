"""Create, update, upsert and delete, with the rules for customers, vendors and items. Sales
and purchase orders live in orders.py, transforms in transforms.py.

Every operation validates completely before it changes anything, so a refused request leaves
the account exactly as it was (NetSuite saves a record whole or not at all)."""

from __future__ import annotations

import copy
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TYPE_CHECKING, Any

from . import schema as S
from .errors import NsError, invalid_ref, missing_fields, user_error
from .validate import Checker

if TYPE_CHECKING:
    from .state import Emulator


@dataclass(frozen=True)
class Options:
    """What the request's headers and query ask for."""

    strict_names: bool = False  # X-NetSuite-PropertyNameValidation: Error
    warn_names: bool = True  # ... Warning (NetSuite's default); Ignore turns warnings off
    replace: frozenset[str] = frozenset()  # ?replace=item,package


def make_checker(emu: Emulator, record_type: str, mode: str, opts: Options) -> Checker:
    return Checker(record_type, emu.resolve, lambda code: code in emu.countries,
                   opts.strict_names, opts.warn_names, mode, emu.custom_body,
                   emu.custom_column, absent=emu.behaviour.absent)


def ensure_unique_eid(emu: Emulator, record_type: str, eid: str | None,
                      own_id: str | None) -> None:
    if eid is None:
        return
    owner = emu.eid_owner(record_type, eid)
    if owner is not None and owner != own_id:
        # Wording is the emulator's (NetSuite's exact text is not documented): it names the
        # external id so the person reading flx's error knows which order already exists.
        raise user_error(f"A record with the external ID '{eid}' already exists.",
                         "externalId")


def check_form(emu: Emulator, record_type: str, clean: dict[str, Any]) -> None:
    form = clean.get("customForm")
    if form is not None:
        found = emu.maybe("customForm", form["id"])
        if found is None or found.get("recordType") != record_type:
            raise invalid_ref(form["id"], "customForm", "customForm")


def money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


# --- sublist merging (PATCH semantics) ------------------------------------------------------


def merge_lines(existing: list[dict[str, Any]], incoming: list[dict[str, Any]], *, key: str,
                replace: bool, path: str) -> list[tuple[int | None, dict[str, Any]]]:
    """The sublist after a PATCH, as (body index or None, line) pairs. Lines carrying `key`
    update that line; lines without it are appended; `replace` keeps only the lines sent."""
    current = {line[key]: line for line in existing}
    result: list[tuple[int | None, dict[str, Any]]] = [] if replace else [
        (None, copy.deepcopy(line)) for line in existing]
    positions = {line[key]: pos for pos, (_, line) in enumerate(result)}
    for index, line in enumerate(incoming):
        if key in line and line[key] is not None:
            old = current.get(line[key])
            if old is None:
                raise user_error(f"There is no line {line[key]} on this record.",
                                 f"{path}.items[{index}].{key}")
            merged = {**copy.deepcopy(old), **line}
            if replace:
                result.append((index, merged))
            else:
                result[positions[line[key]]] = (index, merged)
        else:
            result.append((index, dict(line)))
    return result


# --- entities and items -----------------------------------------------------------------------


def _entity_rules(emu: Emulator, record_type: str, record: dict[str, Any]) -> None:
    if emu.one_world and not record.get("subsidiary"):
        raise missing_fields(["Subsidiary"], "subsidiary")
    if record.get("isPerson"):
        missing = [S.label(f) for f in ("firstName", "lastName") if not record.get(f)]
    else:
        missing = [] if record.get("companyName") else [S.label("companyName")]
    if missing:
        raise missing_fields(missing)
    if record_type == "customer":
        check_form(emu, "customer", record)
        status = record.get("entityStatus")
        if status is not None:
            found = emu.maybe("customerStatus", status["id"])
            if found is None or found.get("stage") != "CUSTOMER":
                raise invalid_ref(status["id"], "entityStatus", "entityStatus")


def _number_address_book(record: dict[str, Any]) -> None:
    lines = record.get("addressBook") or []
    next_id = max((int(line["id"]) for line in lines if line.get("id")), default=0)
    for line in lines:
        if not line.get("id"):
            next_id += 1
            line["id"] = str(next_id)


def create_entity(emu: Emulator, record_type: str, clean: dict[str, Any]) -> str:
    record = {k: v for k, v in clean.items() if v is not None}
    _entity_rules(emu, record_type, record)
    if "currency" not in record and record.get("subsidiary"):
        sub = emu.maybe("subsidiary", record["subsidiary"]["id"])
        if sub and sub.get("currency"):
            record["currency"] = dict(sub["currency"])
    if not record.get("entityId"):
        # Auto-numbering is modelled as off: the id defaults to the name, like the UI does.
        record["entityId"] = (f"{record['firstName']} {record['lastName']}"
                              if record.get("isPerson") else record["companyName"])
    record.setdefault("isPerson", False)
    record["dateCreated"] = record["lastModifiedDate"] = emu.now_iso()
    _number_address_book(record)
    return emu.insert(record_type, record)


def update_entity(emu: Emulator, record_type: str, record: dict[str, Any],
                  clean: dict[str, Any], replace: frozenset[str]) -> None:
    updated = copy.deepcopy(record)
    for name, value in clean.items():
        if name == "addressBook":
            merged = merge_lines(record.get("addressBook") or [], value or [], key="id",
                                 replace=name in replace, path=name)
            updated[name] = [line for _, line in merged]
        elif value is None:
            updated.pop(name, None)
        else:
            updated[name] = value
    _entity_rules(emu, record_type, updated)
    _number_address_book(updated)
    commit(emu, record_type, record, updated)


def _item_rules(emu: Emulator, record: dict[str, Any], own_id: str | None) -> None:
    if not record.get("itemId"):
        raise missing_fields([S.label("itemId")], "itemId")
    if emu.one_world and not record.get("subsidiary"):
        raise missing_fields(["Subsidiary"], "subsidiary")
    wanted = record["itemId"].lower()
    for item_type in S.SALE_ITEMS:
        for other in emu.all(item_type):
            if other["id"] != own_id and str(other.get("itemId", "")).lower() == wanted:
                raise NsError(400, "USER_ERROR", f"The item name {record['itemId']} is "
                              "already used by another item.", path="itemId")


def create_item(emu: Emulator, record_type: str, clean: dict[str, Any]) -> str:
    record = {k: v for k, v in clean.items() if v is not None}
    _item_rules(emu, record, None)
    record.setdefault("isDropShipItem", False)
    record["createdDate"] = record["lastModifiedDate"] = emu.now_iso()
    return emu.insert(record_type, record)


def update_item(emu: Emulator, record_type: str, record: dict[str, Any],
                clean: dict[str, Any], replace: frozenset[str]) -> None:
    updated = {**copy.deepcopy(record), **clean}
    updated = {k: v for k, v in updated.items() if v is not None}
    _item_rules(emu, updated, record["id"])
    commit(emu, record_type, record, updated)


def commit(emu: Emulator, record_type: str, record: dict[str, Any],
            updated: dict[str, Any]) -> None:
    """Swap in the validated copy (the emulator keeps its indexes right)."""
    emu.replace(record_type, record, {**updated, "lastModifiedDate": emu.now_iso()})
