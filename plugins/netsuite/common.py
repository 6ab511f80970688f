"""What every NetSuite operation shares: the client, the mapping profile, rendering and the
small conversions (references, addresses, money) that payloads need."""

from __future__ import annotations

import json
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from importlib import resources
from typing import Any

from flx import AbortError, FlxError, MappingError, RecordResult, RemoteRejectedError, Runtime
from flx_netsuite.client import NetSuiteClient
from flx_netsuite.identity import check_identity
from flx_netsuite.ids import external_id
from flx_netsuite.ids import record_id as remote_record_id

CENT = Decimal("0.01")
PAYLOADS = ("customer", "salesOrder", "purchaseOrder", "itemFulfillment", "vendorBill")

# Header fields that NetSuite takes as references ({"id": ...}); anything else is sent as is.
REFERENCE_FIELDS = frozenset({
    "subsidiary", "location", "department", "class", "currency", "customForm", "shipMethod",
    "salesRep", "terms", "partner", "leadSource", "entity", "account", "category",
    "entityStatus", "priceLevel", "taxItem",
})

# Where a NetSuite errorPath points back into the mapping profile, so a rejection names the
# setting that produced the value (reference page: "confirm optional IDs match").
ERROR_PATH_SETTINGS = {
    "subsidiary": "customer.fields.subsidiary (or header.subsidiary)",
    "category": "customer.fields.category",
    "customForm": "customer.fields.custom_form (or header.customForm)",
    "entityStatus": "customer.fields.entity_status",
    "location": "tables.locations",
    "poVendor": "tables.vendors",
    "department": "header.department / tables.channels",
    "class": "header.class / tables.channels",
    "shipMethod": "tables.ship_methods",
    "account": "options.bill_shipping.account / options.bill_tax.account",
}


@cache
def payload_schema(name: str) -> dict[str, Any]:
    text = resources.files("flx_netsuite").joinpath(f"schemas/{name}.schema.json").read_text()
    return json.loads(text)


def money(value: Any) -> Decimal:
    return Decimal(str(value if value not in (None, "") else "0")).quantize(CENT, ROUND_HALF_UP)


def rate(value: Any) -> Decimal:
    """A unit price or cost: up to 4 decimals kept, as NetSuite stores rates."""
    return Decimal(str(value)).normalize() if value not in (None, "") else Decimal("0")


def ref(value: Any) -> dict[str, str]:
    return {"id": str(value)}


def address(addr: dict[str, Any] | None) -> dict[str, Any] | None:
    """A flx address as a NetSuite address subrecord (empty fields left out)."""
    if not addr:
        return None
    out: dict[str, Any] = {
        "addressee": addr.get("name"), "addr1": addr.get("address1"),
        "addr2": addr.get("address2"), "city": addr.get("city"), "state": addr.get("region"),
        "zip": addr.get("postal_code"), "addrPhone": addr.get("phone"),
    }
    if addr.get("country"):
        out["country"] = ref(addr["country"])
    return {k: v for k, v in out.items() if v not in (None, "")}


def header_value(field_name: str, value: Any) -> Any:
    return ref(value) if field_name in REFERENCE_FIELDS and not isinstance(value, dict) else value


@dataclass
class NetSuiteContext:
    """Per-run state of one NetSuite operation."""

    runtime: Runtime
    client: NetSuiteClient
    profile: dict[str, Any]
    options: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, runtime: Runtime) -> NetSuiteContext:
        profile = dict(runtime.profile or {})
        options = dict(profile.get("options") or {})
        return cls(runtime, NetSuiteClient.from_runtime(runtime), profile, options)

    @property
    def tables(self) -> dict[str, dict[str, Any]]:
        return self.profile.get("tables") or {}

    def table_value(self, table: str, key: str | None) -> Any:
        if key is None:
            return None
        return (self.tables.get(table) or {}).get(str(key))

    def render(self, name: str, context: dict[str, Any], record_id: str) -> dict[str, Any]:
        assert self.runtime.renderer is not None
        body: dict[str, Any] = self.runtime.renderer.render_json(
            f"{name}.json.j2", context, record_id=record_id, schema=payload_schema(name))
        check_identity(name, body, context, record_id)  # before any field is omitted
        return omit(body, self.options.get("omit_fields") or ())


    def render_expr(self, expr: Any, context: dict[str, Any], record_id: str,
                    where: str = "mapping value") -> Any:
        """Profile values may be template expressions ("{{ order.custom_fields.x }}"); a
        failure names the profile setting (`where`)."""
        if isinstance(expr, str) and ("{{" in expr or "{%" in expr) \
                and self.runtime.renderer is not None:
            return self.runtime.renderer.render_value(expr, context, record_id, where=where)
        return expr

    def header(self, section: dict[str, Any], context: dict[str, Any], record_id: str,
               where: str = "header") -> dict[str, Any]:
        out = {}
        for name, expr in (section or {}).items():
            value = self.render_expr(expr, context, record_id, f"{where}.{name}")
            if value not in (None, ""):
                out[name] = header_value(name, value)
        return out

    def fields(self, section: dict[str, Any], context: dict[str, Any], record_id: str,
               where: str) -> dict[str, Any]:
        """custbody_* / custcol_* values of one profile section, empty ones left out."""
        out = {}
        for name, expr in (section or {}).items():
            value = self.render_expr(expr, context, record_id, f"{where}.{name}")
            if value not in (None, ""):
                out[name] = value
        return out

    def custom(self, section: str, context: dict[str, Any], record_id: str) -> dict[str, Any]:
        fields = (self.profile.get("custom_fields") or {}).get(section) or {}
        return self.fields(fields, context, record_id, f"custom_fields.{section}")


