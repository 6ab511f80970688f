"""The Flxpoint emulator for the soak and the bench: an account of many orders (copies of the
demo account's orders, each with its fulfillment requests, shipments and invoices) served in a
process of its own, with "chaos" the parent switches on: injected 429s and 5xx mid-read, and
records that change or appear while a list is being read (after a page is served).

Its own process, as bench/harness.py's NetSuite emulator: a SIGKILLed `flx pull` must not take
the account down, and the emulator's CPU is not flx's. `/_bench/state` (not rate limited, not
counted) reports what chaos did and the account's final contents for the checks."""

from __future__ import annotations

import copy
import random
from typing import Any

import httpx

from bench.harness import SPAWN, await_answer, end_process, loopback_socket

# Ids (and fields naming them) that are renumbered in a copy; source, channel and account ids
# are shared by every copy.
RENUMBERED = {"id", "orderId", "fulfillmentRequestId", "purchaseOrderId", "orderItemId",
              "fulfillmentRequestItemId", "purchaseOrderItemId", "invoiceId", "shipmentId"}
CHAOS_EVERY = {"429": 5, "5xx": 7, "order_change": 6, "shipment_change": 4, "new_order": 9}


def _renumber(value: Any, copy_no: int) -> Any:
    if isinstance(value, dict):
        return {k: (v * 10_000 + copy_no if k in RENUMBERED and isinstance(v, int)
                    else _renumber(v, copy_no)) for k, v in value.items()}
    if isinstance(value, list):
        return [_renumber(v, copy_no) for v in value]
    return value


def copy_of_demo(template: dict[str, Any], copy_no: int) -> dict[str, list[dict[str, Any]]]:
    """Copy `copy_no` of the demo account's orders, shipments and invoices: new ids, order
    numbers, FR numbers and invoice numbers, the same SKUs, sources and amounts."""
    tag = f"B{copy_no:04d}"
    orders = _renumber(copy.deepcopy(template["orders"]), copy_no)
    for order in orders:
        order["orderNumber"] = f"FP{order['id']}"
        order["referenceNumber"] = f"{tag}-{order['referenceNumber']}"
        for fr in order.get("fulfillmentRequests", []):
            fr["fulfillmentRequestNumber"] = f"{tag}-{fr['fulfillmentRequestNumber']}"
    shipments = _renumber(copy.deepcopy(template["shipments"]), copy_no)
    invoices = _renumber(copy.deepcopy(template["invoices"]), copy_no)
    for inv in invoices:
        for key in ("fulfillmentRequestNumber", "purchaseOrderNumber"):
            if inv.get(key):
                inv[key] = f"{tag}-{inv[key]}"
        inv["invoiceNumber"] = f"{inv['invoiceNumber']}-{tag}"
    return {"orders": orders, "shipments": shipments, "invoices": invoices}


