"""How an order's lines become Sales Order lines: each order line's share routed to one
fulfillment request is one line (reference page, "exploded SKUs"). An order line's amount is
worked out once, money(quantity x unit price) less its discount, and split over its shares in
whole cents, so its Sales Order lines add up to exactly that amount however it is routed."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from decimal import ROUND_CEILING, ROUND_DOWN, ROUND_FLOOR, Decimal
from typing import Any

from flx import MappingError, RecordError, RecordValidationError
from flx_netsuite.common import CENT, money, rate

# A net line's rate gets the fewest decimals (2 to 8) at which quantity x rate rounds to the
# line's amount; 8 always suffices for quantities up to 1,000,000 (docs/records.md).
RATE_PLACES = range(2, 9)


@dataclass
class PlannedLine:
    """One Sales Order line: an order line's share routed to one fulfillment request."""

    order_line_id: str
    fr_id: str
    fr_type: str
    sku: str
    order_sku: str
    quantity: int
    rate: Decimal  # the order line's unit price
    description: str
    warehouse: str | None = None
    vendor_key: str | None = None
    vendor_name: str | None = None
    cost: Decimal | None = None
    item_id: str = ""
    location_id: str | None = None
    vendor_id: str | None = None
    line: int | None = None  # NetSuite's line number, once read back
    dropship_item: bool | None = None  # the item's isdropshipitem (None: not said)
    itemtype: str | None = None  # the item's SuiteQL type (InvtPart, Service, OthCharge...)
    discount: Decimal = field(default_factory=lambda: Decimal("0.00"))  # this share's part
    # This share's part of its order line's gross (split_lines); not in summary().
    share: Decimal | None = None

    @property
    def dropship(self) -> bool:
        return self.fr_type == "external"

    @property
    def gross(self) -> Decimal:
        """The line before its discount: this share's part of money(quantity x unit price)
        of the whole order line (split_lines), else quantity x unit price to the cent."""
        return self.share if self.share is not None else money(self.rate * self.quantity)

    @property
    def amount(self) -> Decimal:
        """What the Sales Order line comes to: gross less its share of the line discount."""
        return self.gross - self.discount

    @property
    def sent_rate(self) -> Decimal:
        """The rate sent with `amount`: the unit price when quantity x unit price rounds to
        the amount (a line that is neither discounted nor split off a line it does not divide
        evenly), else the shortest rate at which quantity x rate rounds to exactly the amount,
        so NetSuite's line is the same to the cent whether it keeps the amount sent or
        recomputes it from the rate."""
        if money(self.rate * self.quantity) == self.amount:
            return self.rate
        return net_rate(self.amount, self.quantity)

    def summary(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "share"}
        # Fixed-point text: rates are normalised Decimals, and str() would write 10 as "1E+1".
        data["rate"] = format(self.rate, "f")
        data["cost"] = None if self.cost is None else format(self.cost, "f")
        data["discount"] = format(self.discount, "f")
        return data


@dataclass
class Problem:
    """One thing that stops an order from being sent, with its fix. `kind` is the error class
    it would fail with alone: "reference" (a mapping or NetSuite record) or "data" (the order
    itself must be corrected and imported again)."""

    message: str
    hint: str
    kind: str = "reference"
    path: str | None = None

    @classmethod
    def of(cls, err: RecordError) -> Problem:
        return cls(err.message, err.hint or "",
                   "data" if isinstance(err, RecordValidationError) else "reference", err.path)


def problems_error(order_id: str, problems: list[Problem]) -> RecordError:
    """Every problem of an order as one failure: a single problem keeps its own words; several
    are numbered, each fix under the same number, so one round of fixes clears them all."""
    unique = list({(p.message, p.hint): p for p in problems}.values())
    kind = RecordValidationError if any(p.kind == "data" for p in unique) else MappingError
    if len(unique) == 1:
        (only,) = unique
        return kind(only.message, hint=only.hint, record_id=order_id, path=only.path)
    prefixes = (f"order {order_id}: ", f"order {order_id} ")

    def bare(message: str) -> str:
        for prefix in prefixes:
            if message.startswith(prefix):
                return message[len(prefix):]
        return message

    message = f"order {order_id} has {len(unique)} problems: " + "; ".join(
        f"({n}) {bare(p.message)}" for n, p in enumerate(unique, 1))
    hint = "; ".join(f"({n}) {p.hint}" for n, p in enumerate(unique, 1) if p.hint)
    paths = {p.path for p in unique if p.path}
    return kind(message, hint=hint, record_id=order_id,
                path=paths.pop() if len(paths) == 1 else None)


