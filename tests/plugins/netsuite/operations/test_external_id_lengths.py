"""External ids at NetSuite's length limit, through `flx run`: an id that encodes to exactly
200 characters is sent as it is; one character more is shortened to a pinned, stable form
(a change of that form would make flx lose track of every long-id order it ever sent)."""

from __future__ import annotations

import copy
from typing import Any

from flx_netsuite.ids import MAX_LENGTH
from tests.plugins.netsuite.operations.conftest import Workspace

AT_LIMIT = "1" * 200
OVER_LIMIT = "1" * 201
OVER_LIMIT_EID = ("1" * 166) + "_YAEC87191F746B1F4E160F63C2E2376A8"


def with_id(data: dict[str, Any], order_id: str, number: str) -> dict[str, Any]:
    order = copy.deepcopy(data["orders"][1])
    order["id"], order["number"] = order_id, number
    for fr in order["fulfillment_requests"]:
        fr["id"] = fr["id"].replace("ORD-1002", number)
    return order


def test_external_ids_at_and_over_the_limit(workspace: Workspace, data: dict[str, Any]) -> None:
    assert MAX_LENGTH == 200 and len(OVER_LIMIT_EID) == 200
    orders = [with_id(data, AT_LIMIT, "88001"), with_id(data, OVER_LIMIT, "88002")]
    rows = workspace.import_and_run("send-orders", 0, orders=orders)
    assert {rid: row["status"] for rid, row in rows.items()} == {AT_LIMIT: "sent",
                                                                 OVER_LIMIT: "sent"}
    assert workspace.by_external_id("salesOrder", AT_LIMIT)["otherRefNum"] == "88001"
    assert workspace.by_external_id("salesOrder", OVER_LIMIT_EID)["otherRefNum"] == "88002"
    # Sent again (forced): found by the same external ids, never created a second time.
    for rid in (AT_LIMIT, OVER_LIMIT):
        workspace.run("send-orders", "--only", rid, "--force")
    assert len(workspace.records("salesOrder")) == 2
