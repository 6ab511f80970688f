"""A synchronous httpx transport that answers from the emulator in-process. Requests from many
threads run side by side (the emulator locks its own state), so in-flight limits and latency
behave as over a socket; an injected drop surfaces as the httpx exception a real one raises."""

from __future__ import annotations

import httpx

from .faults import ConnectionDropped
from .state import Emulator


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        headers = {k: v for k, v in request.headers.items()}
        headers["host"] = request.url.host
        query = {k: v for k, v in request.url.params.items()}
        try:
            reply = self.emulator.handle(request.method, request.url.path, query, headers, body)
        except ConnectionDropped as dropped:
            if dropped.kind == "drop_before":
                raise httpx.ConnectError("connection refused (emulator fault injection)",
                                         request=request) from None
            if dropped.kind == "timeout":
                raise httpx.ReadTimeout("no answer within the read timeout (emulator fault "
                                        "injection)", request=request) from None
            raise httpx.RemoteProtocolError("peer closed connection without sending a "
                                            "response (emulator fault injection)",
                                            request=request) from None
        return httpx.Response(reply.status, headers=reply.headers, content=reply.body,
                              request=request)
