"""A signed client for the emulator tests. Signing uses oauthlib, not flx's own code, so the
emulator's verification is checked against an independent implementation."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import httpx
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, Client

from flx_netsuite.emulator import Emulator, EmulatorTransport

BASE = "https://1234567-sb1.suitetalk.api.netsuite.com"
REC = "/services/rest/record/v1"
__all__ = ["BASE", "REC", "NS", "Signer", "SIGNATURE_HMAC_SHA1", "SIGNATURE_HMAC_SHA256"]


class Signer(httpx.Auth):
    """OAuth 1.0a TBA header from oauthlib; keyword overrides produce broken variants."""

    def __init__(self, emulator: Emulator, *, realm: str | None = None,
                 method: str = SIGNATURE_HMAC_SHA256, **overrides: Any) -> None:
        creds = emulator.credentials
        self.kwargs = {"client_key": creds.consumer_key, "client_secret": creds.consumer_secret,
                       "resource_owner_key": creds.token_id,
                       "resource_owner_secret": creds.token_secret,
                       "signature_method": method, "realm": realm or creds.account}
        self.kwargs.update(overrides)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        _, headers, _ = Client(**self.kwargs).sign(str(request.url), http_method=request.method)
        request.headers["Authorization"] = headers["Authorization"]
        yield request


class NS:
    """Thin helpers over a signed httpx.Client talking to the emulator in-process."""

    def __init__(self, emulator: Emulator, base: str = BASE,
                 transport: httpx.BaseTransport | None = None, **signer: Any) -> None:
        self.emu = emulator
        self.transport = transport or EmulatorTransport(emulator)
        self.http = httpx.Client(base_url=base, transport=self.transport,
                                 auth=Signer(emulator, **signer), timeout=30)

    def close(self) -> None:
        self.http.close()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        return self.http.request(method, path if path.startswith("/") else f"{REC}/{path}",
                                 **kwargs)

    def post(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("POST", path, json=body, **kwargs)

    def patch(self, path: str, body: Any, **kwargs: Any) -> httpx.Response:
        return self.request("PATCH", path, json=body, **kwargs)

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", path, **kwargs)

    def create(self, path: str, body: Any, **kwargs: Any) -> str:
        response = self.post(path, body, **kwargs)
        assert response.status_code == 204, response.text
        return response.headers["location"].rsplit("/", 1)[1]

    def read(self, record_type: str, record_id: str) -> dict[str, Any]:
        response = self.get(f"{record_type}/{record_id}", params={"expandSubResources": "true"})
        assert response.status_code == 200, response.text
        data: dict[str, Any] = response.json()
        return data

    def suiteql(self, query: str, **params: Any) -> httpx.Response:
        return self.request("POST", "/services/rest/query/v1/suiteql", json={"q": query},
                            params=params, headers={"Prefer": "transient"})


def error(response: httpx.Response) -> dict[str, Any]:
    """The first o:errorDetails entry of a NetSuite error answer."""
    body = response.json()
    assert response.headers["content-type"].startswith("application/vnd.oracle.resource+json")
    detail: dict[str, Any] = body["o:errorDetails"][0]
    return detail


def sales_order(*lines: dict[str, Any], **header: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"entity": {"id": "107"}, "item": {"items": list(lines)}}
    body.update(header)
    return body
