"""Line discounts on Sales Order lines (plugins/netsuite/routing.py): the shares of an order
line's discount add up to it exactly and never make a line negative, and every net line's
rate x quantity rounds to exactly its amount (what the emulator checks, and what keeps
NetSuite's line right whether it keeps the amount sent or recomputes it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from plugins.netsuite.common import money
from plugins.netsuite.routing import net_rate, plan_lines, split_discounts


def _order(quantities: list[int], price: str, discount: str) -> dict[str, Any]:
    """One order line split over one fulfillment request per quantity (exploded routing)."""
    return {
        "id": "ORD-1",
        "lines": [{"id": "L1", "sku": "S", "quantity": sum(quantities), "unit_price": price,
                   "discount": discount}],
        "fulfillment_requests": [
            {"id": f"FR-{n}", "type": "internal", "warehouse": "MAIN",
             "items": [{"order_line_id": "L1", "quantity": q}]}
            for n, q in enumerate(quantities)],
    }


def test_the_reference_example_splits_pro_rata_with_the_cent_left_on_the_last() -> None:
    lines = plan_lines(_order([1, 2], "19.99", "5.00"), "order")
    assert split_discounts(_order([1, 2], "19.99", "5.00"), lines) == []
    assert [(p.gross, p.discount, p.amount) for p in lines] == [
        (Decimal("19.99"), Decimal("1.66"), Decimal("18.33")),
        (Decimal("39.98"), Decimal("3.34"), Decimal("36.64")),
    ]


def test_left_over_cents_go_to_earlier_shares_when_the_last_cannot_take_them() -> None:
    """Shares 9.99 / 0.01 of a 10.00 line with 9.99 off: the last share (0.01) can take at
    most one cent, so no line goes below zero."""
    order = {"id": "O", "lines": [{"id": "L1", "sku": "S", "quantity": 2, "unit_price": "5",
                                   "discount": "9.99"}],
             "fulfillment_requests": [{"id": "A", "type": "internal", "items": [
                 {"order_line_id": "L1", "quantity": 1}]}, {"id": "B", "type": "internal",
                 "items": [{"order_line_id": "L1", "quantity": 1}]}]}
    lines = plan_lines(order, "order")
    split_discounts(order, lines)
    assert sum(p.discount for p in lines) == Decimal("9.99")
    assert all(p.amount >= 0 for p in lines)


def test_a_discount_larger_than_the_line_is_a_data_problem_on_its_field() -> None:
    order = _order([1], "2.00", "2.01")
    (problem,) = split_discounts(order, plan_lines(order, "order"))
    assert (problem.kind, problem.path) == ("data", "$.lines[0].discount")
    assert "the discount 2.01 is more than the line's amount 2.00" in problem.message


def test_a_net_rate_takes_the_fewest_decimals_that_give_the_amount() -> None:
    assert net_rate(Decimal("8.00"), 1) == Decimal("8.00")
    assert net_rate(Decimal("29.00"), 3) == Decimal("9.667")
    assert net_rate(Decimal("0.00"), 7) == 0
    assert net_rate(Decimal("36.64"), 2) == Decimal("18.32")


@settings(max_examples=400, deadline=None)
@given(
    quantities=st.lists(st.integers(1, 1_000_000), min_size=1, max_size=4),
    price_cents=st.integers(0, 10_000_000),
    price_places=st.sampled_from([2, 4]),
    discount_ratio=st.fractions(0, 1),
)
def test_shares_add_up_and_every_net_line_is_exact(quantities: list[int], price_cents: int,
                                                   price_places: int,
                                                   discount_ratio: Any) -> None:
    price = Decimal(price_cents).scaleb(-price_places)
    gross = sum(money(price * q) for q in quantities)
    discount = money(gross * Decimal(discount_ratio.numerator) / discount_ratio.denominator)
    order = _order(quantities, str(price), str(discount))
    lines = plan_lines(order, "order")
    assert split_discounts(order, lines) == []
    assert sum(p.discount for p in lines) == discount
    for p in lines:
        assert 0 <= p.discount <= p.gross and p.amount >= 0
        rate = p.sent_rate
        assert rate >= 0 and -rate.as_tuple().exponent <= 8  # type: ignore[operator]
        assert money(rate * p.quantity) == p.amount
