"""Flxpoint JSON -> flx records: the seed maps to valid records, the profile's choices apply,
and hostile objects either map to a valid record or fail as one per-record problem that names
the Flxpoint object, the field and the fix (never another exception)."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flx import ConfigError
from flx.records.validate import validate_record
from flx_flxpoint.emulator import load_default_seed
from flx_flxpoint.mapping import (
    Context,
    FlxpointMappingError,
    map_invoice,
    map_order,
    map_shipment,
)
from flx_flxpoint.profile import load_mapping_profile

SEED: dict[str, Any] = json.loads(json.dumps(load_default_seed()), parse_float=Decimal)


def context(profile: str = "demo", **overrides: Any) -> Context:
    return Context(load_mapping_profile(profile, overrides),
                   {s["id"]: s for s in SEED["sources"]},
                   {c["id"]: c for c in SEED["channels"]},
                   {fr["id"]: o["id"] for o in SEED["orders"]
                    for fr in o["fulfillmentRequests"]})


def order(order_id: int) -> dict[str, Any]:
    return copy.deepcopy(next(o for o in SEED["orders"] if o["id"] == order_id))


def test_seed_maps_to_valid_records():
    ctx = context()
    orders = [map_order(o, ctx) for o in SEED["orders"]]
    shipments = [map_shipment(s, ctx) for s in SEED["shipments"]]
    bills = [map_invoice(i, ctx) for i in SEED["invoices"]]
    for kind, records in (("order", orders), ("shipment", shipments), ("vendor_bill", bills)):
        for record in records:
            assert record is None or validate_record(kind, record) == []
    assert bills[-1] is None  # the RMA credit is not a bill
    assert [b["order_id"] for b in bills if b] == ["500003", "500003", "500002"]


def test_fulfillment_requests_classified_from_the_source_type():
    mapped = map_order(order(500002), context())
    assert mapped is not None
    frs = mapped["fulfillment_requests"]
    assert [(fr["id"], fr["type"]) for fr in frs] == [("70002", "internal"),
                                                      ("70003", "external")]  # 70004 voided
    assert frs[0]["warehouse"] == "MAIN"
    assert frs[1]["vendor"] == {"id": "V-A", "name": "Vendor A"}
    default = map_order(order(500002), context("default"))
    assert default is not None and default["fulfillment_requests"][1]["vendor"]["id"] == "12"
    by_vendor = map_order(order(500002), context("default", vendor_id="vendor_id"))
    assert by_vendor is not None
    assert by_vendor["fulfillment_requests"][1]["vendor"]["id"] == "301"
    moved = map_order(order(500002), context(sources={"10": {"type": "external"}}))
    assert moved is not None and moved["fulfillment_requests"][0]["type"] == "external"


def test_cancelled_order_and_voided_quantities():
    cancelled = map_order(order(500004), context())
    assert cancelled is not None and cancelled["status"] == "cancelled"
    assert "fulfillment_requests" not in cancelled  # its FR was cancelled too
    partly = order(500002)
    partly["fulfillmentRequests"][1]["fulfillmentRequestItems"][0]["voidedQuantity"] = 1
    mapped = map_order(partly, context())
    assert mapped is not None
    assert mapped["fulfillment_requests"][1]["items"][0]["quantity"] == 1
    draft = order(500001) | {"orderStatus": "Draft"}
    assert map_order(draft, context()) is None


def test_money_is_rounded_half_up_and_redacted_addresses_left_out():
    raw = order(500001)
    raw["orderItems"][0]["price"] = Decimal("12.34565")
    raw["channelInvoice"]["shippingCost"] = Decimal("5.005")
    raw["shippingAddress"] = raw["billingAddress"] = dict(raw["shippingAddress"], redacted=True)
    mapped = map_order(raw, context())
    assert mapped is not None
    assert mapped["lines"][0]["unit_price"] == "12.3457"
    assert mapped["shipping"]["amount"] == "5.01"
    assert "shipping_address" not in mapped and "customer" not in mapped


def test_the_profile_moves_uncertain_fields():
    raw = order(500001)
    raw["lines"] = raw.pop("orderItems")
    for line in raw["lines"]:
        line["unitPrice"] = line.pop("price")
    raw["currency"] = {"code": "EUR"}
    ctx = context(fields={"order.lines": "lines", "line.unit_price": "unitPrice"})
    mapped = map_order(raw, ctx)
    assert mapped is not None and mapped["lines"][0]["unit_price"] == "12.5000"
    assert mapped["currency"] == "EUR"
    with pytest.raises(FlxpointMappingError) as info:
        map_order(raw, context())
    assert info.value.record_id == "500001" and "fields.order.lines" in (info.value.hint or "")


def test_problems_name_object_field_and_fix():
    raw = order(500002)
    raw["fulfillmentRequests"][0]["sourceId"] = 99
    with pytest.raises(FlxpointMappingError) as info:
        map_order(raw, context())
    err = info.value
    assert "order 500002 fulfillment request 70002: sourceId names source 99" in err.message
    assert err.path == "sourceId" and '"99"' in (err.hint or "")
    raw["orderItems"][0]["quantity"] = Decimal("1.5")
    with pytest.raises(FlxpointMappingError, match=r"orderItems\[0\]: quantity is"):
        map_order(raw, context())
    invoice = copy.deepcopy(SEED["invoices"][0]) | {"fulfillmentRequestId": 1}
    with pytest.raises(FlxpointMappingError, match="fulfillment request 1, whose order"):
        map_invoice(invoice, context())


def test_profile_errors_are_config_errors():
    with pytest.raises(ConfigError) as info:
        load_mapping_profile("default", {"currency": "dollars", "vendor_id": "x",
                                         "source_types": {"data_source": "dropship"}})
    assert len(info.value.problems) == 3
    with pytest.raises(ConfigError, match="no Flxpoint mapping profile"):
        load_mapping_profile("nope")


# --- hostile input -----------------------------------------------------------------------------

HOSTILE = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**20), 10**20), st.text(max_size=30),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity"), Decimal("-1"), Decimal("1e400"),
                     Decimal("0.000001"), "", " ", "2026-13-45T00:00:00Z", "x" * 2000,
                     "2026-11-20", [], {}, [1, 2], {"name": 1}]),
)


CROSS_CHECKS = {"unknown_line", "over_routed", "duplicate_id"}


def _leaves(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(node, dict):
        return [path] + [p for k, v in node.items() for p in _leaves(v, (*path, k))]
    if isinstance(node, list):
        return [path] + [p for i, v in enumerate(node) for p in _leaves(v, (*path, i))]
    return [path]


def _poke(doc: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    parent = doc
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    return doc


def _hostile_case(kind: str, mapper: Any, raws: list[Any]) -> Any:
    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(data=st.data())
    def run(data: st.DataObject) -> None:
        raw = copy.deepcopy(data.draw(st.sampled_from(raws)))
        for _ in range(data.draw(st.integers(1, 3))):
            path = data.draw(st.sampled_from(_leaves(raw)))
            raw = _poke(raw, path, copy.deepcopy(data.draw(HOSTILE)))
        try:
            record = mapper(raw, context())
        except FlxpointMappingError as err:
            assert err.hint and err.message.startswith("Flxpoint ")
            return
        if record is not None:
            # references between lines and requests are flx's own checks, said at ingest
            problems = [p for p in validate_record(kind, record) if p.code not in CROSS_CHECKS]
            assert problems == [], (record, problems)
    return run


test_hostile_orders = _hostile_case("order", map_order, SEED["orders"])
test_hostile_shipments = _hostile_case("shipment", map_shipment, SEED["shipments"])
test_hostile_invoices = _hostile_case("vendor_bill", map_invoice, SEED["invoices"])
