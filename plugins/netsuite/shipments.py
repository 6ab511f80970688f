"""Send Accounting Shipments: one Item Fulfillment per shipment, by transforming the Sales
Order. Every open line is listed (shipped ones with their quantity, the others with
itemReceive false) so a partial shipment fulfils only what shipped."""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from flx import MappingError, RecordResult, RecordValidationError, RemoteRejectedError, Runtime
from flx_netsuite.common import (
    NetSuiteContext,
    already_there,
    earlier_record,
    eid,
    find_own_record,
    found_unrecorded,
    guarded,
    had_earlier_attempt,
    map_grouped,
    ref,
    tran_date,
    transform_once,
    with_defaults,
)
from flx_netsuite.lines import (
    OverQuantityError,
    RemoteLine,
    allocate,
    candidates,
    dropship_line,
    remote_lines,
)
from flx_netsuite.lookups import ItemResolver
from flx_netsuite.packages import LineWeights, packages

OPERATION = "send-shipments"
PACKAGE_SUFFIX = {"package": "", "packageUps": "Ups", "packageFedex": "FedEx",
                  "packageUsps": "Usps"}
# Item types NetSuite puts on no fulfillment (SuiteQL itemtype codes).
UNFULFILLABLE = frozenset({"Service", "OthCharge", "Discount", "Markup", "Subtotal",
                           "Description", "Payment"})
_LOCATION_PATH = re.compile(r"item\.items\[(\d+)\]\.location")


class AmbiguousShipmentError(RecordValidationError):
    """A shipment that names no fulfillment request (or one on none of the SKU's lines) for
    a SKU on both stock and drop-ship lines: flx cannot tell whose parcel it is."""


@dataclass(frozen=True)
class Unlocated:
    """A shipped stock line sent without a location: neither its Sales Order line nor the
    profile's tables.locations gave one, so NetSuite's own default decides (an account
    without Multi-Location Inventory needs none; one with it refuses the fulfillment)."""

    line: int
    fr_id: str | None
    warehouse: str | None


@dataclass
class Built:
    """An Item Fulfillment body and what explains NetSuite refusing it: the Sales Order's
    label, the shipped stock lines sent without a location, and the fulfillment requests
    whose lines were chosen by line order (the shipment names none of them)."""

    body: dict[str, Any]
    transaction: str
    unlocated: dict[int, Unlocated]
    by_line_order: list[str]
    source: tuple[str, str] = ("salesOrder", "")  # the record transformed (type, id)

    def explain(self, err: RemoteRejectedError, shipment_id: str) -> RemoteRejectedError:
        """A missing location is said with its line and warehouse; a refusal of lines flx
        chose by line order says to give the shipment its fulfillment request."""
        located = _missing_location(err, self.body, self.unlocated, shipment_id,
                                    self.transaction)
        if located is not err or len(self.by_line_order) < 2:
            return located
        path = err.path or ""
        if path and path != "item" and not path.startswith("item."):
            return err  # a header field: its own hint names the setting
        named = " or ".join(self.by_line_order)
        return RemoteRejectedError(
            err.message, code=err.code, detail=err.detail, status=err.status, path=err.path,
            record_id=err.record_id or shipment_id,
            hint=(f"the shipment names no fulfillment_request_id, so flx took its units from "
                  f"the lines of fulfillment requests {_and(self.by_line_order)} in line "
                  f"order; give the shipment its fulfillment_request_id ({named}), one "
                  f"shipment per request, at the source and re-import it"))


class ShipmentSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = NetSuiteContext.of(runtime)
        self.items = ItemResolver(self.ctx)
        self.via_po = self.ctx.options.get("dropship_fulfillment") == "purchase_order"

    def send(self, shipments: list[dict[str, Any]]) -> list[RecordResult]:
        self.runtime.prefetch("order", (s["order_id"] for s in shipments),
                              operation="send-orders")
        return map_grouped(self.runtime, shipments, lambda s: s["order_id"],
                           lambda s: guarded(self.ctx, s["id"], lambda: self._one(s)))

    def _order(self, shipment: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        order = self.runtime.record("order", shipment["order_id"]) or {}
        state = self.runtime.state(shipment["order_id"], operation="send-orders")
        return order, (state.remote_ids if state else {}) or {}

    def _one(self, shipment: dict[str, Any]) -> RecordResult:
        order, remote = self._order(shipment)
        so_id = remote.get("sales_order")
        if not so_id:
            if remote.get("cash_sale"):
                return RecordResult(shipment["id"], "linked", message=(
                    f"order {shipment['order_id']} is a cash sale in NetSuite "
                    f"({remote['cash_sale']}): nothing to fulfil"),
                    remote_ids={"cash_sale": remote["cash_sale"]})
            return RecordResult(shipment["id"], "waiting", message=(
                f"order {shipment['order_id']} has no Sales Order in NetSuite yet"))
        earlier = self.existing(shipment)
        if earlier is not None:
            return already_there(self.ctx, shipment["id"], f"Item Fulfillment {earlier[1]}",
                                 {"item_fulfillment": earlier[0], "sales_order": so_id})
        try:
            built = self._build(shipment, order, remote)
        except (OverQuantityError, AmbiguousShipmentError):
            found = self.unrecorded(shipment)
            if found is None:
                raise
            return found_unrecorded(self.ctx, shipment["id"], f"Item Fulfillment {found[1]}",
                                    {"item_fulfillment": found[0], "sales_order": so_id})
        body = built.body
        if self.runtime.dry_run:
            return RecordResult(shipment["id"], "dry_run", message="would send",
                                payloads=[self._envelope(built.source, body)])
        try:
            created_id = transform_once(
                self.ctx, shipment["id"], built.source, "itemFulfillment", body,
                f"the Item Fulfillment for shipment {shipment['id']}")
        except RemoteRejectedError as err:
            raise built.explain(err, shipment["id"]) from err
        shipped = sum(int(i["quantity"]) for i in shipment.get("items", []))
        tracking = tracking_numbers(body)
        return RecordResult(
            shipment["id"], "sent",
            remote_ids={"item_fulfillment": created_id, "sales_order": so_id},
            message=(f"Item Fulfillment for {shipped} unit(s)"
                     + (f", tracking {', '.join(tracking)}" if tracking else "")))

    def existing(self, shipment: dict[str, Any]) -> tuple[str, str] | None:
        """The fulfillment an earlier attempt at this shipment made, if any."""
        return earlier_record(self.ctx, shipment["id"], "itemFulfillment")

    def unrecorded(self, shipment: dict[str, Any]) -> tuple[str, str] | None:
        """The fulfillment NetSuite holds for this shipment though this store has no attempt
        that may have made it (a fresh or restored store, another connection to the account,
        `flx retry`): asked only when the Sales Order's open quantities refuse the shipment,
        as they would once it is fulfilled, so a normal shipment costs no extra request.
        None when `existing` already asked."""
        if had_earlier_attempt(self.ctx, shipment["id"]):
            return None
        return find_own_record(self.ctx, shipment["id"], "itemFulfillment")

    def _envelope(self, source: tuple[str, str], body: dict[str, Any]) -> dict[str, Any]:
        return {"name": "itemFulfillment", "method": "POST",
                "path": f"/services/rest/record/v1/{source[0]}/{source[1]}/!transform/"
                        "itemFulfillment", "body": body}

    def payload(self, shipment: dict[str, Any], order: dict[str, Any],
                remote: dict[str, Any]) -> tuple[tuple[str, str], dict[str, Any]]:
        built = self._build(shipment, order, remote)
        return built.source, built.body

    def _build(self, shipment: dict[str, Any], order: dict[str, Any], remote: dict[str, Any],
               ) -> Built:
        """The Item Fulfillment body, with what explains NetSuite refusing it."""
        so_id = remote["sales_order"]
        so = self.ctx.client.get("salesOrder", so_id, expand=True)
        lines = remote_lines(so, "quantityFulfilled", remote.get("lines"))
        raw_lines = {int(raw["line"]): raw for raw in (so.get("item") or {}).get("items") or []}
        for ln in lines:  # a linked order may have no plan: the Sales Order line says
            if ln.fr_type is None:
                ln.fr_type = "external" if dropship_line(raw_lines.get(ln.line)) else "internal"
        what = f"shipment {shipment['id']}"
        transaction = f"Sales Order {so.get('tranId') or so_id}"
        fr_id = shipment.get("fulfillment_request_id")
        by_line_order: list[str] = []  # requests whose lines line order chose between
        shipped = LineWeights(order)
        for item in shipment.get("items", []):
            options: dict[str, Any] = {
                "fr_id": fr_id, "order_line_id": item.get("order_line_id"),
                "item_id_of": lambda sku: self._item_id(sku, shipment["id"]), "what": what,
                "record_id": shipment["id"], "transaction": transaction}
            chosen = candidates(lines, item["sku"], **options)
            requests = list(dict.fromkeys(ln.fr_id for ln in chosen if ln.fr_id))
            if len({ln.fr_type for ln in chosen}) > 1:
                raise _ambiguous(shipment, item["sku"], chosen, order, transaction)
            if len(requests) > 1:
                by_line_order += [r for r in requests if r not in by_line_order]
            taken = allocate(lines, item["sku"], int(item["quantity"]), **options)
            shipped.add(item, [(ln.line, units) for ln, units in taken])
        unlocated = self._locate(lines, so, shipment, order, remote, transaction)
        source: tuple[str, str] = ("salesOrder", so_id)
        listed = [ln for ln in lines if ln.quantity - ln.done > 0 and fulfillable(ln)]
        if self.via_po:
            dropship = [ln for ln in lines if ln.fr_type == "external"]
            if any(ln.taken for ln in dropship):
                source, listed = self._via_po(shipment, remote, lines, transaction)
            else:  # NetSuite puts drop-ship lines on the PO's fulfillment, not this one
                listed = [ln for ln in listed if ln.fr_type != "external"]
        header = self._header(shipment, order)
        context = {
            "shipment": shipment, "order": order, "profile": self.ctx.profile,
            "external_id": eid(shipment["id"]),
            "tran_date": tran_date(shipment.get("shipped_at")),
            "ship_status": self.ctx.options.get("ship_status", "C"),
            # A memo set by the profile's shipment.header replaces flx's own.
            "memo": header.pop("memo", None) or (
                f"Shipment {shipment['id']} of order {order.get('number') or order.get('id')}"),
            "header": header,
            "lines": [self._line(ln, shipped) for ln in listed],
            "packages": packages(shipment, order, Decimal(str(
                self.ctx.options.get("default_package_weight", "0.1")))),
            **self._sublist(shipment, header),
        }
        body = self.ctx.render("itemFulfillment", context, shipment["id"])
        return Built(body, transaction, unlocated, by_line_order, source)

    def _sublist(self, shipment: dict[str, Any], header: dict[str, Any]) -> dict[str, str]:
        """The package sublist the tracking goes in (tables.package_sublists, by the
        shipment's method, else its carrier): carrier integration wants its own sublist
        with suffixed field names (netsuite-rest.md §10.6)."""
        table = self.ctx.tables.get("package_sublists") or {}
        name = next((table[str(k)] for k in (shipment.get("method"), shipment.get("carrier"))
                     if k is not None and str(k) in table), "package")
        return {"package_sublist": name, "package_suffix": PACKAGE_SUFFIX[name]}

    def _via_po(self, shipment: dict[str, Any], remote: dict[str, Any],
                lines: list[RemoteLine], transaction: str,
                ) -> tuple[tuple[str, str], list[RemoteLine]]:
        """dropship_fulfillment = purchase_order: the vendor's parcel is fulfilled by
        transforming its Purchase Order (Mark Shipped); the lines listed are the PO's, each
        paired with the Sales Order line it was generated from by item."""
        taken = [ln for ln in lines if ln.taken]
        what = f"shipment {shipment['id']}"
        if any(ln.fr_type != "external" for ln in taken):
            raise MappingError(
                f"{what} ships stock and drop-ship lines of {transaction} at once; with "
                "options.dropship_fulfillment = \"purchase_order\" the vendor's parcel is "
                "fulfilled through its Purchase Order",
                hint="split it at the source into one shipment per fulfillment request (give "
                     "each its fulfillment_request_id) and re-import them",
                record_id=shipment["id"])
        pos = remote.get("purchase_orders") or {}
        po_ids = {pos.get(str(ln.fr_id)) for ln in taken}
        if None in po_ids or len(po_ids) != 1:
            raise MappingError(
                f"{what}: no single dropship Purchase Order is recorded for its lines of "
                f"{transaction} (fulfillment requests "
                f"{', '.join(sorted({str(ln.fr_id) for ln in taken}))})",
                hint="give the shipment its fulfillment_request_id at the source and "
                     "re-import it, or `flx retry` the order so its POs are recorded",
                record_id=shipment["id"])
        po_id = str(po_ids.pop())
        po = self.ctx.client.get("purchaseOrder", po_id, expand=True)
        po_lines = remote_lines(po, "quantityReceived", None)
        unused = list(po_lines)
        for ln in taken:
            match = next((p for p in unused if p.item_id == ln.item_id), None)
            if match is None:
                raise MappingError(
                    f"{what}: item {ln.item_id} of line {ln.line} of {transaction} is on no "
                    f"line of its Purchase Order {po.get('tranId') or po_id}",
                    hint="check the Purchase Order in NetSuite", record_id=shipment["id"])
            unused.remove(match)
            match.taken = ln.taken
        return ("purchaseOrder", po_id), [p for p in po_lines if p.quantity - p.done > 0]

    def _locate(self, lines: list[RemoteLine], so: dict[str, Any], shipment: dict[str, Any],
                order: dict[str, Any], remote: dict[str, Any], transaction: str,
                ) -> dict[int, Unlocated]:
        """The location of each shipped stock line: the Sales Order line's own, else the
        warehouse of its fulfillment request mapped through tables.locations, as send-orders
        maps it. A warehouse the profile's (non-empty) table lacks, with no location on the
        Sales Order either, fails the shipment here, as it fails an order; with no table at
        all the line goes without one and NetSuite's default decides (the lines returned)."""
        raw_lines = {int(raw["line"]): raw for raw in (so.get("item") or {}).get("items") or []}
        requests = {str(p.get("fr_id")): p for p in remote.get("lines") or [] if p.get("fr_id")}
        for fr in order.get("fulfillment_requests") or []:
            requests.setdefault(str(fr.get("id")), {"fr_type": fr.get("type", "internal"),
                                                     "warehouse": fr.get("warehouse")})
        table = self.ctx.tables.get("locations") or {}
        unlocated: dict[int, Unlocated] = {}
        for ln in lines:
            if ln.taken <= 0 or ln.location_id:
                continue
            fr_id = ln.fr_id or shipment.get("fulfillment_request_id")
            request = requests.get(str(fr_id)) or {}
            if request.get("fr_type") == "external" or dropship_line(raw_lines.get(ln.line)):
                continue  # the vendor ships it: no warehouse of the merchant's
            warehouse = request.get("warehouse")
            mapped = self.ctx.table_value("locations", warehouse)
            if mapped:
                ln.location_id = str(mapped)
                continue
            if table and warehouse is not None and not so.get("location"):
                raise MappingError(
                    f"shipment {shipment['id']}: line {ln.line} of {transaction} has no "
                    f"location, and warehouse {warehouse!r} of fulfillment request {fr_id} "
                    "has no entry in tables.locations",
                    hint=_location_fix(ln.line, transaction, warehouse, shipment["id"]),
                    record_id=shipment["id"])
            unlocated[ln.line] = Unlocated(ln.line, fr_id, warehouse)
        return unlocated

    def _line(self, ln: RemoteLine, shipped: LineWeights) -> dict[str, Any]:
        """A line of the template's context. `weight` (and the shipment `item` it ships) is
        there for overrides only: no NetSuite line field for it is verified (netsuite-rest.md
        §4.2 lists none), so the bundled template carries weight on packages."""
        return {"order_line": ln.line, "quantity": ln.taken, "ship": ln.taken > 0,
                "location_id": ln.location_id, **shipped.context(ln.line)}

    def _header(self, shipment: dict[str, Any], order: dict[str, Any]) -> dict[str, Any]:
        context = {"shipment": shipment, "order": with_defaults(order),
                   "tables": self.ctx.tables}
        section = self.ctx.profile.get("shipment") or {}
        header = self.ctx.header(section.get("header") or {}, context, shipment["id"],
                                 "shipment.header")
        header.update(self.ctx.fields((section.get("custom_fields") or {}).get("body") or {},
                                      context, shipment["id"], "shipment.custom_fields.body"))
        method = self.ctx.table_value("ship_methods", shipment.get("method")) or \
            self.ctx.table_value("ship_methods", shipment.get("carrier"))
        if method and "shipMethod" not in header:
            header["shipMethod"] = ref(method)
        return header

    def _item_id(self, sku: str, record_id: str) -> str | None:
        found = self.items.resolve([sku])
        return found[sku].id if sku in found else None


def _ambiguous(shipment: dict[str, Any], sku: str, chosen: list[RemoteLine],
               order: dict[str, Any], transaction: str) -> AmbiguousShipmentError:
    """A SKU on stock and drop-ship lines that the shipment does not choose between: the
    warehouse's parcel and the vendor's look alike, and line order would fulfil the wrong
    one's lines (reported sent, the stock line fulfilled for the vendor's parcel)."""
    def kind(ln: RemoteLine) -> str:
        return "drop-ship" if ln.fr_type == "external" else "stock"

    described = "; ".join(
        f"line {ln.line}: {kind(ln)}"
        + (f", fulfillment request {ln.fr_id}" if ln.fr_id else "")
        + (f", {ln.source}" if ln.source else "") for ln in chosen)
    requests = list(dict.fromkeys(ln.fr_id for ln in chosen if ln.fr_id)) or [
        str(fr.get("id")) for fr in order.get("fulfillment_requests") or []
        if any(sku in (i.get("sku"), _order_sku(order, i)) for i in fr.get("items") or [])]
    fr_id = shipment.get("fulfillment_request_id")
    named = (f"its fulfillment_request_id {fr_id} is on none of them" if fr_id else
             "the shipment names no fulfillment_request_id")
    which = f" ({' or '.join(requests)})" if requests else ""
    return AmbiguousShipmentError(
        f"shipment {shipment['id']}: SKU {sku} is on both stock and drop-ship lines of "
        f"{transaction} ({described}) and {named}, so flx cannot tell whose parcel it is; "
        "nothing was sent",
        hint=f"give the shipment its fulfillment_request_id{which} at the source and "
             "re-import it", record_id=shipment["id"])


def _and(names: list[str]) -> str:
    return ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else "".join(names)


def _order_sku(order: dict[str, Any], item: dict[str, Any]) -> str | None:
    """The ordered SKU of a fulfillment request's item (its order line's)."""
    return next((line.get("sku") for line in order.get("lines") or []
                 if line.get("id") == item.get("order_line_id")), None)


def _location_fix(line: int, transaction: str, warehouse: str | None, shipment_id: str) -> str:
    where = f"set the location of line {line} on {transaction} in NetSuite"
    if warehouse is None:
        return (f"{where} (its fulfillment request names no warehouse to map through "
                f"tables.locations); then run `flx retry {shipment_id}`")
    return (f'{where}, or map the warehouse: add "{warehouse}": "<location internal id>" '
            f"under tables.locations in the mapping profile; then run `flx retry "
            f"{shipment_id}`")


def _missing_location(err: RemoteRejectedError, body: dict[str, Any],
                      unlocated: dict[int, Unlocated], shipment_id: str,
                      transaction: str) -> RemoteRejectedError:
    """NetSuite asking for a location on a line flx sent without one (its account uses
    Multi-Location Inventory) is said with the line, its warehouse and both ways to fix it."""
    match = _LOCATION_PATH.fullmatch(err.path or "")
    items = (body.get("item") or {}).get("items") or []
    if not match or int(match.group(1)) >= len(items):
        return err
    gap = unlocated.get(items[int(match.group(1))].get("orderLine"))
    if gap is None:
        return err
    warehouse = (f"warehouse {gap.warehouse!r}" if gap.warehouse is not None
                 else "no warehouse")
    request = f"fulfillment request {gap.fr_id}, " if gap.fr_id else ""
    return RemoteRejectedError(
        f"shipment {shipment_id}: NetSuite needs a location for line {gap.line} of "
        f"{transaction} ({request}{warehouse}), and neither the Sales Order line nor "
        f"tables.locations gives one (NetSuite: {err.detail or err.message})",
        hint=_location_fix(gap.line, transaction, gap.warehouse, shipment_id),
        code=err.code, detail=err.detail, status=err.status, path=err.path,
        record_id=err.record_id or shipment_id)


def fulfillable(ln: RemoteLine) -> bool:
    return ln.itemtype not in UNFULFILLABLE


def tracking_numbers(body: dict[str, Any]) -> list[str]:
    """The tracking numbers of a fulfillment body, whichever package sublist holds them."""
    out = []
    for name, suffix in PACKAGE_SUFFIX.items():
        for package in (body.get(name) or {}).get("items") or []:
            out.append(str(package.get(f"packageTrackingNumber{suffix}", "")))
    return out


def send_shipments(runtime: Runtime, shipments: list[dict[str, Any]]) -> list[RecordResult]:
    return ShipmentSender(runtime).send(list(shipments))


def render_shipment(runtime: Runtime, shipment: dict[str, Any]) -> list[dict[str, Any]]:
    sender = ShipmentSender(runtime)
    order, remote = sender._order(shipment)
    if not remote.get("sales_order"):
        return []
    earlier = sender.existing(shipment)
    if earlier is None:
        try:
            return [sender._envelope(*sender.payload(shipment, order, remote))]
        except (OverQuantityError, AmbiguousShipmentError):
            earlier = sender.unrecorded(shipment)
            if earlier is None:
                raise
    # A run would record it and send nothing.
    return [{"name": "itemFulfillment", "action": "link", "id": earlier[0],
             "tranId": earlier[1], "message": f"Item Fulfillment {earlier[1]} is already "
             "in NetSuite; nothing would be sent"}]