def omit(body: dict[str, Any], names: Any) -> dict[str, Any]:
    """`options.omit_fields`: fields the account lacks (a feature turned off) left out of the
    body and of every sublist line, since X-NetSuite-PropertyNameValidation: Error (kept, so a
    misspelt field still fails) would refuse them (netsuite-rest.md §10.7)."""
    gone = set(names)
    if not gone:
        return body
    out = {k: v for k, v in body.items() if k not in gone}
    for key, value in out.items():
        if isinstance(value, dict) and isinstance(value.get("items"), list):
            out[key] = {**value, "items": [
                {k: v for k, v in line.items() if k not in gone} if isinstance(line, dict)
                else line for line in value["items"]]}
    return out


def with_defaults(order: dict[str, Any]) -> dict[str, Any]:
    """An order as templates and profile expressions see it: `custom_fields` is always a
    mapping, so `order.custom_fields.x | default('')` works when the order has none."""
    if isinstance(order.get("custom_fields"), dict):
        return order
    return {**order, "custom_fields": {}}


def tran_date(value: Any) -> str | None:
    """The date part of an RFC 3339 time, as written (the merchant's local date)."""
    return str(value)[:10] if value else None


def eid(kind: str, *parts: str) -> str:
    """The external id flx gives a record it creates: stable, so a retry finds it again."""
    return external_id(kind, *parts)


def explain_rejection(err: RemoteRejectedError, record_label: str) -> RemoteRejectedError:
    """Name the profile setting behind NetSuite's errorPath, keeping NetSuite's own words."""
    path = err.path or ""
    leaf = path.split(".")[-1].split("[")[0] if path else ""
    setting = ERROR_PATH_SETTINGS.get(leaf)
    hint = err.hint
    if setting:
        hint = (f"NetSuite refused the value of '{path}': check the mapping profile setting "
                f"{setting} against the ids in your NetSuite account")
    msg = f"NetSuite refused {record_label}: {err.detail or err.message}"
    if path:
        msg += f" (at {path})"
    out = RemoteRejectedError(msg, hint=hint, code=err.code, detail=err.detail,
                              status=err.status, path=err.path, record_id=err.record_id)
    return out


def guarded(ctx: NetSuiteContext, record_id: str,
            send: Callable[[], RecordResult]) -> RecordResult:
    """Run one record's work: a record-level failure becomes that record's result (the others
    go on); an AbortError stops the run. Counts the requests the record cost."""
    before = ctx.client.thread_requests
    try:
        with ctx.runtime.acting_for(record_id):
            result = send()
    except AbortError:
        raise
    except FlxError as err:
        result = RecordResult(record_id, "failed", message=err.message, error=err)
    except Exception as exc:  # noqa: BLE001 - a bug met on one record's data fails that record
        result = RecordResult(record_id, "failed", error=exc)
    result.requests += ctx.client.thread_requests - before
    return result


# Sync states after which a record may already exist in NetSuite: interrupted (in_flight), a
# lost answer (failed), or sent and now forced again.
EARLIER = ("in_flight", "failed", "sent", "linked")
# Error classes of failures flx decided before sending anything: such an attempt made nothing.
LOCAL_REFUSALS = ("data", "reference", "template", "duplicate", "waiting")


def had_earlier_attempt(ctx: NetSuiteContext, record_id: str) -> bool:
    """Whether this store's state says NetSuite may already hold the record (EARLIER), so
    earlier_record looks it up."""
    state = ctx.runtime.state(record_id)
    return state is not None and state.status in EARLIER


def find_own_record(ctx: NetSuiteContext, record_id: str, record_type: str
                    ) -> tuple[str, str] | None:
    """(internal id, document number) of the `record_type` carrying this flx record's
    external id, whoever made it (one GET); None when NetSuite has none."""
    found = ctx.client.get_by_external_id(record_type, eid(record_id))
    found_id = remote_record_id(found) if found else None
    if found is None or not found_id:
        return None
    return found_id, str(found.get("tranId") or found_id)


