"""The emulator as an ASGI app (for `uvicorn` and `run_server`): every route goes to
Emulator.handle in a worker thread. An injected drop starts an answer that promises a body and
then closes the connection, so a client over a real socket meets what a connection dying
mid-answer gives it (not a tidy HTTP 500)."""

from __future__ import annotations

import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from .faults import ConnectionDropped
from .state import Emulator


class HideInjectedDrops(logging.Filter):
    """uvicorn logs the traceback of each dropped answer; an injected one is no news."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], ConnectionDropped))


def create_app(emulator: Emulator) -> ASGIApp:
    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        request = Request(scope, receive)
        try:
            body = await request.body()
        except ClientDisconnect:  # the client gave up (or was killed) before sending it all
            return
        headers = dict(request.headers)
        headers["host"] = request.url.hostname or ""
        try:
            reply = await run_in_threadpool(emulator.handle, request.method, request.url.path,
                                            dict(request.query_params), headers, body)
        except ConnectionDropped:
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json"),
                                    (b"content-length", b"4096")]})
            await send({"type": "http.response.body", "body": b'{"', "more_body": True})
            raise
        await send({"type": "http.response.start", "status": reply.status,
                    "headers": [(k.lower().encode(), v.encode())
                                for k, v in reply.headers.items()]
                    + [(b"content-length", str(len(reply.body)).encode())]})
        await send({"type": "http.response.body", "body": reply.body})

    return app
