"""A synchronous httpx transport that runs the emulator's ASGI app in-process.

flx calls NetSuite from worker threads with `httpx.Client`, so this transport is sync. All
requests are handed to one private event loop running in a daemon thread: requests from many
threads are in flight together there, so the concurrency limit and latency behave as they would
over a socket. A dropped connection surfaces as the httpx exception a real network fault
raises, never as an HTTP status."""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import MutableMapping
from typing import Any

import httpx

from .app import create_app
from .faults import DROP_BEFORE, ConnectionDropped
from .state import Emulator

logger = logging.getLogger(__name__)


class EmulatorTransport(httpx.BaseTransport):
    def __init__(self, emulator: Emulator) -> None:
        self.emulator = emulator
        self.app = create_app(emulator)
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever,
                                        name="flx-netsuite-emulator", daemon=True)
        self._thread.start()
        self._closed = False

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise httpx.ConnectError("the emulator transport is closed", request=request)
        body = request.read()
        future = asyncio.run_coroutine_threadsafe(self._call(request, body), self._loop)
        timeout = (request.extensions.get("timeout") or {}).get("read")
        try:
            status, headers, content = future.result(timeout=timeout)
        except ConnectionDropped as dropped:
            raise _network_error(dropped, request) from None
        except concurrent.futures.TimeoutError:
            # Like a real server, the emulator goes on and may still apply the write.
            raise httpx.ReadTimeout("the emulator did not answer within the read timeout",
                                    request=request) from None
        return httpx.Response(status, headers=headers, content=content, request=request)

    async def _call(self, request: httpx.Request,
                    body: bytes) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        url = request.url
        port = url.port or (443 if url.scheme == "https" else 80)
        scope: dict[str, Any] = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
            "method": request.method, "scheme": url.scheme, "path": url.path,
            "raw_path": url.raw_path.split(b"?", 1)[0], "query_string": url.query,
            "root_path": "", "headers": [(k.lower(), v) for k, v in request.headers.raw],
            "client": ("127.0.0.1", 50000), "server": (url.host, port),
        }
        sent = False

        async def receive() -> dict[str, Any]:
            nonlocal sent
            if sent:
                await asyncio.Event().wait()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        status = 500
        headers: list[tuple[bytes, bytes]] = []
        chunks: list[bytes] = []

        async def send(message: MutableMapping[str, Any]) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))

        try:
            await self.app(scope, receive, send)
        except ConnectionDropped:
            raise
        except Exception:
            # An emulator bug: answer like a server would (Starlette has sent its 500).
            logger.exception("the NetSuite emulator failed on %s %s", request.method, url.path)
            if not headers:
                raise
        return status, headers, b"".join(chunks)

    def close(self) -> None:
        """Let requests still in flight finish (bounded), then stop the loop thread."""
        if self._closed:
            return
        self._closed = True

        async def drain() -> None:
            pending = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            if pending:
                await asyncio.wait(pending, timeout=10)

        try:
            asyncio.run_coroutine_threadsafe(drain(), self._loop).result(timeout=15)
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
            if not self._thread.is_alive():
                self._loop.close()


def _network_error(dropped: ConnectionDropped, request: httpx.Request) -> httpx.TransportError:
    fault = dropped.fault
    if fault.kind == DROP_BEFORE:
        # Either the connection never came up, or it died before the request was read.
        if fault.variant == 0:
            return httpx.ConnectError("connection refused (emulator fault injection)",
                                      request=request)
        return httpx.ReadError("connection reset by peer before the request was processed "
                               "(emulator fault injection)", request=request)
    if fault.variant == 0:
        return httpx.ReadError("connection reset by peer (emulator fault injection)",
                               request=request)
    return httpx.RemoteProtocolError("peer closed connection without sending complete "
                                     "message body (emulator fault injection)",
                                     request=request)
