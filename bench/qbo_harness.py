"""What bench/quickbooks.py's phases share: the QuickBooks emulator served on loopback from its
own process (its CPU is not flx's, and a SIGKILLed `flx run` leaves the company standing), a
control channel into it, an flx workspace pointing at it, and generated data.

The control routes (`/_emulator/...`) live here, not in the plugin: they are what a soak needs
from outside (counts, the company's documents, holding requests so a kill lands mid-run,
holding a token refresh's answer so a kill lands between refresh and store)."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from bench.harness import SPAWN, await_answer, end_process, loopback_socket, repo_root

CONNECTION = "qb"
OPERATIONS = ("send-orders", "send-shipments", "send-vendor-bills")
TOKEN_PATH = "/oauth2/v1/tokens/bearer"
DOCUMENTS = ("Customer", "SalesReceipt", "PurchaseOrder", "Bill")


class _Control:
    """The serving process's side: holds and switches around the emulator's own app."""

    def __init__(self, emulator: Any) -> None:
        self.emulator = emulator
        self.api_seen = 0
        self.hold_after: int | None = None
        self.held = 0
        self.released = asyncio.Event()
        self.refresh_hold = False
        self.refresh_held = 0
        self.refresh_released = asyncio.Event()
        self.throttled: Counter[str] = Counter()  # 429s by the limit that refused
        self.arrivals: list[float] = []  # when each admitted API request arrived
        enter = emulator.throttle.enter

        def counted_enter(realm: str, is_read: bool) -> None:
            try:
                enter(realm, is_read)
            except Exception as err:
                self.throttled[str(getattr(err, "detail", err))] += 1
                raise
            self.arrivals.append(time.monotonic())

        emulator.throttle.enter = counted_enter

    def stats(self) -> dict[str, Any]:
        emu = self.emulator
        books = emu.company(self._realm())
        numbers = {e: Counter(str(o.get("DocNumber")) for o in books.objects[e].values())
                   for e in ("SalesReceipt", "Invoice", "PurchaseOrder", "Bill")}
        return {"requests": len(emu.requests), "writes": len(emu.writes()),
                "throttled": emu.throttle.refused,
                "throttled_by": dict(self.throttled), "faults": dict(emu.faults.injected),
                "refreshes": emu.oauth.refreshes, "held": self.held,
                "refresh_held": self.refresh_held,
                "duplicate_doc_numbers": {e: sorted(n for n, c in count.items() if c > 1)
                                          for e, count in numbers.items()},
                "objects": {e: len(books.objects[e]) for e in DOCUMENTS}}

    def _realm(self) -> str:
        from flx_quickbooks.emulator import DEMO_REALM

        return DEMO_REALM

    def command(self, name: str, data: dict[str, Any]) -> Any:
        emu = self.emulator
        if name == "stats":
            return self.stats()
        if name == "objects":
            return list(emu.company(self._realm()).objects[data["entity"]].values())
        if name == "issue":  # a refresh token, as Intuit's OAuth Playground hands one out
            from flx_quickbooks.emulator import DEMO_CLIENT_ID

            return emu.oauth.issue(DEMO_CLIENT_ID, self._realm())
        if name == "behaviour":
            for key, value in data.items():
                setattr(emu.behaviour, key, value)
            return {}
        if name == "faults":
            from flx_quickbooks.emulator import FaultPlan
            from flx_quickbooks.emulator.faults import Faults

            injected = emu.faults.injected
            emu.faults = Faults(FaultPlan(**data) if data else None)
            emu.faults.injected = injected
            return {}
        if name == "arrivals":  # since the index given: how they were spread
            times = self.arrivals[int(data.get("since", 0)):]
            return {"count": len(times), "next": len(self.arrivals),
                    "span_s": times[-1] - times[0] if len(times) > 1 else 0.0,
                    "peak_1s": _peak(times, 1.0), "peak_60s": _peak(times, 60.0)}
        if name == "quiet_minute":  # as if the last request were a minute ago
            emu.throttle._stamps.clear()
            return {}
        if name == "expire_access":  # as an hour passing does: every access token is dead
            emu.oauth.access_tokens.clear()
            return {}
        if name == "hold":
            self.hold_after, self.held = self.api_seen + int(data["after"]), 0
            self.released = asyncio.Event()
            return {}
        if name == "hold_refresh":
            self.refresh_hold, self.refresh_held = True, 0
            self.refresh_released = asyncio.Event()
            return {}
        if name == "release":
            self.hold_after, self.refresh_hold = None, False
            self.released.set()
            self.refresh_released.set()
            return {}
        raise KeyError(name)


def _peak(times: list[float], window: float) -> int:
    """The most arrivals in any `window` seconds (what Intuit's sliding limits count)."""
    best, start = 0, 0
    for end, at in enumerate(times):
        while times[start] <= at - window:
            start += 1
        best = max(best, end - start + 1)
    return best


def _app(emulator: Any) -> Any:
    from flx_quickbooks.emulator import create_app

    inner = create_app(emulator)
    control = _Control(emulator)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and path.startswith("/_emulator/"):
            body = b""
            while True:
                message = await receive()
                body += message.get("body", b"")
                if not message.get("more_body"):
                    break
            answer = json.dumps(control.command(path.rsplit("/", 1)[1],
                                                json.loads(body or b"{}")), default=str).encode()
            await send({"type": "http.response.start", "status": 200,
                        "headers": [(b"content-type", b"application/json")]})
            await send({"type": "http.response.body", "body": answer})
            return
        if path.startswith("/v3/"):
            control.api_seen += 1
            if control.hold_after is not None and control.api_seen > control.hold_after:
                control.held += 1
                await control.released.wait()
        if path == TOKEN_PATH and control.refresh_hold:
            # The emulator rotates the token now; its answer waits until released (the parent
            # SIGKILLs the client meanwhile): a refresh whose result never reached the store.
            async def held_send(message: Any) -> None:
                if message["type"] == "http.response.start":
                    control.refresh_held += 1
                    await control.refresh_released.wait()
                await send(message)

            await inner(scope, receive, held_send)
            return
        await inner(scope, receive, send)

    return app


def _serve(behaviour: dict[str, Any], latency: float, conn: Any) -> None:
    import logging

    import uvicorn

    from flx_quickbooks.emulator import Behaviour, Emulator
    from flx_quickbooks.emulator.app import HideInjectedDrops

    emulator = Emulator(behaviour=Behaviour(**behaviour), latency=latency)
    sock = loopback_socket()
    host, port = sock.getsockname()[:2]
    conn.send(f"http://{host}:{port}")
    conn.close()
    logging.getLogger("uvicorn.error").addFilter(HideInjectedDrops())
    config = uvicorn.Config(_app(emulator), http="h11", lifespan="off", log_config=None,
                            log_level="warning", access_log=False)
    uvicorn.Server(config).run(sockets=[sock])


class QboEmulatorProcess:
    """`with QboEmulatorProcess(behaviour, latency=0.02) as emu:` -> emu.base_url,
    emu.call("stats"), emu.objects("Bill")."""

    def __init__(self, behaviour: dict[str, Any] | None = None, *, latency: float = 0.0) -> None:
        self.args = (dict(behaviour or {}), latency)
        self.base_url = ""
        self._proc: Any = None
        self._http = httpx.Client(timeout=60)

    def __enter__(self) -> QboEmulatorProcess:
        receiver, sender = SPAWN.Pipe(duplex=False)
        self._proc = SPAWN.Process(target=_serve, args=(*self.args, sender),
                                   name="flx-bench-quickbooks", daemon=True)
        self._proc.start()
        sender.close()
        try:
            if not receiver.poll(60):
                raise EOFError
            self.base_url = receiver.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("the QuickBooks emulator process did not start") from None
        finally:
            receiver.close()
        await_answer(self._proc, lambda: self.call("stats"), self.stop, "the QuickBooks emulator")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._http.close()
        end_process(self._proc)

    def call(self, name: str, **data: Any) -> Any:
        response = self._http.post(f"{self.base_url}/_emulator/{name}", json=data)
        response.raise_for_status()
        return response.json()

    def objects(self, entity: str) -> list[dict[str, Any]]:
        return list(self.call("objects", entity=entity))


@dataclass
class QboWorkspace:
    """flx.toml (a `quickbooks` connection at the emulator, secrets as ${VAR}), SQLite store."""

    path: Path
    base_url: str
    concurrency: int = 4
    per_second: int | None = None  # None: flx's own pacing
    per_minute: int | None = None

    def __post_init__(self) -> None:
        from flx_quickbooks.emulator import DEMO_REALM

        self.path.mkdir(parents=True, exist_ok=True)
        ops = "\n".join(f'[connections.{CONNECTION}.operations.{op}]\nmapping = "demo"\n'
                        for op in OPERATIONS)
        pacing = "".join(f"{key} = {value}\n" for key, value in (
            ("requests_per_second", self.per_second), ("requests_per_minute", self.per_minute))
            if value is not None)
        (self.path / "flx.toml").write_text(f"""[store]
url = "sqlite:///{self.path / 'flx.db'}"

[connections.{CONNECTION}]
plugin = "quickbooks"
client_id = "${{QBO_CLIENT_ID}}"
client_secret = "${{QBO_CLIENT_SECRET}}"
realm_id = "{DEMO_REALM}"
api_url = "{self.base_url}"
token_url = "{self.base_url}{TOKEN_PATH}"
concurrency = {self.concurrency}
{pacing}
{ops}""")

    def env(self) -> dict[str, str]:
        from flx_quickbooks.emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET

        env = {**os.environ, "QBO_CLIENT_ID": DEMO_CLIENT_ID,
               "QBO_CLIENT_SECRET": DEMO_CLIENT_SECRET}
        env.pop("FLX_CONFIG", None)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root()),
                                                          env.get("PYTHONPATH")]))
        return env

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flx.cli.main", "--config", str(self.path / "flx.toml"),
                *args]

    def flx(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(self.argv(*args), env=self.env(), cwd=self.path,
                              capture_output=True, text=True, check=False, timeout=600)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        return subprocess.Popen(self.argv(*args), env=self.env(), cwd=self.path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

    def statuses(self, operation: str) -> dict[str, str]:
        from flx.store.store import Store

        with Store(f"sqlite:///{self.path / 'flx.db'}") as store:
            return {s.record_id: s.status for s in store.iter_sync(CONNECTION, operation)}


# --- data -------------------------------------------------------------------------------------

INTERNAL = (("SKU001", "9.95"), ("SKU002", "24.50"), ("SKU003", "6.00"), ("SKU004", "14.99"),
            ("VA-SKU123", "19.99"))
DROPSHIP = {"V-B": (("VB-SKU500", "29.00", "12.00"), ("VB-SKU501", "44.00", "18.50")),
            "V-C": (("VC-SKU900", "199.00", "90.00"),)}


@dataclass
class QboData:
    orders: list[dict[str, Any]]
    shipments: list[list[dict[str, Any]]]  # stage 1, stage 2
    bills: list[list[dict[str, Any]]]

    def all_shipments(self) -> list[dict[str, Any]]:
        return [s for stage in self.shipments for s in stage]

    def all_bills(self) -> list[dict[str, Any]]:
        return [b for stage in self.bills for b in stage]

    def dropship_requests(self) -> list[str]:
        return [fr["id"] for o in self.orders for fr in o["fulfillment_requests"]
                if fr["type"] == "external"]


def generate(n_orders: int, seed: int, prefix: str = "Q") -> QboData:
    """Orders of three shapes: internal (every other), drop-ship from one vendor, drop-ship
    from two (V-B and V-C); about 40 customers, so most orders reuse one. Each order ships in
    one or (every third) two parts; each drop-ship request is billed, Vendor B's in two
    stages. Stage 2 holds the second parts."""
    rng = random.Random(seed)
    orders, ships, bills = [], [[], []], [[], []]  # type: ignore[var-annotated]
    for n in range(1, n_orders + 1):
        number = f"{prefix}{n:05d}"
        customer = rng.randrange(40)
        lines, frs = [], []
        internal = [rng.choice(INTERNAL)] if n % 2 == 0 or n % 4 == 1 else []
        vendors = [] if n % 2 == 0 else (["V-B", "V-C"] if n % 4 == 3 else ["V-B"])
        for sku, price in internal:
            lines.append({"id": "L1", "sku": sku, "quantity": rng.randint(1, 3),
                          "unit_price": price})
        if lines:
            frs.append({"id": f"FR-{number}-W", "type": "internal", "warehouse": "MAIN",
                        "items": [{"order_line_id": "L1", "sku": lines[0]["sku"],
                                   "quantity": lines[0]["quantity"]}]})
        for vendor in vendors:
            sku, price, cost = rng.choice(DROPSHIP[vendor])
            line = {"id": f"L{len(lines) + 1}", "sku": sku, "quantity": rng.randint(2, 4),
                    "unit_price": price}
            lines.append(line)
            frs.append({"id": f"FR-{number}-{vendor[-1]}", "type": "external",
                        "vendor": {"id": vendor},
                        "items": [{"order_line_id": line["id"], "sku": sku,
                                   "quantity": line["quantity"], "cost": cost}]})
        orders.append({
            "id": f"ORD-{number}", "number": number, "channel": "web",
            "placed_at": "2026-11-20T14:03:00Z", "currency": "USD",
            "customer": {"email": f"buyer{customer}@example.com", "first_name": "Buyer",
                         "last_name": f"No{customer}"},
            "shipping_address": {"name": f"Buyer No{customer}", "address1": "1 Main St",
                                 "city": "Austin", "region": "TX", "postal_code": "78701",
                                 "country": "US"},
            "lines": lines, "shipping": {"method": "Ground", "amount": "5.00"},
            "tax_total": "0", "discount_total": "0", "fulfillment_requests": frs})
        parts = 2 if n % 3 == 0 else 1
        for part in range(parts):
            ships[part].append({
                "id": f"SHP-{number}-{part + 1}", "order_id": f"ORD-{number}",
                "shipped_at": f"2026-11-2{part + 1}T16:00:00Z", "carrier": "UPS",
                "method": "Ground", "tracking_numbers": [f"1Z{number}{part + 1}"],
                "items": [{"sku": line["sku"], "quantity": 1} for line in lines]})
        for fr in frs[1 if internal else 0:]:
            item = fr["items"][0]
            split = ([1, item["quantity"] - 1] if fr["id"].endswith("B") and n % 2
                     else [item["quantity"]])
            for stage, quantity in enumerate(split):
                bills[stage].append({
                    "id": f"VB-{fr['id'][3:]}-{stage + 1}", "order_id": f"ORD-{number}",
                    "fulfillment_request_id": fr["id"], "number": f"I{fr['id'][3:]}-{stage + 1}",
                    "invoiced_at": f"2026-11-2{stage + 3}T08:00:00Z",
                    "items": [{"sku": item["sku"], "quantity": quantity,
                               "cost": item["cost"]}]})
    return QboData(orders, ships, bills)


def write_json(path: Path, **kinds: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(kinds))
    return path
