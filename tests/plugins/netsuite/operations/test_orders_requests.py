"""Requests per order with warm caches (customers and SKUs seen before), counted by the
emulator, which sees every request flx sends:

    internal-only order        1 request   (the Sales Order create)
    dropship order (create_po) 2 requests  (the create, one read for the generated PO ids)
    dropship order (explicit)  2 requests  (the Sales Order and the Purchase Order creates)
    plus, per batch, 1 SuiteQL query when link_existing is on (all orders of the batch at once)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from .conftest import Workspace
from .test_orders_support import dropship_order, exploded_order, internal_order, person

BUYERS = [None, person("Rae", "Return", "rae@example.com"),
          {"netsuite_id": None, "email": None, "first_name": None, "last_name": None,
           "company": "Return Goods LLC", "phone": None}]
BATCH = 6


def _warm_up(ws: Workspace) -> None:
    """Every buyer (one existing, two created here) and every SKU seen once."""
    first = [maker(f"ORD-W{i}", customer=BUYERS[i])
             for i, maker in enumerate((internal_order, dropship_order, exploded_order))]
    ws.import_records(orders=first)
    report = ws.run("send-orders")
    assert report["exit_code"] == 0, report


def _batch_cost(ws: Workspace, maker: Callable[..., dict[str, Any]],
                tag: str) -> tuple[dict[str, int], int]:
    """(requests per route, flx's own request count) of one batch of returning orders."""
    orders = [maker(f"ORD-{tag}{i}", customer=BUYERS[i % len(BUYERS)]) for i in range(BATCH)]
    ws.import_records(orders=orders)
    before = ws.emulator.stats()
    report = ws.run("send-orders")
    after = ws.emulator.stats()
    assert report["exit_code"] == 0, report
    assert report["counts"]["sent"] == BATCH
    routes = {route: after["routes"].get(route, 0) - before["routes"].get(route, 0)
              for route in after["routes"]}
    assert after["requests"] - before["requests"] == report["requests"]  # flx counts right
    return {r: n for r, n in routes.items() if n}, report["requests"]


@pytest.mark.parametrize("link_existing", [True, False])
def test_requests_per_order_with_warm_caches(workspace: Workspace,
                                             link_existing: bool) -> None:
    workspace.operation_settings["send-orders"] = {"link_existing": link_existing}
    _warm_up(workspace)
    batch_lookup = {"POST suiteql": 1} if link_existing else {}

    routes, total = _batch_cost(workspace, internal_order, "I")
    assert routes == {"POST salesOrder": BATCH, **batch_lookup}
    assert total == BATCH + len(batch_lookup)  # 1 per order

    for maker, tag in ((dropship_order, "D"), (exploded_order, "X")):
        routes, total = _batch_cost(workspace, maker, tag)
        assert routes == {"POST salesOrder": BATCH, "GET salesOrder/{id}": BATCH,
                          **batch_lookup}
        assert total == 2 * BATCH + len(batch_lookup)  # 2 per order


def test_requests_per_order_in_explicit_po_mode(workspace: Workspace) -> None:
    workspace.profile["options"]["dropship_mode"] = "explicit_po"
    _warm_up(workspace)
    routes, total = _batch_cost(workspace, exploded_order, "E")
    # FLX-SKU123 is a Drop Ship Item: NetSuite may make its own PO despite "createPo": null,
    # so the order is read back once to catch a PO flx did not ask for.
    assert routes == {"POST salesOrder": BATCH, "POST purchaseOrder": BATCH,
                      "GET salesOrder/{id}": BATCH, "POST suiteql": 1}
    assert total == 3 * BATCH + 1
