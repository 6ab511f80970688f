"""`flx connections authorize`: a Playground token imported, the sandbox loopback flow with a
browser that follows Intuit's redirect, and the production paste-the-address flow."""

from __future__ import annotations

import socket
from typing import Any

import httpx
import pytest

from flx_quickbooks import authorize as authorize_module
from flx_quickbooks.emulator import DEMO_CLIENT_ID, DEMO_REALM, EmulatorTransport

from .conftest import Workspace, order


def test_import_a_refresh_token_then_send(unauthorized: Workspace) -> None:
    workspace = unauthorized
    token = workspace.emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM)
    code, output = workspace.flx("connections", "authorize", "qb", "--refresh-token", token)
    assert code == 0 and f"company {DEMO_REALM}" in output, output
    assert token not in output
    assert token not in workspace.emulator.oauth.refresh_tokens  # rotated: flx kept the new one
    workspace.import_records(orders=[order("7001", ("SKU001", 1, "9.95"))])
    assert workspace.run("send-orders")["by_id"]["ORD-7001"]["status"] == "sent"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_sandbox_loopback_flow(unauthorized: Workspace,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = unauthorized
    intuit = httpx.Client(transport=EmulatorTransport(workspace.emulator))

    def browser(url: str) -> bool:  # the user approves at Intuit; the browser follows back
        location = intuit.get(url).headers["location"]
        httpx.get(location.replace("localhost", "127.0.0.1"))
        return True

    monkeypatch.setattr(authorize_module.webbrowser, "open", browser)
    code, output = workspace.flx("connections", "authorize", "qb", "--port", str(free_port()))
    assert code == 0 and "authorized" in output, output
    workspace.import_records(orders=[order("7002", ("SKU001", 1, "9.95"))])
    assert workspace.run("send-orders")["by_id"]["ORD-7002"]["status"] == "sent"


def test_production_paste_flow_and_a_wrong_company(unauthorized: Workspace,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    workspace = unauthorized
    workspace.emulator.oauth.register_app("prod-id", "prod-secret", "production")
    workspace.credentials = ("prod-id", "prod-secret")
    workspace.settings.update(environment="production", redirect_uri="https://example.com/cb")
    monkeypatch.setattr(authorize_module, "new_state", lambda: "S1")
    intuit = httpx.Client(transport=EmulatorTransport(workspace.emulator))

    def landed(realm: str) -> str:
        answer: Any = intuit.get("https://appcenter.intuit.com/connect/oauth2", params={
            "client_id": "prod-id", "redirect_uri": "https://example.com/cb", "state": "S1",
            "realm_id": realm})
        return str(answer.headers["location"])

    code, output = workspace.flx("connections", "authorize", "qb", "--redirect-url",
                                 landed("55"))
    assert code != 0 and "realm_id = \"55\"" in output, output
    code, output = workspace.flx("connections", "authorize", "qb", "--redirect-url",
                                 landed(DEMO_REALM))
    assert code == 0, output
