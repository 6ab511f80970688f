"""`flx render` and `--dry-run`: what a run would send for one record, sending nothing."""

from __future__ import annotations

from typing import Any

from flx import Runtime


def render_record(runtime: Runtime, operation: str, record: dict[str, Any]
                  ) -> list[dict[str, Any]]:
    if operation == "send-orders":
        from .orders import OrderSender

        return OrderSender(runtime).one(record).payloads
    if operation == "send-shipments":
        from .shipments import ShipmentSender

        return ShipmentSender(runtime).preview(record)
    from .bills import BillSender

    return BillSender(runtime).preview(record)
