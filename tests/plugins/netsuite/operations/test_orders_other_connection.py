"""Two connections to one NetSuite account sending the same order at once: the one that
finds the Sales Order already made says another connection made it, not "an earlier
attempt" (this store never tried it before)."""

from __future__ import annotations

import json
from typing import Any

import httpx

from flx_netsuite.auth import TokenAuth
from flx_netsuite.connection import NetSuiteSettings
from flx_netsuite.emulator import EmulatorTransport
from tests.plugins.netsuite.operations.conftest import Workspace

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"


class OtherConnectionFirst(httpx.BaseTransport):
    """Just before this flx POSTs the Sales Order of `order_id`, another connection to the
    same account (its own signed client) POSTs the same one."""

    def __init__(self, workspace: Workspace, order_id: str) -> None:
        self.inner = EmulatorTransport(workspace.emulator)
        env = workspace.emulator.credential_env()
        settings = NetSuiteSettings.from_mapping({
            "account_id": "1234567_SB1", "client_id": env["NS_CLIENT_ID"],
            "client_secret": env["NS_CLIENT_SECRET"], "token_id": env["NS_TOKEN_ID"],
            "token_secret": env["NS_TOKEN_SECRET"]})
        self.other = httpx.Client(transport=self.inner, base_url=BASE,
                                  auth=TokenAuth.from_settings(settings))
        self.order_id = order_id
        self.raced = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if (not self.raced and request.method == "POST"
                and request.url.path.endswith("/record/v1/salesOrder")):
            body: dict[str, Any] = json.loads(request.read())
            if body.get("externalId") == self.order_id:
                self.raced = True
                answer = self.other.post("/services/rest/record/v1/salesOrder", json=body)
                assert answer.status_code == 204, answer.text
        return self.inner.handle_request(request)


def test_a_sales_order_made_meanwhile_by_another_connection_is_said_so(
        workspace: Workspace, data: dict[str, Any]) -> None:
    code, output = workspace.import_records(orders=data["orders"][:3])
    assert code == 0, output
    racing = OtherConnectionFirst(workspace, "ORD-1002")
    report = workspace.run("send-orders", transport=racing)
    assert racing.raced
    row = workspace.rows(report)["ORD-1002"]
    assert row["status"] == "linked", row
    assert "created meanwhile by another connection to this NetSuite account" in row["message"]
    assert "earlier attempt" not in row["message"]
    assert len([so for so in workspace.records("salesOrder")
                if so.get("externalId") == "ORD-1002"]) == 1
    # The neighbours were this connection's own.
    assert {workspace.rows(report)[r]["status"] for r in ("ORD-1001", "ORD-1003")} == {"sent"}
