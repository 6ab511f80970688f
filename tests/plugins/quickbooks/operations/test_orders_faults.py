"""Never a duplicate: a run killed after QuickBooks applied a write, lost answers with and
without requestid replay, and a document number already taken."""

from __future__ import annotations

import httpx
import pytest

from flx_quickbooks.emulator import EmulatorTransport

from .conftest import Workspace, dropship, order


class Killed(BaseException):
    """Not an Exception: no handler of flx catches it, as none runs when a process is killed."""


class KillAfter(httpx.BaseTransport):
    """Forwards requests; once a POST whose path contains `path` is applied, the process
    'dies'."""

    def __init__(self, inner: httpx.BaseTransport, path: str) -> None:
        self.inner, self.path, self.fired = inner, path, False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if not self.fired and request.method == "POST" and self.path in request.url.path:
            self.fired = True
            raise Killed
        return response


def two_vendor_order() -> dict:
    frs = [dropship("FR-9-A", "V-A", ("L1", "FLX-SKU123", 1, "9.00")),
           dropship("FR-9-B", "V-B", ("L2", "VB-SKU500", 1, "12.00"))]
    return order("9", ("FLX-SKU123", 1, "19.99"), ("VB-SKU500", 1, "29.00"), frs=frs)


@pytest.mark.parametrize("killed_at", ["/salesreceipt", "/purchaseorder"])
def test_a_run_killed_after_a_write_never_writes_it_twice(workspace: Workspace,
                                                         killed_at: str) -> None:
    # Neither requestid replay nor the duplicate-number check: only flx's own look-ups count.
    workspace.emulator.behaviour.requestid = "ignore"
    workspace.emulator.behaviour.doc_numbers = "off"
    workspace.import_records(orders=[two_vendor_order()])
    kill = KillAfter(EmulatorTransport(workspace.emulator), killed_at)
    with pytest.raises(Killed):
        workspace.flx("run", "send-orders", "--connection", "qb", transport=kill)
    for _ in range(3):
        report = workspace.run("send-orders")
        if report["by_id"].get("ORD-9", {}).get("status") == "sent":
            break
        workspace.flx("retry", "--all")
    assert report["by_id"]["ORD-9"]["status"] == "sent", report
    assert len(workspace.objects("SalesReceipt")) == 1
    assert len(workspace.objects("PurchaseOrder")) == 2


@pytest.mark.parametrize("requestid", ["replay", "ignore"])
def test_lost_answers_create_nothing_twice(workspace: Workspace, requestid: str) -> None:
    workspace.emulator.behaviour.requestid = requestid
    faults = workspace.emulator.faults
    faults.inject("drop_after", path_contains="/salesreceipt")
    faults.inject("timeout", path_contains="/purchaseorder")
    faults.inject("drop_after", path_contains="/customer")
    workspace.import_records(orders=[two_vendor_order()])
    report = workspace.run("send-orders")
    assert report["by_id"]["ORD-9"]["status"] == "sent", report
    assert len(workspace.objects("SalesReceipt")) == 1
    assert len(workspace.objects("PurchaseOrder")) == 2
    assert len(workspace.objects("Customer")) == 1


def test_a_number_taken_by_another_document_is_refused_with_names(workspace: Workspace) -> None:
    books = workspace.emulator.company(next(iter(workspace.emulator.companies)))
    other = books.seed("Customer", {"DisplayName": "Someone Else"})
    books.seed("Invoice", {"CustomerRef": {"value": other["Id"]}, "DocNumber": "77",
                           "Line": [{"DetailType": "DescriptionOnly", "Description": "x"}]})
    workspace.import_records(orders=[order("77", ("SKU001", 1, "9.95"))])
    row = workspace.run("send-orders")["by_id"]["ORD-77"]
    assert row["status"] == "failed" and row["error_class"] == "duplicate", row
    assert "77" in row["message"] and "Invoice" in row["message"]
    assert not workspace.objects("SalesReceipt")


def test_dry_run_sends_nothing_and_shows_the_payloads(workspace: Workspace) -> None:
    workspace.import_records(orders=[two_vendor_order()])
    report = workspace.run("send-orders", "--dry-run")
    row = report["by_id"]["ORD-9"]
    assert row["status"] == "dry_run" and not workspace.emulator.writes()
    code, output = workspace.flx("render", "send-orders", "--id", "ORD-9",
                                  "--connection", "qb")
    assert code == 0 and "PurchaseOrder" in output and "FR-9-B" in output, output


def test_a_matching_sale_made_by_hand_is_linked_not_doubled(workspace: Workspace) -> None:
    books = workspace.emulator.company(next(iter(workspace.emulator.companies)))
    jane = books.seed("Customer", {"DisplayName": "Jane Doe",
                                   "PrimaryEmailAddr": {"Address": "jane@example.com"}})
    item = next(i for i in books.objects["Item"].values() if i.get("Sku") == "SKU001")
    line = {"DetailType": "SalesItemLineDetail", "Amount": "19.90",
            "SalesItemLineDetail": {"ItemRef": {"value": item["Id"]}, "Qty": 2,
                                    "UnitPrice": "9.95"}}
    books.seed("SalesReceipt", {"CustomerRef": {"value": jane["Id"]}, "DocNumber": "555",
                                "Line": [line]})
    workspace.import_records(orders=[order("555", ("SKU001", 2, "9.95"), shipping="5.00")])
    row = workspace.run("send-orders")["by_id"]["ORD-555"]
    assert row["status"] == "failed" and row["error_class"] == "duplicate", row  # 24.90 here
    assert "24.90" in row["message"] and "19.90" in row["message"]
    workspace.import_records(orders=[order("555", ("SKU001", 2, "9.95"), shipping="0")])
    workspace.flx("retry", "--all")
    row = workspace.run("send-orders")["by_id"]["ORD-555"]
    assert row["status"] == "linked", row
    assert len(workspace.objects("SalesReceipt")) == 1
