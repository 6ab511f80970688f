"""Line discounts (`lines[].discount`), the order discount on top of them (`discount_total`),
and the channel's `total` checked against what the Sales Order will come to: end to end
through `flx run send-orders` / `flx render` against the emulator, which checks
amount == quantity x rate on every line and totals the order to the cent."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from .conftest import Workspace
from .test_orders_support import (
    dropship_order,
    exploded_order,
    internal,
    internal_order,
    json_output,
    line,
    order,
)


def _sent(ws: Workspace, *orders: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return ws.import_and_run("send-orders", 0, orders=list(orders))


def _render(ws: Workspace, order_id: str) -> list[dict[str, Any]]:
    code, output = ws.flx("render", "send-orders", "--connection", "ns", "--id", order_id)
    assert code == 0, output
    payloads: list[dict[str, Any]] = json_output(output)
    return payloads


def _held_lines(ws: Workspace, order_id: str) -> list[tuple[str, int, Decimal, Decimal]]:
    so = ws.by_external_id("salesOrder", order_id)
    return [(ln["item"]["refName"], ln["quantity"], ln["rate"], ln["amount"])
            for ln in so["item"]["items"]]


def test_a_line_discount_is_taken_off_its_sales_order_line(workspace: Workspace) -> None:
    """L2 is 10.00 with 2.00 off: NetSuite gets an 8.00 line, and the order total is right."""
    discounted = internal_order("ORD-601", shipping={"method": "Ground", "amount": "3.00"})
    discounted["lines"][1].update(unit_price="10.00", discount="2.00")
    rows = _sent(workspace, discounted)
    assert rows["ORD-601"]["status"] == "sent", rows
    assert _held_lines(workspace, "ORD-601") == [
        ("SKU001", 2, Decimal("12.5"), Decimal("25.00")),
        ("VA-SKU123", 1, Decimal("8"), Decimal("8.00")),
    ]
    so = workspace.by_external_id("salesOrder", "ORD-601")
    assert so["total"] == Decimal("36.00")  # 25.00 + 8.00 + 3.00 shipping


def test_a_discounted_line_of_several_units_is_exact_to_the_cent(workspace: Workspace) -> None:
    """3 x 10.00 - 1.00 = 29.00 does not divide by 3: the rate gets the decimals it needs
    (9.667) so that quantity x rate rounds to exactly the amount sent."""
    odd = order("ORD-602", [line("L1", "SKU001", 3, "10.00")],
                [internal("FR-602", "MAIN", ("L1", "SKU001", 3, "4.00"))])
    odd["lines"][0]["discount"] = "1.00"
    code, output = workspace.import_records(orders=[odd])
    assert code == 0, output
    (preview,) = _render(workspace, "ORD-602")
    (sent,) = preview["body"]["item"]["items"]
    assert (sent["quantity"], sent["rate"], sent["amount"]) == (3, 9.667, 29.0)
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report
    assert _held_lines(workspace, "ORD-602") == [("SKU001", 3, Decimal("9.667"),
                                                  Decimal("29.00"))]
    assert workspace.by_external_id("salesOrder", "ORD-602")["total"] == Decimal("34.00")


def test_an_exploded_lines_discount_is_split_across_its_shares_to_the_cent(
        workspace: Workspace) -> None:
    """FLX-SKU123 x3 at 19.99 with 5.00 off, routed 1 from the warehouse and 2 from Vendor A:
    the shares are pro rata (19.99 : 39.98 -> 1.66 and 3.33) with the cent left over on the
    last (3.34), so the two Sales Order lines add up to 59.97 - 5.00. The dropship PO keeps
    the vendor's cost."""
    exploded = exploded_order("ORD-603")
    exploded["lines"][0]["discount"] = "5.00"
    rows = _sent(workspace, exploded)
    row = rows["ORD-603"]
    assert row["status"] == "sent" and "1 dropship PO" in row["message"], row
    assert _held_lines(workspace, "ORD-603") == [
        ("VA-SKU123", 1, Decimal("18.33"), Decimal("18.33")),
        ("FLX-SKU123", 2, Decimal("18.32"), Decimal("36.64")),
    ]
    so = workspace.by_external_id("salesOrder", "ORD-603")
    assert so["subtotal"] == Decimal("59.97") - Decimal("5.00")
    assert so["item"]["items"][1]["poRate"] == Decimal("9.00")
    (po,) = workspace.records("purchaseOrder")
    assert [(ln["quantity"], ln["rate"]) for ln in po["item"]["items"]] == [(2, Decimal("9"))]
    assert [ln["discount"] for ln in row["remote_ids"]["lines"]] == ["1.66", "3.34"]


