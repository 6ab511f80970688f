"""Order lines on Sales Order lines (plugins/netsuite/routing.py): an order line split over
several fulfillment requests comes to exactly money(quantity x unit price) - discount, its
discount shares add up to the discount and never make a line negative, and every line's
rate x quantity rounds to exactly its amount (what the emulator checks, and what keeps
NetSuite's line right whether it keeps the amount sent or recomputes it)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from flx_netsuite.common import money
from flx_netsuite.routing import net_rate, plan_lines, split_lines


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


def _sent(order: dict[str, Any]) -> list[tuple[int, Decimal, Decimal]]:
    """(quantity, rate, amount) of each Sales Order line, as the payload carries them."""
    lines = plan_lines(order, "order")
    assert split_lines(order, lines) == []
    return [(p.quantity, p.sent_rate, p.amount) for p in lines]


def test_a_line_split_with_a_four_decimal_price_is_not_a_cent_over() -> None:
    """3 x 19.9875 = 59.9625 is a 59.96 line. Routed 1 + 2, each share rounded on its own
    came to 19.99 + 39.98 = 59.97; the line's amount is split instead: 19.98 + 39.98."""
    assert _sent(_order([1, 2], "19.9875", "0")) == [
        (1, Decimal("19.98"), Decimal("19.98")), (2, Decimal("19.9875"), Decimal("39.98"))]


def test_a_discounted_split_line_with_a_four_decimal_price_is_exact() -> None:
    """59.96 - 1.00 = 58.96 (it was sent as 19.66 + 39.31 = 58.97)."""
    sent = _sent(_order([1, 2], "19.9875", "1.00"))
    assert sent == [(1, Decimal("19.65"), Decimal("19.65")),
                    (2, Decimal("19.655"), Decimal("39.31"))]
    assert sum(amount for _, _, amount in sent) == Decimal("58.96")


def test_five_at_1_1111_less_0_04_is_5_52_however_it_is_routed() -> None:
    for routing in ([1, 4], [2, 3], [1, 1, 3], [1, 1, 1, 1, 1]):
        sent = _sent(_order(routing, "1.1111", "0.04"))
        assert sum(amount for _, _, amount in sent) == Decimal("5.52"), routing
        assert all(money(q * r) == amount for q, r, amount in sent), routing


def test_a_line_on_one_request_keeps_its_unit_price() -> None:
    assert _sent(_order([3], "19.9875", "0")) == [(3, Decimal("19.9875"), Decimal("59.96"))]


def test_the_reference_example_splits_pro_rata_with_the_cent_left_on_the_last() -> None:
    lines = plan_lines(_order([1, 2], "19.99", "5.00"), "order")
    assert split_lines(_order([1, 2], "19.99", "5.00"), lines) == []
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
    split_lines(order, lines)
    assert sum(p.discount for p in lines) == Decimal("9.99")
    assert all(p.amount >= 0 for p in lines)


def test_a_discount_larger_than_the_line_is_a_data_problem_on_its_field() -> None:
    order = _order([1], "2.00", "2.01")
    (problem,) = split_lines(order, plan_lines(order, "order"))
    assert (problem.kind, problem.path) == ("data", "$.lines[0].discount")
    assert "the discount 2.01 is more than the line's amount 2.00" in problem.message


def test_a_split_lines_discount_is_compared_with_the_whole_line() -> None:
    """3 x 19.9875 is a 59.96 line: 59.96 off is allowed (every share 0.00), 59.97 is not."""
    assert _sent(_order([1, 2], "19.9875", "59.96")) == [
        (1, Decimal("0"), Decimal("0.00")), (2, Decimal("0"), Decimal("0.00"))]
    order = _order([1, 2], "19.9875", "59.97")
    (problem,) = split_lines(order, plan_lines(order, "order"))
    assert "the discount 59.97 is more than the line's amount 59.96 (3 x 19.9875)" in (
        problem.message)


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
    gross = money(price * sum(quantities))  # the whole line, not share by share
    discount = money(gross * Decimal(discount_ratio.numerator) / discount_ratio.denominator)
    order = _order(quantities, str(price), str(discount))
    lines = plan_lines(order, "order")
    assert split_lines(order, lines) == []
    assert sum(p.discount for p in lines) == discount
    for p in lines:
        assert 0 <= p.discount <= p.gross and p.amount >= 0
        rate = p.sent_rate
        assert rate >= 0 and -rate.as_tuple().exponent <= 8  # type: ignore[operator]
        assert money(rate * p.quantity) == p.amount


def _routed(lines: list[tuple[int, str, str]], routing: list[list[int]]) -> dict[str, Any]:
    """Order lines (quantity, unit price, discount), each split by `routing` over requests:
    routing[i] holds, per fulfillment request, the units of line i it takes (0 = none)."""
    requests: list[dict[str, Any]] = []
    for n in range(max(len(r) for r in routing)):
        items = [{"order_line_id": f"L{i}", "quantity": r[n]}
                 for i, r in enumerate(routing) if n < len(r) and r[n]]
        if items:
            requests.append({"id": f"FR-{n}", "type": "external" if n % 2 else "internal",
                             "vendor": {"id": "V-A"}, "items": items})
    return {"id": "ORD-P", "lines": [
        {"id": f"L{i}", "sku": f"S{i}", "quantity": q, "unit_price": price, "discount": off}
        for i, (q, price, off) in enumerate(lines)], "fulfillment_requests": requests}


@st.composite
def _order_lines(draw: st.DrawFn) -> tuple[list[tuple[int, str, str]], list[list[int]]]:
    lines, routing = [], []
    for _ in range(draw(st.integers(1, 3))):
        parts = draw(st.lists(st.integers(0, 400_000), min_size=1, max_size=5).filter(any))
        quantity = sum(parts)
        price = Decimal(draw(st.integers(0, 10**8))).scaleb(-draw(st.integers(0, 4)))
        gross = money(price * quantity)
        ratio = draw(st.fractions(0, 1))
        discount = money(gross * ratio.numerator / ratio.denominator)
        lines.append((quantity, str(price), str(discount)))
        routing.append(parts)
    return lines, routing


@settings(max_examples=500, deadline=None)
@given(_order_lines())
def test_an_order_lines_sales_order_lines_come_to_exactly_its_amount(
        case: tuple[list[tuple[int, str, str]], list[list[int]]]) -> None:
    """Any quantities, prices of up to 4 decimals, discounts and routings: the Sales Order
    lines of each order line add up to money(quantity x unit price) - discount, to the
    cent, and every one is sent with a rate at which money(quantity x rate) == amount."""
    lines, routing = case
    order = _routed(lines, routing)
    planned = plan_lines(order, "po")
    assert split_lines(order, planned) == []
    for i, (quantity, price, discount) in enumerate(lines):
        mine = [p for p in planned if p.order_line_id == f"L{i}"]
        assert sum(p.quantity for p in mine) == quantity
        assert sum(p.amount for p in mine) == (
            money(Decimal(price) * quantity) - Decimal(discount))
        for p in mine:
            assert p.amount >= 0 and 0 <= p.discount <= p.gross
            rate = p.sent_rate
            assert rate >= 0 and -rate.as_tuple().exponent <= 8  # type: ignore[operator]
            assert money(p.quantity * rate) == p.amount
