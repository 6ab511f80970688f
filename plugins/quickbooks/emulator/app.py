"""The emulator as an ASGI app (for `uvicorn` and `run_server`): every route goes to
Emulator.handle in a worker thread; an injected drop closes the connection unanswered."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .state import Emulator


def create_app(emulator: Emulator) -> Starlette:
    async def endpoint(request: Request) -> Response:
        body = await request.body()
        headers = dict(request.headers)
        headers["host"] = request.url.hostname or ""
        reply = await run_in_threadpool(emulator.handle, request.method, request.url.path,
                                        dict(request.query_params), headers, body)
        return Response(reply.body, reply.status, headers=reply.headers)

    return Starlette(routes=[Route("/{path:path}", endpoint, methods=["GET", "POST"])])
