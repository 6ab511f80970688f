"""The layer in front of /services: the account's concurrency limit (429), latency inside
the in-flight window, and seeded faults (5xx, connections dropped before or after a write)."""

from __future__ import annotations

import asyncio
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .errors import ERROR_CONTENT_TYPE, NsError, concurrency_exceeded
from .faults import DROP_AFTER, DROP_BEFORE, ERROR_5XX, ConnectionDropped, Fault
from .state import Emulator
from .views import dumps

SUITEQL_PATH = "/services/rest/query/v1/suiteql"
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def _is_write(method: str, path: str) -> bool:
    return method in WRITES and path.rstrip("/") != SUITEQL_PATH


class Governance:
    """Concurrency limit (429), latency inside the in-flight window, and seeded faults."""

    def __init__(self, app: ASGIApp, emulator: Emulator) -> None:
        self.app = app
        self.emu = emulator

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/services/"):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        replay = _replayer(body)
        entered = time.monotonic()
        if not self.emu.enter_flight():
            await _send_error(send, concurrency_exceeded())
            self.emu.count("429 (concurrency)", 429)
            return
        try:
            target = scope["path"] + "?" + scope.get("query_string", b"").decode("latin-1")
            fault = self.emu.faults.decide(scope["method"], target, body,
                                           _is_write(scope["method"], scope["path"]))
            if fault is not None and fault.kind == ERROR_5XX:
                status = (500, 503)[fault.variant]
                code = ("UNEXPECTED_ERROR", "SERVICE_UNAVAILABLE")[fault.variant]
                await _send_error(send, NsError(status, code, "An unexpected error occurred "
                                                "(injected by the emulator's fault plan)."))
                self.emu.count(f"{status} (injected)", status)
                return
            if fault is not None and fault.kind == DROP_BEFORE:
                await _abort(send, fault)
            if fault is not None and fault.kind == DROP_AFTER:
                await self.app(scope, replay, _swallow)  # the write happens; its answer is lost
                await self._answer_time(entered)
                await _abort(send, fault)
            if not self.emu.latency:
                await self.app(scope, replay, send)
                return
            answer: list[Message] = []
            await self.app(scope, replay, _keep(answer))
            await self._answer_time(entered)
            for message in answer:
                await send(message)
        finally:
            self.emu.leave_flight()

    async def _answer_time(self, entered: float) -> None:
        """A request takes `latency` seconds in all, NetSuite's own work included: the
        emulator's processing happens inside that time, and only adds to it when slower."""
        left = self.emu.latency - (time.monotonic() - entered)
        if left > 0:
            await asyncio.sleep(left)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replayer(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # like a client that keeps the connection open
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}
    return receive


async def _swallow(message: Message) -> None:
    return None


def _keep(messages: list[Message]) -> Send:
    async def send(message: Message) -> None:
        messages.append(message)
    return send


async def _send_error(send: Send, err: NsError) -> None:
    await send({"type": "http.response.start", "status": err.status,
                "headers": [(b"content-type", ERROR_CONTENT_TYPE.encode())]})
    await send({"type": "http.response.body", "body": dumps(err.body())})


async def _abort(send: Send, fault: Fault) -> None:
    """Start an answer that promises more bytes than it delivers, then kill the connection."""
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", b"4096")]})
    await send({"type": "http.response.body", "body": b'{"', "more_body": True})
    raise ConnectionDropped(fault)