def plan_lines(order: dict[str, Any], sku_level: str) -> list[PlannedLine]:
    """Split the order's lines along its routing (exploded SKUs: reference page example)."""
    by_id = {line["id"]: line for line in order.get("lines", [])}
    planned = []
    for fr in order.get("fulfillment_requests") or []:
        vendor = fr.get("vendor") or {}
        for item in fr.get("items") or []:
            line = by_id[item["order_line_id"]]
            planned.append(PlannedLine(
                order_line_id=line["id"], fr_id=fr["id"], fr_type=fr.get("type", "internal"),
                # A request item without its own SKU ships the ordered one (docs/records.md).
                sku=(item.get("sku") or line["sku"]) if sku_level == "po" else line["sku"],
                order_sku=line["sku"],
                quantity=int(item["quantity"]), rate=rate(line.get("unit_price", "0")),
                description=line.get("title") or "", warehouse=fr.get("warehouse"),
                vendor_key=vendor.get("id"),
                # A vendor that carries its NetSuite id needs no tables.vendors entry.
                vendor_id=str(vendor["netsuite_id"]) if vendor.get("netsuite_id") else None,
                vendor_name=vendor.get("name"),
                cost=None if item.get("cost") in (None, "") else rate(item["cost"]),
            ))
    return planned


def split_lines(order: dict[str, Any], planned: list[PlannedLine]) -> list[Problem]:
    """Work out each order line's amount once and split it over its Sales Order lines, so
    they add up to exactly money(quantity x unit price) - discount however the line is
    routed (rounding each share's quantity x price on its own could be a cent off).

    The gross (money(quantity x unit price), half up) is split pro rata by quantity, and the
    line's `discount` pro rata by those gross shares; both in whole cents rounded down, the
    cents left over on the last share (the discount's on earlier ones when the last cannot
    take them without going below zero). A discount larger than the whole line is a problem
    of the order's data."""
    problems = []
    for index, line in enumerate(order.get("lines") or []):
        shares = [p for p in planned if p.order_line_id == line["id"]]
        if not shares:
            continue
        price = shares[0].rate
        # Only fully routed orders are sent, so the routed units are the line's quantity;
        # `flx render` of a partly routed order splits what is routed.
        grosses = pro_rata(money(price * sum(p.quantity for p in shares)),
                           [Decimal(p.quantity) for p in shares])
        for p, gross in zip(shares, grosses, strict=True):
            p.share = gross
        discount = money(line.get("discount"))
        if not discount:
            continue
        whole = money(price * int(line.get("quantity") or 0))
        if discount > whole:
            problems.append(Problem(
                f"order {order['id']} line {line['id']}: the discount {discount} is more than "
                f"the line's amount {whole} ({line.get('quantity')} x "
                f"{line.get('unit_price', '0')}), so its Sales Order line would be negative",
                f"correct lines[{index}].discount (a positive amount off the whole line, at "
                "most quantity x unit_price) or the line's unit_price in the source system, "
                "then import the order again", kind="data", path=f"$.lines[{index}].discount"))
            continue
        for p, part in zip(shares, pro_rata(discount, grosses, caps=grosses), strict=True):
            p.discount = part
    return problems


def pro_rata(total: Decimal, weights: list[Decimal],
             caps: list[Decimal] | None = None) -> list[Decimal]:
    """`total` (whole cents) split by `weights` in whole cents rounded down, the cents left
    over given from the last share backwards, none above its cap (when caps are given)."""
    whole = sum(weights, Decimal(0))
    parts = [(total * w / whole).quantize(CENT, ROUND_DOWN) if whole else Decimal("0.00")
             for w in weights]
    left = total - sum(parts, Decimal("0.00"))
    for i in reversed(range(len(parts))):
        take = left if caps is None else max(min(left, caps[i] - parts[i]), Decimal("0.00"))
        parts[i] += take
        left -= take
    return parts


def net_rate(amount: Decimal, quantity: int) -> Decimal:
    """The shortest rate (2 to 8 decimals) with money(quantity x rate) == amount; the nearer
    of the two candidates at each precision is tried first."""
    exact = amount / quantity
    for places in RATE_PLACES:
        step = Decimal(1).scaleb(-places)
        low, high = exact.quantize(step, ROUND_FLOOR), exact.quantize(step, ROUND_CEILING)
        for candidate in sorted({low, high}, key=lambda r: abs(r - exact)):
            if money(candidate * quantity) == amount:
                return candidate
    raise ValueError(f"no rate of at most 8 decimals gives {amount} for {quantity} units")