def test_a_discount_of_the_whole_line_makes_a_zero_line(workspace: Workspace) -> None:
    free = internal_order("ORD-604")
    free["lines"][0]["discount"] = "25.00"  # 2 x 12.50, all of it
    _sent(workspace, free)
    assert _held_lines(workspace, "ORD-604")[0] == ("SKU001", 2, Decimal("0"), Decimal("0.00"))


def test_a_discount_larger_than_its_line_fails_the_order_with_the_field(
        workspace: Workspace) -> None:
    too_much = internal_order("ORD-605")
    too_much["lines"][1]["discount"] = "20.00"  # the line is 1 x 19.99
    code, output = workspace.import_records(orders=[too_much, internal_order("ORD-606")])
    assert code == 0, output  # import does not compare a discount with its line
    report = workspace.run("send-orders")
    assert report["exit_code"] == 3, report
    row = workspace.rows(report)["ORD-605"]
    assert row["status"] == "failed" and row["error_class"] == "data", row
    assert row["message"] == (
        "order ORD-605 line L2: the discount 20.00 is more than the line's amount 19.99 "
        "(1 x 19.99), so its Sales Order line would be negative")
    assert "lines[1].discount" in row["hint"] and "import the order again" in row["hint"]
    assert workspace.rows(report)["ORD-606"]["status"] == "sent"
    assert [so["externalId"] for so in workspace.records("salesOrder")] == ["ORD-606"]

    _assert_refused(workspace, "ORD-605", "$.lines[1].discount",
                    "the discount 20.00 is more than the line's amount")


def test_discount_total_is_taken_off_on_top_of_the_line_discounts(workspace: Workspace) -> None:
    workspace.profile["options"]["discount_item"] = "701"
    both = internal_order("ORD-607", discount_total="3.00", total="41.99")
    both["lines"][0]["discount"] = "5.00"
    rows = _sent(workspace, both)
    assert rows["ORD-607"]["warnings"] == []  # 20.00 + 19.99 - 3.00 + 5.00 = 41.99
    so = workspace.by_external_id("salesOrder", "ORD-607")
    assert so["discountRate"] == Decimal("-3")
    assert so["total"] == Decimal("41.99")


# -- the channel's total ------------------------------------------------------------------------


def test_a_total_that_differs_is_a_warning_in_the_run_the_dry_run_and_render(
        workspace: Workspace) -> None:
    """The channel says 50.87; the Sales Order will be 44.99 + 5.00 shipping + 0.88 tax =
    50.87 minus the 2.00 line discount the channel did not count: 48.87."""
    off = internal_order("ORD-608", tax_total="0.88", total="50.87")
    off["lines"][0]["discount"] = "2.00"
    code, output = workspace.import_records(orders=[off])
    assert code == 0, output
    expected = [
        "the order's tax 0.88 was not sent: NetSuite computes tax from the account's tax "
        "set-up (tax codes, nexus); compare the Sales Order total",
        "the channel's total 50.87 differs from the Sales Order's expected total 48.87 (lines "
        "42.99 net of line discounts - order discount 0.00 + shipping 5.00 + the order's tax "
        "0.88, which NetSuite computes itself) by 2.00; check discounts, shipping and tax",
    ]
    dry = workspace.run("send-orders", "--only", "ORD-608", "--dry-run")
    (row,) = dry["rows"]
    assert (row["status"], row["warnings"]) == ("dry_run", expected), row
    (entry,) = _render(workspace, "ORD-608")
    assert entry["warnings"] == expected and entry["body"]["externalId"] == "ORD-608"
    assert row["payloads"] == [entry]

    report = workspace.run("send-orders")
    assert report["exit_code"] == 0, report  # a warning, not a failure
    row = workspace.rows(report)["ORD-608"]
    assert (row["status"], row["warnings"]) == ("sent", expected)


