"""The HTTP face of the Flxpoint emulator (Starlette): the read endpoints flx uses, the
accounting write-backs, and the guard in front of them (X-API-TOKEN and its type, the per-token
rate limit, injected faults). Choices made where Flxpoint's documentation is silent are listed
in docs/flxpoint.md, "The emulator"."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .queries import (
    BadQuery,
    filter_frs,
    filter_invoices,
    filter_orders,
    filter_shipments,
    page_of,
)
from .state import ACCOUNT, CHANNEL, SOURCE, Emulator

Handler = Callable[[Request], Awaitable[Response]]
TYPE_NAMES = {ACCOUNT: "Account", SOURCE: "Source", CHANNEL: "Channel"}


def error(status: int, message: str, headers: dict[str, str] | None = None) -> Response:
    # Flxpoint documents no error body; the client must not rely on this shape.
    return JSONResponse({"message": message}, status, headers=headers)


def guarded(*allowed: str) -> Callable[[Handler], Handler]:
    """Token check (401 names the token type the endpoint needs), rate limit, faults."""

    def wrap(handler: Handler) -> Handler:
        async def endpoint(request: Request) -> Response:
            emu: Emulator = request.app.state.emulator
            response = _guard(emu, request, allowed)
            if response is None:
                try:
                    response = await handler(request)
                except BadQuery as bad:
                    response = error(400, str(bad))
            emu.count(response.status_code)
            return response
        return endpoint
    return wrap


def _guard(emu: Emulator, request: Request, allowed: tuple[str, ...]) -> Response | None:
    token = request.headers.get("x-api-token")
    if not token:
        if request.headers.get("authorization", "").lower().startswith("bearer"):
            return error(401, "Send the token in the X-API-TOKEN header, not as a Bearer token.")
        return error(401, "Missing X-API-TOKEN header.")
    info = emu.tokens.get(token)
    if info is None:
        return error(401, "Invalid API token.")
    if not emu.meter.admit(token):
        request.app.state.limited += 1
        # Flxpoint does not document Retry-After; every other 429 carries it, so clients
        # are tested on both paths.
        headers = {"Retry-After": "1"} if request.app.state.limited % 2 else None
        return error(429, "Rate limit exceeded: 2 requests per second per token.", headers)
    if info["type"] not in allowed:
        needed = " or ".join(TYPE_NAMES[t] for t in allowed)
        return error(401, f"This endpoint needs an {needed} token; a "
                          f"{TYPE_NAMES[info['type']]} token was sent.")
    request.state.token = info
    fault = emu.take_fault(request.url.path)
    if fault is not None:
        status, retry_after = fault
        return error(status, "Injected by the emulator.",
                     {"Retry-After": "1"} if retry_after else None)
    return None


def _emu(request: Request) -> Emulator:
    emulator: Emulator = request.app.state.emulator
    return emulator


def _id(request: Request, name: str = "id") -> int:
    try:
        return int(request.path_params[name])
    except ValueError:
        raise BadQuery(f"{name} must be an integer") from None


def _scope_source(request: Request) -> int | None:
    token = request.state.token
    return int(token["sourceId"]) if token["type"] == SOURCE else None


def _scope_channel(request: Request) -> int | None:
    token = request.state.token
    return int(token["channelId"]) if token["type"] == CHANNEL else None


def _served(request: Request, rows: list[dict[str, Any]]) -> Response:
    emu = _emu(request)
    page, number = page_of(rows, request.query_params, emu.max_page_size)
    for hook in list(emu.after_page):
        hook(request.url.path, number, page)
    return JSONResponse(page)


# --- account, channels, sources ----------------------------------------------------------------


@guarded(ACCOUNT)
async def get_account(request: Request) -> Response:
    return JSONResponse(_emu(request).account)


@guarded(ACCOUNT)
async def list_channels(request: Request) -> Response:
    return JSONResponse(list(_emu(request).channels.values()))


@guarded(ACCOUNT, CHANNEL)
async def get_channel(request: Request) -> Response:
    channel_id, own = _id(request), _scope_channel(request)
    channel = _emu(request).channels.get(channel_id)
    if channel is None or own not in (None, channel_id):
        return error(404, "Channel not found.")
    return JSONResponse(channel)


@guarded(ACCOUNT)
async def list_sources(request: Request) -> Response:
    rows = list(_emu(request).sources.values())
    wanted = request.query_params.getlist("filterByIds")
    if wanted:
        ids = {int(x) for value in wanted for x in value.split(",") if x.strip()}
        rows = [s for s in rows if s["id"] in ids]
    return JSONResponse(rows)


@guarded(ACCOUNT, SOURCE)
async def get_source(request: Request) -> Response:
    source_id, own = _id(request), _scope_source(request)
    source = _emu(request).sources.get(source_id)
    if source is None or own not in (None, source_id):
        return error(404, "Source not found.")
    return JSONResponse(source)


# --- orders and fulfillment requests -------------------------------------------------------------


@guarded(ACCOUNT, CHANNEL)
async def list_orders(request: Request) -> Response:
    emu = _emu(request)
    with emu.lock:
        ids = filter_orders(emu, request.query_params, _scope_channel(request))
        rows = [view for i in ids if (view := emu.order_view(i)) is not None]
    return _served(request, rows)


@guarded(ACCOUNT, CHANNEL)
async def get_order(request: Request) -> Response:
    emu, order_id = _emu(request), _id(request)
    view = emu.order_view(order_id)
    own = _scope_channel(request)
    if view is None or own not in (None, view.get("importedFrom")):
        return error(404, "Order not found.")
    return JSONResponse(view)


@guarded(ACCOUNT, SOURCE)
async def list_frs(request: Request) -> Response:
    emu = _emu(request)
    with emu.lock:
        rows = filter_frs(emu, request.query_params, _scope_source(request))
    return _served(request, rows)


@guarded(ACCOUNT, SOURCE)
async def count_frs(request: Request) -> Response:
    emu = _emu(request)
    with emu.lock:
        rows = filter_frs(emu, request.query_params, _scope_source(request))
    return JSONResponse(len(rows))


# --- shipments and source invoices -----------------------------------------------------------


@guarded(ACCOUNT, SOURCE, CHANNEL)
async def list_shipments(request: Request) -> Response:
    emu = _emu(request)
    with emu.lock:
        rows = filter_shipments(emu, request.query_params, _scope_source(request),
                                _scope_channel(request))
    return _served(request, rows)


@guarded(ACCOUNT, SOURCE, CHANNEL)
async def get_shipment(request: Request) -> Response:
    shipment = _emu(request).shipments.get(_id(request))
    if shipment is None:
        return error(404, "Shipment not found.")
    return JSONResponse(shipment)


@guarded(ACCOUNT, SOURCE)
async def list_invoices(request: Request) -> Response:
    emu = _emu(request)
    with emu.lock:
        rows = filter_invoices(emu, request.query_params, _scope_source(request))
    return _served(request, rows)


@guarded(ACCOUNT, SOURCE)
async def get_invoice(request: Request) -> Response:
    invoice = _emu(request).invoices.get(_id(request))
    own = _scope_source(request)
    if invoice is None or own not in (None, invoice["sourceId"]):
        return error(404, "Source invoice not found.")
    return JSONResponse(invoice)


# --- accounting write-back -------------------------------------------------------------------

WRITABLE = {
    "order": ("accountingSynced", "externalAccountingId", "accountingSyncError"),
    "fr": ("accountingSynced", "externalAccountingId", "accountingError"),
    "invoice": ("accountingSynced", "externalAccountingId", "accountingSyncError", "status"),
}


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise BadQuery("the body is not JSON") from None
    if not isinstance(body, dict):
        raise BadQuery("the body must be a JSON object")
    return body


def _write_back(emu: Emulator, kind: str, record: dict[str, Any] | None, record_id: int,
                body: dict[str, Any]) -> Response:
    if record is None:
        return error(404, f"{kind} {record_id} not found.")
    unknown = sorted(set(body) - set(WRITABLE[kind]) - {"items"})
    if unknown:
        raise BadQuery(f"unknown field(s): {', '.join(unknown)}")
    with emu.lock:
        # Non-null fields only, as Flxpoint documents for its PATCH endpoints.
        record.update({k: v for k, v in body.items() if k != "items" and v is not None})
        record["updatedAt"] = emu.now()
        emu.writebacks.append((kind, record_id, body))
    return Response(status_code=204)


@guarded(ACCOUNT)
async def order_accounting(request: Request) -> Response:
    emu, order_id = _emu(request), _id(request)
    return _write_back(emu, "order", emu.orders.get(order_id), order_id, await _body(request))


@guarded(ACCOUNT)
async def fr_accounting(request: Request) -> Response:
    emu, fr_id = _emu(request), _id(request)
    return _write_back(emu, "fr", emu.frs.get(fr_id), fr_id, await _body(request))


@guarded(ACCOUNT, SOURCE)
async def patch_invoice(request: Request) -> Response:
    emu, invoice_id = _emu(request), _id(request)
    return _write_back(emu, "invoice", emu.invoices.get(invoice_id), invoice_id,
                       await _body(request))


async def stats(request: Request) -> Response:
    return JSONResponse(_emu(request).stats())


def create_app(emulator: Emulator) -> Starlette:
    routes = [
        Route("/account", get_account),
        Route("/channel/", list_channels), Route("/channel", list_channels),
        Route("/channel/{id}", get_channel),
        Route("/sources", list_sources), Route("/source/{id}", get_source),
        Route("/orders", list_orders), Route("/orders/{id}", get_order),
        Route("/orders/{id}/accounting-sync", order_accounting, methods=["PATCH"]),
        Route("/fulfillment-requests", list_frs),
        Route("/fulfillment-requests/count", count_frs),
        Route("/fulfillment-requests/{id}/accounting-sync", fr_accounting, methods=["PATCH"]),
        Route("/shipments", list_shipments), Route("/shipments/{id}", get_shipment),
        Route("/source-invoices", list_invoices),
        Route("/source-invoices/{id}", get_invoice),
        Route("/source-invoices/{id}", patch_invoice, methods=["PATCH"]),
        Route("/_emulator/stats", stats),
    ]
    app = Starlette(routes=routes)
    app.state.emulator = emulator
    app.state.limited = 0
    return app
