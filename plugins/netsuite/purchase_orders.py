"""The dropship Purchase Orders of a Sales Order: read back the ones NetSuite created on
approval (createPo DropShip), or create them (options.dropship_mode = "explicit_po"), and
record each against its fulfillment request. "SO created but no PO" is reported with why."""

from __future__ import annotations

from typing import Any

from core.errors import MappingError, RemoteRejectedError
from core.runtime import Runtime
from plugins.netsuite.common import NetSuiteContext, address, eid, explain_rejection, tran_date
from plugins.netsuite.routing import PlannedLine


class PurchaseOrders:
    def __init__(self, runtime: Runtime, ctx: NetSuiteContext, mode: str) -> None:
        self.runtime = runtime
        self.ctx = ctx
        self.mode = mode

    def payload(self, order: dict[str, Any], fr_id: str, lines: list[PlannedLine], so_id: str,
                base: dict[str, Any]) -> dict[str, Any]:
        fr_lines = [p for p in lines if p.fr_id == fr_id]
        context = {
            **base, "external_id": eid(order["id"], fr_id),
            "tran_date": tran_date(order.get("placed_at")),
            "vendor_id": fr_lines[0].vendor_id, "sales_order_id": so_id,
            "memo": f"Dropship for order {order.get('number') or order['id']} "
                    f"(Sales Order {so_id}, fulfillment request {fr_id})",
            "header": {}, "shipping_address": address(order.get("shipping_address")),
            "lines": [{"item_id": p.item_id, "quantity": p.quantity,
                       "rate": float(p.cost if p.cost is not None else 0)} for p in fr_lines],
        }
        return self.ctx.render("purchaseOrder", context, order["id"])

    def record(self, order: dict[str, Any], so_id: str, lines: list[PlannedLine],
               warnings: list[str], base: dict[str, Any]) -> dict[str, str]:
        """The PO id of each dropship fulfillment request of this Sales Order."""
        if self.mode == "explicit_po":
            return self._explicit(order, so_id, lines, base)
        so = self.ctx.client.get("salesOrder", so_id, expand=True)
        ns_lines = ((so.get("item") or {}).get("items")) or []
        self._match_lines(lines, ns_lines)
        pos: dict[str, str] = {}
        missing: list[PlannedLine] = []
        for p, ns in zip(lines, ns_lines, strict=False):
            created = (ns.get("createdPo") or {}).get("id") if p.dropship else None
            if created:
                pos[p.fr_id] = str(created)
            elif p.dropship:
                missing.append(p)
        if missing:
            status = (so.get("orderStatus") or so.get("status") or {})
            status_id = status.get("id") if isinstance(status, dict) else status
            reason = ("the Sales Order is Pending Approval: NetSuite creates dropship POs when "
                      "it is approved" if status_id == "A" else
                      "NetSuite did not create one: check that the item is a Drop Ship Item "
                      "with a preferred vendor and that the vendor's subsidiary matches")
            frs = ", ".join(sorted({p.fr_id for p in missing}))
            raise MappingError(
                f"order {order['id']}: Sales Order {so_id} exists but has no Purchase Order for "
                f"dropship fulfillment request(s) {frs}: {reason}",
                hint="fix it in NetSuite or the profile, then `flx retry "
                     f"{order['id']}`: flx will link the existing Sales Order, not create another",
                record_id=order["id"])
        return pos

    def _match_lines(self, lines: list[PlannedLine], ns_lines: list[dict[str, Any]]) -> None:
        for p, ns in zip(lines, ns_lines, strict=False):
            item = (ns.get("item") or {}).get("id")
            if item is not None and str(item) != p.item_id:
                continue  # a linked order laid out differently: leave the line number unknown
            if ns.get("line") is not None:
                p.line = int(ns["line"])

    def _explicit(self, order: dict[str, Any], so_id: str, lines: list[PlannedLine],
                  base: dict[str, Any]) -> dict[str, str]:
        state = self.runtime.state(order["id"])
        known = (state.remote_ids or {}) if state is not None else {}
        pos: dict[str, str] = dict(known.get("purchase_orders") or {})
        for fr_id in dict.fromkeys(p.fr_id for p in lines if p.dropship):
            if fr_id in pos:
                continue
            body = self.payload(order, fr_id, lines, so_id, base)
            try:
                created = self.ctx.client.create("purchaseOrder", body,
                                                 external_id=body["externalId"])
            except RemoteRejectedError as err:
                raise explain_rejection(
                    err, f"the dropship Purchase Order for {order['id']} / {fr_id}") from err
            pos[fr_id] = created.id
            self.runtime.checkpoint(order["id"], remote_ids={"purchase_orders": dict(pos)})
        return pos
