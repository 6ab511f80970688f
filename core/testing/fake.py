"""The "fakebooks" connector: a small complete plugin that proves core knows no accounting
system, and the connector flx's own tests (and a connector author's first tests) run against.

Written the way a real connector would be: render through the runtime's renderer, look records
up before writing (never a duplicate), report one result per record, translate HTTP answers
into flx errors once, at the boundary. Its far side is an in-memory `Ledger`
(flx.testing.ledger) reached only through `runtime.http_client`, so core's dry-run guard and
audit trail are exercised; its templates and mapping profile are package data of
flx.testing.fakebooks. Register it with `build_plugins(flx.testing.fake, autoload=False)`."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any

import httpx
import typer

from flx.connector import Connector
from flx.errors import (
    AuthenticationError,
    DuplicateError,
    FlxError,
    MappingError,
    NetworkError,
    RemoteRejectedError,
    RemoteUnavailableError,
)
from flx.model import AuthorizeRequest, CheckResult, Connection, RecordResult
from flx.operations.registry import Ineligible, RuleContext
from flx.plugins import hookimpl
from flx.render.renderer import dumps, to_decimal
from flx.run.http import DryRunRefused
from flx.run.runtime import Runtime

NAME = "fakebooks"
PACKAGE = "flx.testing.fakebooks"  # templates/ and mappings/ (package data)

COLLECTION = {"order": "orders", "shipment": "shipments", "vendor_bill": "bills"}
# The operations fakebooks provides, and the record kind each sends.
KINDS = {"send-orders": "order", "send-shipments": "shipment", "send-vendor-bills": "vendor_bill"}

_LINE = {"type": "object", "required": ["sku", "quantity"],
         "properties": {"sku": {"type": "string", "minLength": 1},
                        "quantity": {"type": "integer", "minimum": 1},
                        "rate": {"type": "number"}, "amount": {"type": "number"},
                        "cost": {"type": "number", "minimum": 0}}}
SCHEMAS: dict[str, dict[str, Any]] = {
    "order.json.j2": {
        "type": "object", "required": ["externalId", "customerEmail", "lines", "tax"],
        "properties": {"externalId": {"type": "string"},
                       "customerEmail": {"type": "string", "minLength": 3},
                       "date": {"type": "string", "format": "date"},
                       "lines": {"type": "array", "minItems": 1, "items": _LINE},
                       "tax": {"type": "number", "minimum": 0}}},
    "shipment.json.j2": {
        "type": "object", "required": ["externalId", "order", "items"],
        "properties": {"order": {"type": "string"},
                       "items": {"type": "array", "minItems": 1, "items": _LINE}}},
    "vendor_bill.json.j2": {
        "type": "object", "required": ["externalId", "order", "vendor", "lines", "total"],
        "properties": {"vendor": {"type": "string"},
                       "lines": {"type": "array", "minItems": 1, "items": _LINE}}},
}
CONNECTION_SCHEMA = {
    "type": "object", "required": ["api_key"], "additionalProperties": False,
    "properties": {
        "base_url": {"type": "string", "default": "https://fakebooks.test/api"},
        "api_key": {"type": "string", "minLength": 8, "x-secret": True},
        "concurrency": {"type": "integer", "minimum": 1, "default": 2},
        # Misbehave on purpose: write even in a dry run, so the guard below can refuse it.
        "ignore_dry_run": {"type": "boolean", "default": False},
    },
}
MAPPING_SCHEMA = {
    "type": "object",
    "properties": {"options": {"type": "object", "additionalProperties": False,
                               "properties": {"memo_prefix": {"type": "string"}}}},
}


def _bills_a_vendor(ctx: RuleContext, bill: Any) -> Ineligible | None:
    """FakeBooks bills the vendor of a dropship (external) request; other requests have none."""
    order = ctx.store.get_record("order", str(bill.get("order_id")))
    fr = next((r for r in (order or {}).get("fulfillment_requests") or []
               if r.get("id") == bill.get("fulfillment_request_id")), None)
    if fr is None or fr.get("type") == "external":
        return None
    return Ineligible(f"vendor bill {bill.get('id')}: request {fr['id']} has no vendor",
                      fix="bill a dropship (external) request")


def connector(name: str = NAME) -> Connector:
    """`name`: a second instance under another name (tests/core/test_two_connectors.py)."""
    return FakebooksConnector(
        name=name, description="test connector: an in-memory ledger",
        connection_schema=CONNECTION_SCHEMA, operations=tuple(KINDS),
        templates_package=PACKAGE, payload_schemas=SCHEMAS,
        mappings_package=f"{PACKAGE}.mappings", mapping_schema=MAPPING_SCHEMA,
        extra={"display_name": "FakeBooks"},
        rules={"send-vendor-bills": (_bills_a_vendor,)})


class Session:
    """One hook call's worth of work for one connection."""

    def __init__(self, connection: Connection, runtime: Runtime) -> None:
        self.connection = connection
        self.runtime = runtime
        self.settings = connection.settings
        self.client = runtime.http_client(
            base_url=str(self.settings.get("base_url") or "https://fakebooks.test/api"),
            headers={"authorization": f"Bearer {self.settings.get('api_key')}"})
        self._counts = threading.local()  # per thread: records may be sent side by side

    @property
    def requests(self) -> int:
        """Requests made by the calling thread (each record's send runs on one thread)."""
        return getattr(self._counts, "n", 0)

    # -- payloads ----------------------------------------------------------------------------------

    def render(self, kind: str, record: dict[str, Any]) -> dict[str, Any]:
        renderer = self.runtime.renderer
        assert renderer is not None
        name = f"{kind}.json.j2"
        context = getattr(self, f"_{kind}_context")(record)
        return renderer.render_json(name, context, record_id=str(record["id"]),
                                    schema=SCHEMAS[name], record_kind=kind)

    def _order_context(self, order: dict[str, Any]) -> dict[str, Any]:
        profile, renderer, rid = self.runtime.profile, self.runtime.renderer, str(order["id"])
        assert renderer is not None
        base = {"order": order, "profile": profile}
        channels = profile.get("tables", {}).get("channels", {})
        vendors = profile.get("tables", {}).get("vendors", {})
        dropship = []
        for fr in order.get("fulfillment_requests") or []:
            if fr.get("type") == "external":
                vendor = (fr.get("vendor") or {}).get("id")
                if vendor not in vendors:
                    raise MappingError(
                        f"order {rid}: vendor {vendor} has no entry in tables.vendors",
                        hint=f'add "{vendor}": "<ledger vendor id>" to tables.vendors',
                        record_id=rid)
                dropship.append({"request": fr["id"], "vendor": vendors[vendor]})
        return {
            **base, "external_id": f"flx-{rid}", "dropship": dropship,
            "department": (channels.get(order.get("channel")) or {}).get("department"),
            "header": renderer.render_value(profile.get("header", {}), base, rid,
                                            where="header"),
            "custom": renderer.render_value(profile.get("custom_fields", {}).get("body", {}),
                                            base, rid, where="custom_fields.body"),
        }

    def _linked_order(self, record: dict[str, Any]) -> tuple[dict[str, Any], str]:
        order = self.runtime.store.get_record("order", str(record["order_id"]))
        state = self.runtime.state(str(record["order_id"]), operation="send-orders")
        if order is None or state is None or "order" not in state.remote_ids:
            raise MappingError(f"order {record['order_id']} is not in FakeBooks yet",
                               record_id=str(record["id"]))
        return order, str(state.remote_ids["order"])

    def _shipment_context(self, shipment: dict[str, Any]) -> dict[str, Any]:
        order, remote = self._linked_order(shipment)
        return {"shipment": shipment, "order": order, "order_remote_id": remote,
                "external_id": f"flx-{shipment['id']}"}

    def _vendor_bill_context(self, bill: dict[str, Any]) -> dict[str, Any]:
        order, remote = self._linked_order(bill)
        fr = next(f for f in order["fulfillment_requests"]
                  if f["id"] == bill["fulfillment_request_id"])
        vendor = self.runtime.profile.get("tables", {}).get("vendors", {}).get(fr["vendor"]["id"])
        total = sum((to_decimal(i.get("cost", 0)) * int(i["quantity"]) for i in bill["items"]),
                    Decimal(0))
        return {"bill": bill, "order": order, "order_remote_id": remote, "vendor": vendor,
                "external_id": f"flx-{bill['id']}", "total": total}

    # -- sending -----------------------------------------------------------------------------------

    def send(self, kind: str, record: dict[str, Any]) -> RecordResult:
        rid = str(record["id"])
        before = self.requests
        try:
            payload = self.render(kind, record)
            if self.runtime.dry_run and not self.settings.get("ignore_dry_run"):
                return RecordResult(rid, "dry_run", payloads=[payload],
                                    message=f"would create a fakebooks {kind}")
            existing = self.find(kind, payload["externalId"])
            if existing is not None:
                return RecordResult(rid, "linked", remote_ids={kind: existing},
                                    message="already in fakebooks: linked",
                                    requests=self.requests - before)
            response = self.call("POST", f"/{COLLECTION[kind]}", rid, content=dumps(payload))
            remote = response.headers["location"].rsplit("/", 1)[-1]
            return RecordResult(rid, "sent", remote_ids={kind: remote},
                                requests=self.requests - before)
        except FlxError as exc:  # abort, retry or data: core decides what to do with each
            return RecordResult(rid, "failed", error=exc, message=exc.message,
                                requests=self.requests - before)

    def find(self, kind: str, external_id: str) -> str | None:
        response = self.call("GET", f"/{COLLECTION[kind]}", None,
                             params={"externalId": external_id})
        items = response.json()["items"]
        return str(items[0]["id"]) if items else None

    def call(self, method: str, path: str, record_id: str | None, **kwargs: Any) -> httpx.Response:
        self._counts.n = self.requests + 1
        headers = {"content-type": "application/json"} if "content" in kwargs else None
        try:
            response = self.client.request(method, path, headers=headers, **kwargs)
        except DryRunRefused:
            raise  # core's guard: core reports it
        except httpx.TransportError as exc:
            raise NetworkError(f"fakebooks could not be reached: {exc}",
                               hint="check base_url and the network") from exc
        if response.status_code < 300:
            return response
        detail = response.json().get("error", "")
        if response.status_code == 401:
            raise AuthenticationError("fakebooks refused the API key",
                                      hint="check api_key for this connection")
        if response.status_code >= 500:
            raise RemoteUnavailableError(f"fakebooks is unavailable ({detail})",
                                         hint="fakebooks failed on its side: run again later")
        if response.status_code == 409:
            raise DuplicateError(f"fakebooks already has it: {detail}", record_id=record_id)
        raise RemoteRejectedError(f"fakebooks refused it: {detail}", detail=detail,
                                  status=response.status_code, record_id=record_id)


