"""Matching flx items (by SKU) to the lines of a NetSuite transaction, consuming open
quantities in line order — shared by fulfillments (Sales Order lines) and bills (PO lines)."""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flx import MappingError, RecordValidationError


@dataclass
class RemoteLine:
    """A NetSuite transaction line with what flx knows about why it exists."""

    line: int
    item_id: str
    quantity: int
    done: int  # fulfilled or billed so far
    rate: float | None = None
    location_id: str | None = None
    skus: set[str] = field(default_factory=set)  # SKUs that name this line (order and PO level)
    fr_id: str | None = None
    fr_type: str | None = None  # "internal" (the merchant's stock) or "external" (drop ship)
    source: str | None = None  # the request's warehouse or vendor, as people name it
    order_line_id: str | None = None  # the flx order line this share comes from
    itemtype: str | None = None  # SuiteQL item type when flx sent the line (Service, ...)
    taken: int = 0  # allocated by the record being built

    @property
    def open(self) -> int:
        return self.quantity - self.done - self.taken


def remote_lines(record: dict[str, Any], done_field: str,
                 planned: list[dict[str, Any]] | None) -> list[RemoteLine]:
    """The record's lines; `planned` (what flx sent, in order) adds SKUs and routing."""
    items = ((record.get("item") or {}).get("items")) or []
    plan = planned or []
    paired = {ns_index: plan[index] for index, ns_index in
              pair_lines([(str(p.get("item_id")), p.get("line")) for p in plan],
                         items).items()}
    out = []
    for index, raw in enumerate(items):
        item_id = str((raw.get("item") or {}).get("id", ""))
        quantity = int(float(raw.get("quantity", 0)))
        # A closed line has nothing open, whatever its counters say: NetSuite refuses it.
        done = quantity if raw.get("isClosed") else int(float(raw.get(done_field) or 0))
        line = RemoteLine(
            line=int(raw["line"]), item_id=item_id, quantity=quantity, done=done,
            rate=float(raw["rate"]) if raw.get("rate") not in (None, "") else None,
            location_id=str((raw.get("location") or {}).get("id")) if raw.get("location") else None,
        )
        p = paired.get(index)
        if p is not None:
            line.skus = {str(s) for s in (p.get("sku"), p.get("order_sku")) if s}
            line.fr_id = p.get("fr_id")
            line.fr_type = p.get("fr_type")
            line.source = (f"warehouse {p['warehouse']}" if p.get("warehouse") else
                           p.get("vendor_name") or p.get("vendor_key"))
            line.order_line_id = p.get("order_line_id")
            line.itemtype = p.get("itemtype")
        out.append(line)
    return out


def pair_lines(planned: list[tuple[str, int | None]], items: list[dict[str, Any]],
               ) -> dict[int, int]:
    """Planned line index -> index of its line in `items` (a record read back). A planned
    line whose NetSuite line number is known takes that line; the others take the first
    unpaired line of the same item, in line order. Never by position alone: NetSuite may
    insert lines flx did not send (an item group's components, a kit's members)."""
    by_number = {int(raw["line"]): i for i, raw in enumerate(items)
                 if raw.get("line") is not None}
    taken: set[int] = set()
    out: dict[int, int] = {}
    for index, (item_id, number) in enumerate(planned):
        found = by_number.get(int(number)) if number is not None else None
        if found is not None and found not in taken and \
                str((items[found].get("item") or {}).get("id", "")) == item_id:
            out[index] = found
            taken.add(found)
    for index, (item_id, _) in enumerate(planned):
        if index in out:
            continue
        found = next((i for i, raw in enumerate(items) if i not in taken
                      and str((raw.get("item") or {}).get("id", "")) == item_id), None)
        if found is not None:
            out[index] = found
            taken.add(found)
    return out


class OverQuantityError(RecordValidationError):
    """More is asked of a SKU than its lines have open. A record NetSuite already holds looks
    exactly like this (its own quantities are counted as done), so the senders look the
    record up by its external id before failing it with this."""


def candidates(lines: list[RemoteLine], sku: str, *, fr_id: str | None,
               item_id_of: Callable[[str], str | None], what: str, record_id: str,
               transaction: str, order_line_id: str | None = None) -> list[RemoteLine]:
    """The lines `sku` may be taken from: those naming the SKU (else its NetSuite item),
    narrowed to the fulfillment request, then to the order line, when they are among them.
    Raises when the SKU is on no line."""
    found = [ln for ln in lines if sku in ln.skus]
    if not found:
        item_id = item_id_of(sku)
        found = [ln for ln in lines if item_id and ln.item_id == item_id]
    if not found:
        raise MappingError(
            f"{what}: SKU {sku!r} is on no line of {transaction}",
            hint="check SKU parity between flx and NetSuite (order-level vs PO-level SKU in the "
                 "profile, and the item's lookup field)", record_id=record_id)
    if fr_id and any(ln.fr_id == fr_id for ln in found):
        found = [ln for ln in found if ln.fr_id == fr_id]
    if order_line_id and any(ln.order_line_id == order_line_id for ln in found):
        found = [ln for ln in found if ln.order_line_id == order_line_id]
    return found


def allocate(lines: list[RemoteLine], sku: str, quantity: int, *, fr_id: str | None,
             item_id_of: Callable[[str], str | None], what: str, record_id: str,
             transaction: str, order_line_id: str | None = None, open_word: str = "open",
             ) -> list[tuple[RemoteLine, int]]:
    """Take `quantity` of `sku` from the open lines, in line order. The fulfillment request,
    then the order line, narrow the choice when one SKU sits on several lines (exploded
    routing). Raises with the numbers when the SKU is on no line, or when more is asked
    than is open (OverQuantityError; "open" is `open_word`: bills say "unbilled")."""
    chosen = candidates(lines, sku, fr_id=fr_id, item_id_of=item_id_of, what=what,
                        record_id=record_id, transaction=transaction,
                        order_line_id=order_line_id)
    available = sum(max(ln.open, 0) for ln in chosen)
    if quantity > available:
        detail = ", ".join(f"line {ln.line}: {max(ln.open, 0)} of {ln.quantity} {open_word}"
                           for ln in chosen)
        raise OverQuantityError(
            f"{what}: SKU {sku} asks for {quantity} but only {available} remain {open_word} "
            f"on {transaction} ({detail})",
            hint="correct the quantities in the source system and re-import the record; flx "
                 "never sends more than is open", record_id=record_id)
    taken = []
    remaining = quantity
    for ln in chosen:
        if remaining == 0:
            break
        share = min(ln.open, remaining)
        if share > 0:
            ln.taken += share
            remaining -= share
            taken.append((ln, share))
    return taken


def dropship_line(raw: dict[str, Any] | None) -> bool:
    """A Sales Order line NetSuite made a drop-ship PO for (createPo DropShip, or a PO)."""
    if not raw:
        return False
    create_po = raw.get("createPo")
    if isinstance(create_po, dict):
        create_po = create_po.get("id")
    return str(create_po or "").lower() == "dropship" or bool(raw.get("createdPo"))


class KeyedLocks:
    """One lock per key (a Sales Order or PO id): records that touch the same transaction go
    one after the other, so open quantities read by one are not stale for the next."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = defaultdict(threading.Lock)
        self._guard = threading.Lock()

    def __call__(self, key: str) -> threading.Lock:
        with self._guard:
            return self._locks[key]