def test_a_total_that_adds_up_gives_no_warning_and_render_no_warnings_key(
        workspace: Workspace) -> None:
    exact = internal_order("ORD-609", total="49.99")  # 25.00 + 19.99 + 5.00
    workspace.import_records(orders=[exact])
    (entry,) = _render(workspace, "ORD-609")
    assert "warnings" not in entry
    assert workspace.run("send-orders")["rows"][0]["warnings"] == []


def test_a_discount_total_that_counts_the_line_discounts_again_is_named(
        workspace: Workspace) -> None:
    """The channel's discount_total (2.00) is the line discounts it already took off: the
    warning says so, with the fix."""
    workspace.profile["options"]["discount_item"] = "701"
    doubled = internal_order("ORD-610", discount_total="2.00", total="47.99")
    doubled["lines"][1]["discount"] = "2.00"
    rows = _sent(workspace, doubled)
    (warning,) = rows["ORD-610"]["warnings"]
    assert "differs from the Sales Order's expected total 45.99" in warning
    assert "by 2.00" in warning
    assert "the line discounts (2.00)" in warning
    assert "export discount_total without them" in warning


# -- an order line split over several fulfillment requests, unit prices of 4 decimals ---------


def test_a_split_line_at_a_four_decimal_price_comes_to_the_line_to_the_cent(
        workspace: Workspace) -> None:
    """FLX-SKU123 x3 at 19.9875 is a 59.96 line (59.9625, half up). Routed 1 from the
    warehouse and 2 from Vendor A it was sent as 19.99 + 39.98 = 59.97, and the check of the
    channel's total blamed the channel; with 1.00 off it was 19.66 + 39.31 = 58.97 for 58.96.
    Now the line's amount is split: the Sales Orders come to the cent, and no warning."""
    plain = exploded_order("ORD-611", total="64.96")  # 59.96 + 5.00 shipping
    plain["lines"][0]["unit_price"] = "19.9875"
    discounted = exploded_order("ORD-612", total="63.96")  # 58.96 + 5.00
    discounted["lines"][0].update(unit_price="19.9875", discount="1.00")
    rows = _sent(workspace, plain, discounted)
    assert [rows[o]["warnings"] for o in ("ORD-611", "ORD-612")] == [[], []], rows
    assert _held_lines(workspace, "ORD-611") == [
        ("VA-SKU123", 1, Decimal("19.98"), Decimal("19.98")),
        ("FLX-SKU123", 2, Decimal("19.9875"), Decimal("39.98")),
    ]
    assert _held_lines(workspace, "ORD-612") == [
        ("VA-SKU123", 1, Decimal("19.65"), Decimal("19.65")),
        ("FLX-SKU123", 2, Decimal("19.655"), Decimal("39.31")),
    ]
    assert workspace.by_external_id("salesOrder", "ORD-611")["total"] == Decimal("64.96")
    assert workspace.by_external_id("salesOrder", "ORD-612")["total"] == Decimal("63.96")
    # The vendor is still paid its cost: the split moves no cent onto the PO.
    (po, _) = workspace.records("purchaseOrder")
    assert [(ln["quantity"], ln["rate"]) for ln in po["item"]["items"]] == [(2, Decimal("9"))]


def test_five_at_1_1111_less_0_04_from_two_warehouses_is_5_52(workspace: Workspace) -> None:
    """5 x 1.1111 = 5.5555, a 5.56 line, less 0.04: 5.52 (it was sent as 1.11 + 4.40)."""
    mugs = order("ORD-613", [line("L1", "SKU001", 5, "1.1111")],
                 [internal("FR-613-1", "MAIN", ("L1", "SKU001", 1, "0.50")),
                  internal("FR-613-2", "EAST", ("L1", "SKU001", 4, "0.50"))], total="10.52")
    mugs["lines"][0]["discount"] = "0.04"
    code, output = workspace.import_records(orders=[mugs])
    assert code == 0, output
    (preview,) = _render(workspace, "ORD-613")
    assert [(ln["quantity"], ln["rate"], ln["amount"])
            for ln in preview["body"]["item"]["items"]] == [(1, 1.1111, 1.11), (4, 1.102, 4.41)]
    assert "warnings" not in preview
    report = workspace.run("send-orders")
    assert report["exit_code"] == 0 and report["rows"][0]["warnings"] == [], report
    assert workspace.by_external_id("salesOrder", "ORD-613")["subtotal"] == Decimal("5.52")