def earlier_record(ctx: NetSuiteContext, record_id: str, record_type: str
                   ) -> tuple[str, str] | None:
    """(internal id, document number) of the `record_type` an earlier attempt at this record
    created, found by its external id; None when there was no earlier attempt or none exists.
    Transforms look this up before building a new payload: the source transaction's open
    quantities already count the earlier record, so a new payload would be refused."""
    if not had_earlier_attempt(ctx, record_id):
        return None
    return find_own_record(ctx, record_id, record_type)


def already_there(ctx: NetSuiteContext, record_id: str, label: str,
                  remote_ids: dict[str, Any]) -> RecordResult:
    """The result for a record an earlier attempt already created in NetSuite (`label`, e.g.
    "Item Fulfillment IF12"): recorded as sent, nothing sent again."""
    message = f"{label} is already in NetSuite (an earlier attempt created it); nothing sent again"
    if ctx.runtime.dry_run:
        return RecordResult(record_id, "dry_run", message=message)
    return RecordResult(record_id, "sent", message=message, remote_ids=remote_ids)


def found_unrecorded(ctx: NetSuiteContext, record_id: str, label: str,
                     remote_ids: dict[str, Any]) -> RecordResult:
    """The result for a record this store did not know was in NetSuite (a fresh or restored
    store, a second connection to the account, or `flx retry`), found by its external id
    after the local quantity check refused it: its own quantities already count as done.
    Recorded, nothing sent: `sent` when this store's last attempt may have reached NetSuite
    (it failed in a way that leaves the outcome open: a lost answer, an outage), else
    `linked` (made before this store knew of it), as send-orders tells a Sales Order it made
    from one it finds."""
    state = ctx.runtime.state(record_id)
    last_error = str(((state.error if state else None) or {}).get("class") or "")
    ours = state is not None and state.attempts > 0 and last_error not in LOCAL_REFUSALS
    message = (f"{label} is already in NetSuite with external id {eid(record_id)} "
               + ("(an earlier attempt created it); nothing sent again" if ours else
                  "though this store had not recorded it (made by another flx store or "
                  "connection on this account, or an earlier attempt); linked, nothing sent"))
    if ctx.runtime.dry_run:
        return RecordResult(record_id, "dry_run", message=message)
    return RecordResult(record_id, "sent" if ours else "linked", message=message,
                        remote_ids=remote_ids)


def transform_once(ctx: NetSuiteContext, record_id: str, source: tuple[str, str],
                   target: str, body: dict[str, Any], label: str,
                   replace: str | None = None) -> str:
    """Transform `source` (type, id) into a `target` for one flx record, marking the record
    in flight first so a crash is reconciled by external id, never sent twice."""
    ctx.runtime.checkpoint(record_id, status="in_flight")
    try:
        created = ctx.client.transform(source[0], source[1], target, body,
                                       external_id=body["externalId"], replace=replace)
    except RemoteRejectedError as err:
        raise explain_rejection(err, label) from err
    return created.id


def worker_threads(runtime: Runtime) -> int:
    """Twice the connection's concurrency: the client's limiter keeps requests in flight at
    `concurrency`, and the extra threads do their local work (render, store) while the
    others wait on NetSuite, so no request slot idles (bench/diagnose.py measured it)."""
    return 2 * max(runtime.workers, 1)


def map_grouped(runtime: Runtime, records: list[dict[str, Any]],
                key: Callable[[dict[str, Any]], Hashable],
                send: Callable[[dict[str, Any]], RecordResult]) -> list[RecordResult]:
    """Records that touch the same NetSuite transaction run one after the other, in input
    order (a second shipment must see the first one's fulfilled quantities); groups run in
    parallel on the worker pool, longest first: a long group started last would leave the
    other request slots idle at the end of the batch."""
    groups: dict[Hashable, list[dict[str, Any]]] = {}
    for record in records:
        groups.setdefault(key(record), []).append(record)
    ordered = sorted(groups.values(), key=len, reverse=True)  # stable: input order within ties

    def run_group(group: list[dict[str, Any]]) -> list[RecordResult]:
        out = [send(record) for record in group]
        runtime.progress(len(group) - 1)  # map() counts one per group
        return out

    done = {r.record_id: r for group in runtime.map(run_group, ordered,
                                                    workers=worker_threads(runtime))
            for r in group}
    return [done[record["id"]] for record in records]


def require(value: Any, message: str, hint: str, record_id: str) -> Any:
    if value in (None, ""):
        raise MappingError(message, hint=hint, record_id=record_id)
    return value
