"""A ready-made flx set-up around the fake connector: flx.toml (loaded by the real config
loader), a SQLite store, the plugin manager and the ledger behind a MockTransport."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flx.config.load import Config, load_config
from flx.plugins import Plugins, build_plugins
from flx.run.report import RunReport
from flx.run.runner import render_operation, run_operation
from flx.store.store import Store
from flx.testing import fake as fake_plugin
from flx.testing.ledger import Ledger

TOML = """\
[store]
url = "sqlite:///{db}"

[connections.prod]
plugin = "fakebooks"
api_key = "${{FAKEBOOKS_KEY}}"
concurrency = 2
{connection}

[connections.prod.operations.send-orders]
channels = ["shopify", "amazon"]
{orders}

[connections.prod.operations.send-shipments]

[connections.prod.operations.send-vendor-bills]
"""


@dataclass
class Harness:
    """One test's flx: run, render and inspect the "prod" connection of the fake connector."""

    tmp: Path
    config: Config
    plugins: Plugins
    ledger: Ledger
    store: Store

    def run(self, operation: str = "send-orders", **kwargs: Any) -> RunReport:
        kwargs.setdefault("store", self.store)
        return run_operation(self.config, self.plugins, operation, "prod",
                             transport=self.ledger.transport(), **kwargs)

    def render(self, operation: str, record_id: str) -> list[dict[str, Any]]:
        return render_operation(self.config, self.plugins, operation, "prod", record_id,
                                transport=self.ledger.transport(), store=self.store)

    def state(self, record_id: str, operation: str = "send-orders") -> Any:
        return self.store.get_sync("prod", operation, record_id)

    def load(self, orders: Sequence[dict[str, Any]] = (),
             shipments: Sequence[dict[str, Any]] = (),
             vendor_bills: Sequence[dict[str, Any]] = ()) -> None:
        for kind, items in (("order", orders), ("shipment", shipments),
                            ("vendor_bill", vendor_bills)):
            if items:
                self.store.upsert_records(kind, list(items))


Env = Harness  # the name flx's own tests have used


def make_env(tmp_path: Path, *extra_plugins: Any, connection: str = "", orders: str = "",
             ledger: Ledger | None = None, batch_size: int = 2) -> Harness:
    """`connection`/`orders`: extra TOML lines for the connection / send-orders tables."""
    ledger = ledger or Ledger()
    orders = f"batch_size = {batch_size}\n{orders}"
    path = tmp_path / "flx.toml"
    path.write_text(TOML.format(db=tmp_path / "flx.db", connection=connection, orders=orders))
    path.chmod(0o600)
    plugins = build_plugins(fake_plugin, *extra_plugins, autoload=False)
    config = load_config(path, plugins=plugins, env={"FAKEBOOKS_KEY": ledger.api_key})
    return Harness(tmp_path, config, plugins, ledger, Store(config.store_url))


_ORDER: dict[str, Any] = {
    "number": "1001", "channel": "shopify", "source": "main-store", "status": "open",
    "placed_at": "2026-11-20T14:03:00Z", "currency": "USD",
    "customer": {"email": "jane@example.com", "first_name": "Jane", "last_name": "Doe"},
    "lines": [{"id": "L1", "sku": "FLX-1", "title": "Widget", "quantity": 3,
               "unit_price": "19.99"}],
    "shipping": {"method": "Ground", "amount": "5.00"}, "tax_total": "3.20",
    "fulfillment_requests": [
        {"id": "FR-1", "type": "internal", "warehouse": "MAIN",
         "items": [{"order_line_id": "L1", "sku": "FLX-1", "quantity": 1}]},
        {"id": "FR-2", "type": "external", "vendor": {"id": "V-A", "name": "Vendor A"},
         "items": [{"order_line_id": "L1", "sku": "VA-1", "quantity": 2, "cost": "9.00"}]},
    ],
    "custom_fields": {"gift_message": "Happy birthday"},
}


def make_order(order_id: str, **changes: Any) -> dict[str, Any]:
    order = copy.deepcopy(_ORDER)
    order.update(id=order_id, number=order_id.split("-")[-1], **changes)
    return order


def make_shipment(shipment_id: str, order_id: str, **changes: Any) -> dict[str, Any]:
    return {"id": shipment_id, "order_id": order_id, "fulfillment_request_id": "FR-1",
            "shipped_at": "2026-11-21T09:00:00Z", "carrier": "UPS",
            "tracking_numbers": ["1Z999"], "items": [{"sku": "FLX-1", "quantity": 1}],
            **changes}


def make_bill(bill_id: str, order_id: str, **changes: Any) -> dict[str, Any]:
    return {"id": bill_id, "order_id": order_id, "fulfillment_request_id": "FR-2",
            "number": f"INV-{bill_id}", "invoiced_at": "2026-11-22T09:00:00Z",
            "items": [{"sku": "VA-1", "quantity": 2, "cost": "9.005"}], **changes}