def account_seed(n_orders: int) -> dict[str, Any]:
    """The demo account (tokens, channels, sources) with about `n_orders` orders."""
    from flx_flxpoint.emulator import load_default_seed

    template = load_default_seed()
    seed = {**template, "orders": [], "shipments": [], "invoices": []}
    per_copy = len(template["orders"])
    for copy_no in range(-(-n_orders // per_copy)):
        for kind, rows in copy_of_demo(template, copy_no).items():
            seed[kind].extend(rows)
    return seed


class Chaos:
    """Called after every list page the emulator serves (Emulator.after_page): while on, every
    few pages the next request of that list fails (429 or 5xx), an order or shipment changes
    (an order then moves to the end of a list sorted by change time), or a new order with its
    shipments and invoices appears."""

    def __init__(self, emulator: Any, seed: int, next_copy: int) -> None:
        self.emu, self.rng, self.next_copy = emulator, random.Random(seed), next_copy
        self.template = _template()
        self.on = False
        self.pages = 0
        self.done = dict.fromkeys(("429", "5xx", "order_change", "shipment_change",
                                   "new_order"), 0)

    def __call__(self, path: str, number: int, rows: list[dict[str, Any]]) -> None:
        if not self.on:
            return
        self.pages += 1
        emu, every, n = self.emu, CHAOS_EVERY, self.pages
        if n % every["429"] == 0:
            emu.fail_next(429, path=path, retry_after=self.rng.random() < 0.5)
            self.done["429"] += 1
        if n % every["5xx"] == 0:
            count = self.rng.choice((1, 2))
            emu.fail_next(self.rng.choice((500, 502, 503)), count=count, path=path)
            self.done["5xx"] += count
        if path == "/orders" and n % every["order_change"] == 0:
            order_id = self.rng.choice(sorted(emu.orders))
            emu.update_order(order_id, shippingText=f"Changed {n}")
            self.done["order_change"] += 1
        if n % every["shipment_change"] == 0:
            shipment_id = self.rng.choice(sorted(emu.shipments))
            emu.update_shipment(shipment_id, trackingNumber=f"1ZCHANGED{n:06d}")
            self.done["shipment_change"] += 1
        if n % every["new_order"] == 0:
            rows_of = copy_of_demo(self.template, self.next_copy)
            self.next_copy += 1
            for order in rows_of["orders"]:
                emu.add_order(order)
            for shipment in rows_of["shipments"]:
                emu.add_shipment(shipment)
            for invoice in rows_of["invoices"]:
                emu.add_invoice(invoice)
            self.done["new_order"] += len(rows_of["orders"])


def _template() -> dict[str, Any]:
    from flx_flxpoint.emulator import load_default_seed

    return load_default_seed()


def contents(emu: Any) -> dict[str, Any]:
    """What the checks compare flx's store with (ids as text, as flx stores them)."""
    with emu.lock:
        return {
            "orders": {str(i): {"status": o["orderStatus"], "updatedAt": o["updatedAt"],
                                "shippingText": o.get("shippingText")}
                       for i, o in emu.orders.items()},
            "shipments": {str(i): {"rmaId": s.get("rmaId"), "updatedAt": s["updatedAt"],
                                   "trackingNumber": s.get("trackingNumber")}
                          for i, s in emu.shipments.items()},
            "invoices": {str(i): {"rmaId": v.get("rmaId")} for i, v in emu.invoices.items()},
        }


def _serve(n_orders: int, rate: float | None, seed: int, conn: Any) -> None:
    """Child process: build the account, bind a loopback port, report it, serve until
    SIGTERM."""
    import uvicorn
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Mount, Route

    from flx_flxpoint.emulator import Emulator, create_app

    data = account_seed(n_orders)
    emulator = Emulator(data, rate=rate)
    emulator.order_sort = "updated"  # a changed order moves: the list shifts under a read
    inner = create_app(emulator)
    chaos = Chaos(emulator, seed, next_copy=len(data["orders"]))
    emulator.after_page.append(chaos)

    async def state(request: Request) -> JSONResponse:
        with emulator.lock:
            body = {"chaos": dict(chaos.done), "chaos_on": chaos.on,
                    "rate_limited": inner.state.limited, "requests": emulator.requests,
                    "by_status": dict(emulator.by_status),
                    "peak_rate": emulator.peak_rate(emulator.token_of_type("account"))}
        if request.query_params.get("contents"):
            body["contents"] = contents(emulator)
        return JSONResponse(body)

    async def switch(request: Request) -> JSONResponse:
        chaos.on = (await request.json()).get("on") is True
        return JSONResponse({"chaos_on": chaos.on})

    app = Starlette(routes=[Route("/_bench/state", state),
                            Route("/_bench/chaos", switch, methods=["POST"]),
                            Mount("/", app=inner)])
    server = uvicorn.Server(uvicorn.Config(app, http="h11", lifespan="off", log_config=None,
                                           log_level="warning", access_log=False))
    sock = loopback_socket()
    host, port = sock.getsockname()[:2]
    conn.send((f"http://{host}:{port}", emulator.token_of_type("account")))
    conn.close()
    server.run(sockets=[sock])
    sock.close()


class FlxpointProcess:
    """`with FlxpointProcess(300, rate=10) as fp:` → `fp.base_url`, `fp.token`, `fp.state()`,
    `fp.chaos(True)`; the emulator runs in its own process."""

    def __init__(self, n_orders: int, *, rate: float | None = 2.0, seed: int = 1) -> None:
        self.args = (n_orders, rate, seed)
        self.base_url = self.token = ""
        self._proc: Any = None
        self._http = httpx.Client(timeout=30)

    def __enter__(self) -> FlxpointProcess:
        receiver, sender = SPAWN.Pipe(duplex=False)
        self._proc = SPAWN.Process(target=_serve, args=(*self.args, sender),
                                   name="flx-bench-flxpoint", daemon=True)
        self._proc.start()
        sender.close()
        try:
            if not receiver.poll(60):
                raise EOFError
            self.base_url, self.token = receiver.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("the Flxpoint emulator process did not start") from None
        finally:
            receiver.close()
        await_answer(self._proc, self.state, self.stop, "the Flxpoint emulator")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._http.close()
        end_process(self._proc)

    def state(self, *, with_contents: bool = False) -> dict[str, Any]:
        response = self._http.get(f"{self.base_url}/_bench/state",
                                  params={"contents": "1"} if with_contents else None)
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def chaos(self, on: bool) -> None:
        self._http.post(f"{self.base_url}/_bench/chaos", json={"on": on}).raise_for_status()
