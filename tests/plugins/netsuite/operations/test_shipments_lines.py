"""Matching shipped or invoiced SKUs to the lines of a NetSuite transaction (lines.py), for the
cases that are clearer on one Sales Order read than through a whole run."""

from __future__ import annotations

from typing import Any

import pytest

from flx.errors import MappingError, RecordValidationError
from flx_netsuite.lines import RemoteLine, allocate, remote_lines


def so_line(line: int, item: str, quantity: int, fulfilled: int = 0,
            **extra: Any) -> dict[str, Any]:
    return {"line": line, "item": {"id": item}, "quantity": quantity,
            "quantityFulfilled": fulfilled, **extra}


def planned(sku: str, item: str, fr: str, order_line: str,
            order_sku: str | None = None) -> dict[str, Any]:
    return {"sku": sku, "order_sku": order_sku or sku, "item_id": item, "fr_id": fr,
            "order_line_id": order_line}


def take(lines: list[RemoteLine], sku: str, quantity: int, **kwargs: Any,
         ) -> list[tuple[int, int]]:
    options: dict[str, Any] = {"fr_id": None, "item_id_of": lambda sku: None,
                               "what": "shipment S-1", "record_id": "S-1",
                               "transaction": "Sales Order SO1"}
    options.update(kwargs)
    return [(ln.line, n) for ln, n in allocate(lines, sku, quantity, **options)]


SALES_ORDER = {"item": {"items": [
    so_line(1, "502", 1), so_line(4, "501", 2, createPo={"id": "DropShip"}),
    so_line(7, "503", 3, 1)]}}
PLAN = [planned("VA-SKU123", "502", "FR-W", "L1", "FLX-SKU123"),
        planned("FLX-SKU123", "501", "FR-D", "L1"),
        planned("SKU001", "503", "FR-W", "L2")]


def test_order_and_po_level_skus_both_name_an_exploded_line() -> None:
    lines = remote_lines(SALES_ORDER, "quantityFulfilled", PLAN)
    # The order-level SKU sits on lines 1 and 4: the request decides, else line order.
    assert take(lines, "FLX-SKU123", 2, fr_id="FR-D") == [(4, 2)]
    lines = remote_lines(SALES_ORDER, "quantityFulfilled", PLAN)
    assert take(lines, "FLX-SKU123", 2) == [(1, 1), (4, 1)]
    lines = remote_lines(SALES_ORDER, "quantityFulfilled", PLAN)
    assert take(lines, "VA-SKU123", 1) == [(1, 1)]


def test_without_a_plan_the_netsuite_item_of_the_sku_is_used() -> None:
    lines = remote_lines(SALES_ORDER, "quantityFulfilled", None)
    items = {"SKU001": "503"}
    assert take(lines, "SKU001", 2, item_id_of=items.get) == [(7, 2)]


def test_a_closed_line_has_nothing_open() -> None:
    so = {"item": {"items": [so_line(1, "503", 3, 1, isClosed=True), so_line(4, "504", 1)]}}
    lines = remote_lines(so, "quantityFulfilled", [planned("SKU001", "503", "FR", "L1"),
                                                   planned("SKU002", "504", "FR", "L2")])
    with pytest.raises(RecordValidationError) as caught:
        take(lines, "SKU001", 1)
    assert "SKU SKU001 asks for 1 but only 0 remain open on Sales Order SO1 " \
           "(line 1: 0 of 3 open)" in caught.value.message


def test_what_is_taken_counts_for_the_next_item_of_the_same_record() -> None:
    lines = remote_lines(SALES_ORDER, "quantityFulfilled", PLAN)
    assert take(lines, "SKU001", 1) == [(7, 1)]
    with pytest.raises(RecordValidationError) as caught:
        take(lines, "SKU001", 2, open_word="unbilled")
    assert "only 1 remain unbilled" in caught.value.message
    assert "line 7: 1 of 3 unbilled" in caught.value.message


def test_a_sku_on_no_line_points_at_sku_parity() -> None:
    lines = remote_lines(SALES_ORDER, "quantityFulfilled", PLAN)
    with pytest.raises(MappingError) as caught:
        take(lines, "SKU999", 1, item_id_of={"SKU999": "599"}.get)
    assert "SKU 'SKU999' is on no line of Sales Order SO1" in caught.value.message
    assert "SKU parity" in (caught.value.hint or "")
