"""The fakebooks hooks. Written the way a real connector would be: render through the runtime's
renderer, look records up before writing (never a duplicate), report one result per record,
translate HTTP answers into flx errors once, at the boundary."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import httpx
import typer

from flx.errors import (
    AuthenticationError,
    DuplicateError,
    FlxError,
    MappingError,
    RemoteRejectedError,
    RemoteUnavailableError,
)
from flx.model import OPERATIONS, CheckResult, Connection, Connector, RecordResult
from flx.plugins import hookimpl
from flx.render.renderer import dumps, to_decimal
from flx.run.runtime import Runtime
from tests.fake_plugin import NAME, PACKAGE

COLLECTION = {"order": "orders", "shipment": "shipments", "vendor_bill": "bills"}

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


def connector() -> Connector:
    return Connector(
        name=NAME, description="test connector: an in-memory ledger",
        connection_schema=CONNECTION_SCHEMA, operations=tuple(OPERATIONS),
        templates_package=PACKAGE, payload_schemas=SCHEMAS,
        mappings_package=f"{PACKAGE}.mappings", mapping_schema=MAPPING_SCHEMA,
        extra={"display_name": "FakeBooks"})


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
        response = self.client.request(method, path, headers=headers, **kwargs)
        if response.status_code < 300:
            return response
        detail = response.json().get("error", "")
        if response.status_code == 401:
            raise AuthenticationError("fakebooks refused the API key",
                                      hint="check api_key for this connection")
        if response.status_code >= 500:
            raise RemoteUnavailableError(f"fakebooks is unavailable ({detail})")
        if response.status_code == 409:
            raise DuplicateError(f"fakebooks already has it: {detail}", record_id=record_id)
        raise RemoteRejectedError(f"fakebooks refused it: {detail}", detail=detail,
                                  status=response.status_code, record_id=record_id)


def _mine(connection: Connection) -> bool:
    return connection.plugin == NAME


def _send(kind: str, connection: Connection, records: Sequence[dict[str, Any]],
          runtime: Runtime) -> list[RecordResult] | None:
    if not _mine(connection):
        return None
    session = Session(connection, runtime)
    try:
        def one(record: dict[str, Any]) -> RecordResult:
            with runtime.acting_for(str(record["id"])):
                return session.send(kind, record)

        return runtime.map(one, records)
    finally:
        session.client.close()


@hookimpl
def register_connectors(register: Any) -> None:
    register(connector())


@hookimpl
def register_commands(app: typer.Typer) -> None:
    @app.command("fakebooks-hello")
    def hello() -> None:
        """Say hello from the fakebooks plugin."""
        typer.echo("hello from fakebooks")


@hookimpl
def send_orders(connection: Connection, orders: Sequence[dict[str, Any]],
                runtime: Runtime) -> list[RecordResult] | None:
    return _send("order", connection, orders, runtime)


@hookimpl
def send_shipments(connection: Connection, shipments: Sequence[dict[str, Any]],
                   runtime: Runtime) -> list[RecordResult] | None:
    return _send("shipment", connection, shipments, runtime)


@hookimpl
def send_vendor_bills(connection: Connection, vendor_bills: Sequence[dict[str, Any]],
                      runtime: Runtime) -> list[RecordResult] | None:
    return _send("vendor_bill", connection, vendor_bills, runtime)


@hookimpl
def render_payloads(operation: str, connection: Connection, record: dict[str, Any],
                    runtime: Runtime) -> list[dict[str, Any]] | None:
    if not _mine(connection):
        return None
    kind = OPERATIONS[operation]
    session = Session(connection, runtime)
    try:
        body = session.render(kind, record)
    finally:
        session.client.close()
    return [{"name": f"{kind}.json.j2", "method": "POST", "path": f"/{COLLECTION[kind]}",
             "body": body}]


@hookimpl
def test_connection(connection: Connection, runtime: Runtime) -> list[CheckResult] | None:
    if not _mine(connection):
        return None
    session = Session(connection, runtime)
    try:
        session.call("GET", "/ping", None)
    except FlxError as exc:
        return [CheckResult("API key", False, exc.message, exc.hint or "")]
    finally:
        session.client.close()
    return [CheckResult("API key", True, "fakebooks answered")]
