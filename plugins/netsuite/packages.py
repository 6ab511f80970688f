"""Weights of a shipment: its packages (the Item Fulfillment's `package` sublist, one per
tracking number) and the weight each fulfillment line ships (for template overrides that put
it on a line field). Weights are in whole cents of a pound, like `packageWeight`; a weight
shared between parcels or lines is split in whole cents, the cents left over going to the
last, so the parts add up exactly to the items' weight."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from typing import Any

from flx_netsuite.common import money
from flx_netsuite.routing import pro_rata


def unit_weights(order: dict[str, Any]) -> tuple[dict[str, Decimal], dict[str, Decimal]]:
    """Weight of one unit by order line id and by SKU. A PO-level (exploded) SKU weighs what
    a unit of the order line it was routed from weighs: routing splits units one for one."""
    by_line: dict[str, Decimal] = {}
    by_sku: dict[str, Decimal] = {}
    for line in order.get("lines", []):
        if line.get("weight") not in (None, ""):
            by_line[line["id"]] = Decimal(str(line["weight"]))
            by_sku.setdefault(line.get("sku"), by_line[line["id"]])
    for fr in order.get("fulfillment_requests") or []:
        for item in fr.get("items") or []:
            weight = by_line.get(item.get("order_line_id"))
            if weight is not None:
                by_sku.setdefault(item.get("sku"), weight)
    return by_line, by_sku


class Weights:
    """The weight of each shipment item: its `weight` on the shipment, else its order line's
    (else its SKU's) unit weight x quantity; 0 when nothing says."""

    def __init__(self, order: dict[str, Any]) -> None:
        self.by_line, self.by_sku = unit_weights(order)

    def of(self, item: dict[str, Any]) -> Decimal:
        if item.get("weight") not in (None, ""):
            return Decimal(str(item["weight"]))
        per_unit = self.by_line.get(str(item.get("order_line_id"))) or \
            self.by_sku.get(str(item["sku"]))
        return per_unit * int(item["quantity"]) if per_unit else Decimal(0)


def split(weight: Decimal, parts: Iterable[int | Decimal]) -> list[Decimal]:
    """`weight` in whole cents, split in proportion to `parts` (equal parts for parcels,
    quantities for lines): each rounded down, the cents left over to the last."""
    return pro_rata(money(weight), [Decimal(p) for p in parts])


def packages(shipment: dict[str, Any], order: dict[str, Any],
             default_weight: Decimal) -> list[dict[str, Any]]:
    """Every tracking number becomes a package. Numbers given on an item carry that item's
    weight (summed when one parcel holds several items; an item over several parcels is split
    between them); shipment-level numbers share the weight of the items without their own
    number. Splits are in whole cents with the remainder on the last parcel, so 4 lb over three
    parcels is 1.33 + 1.33 + 1.34. A package whose weight is unknown (or rounds to nothing)
    gets `default_weight`."""
    weights = Weights(order)
    own_weight: dict[str, Decimal] = {}
    own_items: dict[str, list[str]] = {}
    shared_weight = Decimal(0)
    for item in shipment.get("items", []):
        own = list(dict.fromkeys(n for n in item.get("tracking_numbers") or [] if n))
        if not own:
            shared_weight += weights.of(item)
            continue
        shares = split(weights.of(item), [1] * len(own)) if len(own) > 1 else [weights.of(item)]
        for number, share in zip(own, shares, strict=True):
            own_weight[number] = own_weight.get(number, Decimal(0)) + share
            own_items.setdefault(number, []).append(f"{item['sku']} x {item['quantity']}")
    out: list[dict[str, Any]] = [
        {"tracking_number": number, "weight": weight, "description": ", ".join(own_items[number])}
        for number, weight in own_weight.items()]
    shared = list(dict.fromkeys(n for n in shipment.get("tracking_numbers") or []
                                if n and n not in own_weight))
    description = (shipment.get("carrier") or shipment.get("method") or
                   f"shipment {shipment['id']}")
    if shared:
        for number, share in zip(shared, split(shared_weight, [1] * len(shared)), strict=True):
            out.append({"tracking_number": number, "weight": share, "description": description})
    for package in out:
        weight = money(package["weight"]) if package["weight"] else Decimal(0)
        package["weight"] = float(weight if weight > 0 else default_weight)
    return out


class LineWeights:
    """What each fulfillment line ships: the shipment items whose units were taken from it and
    their weight. An item taken from several lines has its weight split by the units each
    line took (whole cents, the remainder on its last line)."""

    def __init__(self, order: dict[str, Any]) -> None:
        self.weights = Weights(order)
        self.items: dict[int, list[dict[str, Any]]] = {}
        self.weight: dict[int, Decimal] = {}

    def add(self, item: dict[str, Any], taken: list[tuple[int, int]]) -> None:
        """`taken`: (Sales Order line, units) that `item` was allocated to."""
        weight = self.weights.of(item)
        shares = split(weight, [units for _, units in taken]) if weight and taken else []
        for index, (line, _) in enumerate(taken):
            self.items.setdefault(line, []).append(item)
            if shares:
                self.weight[line] = self.weight.get(line, Decimal(0)) + shares[index]

    def context(self, line: int) -> dict[str, Any]:
        """`weight` (lb, whole cents; None when nothing ships on the line or its weight is
        unknown), `item` (the first shipment item taken from it, else None) and
        `shipment_items` (all of them)."""
        items = self.items.get(line, [])
        weight = self.weight.get(line)
        return {"weight": float(money(weight)) if weight else None,
                "item": items[0] if items else None, "shipment_items": items}