# -- an order discount larger than the order ----------------------------------------------------


def test_an_order_discount_larger_than_the_lines_fails_the_order_with_the_field(
        workspace: Workspace) -> None:
    """discount_total 100.00 on 39.98 of lines made a Sales Order of -55.02 without a word."""
    workspace.profile["options"]["discount_item"] = "701"
    too_much = dropship_order("ORD-614", discount_total="100.00")
    code, output = workspace.import_records(orders=[too_much, internal_order("ORD-615")])
    assert code == 0, output
    report = workspace.run("send-orders")
    assert report["exit_code"] == 3, report
    row = workspace.rows(report)["ORD-614"]
    assert row["status"] == "failed" and row["error_class"] == "data", row
    assert row["message"] == (
        "order ORD-614: the order discount 100.00 (discount_total) is more than the order's "
        "lines 39.98 (net of their line discounts), so the Sales Order's subtotal would be "
        "negative (-60.02)")
    assert row["hint"].startswith("correct discount_total") and "import the order again" in (
        row["hint"])
    assert workspace.rows(report)["ORD-615"]["status"] == "sent"
    assert [so["externalId"] for so in workspace.records("salesOrder")] == ["ORD-615"]
    assert workspace.records("purchaseOrder") == []

    _assert_refused(workspace, "ORD-614", "$.discount_total",
                    "the order discount 100.00 (discount_total) is more than")


def test_an_order_discount_of_exactly_the_lines_is_sent(workspace: Workspace) -> None:
    workspace.profile["options"]["discount_item"] = "701"
    free = dropship_order("ORD-616", discount_total="39.98")
    rows = _sent(workspace, free)
    assert rows["ORD-616"]["status"] == "sent"
    assert workspace.by_external_id("salesOrder", "ORD-616")["total"] == Decimal("5.00")


# -- tax given only on the lines ----------------------------------------------------------------


def test_line_tax_counts_as_the_orders_tax_when_there_is_no_tax_total(
        workspace: Workspace) -> None:
    """Only lines[].tax (1.00 + 0.65): the channel's total 51.64 adds up with it, so the one
    warning says the tax was not sent (it used to be "differs ... by 1.65")."""
    taxed = internal_order("ORD-617", total="51.64")  # 44.99 + 5.00 + 1.65
    del taxed["tax_total"]
    taxed["lines"][0]["tax"], taxed["lines"][1]["tax"] = "1.00", "0.65"
    rows = _sent(workspace, taxed)
    assert rows["ORD-617"]["warnings"] == [
        "the lines' tax 1.65 (lines[].tax added up; the order has no tax_total) was not sent: "
        "NetSuite computes tax from the account's tax set-up (tax codes, nexus); compare the "
        "Sales Order total"]


def test_a_total_off_with_line_tax_only_names_the_lines_tax(workspace: Workspace) -> None:
    taxed = internal_order("ORD-618", total="52.64")  # 1.00 more than it comes to
    del taxed["tax_total"]
    taxed["lines"][0]["tax"], taxed["lines"][1]["tax"] = "1.00", "0.65"
    rows = _sent(workspace, taxed)
    assert rows["ORD-618"]["warnings"][1] == (
        "the channel's total 52.64 differs from the Sales Order's expected total 51.64 (lines "
        "44.99 net of line discounts - order discount 0.00 + shipping 5.00 + the lines' tax "
        "1.65, which NetSuite computes itself) by 1.00; check discounts, shipping and tax")


def test_tax_total_wins_over_the_lines_tax(workspace: Workspace) -> None:
    """A tax_total of 0 is the channel's word: the lines' tax is not added."""
    taxed = internal_order("ORD-619", total="49.99")  # tax_total "0"
    taxed["lines"][0]["tax"] = "1.00"
    rows = _sent(workspace, taxed)
    assert rows["ORD-619"]["warnings"] == []


def _assert_refused(ws: Workspace, order_id: str, path: str, words: str) -> None:
    """`flx errors` names the field at fault, and `flx render` refuses the order too."""
    code, output = ws.flx("errors", "--json")
    assert code == 0, output
    (error,) = [e for e in json_output(output)["errors"] if e["record_id"] == order_id]
    assert error["path"] == path
    code, output = ws.flx("render", "send-orders", "--connection", "ns", "--id", order_id)
    assert code != 0 and words in output
