"""Send Accounting Orders: a Sales Order per order, dropship Purchase Orders for external
fulfillment requests, the customer found or created first (reference page, "Send Accounting
Orders"). Every write carries an external id, so a retry or a restart links instead of
creating twice."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from flx import FlxError, MappingError, RecordResult, RemoteRejectedError, Runtime
from flx_netsuite.common import (
    NetSuiteContext,
    address,
    eid,
    explain_rejection,
    guarded,
    money,
    ref,
    tran_date,
    with_defaults,
    worker_threads,
)
from flx_netsuite.customers import CustomerResolver, person_name
from flx_netsuite.linking import foreign_match
from flx_netsuite.lookups import Item, ItemResolver, existing_transactions, refused_error
from flx_netsuite.order_checks import (
    currency_id,
    discount_item_problem,
    location_problem,
    order_discount_problem,
    order_warnings,
)
from flx_netsuite.purchase_orders import PurchaseOrders
from flx_netsuite.recovery import ELSEWHERE_NOTE, made_elsewhere, recovered_note
from flx_netsuite.routing import (
    PlannedLine,
    Problem,
    plan_lines,
    problems_error,
    split_lines,
)
from flx_netsuite.so_fields import create_po, exact_number, link_payload

OPERATION = "send-orders"


@dataclass
class Plan:
    """An order's Sales Order lines, and the problems found in the order alone (a line
    discount larger than its line, an order discount larger than its lines): reported with
    the reference problems found later, so one failure names everything to fix."""

    lines: list[PlannedLine]
    problems: list[Problem] = field(default_factory=list)


class OrderSender:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.ctx = NetSuiteContext.of(runtime)
        self.items = ItemResolver(self.ctx)
        self.customers = CustomerResolver(self.ctx)
        self.settings = runtime.connection.operation(OPERATION)
        self.sku_level = self.ctx.profile.get("sku_level", "order")
        self.mode = self.ctx.options.get("dropship_mode", "create_po")
        self.purchase_orders = PurchaseOrders(runtime, self.ctx, self.mode)
        # "price": {"id": "-1"} (Custom) with every rate, so NetSuite keeps flx's rate rather
        # than re-source it from a price level (netsuite-rest.md §10.1).
        self.custom_price = bool(self.ctx.options.get("custom_price_level", True))

    # -- the batch -------------------------------------------------------------------------------

    def send(self, orders: list[dict[str, Any]]) -> list[RecordResult]:
        plans: dict[str, Plan | FlxError] = {}
        for order in orders:
            try:
                plans[order["id"]] = self.plan(order)
            except MappingError as err:
                plans[order["id"]] = err
        # Batched look-ups first, side by side: one query for every SKU, one per customer key
        # kind, one for existing transactions. AbortErrors (auth) propagate and stop the run.
        skus = [p.sku for plan in plans.values() if isinstance(plan, Plan) for p in plan.lines]
        existing: dict[str, dict[str, str]] = {}
        refused: dict[str, str] = {}  # order id -> why NetSuite would not look its number up

        def find_existing() -> None:
            fresh = [o for o in orders if not self._known_so(o["id"])]
            existing.update(existing_transactions(
                self.ctx, fresh, {o["id"]: self.external_id(o) for o in fresh}, refused))

        lookups = [lambda: self.items.resolve(skus), lambda: self.customers.prefetch(orders)]
        if self.settings.get("link_existing", True):
            lookups.append(find_existing)
        with ThreadPoolExecutor(max_workers=len(lookups), thread_name_prefix="flx-lookup") as pool:
            shared = sum(pool.map(self._counted, lookups))
        unlinked = self._screen(orders, existing)

        def attempt(order: dict[str, Any]) -> RecordResult:
            planned = plans[order["id"]]
            if isinstance(planned, FlxError):
                raise planned
            if order["id"] in refused:
                raise refused_error(order["id"], f"order {order['id']}", "number",
                                    str(order.get("number")), refused[order["id"]])
            if self.runtime.dry_run:
                found = existing.get(order["id"])
                if found:  # a real run would link it: nothing would be sent
                    link = link_payload(found)
                    return RecordResult(order["id"], "dry_run", message=link["message"],
                                        payloads=[link])
                payloads, warnings = self.preview(order, planned)
                return RecordResult(order["id"], "dry_run", message="would send",
                                    payloads=payloads, warnings=warnings)
            return self._send_one(order, planned, existing.get(order["id"]))

        def with_note(order: dict[str, Any]) -> RecordResult:
            result = guarded(self.ctx, order["id"], lambda: attempt(order))
            if order["id"] in unlinked:
                result.warnings.insert(0, unlinked[order["id"]])
            return result

        try:
            results = self.runtime.map(with_note, orders, workers=worker_threads(self.runtime))
        finally:
            self.customers.finder.save()
        if results:  # the batch's shared look-ups, counted once
            results[0].requests += shared
        return results

    def _screen(self, orders: list[dict[str, Any]],
                existing: dict[str, dict[str, str]]) -> dict[str, str]:
        """Drop matches by order number that are another order's (plugins/netsuite/linking);
        order id -> the warning saying so."""
        notes = {}
        for order in orders:
            found = existing.get(order["id"])
            why = found and foreign_match(self.ctx, self.customers, order, found,
                                          self.external_id(order))
            if why:
                del existing[order["id"]]
                notes[order["id"]] = why
        return notes

    def _counted(self, lookup: Callable[[], Any]) -> int:
        """Run one batch look-up; the requests it made (counted per thread)."""
        before = self.ctx.client.thread_requests
        lookup()
        return self.ctx.client.thread_requests - before

    def external_id(self, order: dict[str, Any]) -> str:
        return eid(order["id"])

    def plan(self, order: dict[str, Any]) -> Plan:
        try:
            lines = plan_lines(order, self.sku_level)
        except (KeyError, ValueError) as err:
            raise MappingError(
                f"order {order['id']}: routing refers to something missing ({err})",
                hint="check that every fulfillment request item names an order line id of "
                     "the order, then re-import it", record_id=order["id"]) from err
        problems = split_lines(order, lines)
        too_large = order_discount_problem(order, lines)
        return Plan(lines, [*problems, *([too_large] if too_large else [])])

    # -- one order -------------------------------------------------------------------------------

    def _known_so(self, order_id: str) -> str | None:
        state = self.runtime.state(order_id)
        return (state.remote_ids or {}).get("sales_order") if state else None

    def _send_one(self, order: dict[str, Any], plan: Plan,
                  existing: dict[str, str] | None) -> RecordResult:
        order_id = order["id"]
        lines = plan.lines
        state = self.runtime.state(order_id)
        resumed = state is not None and state.status == "in_flight"
        so_id = self._known_so(order_id)
        status = "sent"
        if existing and existing.get("type") == "CashSale":
            # Recorded by the store's own point of sale: nothing of flx's to make or match,
            # so not even the order's SKUs need to exist in NetSuite.
            self.runtime.checkpoint(order_id, status="linked",
                                    remote_ids={"cash_sale": existing["id"]})
            return RecordResult(order_id, "linked", remote_ids={"cash_sale": existing["id"]},
                                message=f"linked to existing cash sale {existing['tranid']}")
        if so_id and state is not None and state.status in ("sent", "linked"):
            # Sent before and now forced (--only --force): the duplicate guard links it. flx
            # never rewrites a Sales Order already in NetSuite, and says so.
            return RecordResult(order_id, state.status,  # type: ignore[arg-type]
                                remote_ids=dict(state.remote_ids or {}), message=(
                f"Sales Order {so_id} is already in NetSuite; nothing sent. flx does not change "
                "a Sales Order once created: edit it in NetSuite if the order changed"))
        warnings: list[str] = []
        # Every problem at once (items, vendors, locations, the order's own data): a user
        # fixes them in one round instead of meeting the next one at the next run.
        problems = [*plan.problems, *self._resolve_lines(order, lines)]
        if problems and existing and not so_id:
            # Linking needs no item or vendor mapping; only matching its PO ids does.
            warnings.append(f"linked without matching its lines or Purchase Orders: "
                            f"{problems_error(order_id, problems).message}")
            lines, problems = [], []
        if existing and not so_id:
            # Carrying flx's own external id after an earlier attempt of this order failed
            # or died, it is the order flx created (its answer was lost): sent, not linked.
            ours = (existing.get("externalid") == self.external_id(order) and state is not None
                    and state.attempts > 0)
            so_id, status = existing["id"], ("sent" if resumed or ours else "linked")
        if not so_id:
            problems += self._create_problems(order)
        if problems:
            raise problems_error(order_id, problems)
        recovered = bool(so_id) and status == "sent"  # made by an earlier attempt
        elsewhere = False  # made by another connection to the account meanwhile
        customer_id = how = None
        if not so_id:
            customer_id, how = self.customers.resolve(order)
            self.runtime.checkpoint(order_id, status="in_flight")
            body = self.sales_order_payload(order, lines, customer_id)
            try:
                created = self.ctx.client.create("salesOrder", body,
                                                 external_id=body["externalId"])
            except RemoteRejectedError as err:
                raise self._explain(err, order) from err
            so_id = created.id
            # With link_existing the batch look-up just said there was no such order, so an
            # order found by its external id now is this request's own (a reply lost after
            # NetSuite saved it): sent, not linked.
            if created.existed and not resumed and not self.settings.get("link_existing", True):
                status = "linked"
            elsewhere = created.existed and made_elsewhere(state, created.found_after)
            if elsewhere:
                status = "linked"
            recovered = created.existed and status == "sent"
        remote: dict[str, Any] = {"sales_order": so_id}
        if customer_id:
            remote.update(customer=customer_id, customer_match=how)
        if how == "created" and not (order.get("customer") or {}).get("company"):
            named = person_name(order)[2]
            if named:
                warnings.append(named)
        read_back = bool(lines) and (status == "linked" or self.purchase_orders.needs_read_back(
            lines, self.custom_price))
        if read_back or (lines and self.mode == "explicit_po" and any(p.dropship for p in lines)):
            # More NetSuite work follows (the PO read-back or creates): keep the Sales Order id
            # now, so a crash before the result is recorded resumes instead of re-linking.
            self.runtime.checkpoint(order_id, remote_ids=remote)
        remote["lines"] = [p.summary() for p in lines]
        if status == "sent":  # flx's own payload (a linked order was made by someone else)
            warnings += self.order_warnings(order, lines)
        explicit = self.mode == "explicit_po" and any(p.dropship for p in lines)
        if lines and (read_back or explicit):
            remote["purchase_orders"] = self.purchase_orders.record(
                order, so_id, lines, warnings, self.context(order), read_back=read_back,
                custom_price=self.custom_price, ours=status == "sent")
            remote["lines"] = [p.summary() for p in lines]
        message = ("linked to the existing Sales Order" if status == "linked"
                   else "Sales Order created")
        if remote.get("purchase_orders"):
            message += f" with {len(set(remote['purchase_orders'].values()))} dropship PO(s)"
        message += recovered_note(state) if recovered else ""
        message += ELSEWHERE_NOTE if elsewhere else ""
        return RecordResult(order_id, status, remote_ids=remote, message=message,  # type: ignore[arg-type]
                            warnings=warnings)

    def _explain(self, err: RemoteRejectedError, order: dict[str, Any]) -> RemoteRejectedError:
        """NetSuite's words, and the profile setting that put the refused value there when
        it is the header, tables.currencies or a custom field (common.py's table names the
        rest)."""
        out = explain_rejection(err, f"the Sales Order for order {order['id']}")
        leaf = (err.path or "").split(".")[-1].split("[")[0]
        out.hint = self.customers.entity_hint(order, leaf) or out.hint  # whose customer id
        custom = self.ctx.profile.get("custom_fields") or {}
        header = self.ctx.profile.get("header") or {}
        currency = currency_id(order, self.ctx.tables)[0]
        if leaf == "currency" and currency:
            code = order.get("currency")
            out.hint = (f"NetSuite refused currency {currency!r} ({code}), set by "
                        f"tables.currencies.{code} in the mapping profile: use the internal id "
                        f"of {code} in your NetSuite account, and check that the customer can "
                        f"be billed in {code} (its primary currency, or one added to its "
                        "Currencies list)")
        elif leaf in header:
            out.hint = (f"NetSuite refused {leaf} {header[leaf]!r}, set by header.{leaf} in the "
                        "mapping profile: use an internal id that exists in your NetSuite "
                        "account and fits the order's customer and subsidiary")
        for section in ("body", "column"):
            if leaf in (custom.get(section) or {}):
                out.hint = (f"NetSuite refused {leaf}, set by custom_fields.{section}.{leaf} in "
                            "the mapping profile: check that the custom field exists in your "
                            "account (exact id) and applies to Sales Orders, and its value type")
        return out

    def _resolve_lines(self, order: dict[str, Any], lines: list[PlannedLine]) -> list[Problem]:
        """Item, vendor and location of every line; every problem found, not just the first."""
        order_id = order["id"]
        locations = self.ctx.tables.get("locations") or {}
        problems: list[Problem] = []
        for p in lines:
            where = f"order {order_id} line {p.order_line_id} ({p.fr_id})"
            item: Item | None = None
            try:
                item = self.items.item(p.sku, order_id, where)
            except MappingError as err:
                problems.append(Problem.of(err))
            if item is not None:
                p.item_id = item.id
                p.dropship_item = item.dropship
                p.itemtype = item.itemtype or None
            if p.dropship:
                if not p.vendor_id and p.vendor_key:
                    p.vendor_id = self.ctx.table_value("vendors", p.vendor_key)
                if not p.vendor_id:
                    problems.append(Problem(
                        f"order {order_id}: vendor {p.vendor_key!r} ({p.vendor_name or 'no name'})"
                        f" of fulfillment request {p.fr_id} has no NetSuite vendor id, so no "
                        "Purchase Order can be made",
                        f'add "{p.vendor_key}": "<vendor internal id>" under tables.vendors '
                        "in the mapping profile"))
                if item is not None and self.mode == "create_po" and item.dropship is False:
                    problems.append(Problem(
                        f"order {order_id}: SKU {p.sku} (NetSuite item {item.id}) is routed to "
                        f"dropship vendor {p.vendor_name or p.vendor_key} but is not a Drop Ship "
                        "Item in NetSuite, so NetSuite would create no Purchase Order",
                        "tick 'Drop Ship Item' (with a preferred vendor) on the item, or set "
                        'options.dropship_mode = "explicit_po" in the profile'))
            elif self.ctx.options.get("line_location") != "netsuite":
                problem = location_problem(order_id, p, locations)
                if problem is not None:
                    problems.append(problem)
        return problems

    def _create_problems(self, order: dict[str, Any]) -> list[Problem]:
        """What would stop flx creating this order's Sales Order before anything is written:
        the order discount's item, the order's currency and the customer policy (read-only:
        the batch look-ups already know the customer)."""
        problems = [p for p in (discount_item_problem(order, self.ctx.options),
                                currency_id(order, self.ctx.tables)[1]) if p]
        if self.customers.find(order) is None:
            inactive = self.customers.inactive_error(order)
            if inactive is not None:
                return [*problems, Problem.of(inactive)]
            try:
                if self.customers.on_missing == "create":
                    self.customers.external_id(order)  # a customer needs an email or a name
                else:
                    self.customers.resolve(order)  # the default customer, or the failure
            except MappingError as err:
                problems.append(Problem.of(err))
        return problems

    def order_warnings(self, order: dict[str, Any], lines: list[PlannedLine]) -> list[str]:
        """What the Sales Order leaves out or does not add up to (order_checks.py)."""
        return order_warnings(order, lines, self.ctx.profile)

    # -- payloads --------------------------------------------------------------------------------

    def context(self, order: dict[str, Any]) -> dict[str, Any]:
        channel = self.ctx.table_value("channels", order.get("channel")) or {}
        return {"order": with_defaults(order), "profile": self.ctx.profile,
                "tables": self.ctx.tables,
                "channel": channel, "options": self.ctx.options}

    def sales_order_payload(self, order: dict[str, Any], lines: list[PlannedLine],
                            customer_id: str) -> dict[str, Any]:
        order_id = order["id"]
        base = self.context(order)
        header = self.ctx.header(self.ctx.profile.get("header") or {}, base, order_id)
        channel = base["channel"]
        for name in ("department", "class"):
            if isinstance(channel, dict) and channel.get(name) and name not in header:
                header[name] = ref(channel[name])
        ship_method = self.ctx.table_value("ship_methods", (order.get("shipping") or {})
                                           .get("method"))
        if ship_method and "shipMethod" not in header:
            header["shipMethod"] = ref(ship_method)
        currency, problem = currency_id(order, self.ctx.tables)
        if problem:
            raise problems_error(order_id, [problem])
        if currency:  # the order's own currency wins over a fixed header.currency
            header["currency"] = ref(currency)
        discount = money(order.get("discount_total"))
        if discount:  # the order-level discount, on top of the lines' own discounts
            problem = discount_item_problem(order, self.ctx.options)
            if problem:
                raise problems_error(order_id, [problem])
            header.setdefault("discountItem", ref(self.ctx.options["discount_item"]))
            header.setdefault("discountRate", float(-discount))
        rendered_lines = []
        for p in lines:
            line_ctx = {**base, "line": p.summary(), "order_line": next(
                (ol for ol in order["lines"] if ol["id"] == p.order_line_id), {})}
            rendered_lines.append({
                # Net of the line's discount: rate x quantity rounds to amount (routing.py).
                "item_id": p.item_id, "quantity": p.quantity, "rate": exact_number(p.sent_rate),
                "amount": float(p.amount), "discount": float(p.discount),
                "description": p.description,
                "location_id": p.location_id,
                "dropship": p.dropship and self.mode == "create_po",
                "create_po": create_po(p, self.mode),
                "custom_price": self.custom_price,
                "vendor_id": p.vendor_id,
                "po_rate": None if p.cost is None else float(p.cost),
                "custom_columns": self.ctx.custom("column", line_ctx, order_id),
            })
        shipping = order.get("shipping") or {}
        context = {
            **base, "external_id": self.external_id(order), "customer_id": customer_id,
            "tran_date": tran_date(order.get("placed_at")),
            "order_number": str(order.get("number") or order_id),
            "email": (order.get("customer") or {}).get("email"),
            "order_status": self.ctx.options.get("order_status", "B"),
            "memo": f"{order.get('channel') or 'flx'} order {order.get('number') or order_id}",
            "header": header, "custom_body": self.ctx.custom("body", base, order_id),
            "shipping_amount": (float(money(shipping["amount"]))
                                if shipping.get("amount") not in (None, "") else None),
            "shipping_address": address(order.get("shipping_address")),
            "billing_address": address(order.get("billing_address")),
            "lines": rendered_lines,
        }
        return self.ctx.render("salesOrder", context, order_id)

    def preview(self, order: dict[str, Any], plan: Plan
                ) -> tuple[list[dict[str, Any]], list[str]]:
        """What a run would send for this order (for --dry-run and `flx render`), and the
        warnings a run would give. Fails with every problem a run would meet first."""
        out: list[dict[str, Any]] = []
        lines = plan.lines
        problems = [*plan.problems, *self._resolve_lines(order, lines),
                    *self._create_problems(order)]
        if problems:
            raise problems_error(order["id"], problems)
        customer_id = self._preview_customer(order, out)
        body = self.sales_order_payload(order, lines, customer_id)
        warnings = self.order_warnings(order, lines)
        customer_notes = [w for e in out for w in e.get("warnings", [])]
        entry: dict[str, Any] = {"name": "salesOrder", "method": "POST",
                                 "path": "/services/rest/record/v1/salesOrder", "body": body}
        if warnings:  # so `flx render` shows them too
            entry["warnings"] = warnings
        out.append(entry)
        if self.mode == "explicit_po":
            for fr_id in dict.fromkeys(p.fr_id for p in lines if p.dropship):
                out.append({"name": "purchaseOrder", "method": "POST",
                            "path": "/services/rest/record/v1/purchaseOrder",
                            "body": self.purchase_orders.payload(
                                order, fr_id, lines, "<new>", self.context(order))})
        return out, [*customer_notes, *warnings]

    def _preview_customer(self, order: dict[str, Any], out: list[dict[str, Any]]) -> str:
        # Read-only: previews run on several worker threads at once, so the resolver's
        # policy is never switched off and on here (that raced in --dry-run).
        found = self.customers.find(order)
        if found:
            return found[0]
        if self.customers.on_missing != "create":
            return self.customers.resolve(order)[0]  # the default customer, or the failure
        entry = {"name": "customer", "method": "POST",
                 "path": "/services/rest/record/v1/customer",
                 "body": self.customers.payload(order)}
        named = None if (order.get("customer") or {}).get("company") else person_name(order)[2]
        if named:
            entry["warnings"] = [named]
        out.append(entry)
        return "<new customer>"


def send_orders(runtime: Runtime, orders: list[dict[str, Any]]) -> list[RecordResult]:
    return OrderSender(runtime).send(list(orders))


def render_order(runtime: Runtime, order: dict[str, Any]) -> list[dict[str, Any]]:
    sender = OrderSender(runtime)
    plan = sender.plan(order)
    if sender.settings.get("link_existing", True):
        found = existing_transactions(sender.ctx, [order],
                                      {order["id"]: sender.external_id(order)})
        sender.customers.prefetch([order])
        sender._screen([order], found)
        if order["id"] in found:
            return [link_payload(found[order["id"]])]
    return sender.preview(order, plan)[0]
