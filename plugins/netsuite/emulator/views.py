"""How stored records look when read: references gain `refName` and `links`, sublists and
subrecords collapse to `links` unless `expandSubResources=true`, status letters gain names."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Protocol

from . import schema as S


class Emulator(Protocol):
    """What rendering needs of the emulator's state (state.Emulator): a referenced record."""

    def lookup(self, targets: tuple[str, ...], record_id: str) -> tuple[str, dict[str, Any]]: ...

SO_STATUS = {"A": "Pending Approval", "B": "Pending Fulfillment", "C": "Cancelled",
             "D": "Partially Fulfilled", "E": "Pending Billing/Partially Fulfilled",
             "F": "Pending Billing", "G": "Billed", "H": "Closed"}
PO_STATUS = {"B": "Pending Receipt", "E": "Partially Billed", "F": "Pending Bill",
             "G": "Fully Billed", "H": "Closed"}
SHIP_STATUS = {"A": "Picked", "B": "Packed", "C": "Shipped"}
VB_STATUS = {"A": "Open", "B": "Paid In Full"}
CREATE_PO = {"DropShip": "Drop Ship", "SpecOrd": "Special Order"}
_STATUS_NAMES = {"salesOrder": SO_STATUS, "purchaseOrder": PO_STATUS, "vendorBill": VB_STATUS,
                 "cashSale": {"C": "Deposited"}}
_TRAN_NAMES = {"salesOrder": "Sales Order", "purchaseOrder": "Purchase Order",
               "itemFulfillment": "Item Fulfillment", "vendorBill": "Bill",
               "cashSale": "Cash Sale"}
# Read-only references that are not in the request-body schema.
_EXTRA_REFS: dict[str, tuple[str, ...]] = {
    "createdFrom": ("salesOrder", "purchaseOrder"), "createdPo": ("purchaseOrder",),
    "entity": ("customer", "vendor"), "shipTo": ("customer",), "orderDoc": ("purchaseOrder",),
    "vendor": ("vendor",), "parent": ("subsidiary", "customer"), "currency": ("currency",),
    "subsidiary": ("subsidiary",), "item": ("item",), "location": ("location",),
}


def record_url(base: str, record_type: str, record_id: str) -> str:
    return f"{base}/services/rest/record/v1/{record_type.lower()}/{record_id}"


def ref_name(emu: Emulator, targets: tuple[str, ...], record_id: str) -> str | None:
    try:
        record_type, record = emu.lookup(targets, record_id)
    except KeyError:
        return None
    if record_type in S.TRANSACTIONS:
        return f"{_TRAN_NAMES[record_type]} #{record.get('tranId', record_id)}"
    for key in ("entityId", "itemId", "name", "acctName"):
        if record.get(key):
            return str(record[key])
    return record_id


def _targets(record_type: str, sublist: str | None, name: str) -> tuple[str, ...]:
    if sublist == "address":
        spec = S.ADDRESS_FIELDS
    elif sublist:
        spec = S.LINES.get(f"{record_type}.{sublist}", {})
    else:
        spec = S.FIELDS.get(record_type, {})
    found = spec.get(name)
    if found is not None and found.kind == S.REF:
        return found.targets
    return _EXTRA_REFS.get(name, ())


def _render_ref(emu: Emulator, targets: tuple[str, ...], value: dict[str, Any],
                base: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {"id": value["id"]}
    if targets == ("country",):
        out["refName"] = value["id"]
        return out
    name = ref_name(emu, targets, value["id"])
    if name is not None:
        out["refName"] = name
    if base is not None:
        try:
            target_type, _ = emu.lookup(targets, value["id"])
            out["links"] = [{"rel": "self",
                             "href": record_url(base, target_type, value["id"])}]
        except KeyError:
            pass
    return out


def _render_fields(emu: Emulator, record_type: str, sublist: str | None,
                   data: dict[str, Any], base: str | None, self_url: str | None,
                   expand: bool) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if base is not None and self_url is not None:
        out["links"] = [{"rel": "self", "href": self_url}]
    for name, value in data.items():
        if value is None or name.startswith("_"):
            continue  # NetSuite omits empty fields; "_" keys are the emulator's own links
        url = f"{self_url}/{name}" if self_url else None
        if isinstance(value, list):  # a sublist
            out[name] = render_sublist(emu, record_type, name, value, base, url) if expand \
                else {"links": [{"rel": "self", "href": url}]} if url else {}
        elif isinstance(value, dict) and set(value) == {"id"}:
            out[name] = _render_ref(emu, _targets(record_type, sublist, name), value, base)
        elif isinstance(value, dict):  # an address subrecord
            if expand or url is None:
                out[name] = _render_fields(emu, record_type, "address", value, base,
                                           url, expand)
            else:
                out[name] = {"links": [{"rel": "self", "href": url}]}
        elif name in ("status", "orderStatus") and record_type in _STATUS_NAMES:
            names = _STATUS_NAMES[record_type]
            out[name] = {"id": value, "refName": names.get(value, value)}
        elif name == "shipStatus":
            out[name] = {"id": value, "refName": SHIP_STATUS.get(value, value)}
        elif name == "createPo":
            out[name] = {"id": value, "refName": CREATE_PO.get(value, value)}
        else:
            out[name] = value
    return out


def render_record(emu: Emulator, record_type: str, record: dict[str, Any], *,
                  base: str | None, expand: bool) -> dict[str, Any]:
    url = record_url(base, record_type, record["id"]) if base is not None else None
    return _render_fields(emu, record_type, None, record, base, url, expand)


def render_line(emu: Emulator, record_type: str, sublist: str, line: dict[str, Any],
                base: str | None, url: str | None) -> dict[str, Any]:
    return _render_fields(emu, record_type, sublist, line, base, url, True)


def render_sublist(emu: Emulator, record_type: str, sublist: str, lines: list[dict[str, Any]],
                   base: str | None, url: str | None) -> dict[str, Any]:
    items = []
    for line in lines:
        key = line.get("line", line.get("id"))
        line_url = f"{url}/{key}" if url and key is not None else None
        items.append(render_line(emu, record_type, sublist, line, base, line_url))
    out: dict[str, Any] = {"items": items, "totalResults": len(items), "count": len(items),
                           "hasMore": False, "offset": 0}
    if base is not None and url is not None:
        out["links"] = [{"rel": "self", "href": url}]
    return out


def dumps(data: Any) -> bytes:
    # Decimal -> JSON number; float() is exact enough for 2-8 decimal money and rates.
    return json.dumps(data, default=lambda v: float(v) if isinstance(v, Decimal) else str(v),
                      separators=(",", ":")).encode()
