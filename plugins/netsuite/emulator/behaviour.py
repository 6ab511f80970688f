"""Switches for what a real account may do where netsuite-rest.md §10 is UNCERTAIN: each
switch picks one reading, so flx can be tested against every reading an account might have.
The defaults are the emulator's long-standing behaviour (docs/emulator.md lists them all)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any

# Account features whose fields a record lacks when the feature is off (§10.7): with
# X-NetSuite-PropertyNameValidation: Error, sending one is a NONEXISTENT_FIELD.
FEATURE_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "pickpackship": {"itemFulfillment": ("shipStatus",)},
    "dropship": {"salesOrder.item": ("createPo", "poVendor", "poRate")},
}
CARRIERS = ("packageUps", "packageFedex", "packageUsps")
CHOICES = {"null_create_po": ("clears", "ignored"),
           "dropship_fulfillment": ("sales_order", "purchase_order"),
           "zero_quantity_bill_lines": ("kept_off", "refused")}


@dataclass(frozen=True)
class Behaviour:
    # A line sent with a rate but without the custom price level ("price": {"id": "-1"}) is
    # re-priced from the item's base price (§10.1).
    reprice_lines: bool = False
    # "createPo": null on a line of a drop-ship item: "clears" keeps it off a PO; "ignored"
    # leaves the item's Drop Ship default in place, so NetSuite makes a PO anyway (§10.2).
    null_create_po: str = "clears"
    # NetSuite inserts a line flx did not send (an item group's component) before the first
    # line, so read-back lines no longer match the sent ones by position (§10.3).
    insert_lines: bool = False
    # How a drop-ship line is fulfilled (§10.4): "sales_order" (SO -> IF transform) or
    # "purchase_order" (PO -> IF transform; the SO transform then leaves drop-ship lines out).
    dropship_fulfillment: str = "sales_order"
    # Whether a PO may be billed before its lines are received or marked shipped (§10.8).
    bill_before_receipt: bool = True
    # A vendor-bill line sent with quantity 0: "kept_off" the bill, or "refused" (§10.8).
    zero_quantity_bill_lines: str = "kept_off"
    # Account features turned off (FEATURE_FIELDS keys): their fields do not exist.
    missing_features: frozenset[str] = frozenset()
    # Ship item id -> the carrier sublist (CARRIERS) its fulfillments must use (§10.6).
    carrier_ship_methods: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name, allowed in CHOICES.items():
            if getattr(self, name) not in allowed:
                raise ValueError(f"{name} must be one of {', '.join(allowed)}")
        unknown = set(self.missing_features) - set(FEATURE_FIELDS)
        if unknown:
            raise ValueError(f"unknown features {sorted(unknown)}; known: "
                             f"{', '.join(FEATURE_FIELDS)}")
        for method, sublist in self.carrier_ship_methods.items():
            if sublist not in CARRIERS:
                raise ValueError(f"ship method {method}: {sublist!r} is not one of "
                                 f"{', '.join(CARRIERS)}")

    def absent(self, spec: str) -> frozenset[str]:
        """Fields of `spec` ("itemFulfillment", "salesOrder.item") the account lacks."""
        return frozenset(name for feature in self.missing_features
                         for name in FEATURE_FIELDS[feature].get(spec, ()))

    @classmethod
    def parse(cls, settings: list[str]) -> Behaviour:
        """`NAME=VALUE` pairs (the `flx emulator --behave` form): booleans true/false, lists
        comma-separated, carrier_ship_methods as SHIPITEM:SUBLIST pairs."""
        kinds = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {}
        for setting in settings:
            name, sep, raw = setting.partition("=")
            name = name.strip().replace("-", "_")
            if not sep or name not in kinds:
                raise ValueError(f"{setting!r}: use NAME=VALUE with NAME one of "
                                 f"{', '.join(kinds)}")
            default = getattr(cls(), name)
            if isinstance(default, bool):
                if raw.lower() not in ("true", "false", "1", "0", "yes", "no"):
                    raise ValueError(f"{setting!r}: {name} is true or false")
                values[name] = raw.lower() in ("true", "1", "yes")
            elif isinstance(default, frozenset):
                values[name] = frozenset(p.strip() for p in raw.split(",") if p.strip())
            elif isinstance(default, dict):
                pairs = [p.split(":", 1) for p in raw.split(",") if p.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ValueError(f"{setting!r}: {name} is SHIPITEM:SUBLIST,...")
                values[name] = {k.strip(): v.strip() for k, v in pairs}
            else:
                values[name] = raw.strip()
        return replace(cls(), **values)
