"""A warning every taxed order gets ("the order's tax ... was not sent") is said once per run
in the table view, with the count and the records; --json keeps it on every row."""

from __future__ import annotations

from .conftest import Workspace
from .test_shipments_flow import make_order


def test_a_warning_shared_by_records_is_said_once_with_the_count(workspace: Workspace) -> None:
    ws = workspace
    orders = [make_order(f"ORD-95{n}", [("SKU001", 1)]) for n in range(4)]
    for n, order in enumerate(orders):
        order["tax_total"] = f"{n + 1}.00"
    code, output = ws.import_records(orders=orders)
    assert code == 0, output
    code, text = ws.flx("run", "send-orders", "--connection", "ns", "--dry-run")
    said = " ".join(text.split())
    assert said.count("was not sent") == 1, text
    assert "warning (4 records: ORD-950, ORD-951, ORD-952, ...), for example ORD-950: " \
           "the order's tax 1.00 was not sent" in said

    report = ws.run("send-orders", "--dry-run")
    assert all(any("was not sent" in w for w in row["warnings"]) for row in report["rows"])


def test_a_warning_of_one_record_stays_in_its_row(workspace: Workspace) -> None:
    ws = workspace
    order = make_order("ORD-9600", [("SKU001", 1)])
    order["tax_total"] = "3.00"
    other = make_order("ORD-9601", [("SKU001", 1)])
    ws.import_records(orders=[order, other])
    code, text = ws.flx("run", "send-orders", "--connection", "ns", "--dry-run")
    said = " ".join(text.split())
    assert said.count("warning:") == 1 and "tax 3.00" in said and "records:" not in said
