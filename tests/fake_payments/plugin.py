"""A plugin from outside core/: it registers the operation `send-payments` (records of kind
`payment`, imported from `{"payments": [...]}`) and a small connector, "paybooks", that sends
them. Nothing under core/ names either; tests/core/test_operations.py takes them through the
CLI. The connector's `send(operation, records, runtime)` is how core hands a plugin's
operation to its connector."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from flx import (
    Connector,
    Ineligible,
    Operation,
    OperationWords,
    RecordResult,
    RegisterConnector,
    RegisterOperation,
    RuleContext,
    Runtime,
    hookimpl,
)

PAYMENT_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "required": ["id", "order_id", "amount", "method"],
    "additionalProperties": False,
    "properties": {
        "id": {"type": "string", "minLength": 1},
        "order_id": {"type": "string", "minLength": 1},
        "amount": {"type": "string", "pattern": "^[0-9]+(\\.[0-9]{1,2})?$"},
        "method": {"enum": ["card", "transfer"]},
    },
}


def amount_not_zero(ctx: RuleContext, payment: Mapping[str, Any]) -> Ineligible | None:
    """A payment of nothing can never be recorded: a data error with its fix."""
    if float(payment.get("amount") or 0) == 0:
        return Ineligible(f"payment {payment.get('id')} is for 0 on {ctx.connection}",
                          fix="import the payment with its real amount")
    return None


SEND_PAYMENTS = Operation(
    name="send-payments", kind="payment", record_schema=PAYMENT_SCHEMA, list_key="payments",
    words=OperationWords("payment", "payments"), requires="send-orders",
    rules=(amount_not_zero,), position=40, description="Customer payments of sent orders.")


@dataclass
class PaybooksConnector(Connector):
    """Sends payments to an in-memory ledger (`sent`), one batch a call."""

    sent: list[dict[str, Any]] = field(default_factory=list)

    def send(self, operation: str, records: Sequence[dict[str, Any]],
             runtime: Runtime) -> list[RecordResult]:
        results = []
        for record in records:
            if runtime.dry_run:
                results.append(RecordResult(record["id"], "dry_run"))
                continue
            self.sent.append({"operation": operation, "id": record["id"],
                              "connection": runtime.connection.name})
            results.append(RecordResult(record["id"], "sent",
                                        remote_ids={"payment": f"PB-{len(self.sent)}"}))
        return results


class PaymentsPlugin:
    """One instance per test: its connector keeps what it was sent."""

    def __init__(self) -> None:
        self.connector = PaybooksConnector(
            name="paybooks", connection_schema={"type": "object", "properties": {}},
            operations=("send-payments",), description="Payments to an in-memory ledger",
            extra={"display_name": "Paybooks"})

    @hookimpl
    def register_operations(self, register: RegisterOperation) -> None:
        register(SEND_PAYMENTS)

    @hookimpl
    def register_connectors(self, register: RegisterConnector) -> None:
        register(self.connector)