def _send(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
          runtime: Runtime) -> list[RecordResult]:
    session = Session(connection, runtime)
    try:
        def one(record: dict[str, Any]) -> RecordResult:
            with runtime.acting_for(str(record["id"])):
                return session.send(kind, record)

        return runtime.map(one, records)
    finally:
        session.client.close()


class FakebooksConnector(Connector):
    """Sends each record with one look-up and one POST; previews; checks the API key."""

    def send(self, operation: str, records: Sequence[dict[str, Any]],
             runtime: Runtime) -> list[RecordResult]:
        # through the module-level function, which tests replace (tests/core/test_pipeline.py)
        return _send(KINDS[operation], runtime.connection, records, runtime)

    def render(self, operation: str, record: dict[str, Any],
               runtime: Runtime) -> list[dict[str, Any]]:
        kind = KINDS[operation]
        session = Session(runtime.connection, runtime)
        try:
            body = session.render(kind, record)
        finally:
            session.client.close()
        return [{"name": f"{kind}.json.j2", "method": "POST", "path": f"/{COLLECTION[kind]}",
                 "body": body}]

    def check(self, runtime: Runtime, deep: bool = False) -> list[CheckResult]:
        session = Session(runtime.connection, runtime)
        try:
            session.call("GET", "/ping", None)
        except FlxError as exc:
            return [CheckResult("API key", False, exc.message, exc.hint or "")]
        finally:
            session.client.close()
        return [CheckResult("API key", True, "fakebooks answered")]

    def authorize(self, runtime: Runtime, request: AuthorizeRequest) -> str:
        """Keeps a session token (given, or typed in) in the connection's plugin state."""
        token = request.refresh_token or request.prompt("fakebooks session token")
        runtime.kv.put("session_token", token, secret=True)
        return f"connection {runtime.connection.name}: fakebooks session token kept"

    def profile_gaps(self, operation: str, profile: Mapping[str, Any],
                     records: Iterable[dict[str, Any]]) -> list[str]:
        """Dropship vendors of the orders that tables.vendors lacks (send-orders needs them)."""
        if operation != "send-orders":
            return []
        vendors = (profile.get("tables") or {}).get("vendors") or {}
        missing: dict[str, list[str]] = {}
        for order in records:
            for fr in order.get("fulfillment_requests") or []:
                vendor = str((fr.get("vendor") or {}).get("id") or "")
                if fr.get("type") == "external" and vendor and vendor not in vendors:
                    missing.setdefault(vendor, []).append(str(order["id"]))
        return [f"tables.vendors has no {v!r} (orders {', '.join(ids)} wait for it): add "
                f'"{v}": "<ledger vendor id>"' for v, ids in sorted(missing.items())]

    def record_url(self, record_type: str, remote_id: str, connection: Connection) -> str | None:
        base = str(connection.settings.get("base_url") or "https://fakebooks.test/api")
        return f"{base.removesuffix('/api')}/{COLLECTION.get(record_type, record_type)}/{remote_id}"


@hookimpl
def register_connectors(register: Any) -> None:
    register(connector())


@hookimpl
def register_commands(app: typer.Typer) -> None:
    @app.command("fakebooks-hello")
    def hello() -> None:
        """Say hello from the fakebooks plugin."""
        typer.echo("hello from fakebooks")
