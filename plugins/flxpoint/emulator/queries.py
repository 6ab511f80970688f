"""Query parameters of the emulator's list endpoints: filters, change cursors and paging.

Where Flxpoint does not document a behaviour, the stricter reading is taken (docs/flxpoint.md):
the three order cursors combine with OR and compare strictly (`>`), pages count from 1, a page
size above the maximum is refused, and orders and FRs come in ascending id order (orders by
`updatedAt` when `Emulator.order_sort` says so, to test a list that shifts while read)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from .state import parse_time

if TYPE_CHECKING:
    from .state import Emulator

Params = Mapping[str, str]
DEFAULT_PAGE_SIZE = 50
MAX_IDS = 50
ORDER_CURSORS = ("orderUpdatedAt", "fulfillmentRequestsUpdatedAt", "shipmentsUpdatedAt")


class BadQuery(ValueError):
    """A query parameter Flxpoint would refuse (400)."""


def _int(params: Params, name: str) -> int | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return int(value)
    except ValueError:
        raise BadQuery(f"{name} must be an integer, not {value!r}") from None


def _time(params: Params, name: str) -> datetime | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    try:
        return parse_time(value)
    except ValueError:
        raise BadQuery(f"{name} must be an ISO-8601 date-time, not {value!r}") from None


def _bool(params: Params, name: str) -> bool | None:
    value = params.get(name)
    if value in (None, ""):
        return None
    if value.lower() not in ("true", "false"):
        raise BadQuery(f"{name} must be true or false, not {value!r}")
    return value.lower() == "true"


def _list(params: Any, name: str) -> list[str]:
    """A list parameter, repeated (`?a=1&a=2`) or comma-separated (`?a=1,2`)."""
    values = params.getlist(name) if hasattr(params, "getlist") else [params.get(name, "")]
    items = [x.strip() for v in values for x in str(v or "").split(",") if x.strip()]
    if len(items) > MAX_IDS:
        raise BadQuery(f"{name} takes at most {MAX_IDS} values")
    return items


def page_of(rows: list[dict[str, Any]], params: Params,
            max_size: int) -> tuple[list[dict[str, Any]], int]:
    number = _int(params, "filterPageNumber")
    size = _int(params, "filterPageSize")
    number = 1 if number is None else number
    size = DEFAULT_PAGE_SIZE if size is None else size
    if number < 1:
        raise BadQuery("filterPageNumber starts at 1")
    if not 1 <= size <= max_size:
        raise BadQuery(f"filterPageSize must be between 1 and {max_size}")
    start = (number - 1) * size
    return rows[start:start + size], number


def filter_orders(emu: Emulator, params: Params, channel: int | None) -> list[int]:
    cursors = [_time(params, name) for name in ORDER_CURSORS]
    ids = []
    listed = sorted(emu.orders) if emu.order_sort == "id" else sorted(
        emu.orders, key=lambda i: (parse_time(emu.orders[i]["updatedAt"]), i))
    for order_id in listed:
        order = emu.orders[order_id]
        if channel is not None and order.get("importedFrom") != channel:
            continue
        if any(c is not None for c in cursors):
            changed = emu.last_change(order_id)
            if not any(c is not None and t is not None and t > c
                       for c, t in zip(cursors, changed, strict=True)):
                continue
        ids.append(order_id)
    return ids


def filter_frs(emu: Emulator, params: Params, source: int | None) -> list[dict[str, Any]]:
    order_id, since_id = _int(params, "findOrderId"), _int(params, "sinceId")
    source_filter = _int(params, "filterSourceId")
    numbers = set(_list(params, "frNumbers") or _list(params, "fulfillmentRequestNumbers"))
    statuses = {s.lower() for s in _list(params, "filterStatus")}
    rows = []
    for fr_id in sorted(emu.frs):
        fr = emu.frs[fr_id]
        if ((source is not None and fr["sourceId"] != source)
                or (source_filter is not None and fr["sourceId"] != source_filter)
                or (order_id is not None and fr["orderId"] != order_id)
                or (since_id is not None and fr_id <= since_id)
                or (numbers and fr["fulfillmentRequestNumber"] not in numbers)
                or (statuses and fr["fulfillmentRequestStatus"]["name"].lower() not in statuses)):
            continue
        rows.append(fr)
    return rows


def _by_insertion(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: (parse_time(r["insertedAt"]), r["id"]))


def filter_shipments(emu: Emulator, params: Params, source: int | None,
                     channel: int | None) -> list[dict[str, Any]]:
    order_id, fr_id = _int(params, "findByOrderId"), _int(params, "findByPurchaseOrderId")
    created, updated = _time(params, "filterCreatedAfter"), _time(params, "filterUpdatedAfter")
    rows = []
    for s in emu.shipments.values():
        if ((source is not None and s.get("sourceId") != source)
                or (channel is not None and (emu.orders.get(s["orderId"]) or {})
                    .get("importedFrom") != channel)
                or (order_id is not None and s["orderId"] != order_id)
                or (fr_id is not None and s.get("fulfillmentRequestId") != fr_id)
                or (created is not None and not parse_time(s["insertedAt"]) > created)
                or (updated is not None and not parse_time(s["updatedAt"]) > updated)):
            continue
        rows.append(s)
    return _by_insertion(rows)


def filter_invoices(emu: Emulator, params: Params, source: int | None) -> list[dict[str, Any]]:
    fr_id, created = _int(params, "filterPurchaseOrderId"), _time(params, "filterCreatedAfter")
    source_filter = None if source is not None else _int(params, "filterSourceId")
    synced = _bool(params, "isAccountingSynced")
    po_synced = _bool(params, "isForSyncedAccountingPurchaseOrder")
    has_error = _bool(params, "hasAccountingSyncError")
    ids = {int(x) for x in _list(params, "ids") if x.isdigit()}
    rows = []
    for inv in emu.invoices.values():
        fr = emu.frs.get(inv.get("fulfillmentRequestId") or -1) or {}
        if ((source is not None and inv["sourceId"] != source)
                or (source_filter is not None and inv["sourceId"] != source_filter)
                or (fr_id is not None and inv.get("fulfillmentRequestId") != fr_id)
                or (created is not None and not parse_time(inv["insertedAt"]) > created)
                or (synced is not None and bool(inv.get("accountingSynced")) != synced)
                or (po_synced is not None and bool(fr.get("accountingSynced")) != po_synced)
                or (has_error is not None and bool(inv.get("accountingSyncError")) != has_error)
                or (ids and inv["id"] not in ids)):
            continue
        rows.append(inv)
    return _by_insertion(rows)
