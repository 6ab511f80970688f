"""The dropship Purchase Orders of a Sales Order: read back the ones NetSuite created on
approval (createPo DropShip), or create them (options.dropship_mode = "explicit_po"), and
record each against its fulfillment request. "SO created but no PO" is reported with why."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flx import MappingError, RemoteRejectedError, Runtime
from flx_netsuite.common import NetSuiteContext, address, eid, explain_rejection, tran_date
from flx_netsuite.lines import pair_lines
from flx_netsuite.routing import PlannedLine


def _line_label(so: dict[str, Any], p: PlannedLine) -> str:
    number = f" line {p.line}" if p.line is not None else ""
    return (f"Sales Order {so.get('tranId') or so.get('id')}{number} (SKU {p.sku}, order line "
            f"{p.order_line_id}, fulfillment request {p.fr_id})")


def unrequested_po(order: dict[str, Any], so: dict[str, Any], p: PlannedLine, po_id: str,
                   mode: str) -> str:
    """A PO NetSuite made for a line flx sent without Drop Ship."""
    why = ("flx creates this request's Purchase Order itself (explicit_po)" if p.dropship
           else "the line is served from stock (warehouse "
                f"{p.warehouse or 'not named'})")
    return (f"{_line_label(so, p)}: NetSuite created Purchase Order {po_id} though flx asked "
            f"for none ({why}); the item is a Drop Ship Item and the account ignored the "
            "line's \"createPo\": null: close or delete that Purchase Order in NetSuite, and "
            "clear 'Drop Ship Item' on the item or route it as a dropship request")


def repriced(so: dict[str, Any], p: PlannedLine, ns: dict[str, Any]) -> str | None:
    """A line NetSuite keeps at another amount than flx sent (re-priced from a price
    level: options.custom_price_level is off)."""
    amount = ns.get("amount")
    if amount in (None, ""):
        return None
    kept = Decimal(str(amount)).quantize(Decimal("0.01"))
    if kept == p.amount:
        return None
    return (f"{_line_label(so, p)}: NetSuite keeps amount {kept} (rate {ns.get('rate')}) "
            f"where flx sent {p.amount} (rate {p.sent_rate}): the account re-priced the line "
            "from a price level; set options.custom_price_level = true in the mapping profile "
            "so NetSuite keeps the channel's price")


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

    def needs_read_back(self, lines: list[PlannedLine], custom_price: bool) -> bool:
        """Whether the Sales Order is read back after its create: for the POs NetSuite made
        (dropship lines), for a PO flx did not ask for (any line of a Drop Ship Item, which
        NetSuite may default to Drop Ship), and for re-priced lines (no custom price level)."""
        return (any(p.dropship for p in lines) and self.mode == "create_po") or \
            any(p.dropship_item for p in lines) or not custom_price

    def record(self, order: dict[str, Any], so_id: str, lines: list[PlannedLine],
               warnings: list[str], base: dict[str, Any], *, read_back: bool = True,
               custom_price: bool = True, ours: bool = True) -> dict[str, str]:
        """The PO id of each dropship fulfillment request of this Sales Order. Reading the
        order back also warns of a PO flx did not ask for and of a line NetSuite re-priced."""
        pos: dict[str, str] = {}
        if read_back:
            so = self.ctx.client.get("salesOrder", so_id, expand=True)
            ns_lines = ((so.get("item") or {}).get("items")) or []
            paired = self._match_lines(lines, ns_lines)
            missing: list[PlannedLine] = []
            for index, p in enumerate(lines):
                ns = ns_lines[paired[index]] if index in paired else {}
                created = (ns.get("createdPo") or {}).get("id")
                asked = p.dropship and self.mode == "create_po"
                if created and asked:
                    pos[p.fr_id] = str(created)
                elif asked:
                    missing.append(p)
                elif created and ours:
                    warnings.append(unrequested_po(order, so, p, str(created), self.mode))
                if not custom_price and ours and ns:
                    note = repriced(so, p, ns)
                    if note:
                        warnings.append(note)
            if missing:
                self._missing(order, so_id, so, missing)
        if self.mode == "explicit_po":
            pos.update(self._explicit(order, so_id, lines, base))
        return pos

    def _missing(self, order: dict[str, Any], so_id: str, so: dict[str, Any],
                 missing: list[PlannedLine]) -> None:
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

    def _match_lines(self, lines: list[PlannedLine], ns_lines: list[dict[str, Any]],
                     ) -> dict[int, int]:
        """Pair the planned lines with the lines read back by item and line number (a
        linked order laid out differently leaves a line's number unknown)."""
        paired = pair_lines([(p.item_id, p.line) for p in lines], ns_lines)
        for index, ns_index in paired.items():
            if ns_lines[ns_index].get("line") is not None:
                lines[index].line = int(ns_lines[ns_index]["line"])
        return paired

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
