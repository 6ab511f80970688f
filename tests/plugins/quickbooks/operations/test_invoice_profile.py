"""The shipped example profile invoice-b2b: an Invoice per order, items by name, numbers
prefixed, the sales channel in custom field 1."""

from __future__ import annotations

import json
from importlib import resources

from .conftest import Workspace, order


def test_invoice_b2b_profile(workspace: Workspace) -> None:
    workspace.profile = json.loads(resources.files("flx_quickbooks.mappings")
                                   .joinpath("invoice-b2b.json").read_text())
    workspace.import_records(orders=[order("1001", ("Small gadget", 2, "9.95"),
                                           channel="wholesale")])
    row = workspace.run("send-orders")["by_id"]["ORD-1001"]
    assert row["status"] == "sent", row
    [invoice] = workspace.objects("Invoice")
    assert invoice["DocNumber"] == "WEB-1001" and not workspace.objects("SalesReceipt")
    assert invoice["CustomField"] == [{"DefinitionId": "1", "Type": "StringType",
                                       "StringValue": "wholesale"}]
    assert invoice["Balance"] == invoice["TotalAmt"]
