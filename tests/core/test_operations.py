"""Operations are registered, not listed: the registry refuses what would make it ambiguous,
and an operation a plugin under tests/ registers (send-payments, records of kind payment)
goes through `flx import`, `flx run`, `flx status`, `flx show` and flx.toml like flx's own,
with nothing under core/ naming it."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx import Connector, Operation, OperationWords, PluginError
from flx.cli.main import build_app
from flx.config.load import load_config
from flx.errors import ConfigError
from flx.plugins import build_plugins, hookimpl
from tests.fake_payments.plugin import SEND_PAYMENTS, PaymentsPlugin

CORE = Path(__file__).resolve().parents[2] / "core"
SCHEMA = {"type": "object", "properties": {"id": {"type": "string"}}}


# --- the registry ------------------------------------------------------------------------------


def test_flxs_own_operations_come_from_the_builtin_plugin_even_without_autoload() -> None:
    plugins = build_plugins(autoload=False)
    assert plugins.operations.names() == ("send-orders", "send-shipments", "send-vendor-bills")
    assert [op.plugin_name for op in plugins.operations] == ["flx.operations"] * 3
    assert plugins.operations["send-shipments"].requires == "send-orders"
    assert plugins.operations.list_keys() == {"orders": "order", "shipments": "shipment",
                                              "vendor_bills": "vendor_bill"}
    assert all(row["plugin"] != "flx.operations" for row in plugins.describe())  # not listed


class Registers:
    """A plugin registering whatever it is given."""

    def __init__(self, *operations: Any, connectors: tuple[Connector, ...] = ()) -> None:
        self.operations, self.connectors = operations, connectors

    @hookimpl
    def register_operations(self, register: Any) -> None:
        for op in self.operations:
            register(op)

    @hookimpl
    def register_connectors(self, register: Any) -> None:
        for connector in self.connectors:
            register(connector)


def op(name: str = "send-refunds", kind: str = "refund", list_key: str = "refunds",
       **kw: Any) -> Operation:
    return Operation(name, kind, kw.pop("record_schema", SCHEMA), list_key,
                     OperationWords(kind, f"{kind}s"), **kw)


def refused(*operations: Any, connectors: tuple[Connector, ...] = ()) -> str:
    with pytest.raises(PluginError) as excinfo:
        build_plugins(Registers(*operations, connectors=connectors), autoload=False)
    assert excinfo.value.hint  # every refusal says what to do
    return excinfo.value.message


@pytest.mark.parametrize(("operation", "words"), [
    (op(name="send-orders", kind="refund"), "the operation 'send-orders' is registered twice"),
    (op(kind="order"), "kind 'order' is already sent by 'send-orders'"),
    (op(list_key="orders"), "list_key 'orders' is already used by 'send-orders'"),
    (op(name="Send Refunds"), "name 'Send Refunds' is not lower-case words joined by '-'"),
    (op(kind="Refund-Note"), "kind 'Refund-Note' is not lower-case letters and '_'"),
    (op(kind="r" * 33), "at most 32"),
    (op(record_schema={"type": "array"}), "record_schema must be a JSON Schema of an object"),
    (op(record_schema={"type": "object", "required": "id"}),
     "record_schema is not a valid JSON Schema: 'id' is not of type 'array'"),
])
def test_an_ambiguous_or_invalid_operation_is_refused_naming_the_plugin(
        operation: Operation, words: str) -> None:
    message = refused(operation)
    assert words in message
    assert message.startswith("plugin ") and "registered an invalid operation" in message


def test_requires_must_name_a_registered_operation() -> None:
    assert refused(op(requires="send-invoices")) == (
        "operation 'send-refunds' requires 'send-invoices', which no plugin registers")
    assert "requires itself" in refused(op(requires="send-refunds"))


def test_a_registration_that_is_not_an_operation_is_refused() -> None:
    assert "not an Operation" in refused({"name": "send-refunds"})


def test_a_connector_names_registered_operations_and_rules_only_for_its_own() -> None:
    schema = {"type": "object"}
    assert "declares unknown operations ['send-refunds']" in refused(
        connectors=(Connector("books", schema, ("send-orders", "send-refunds")),))
    assert "has rules for operations it does not declare: ['send-shipments']" in refused(
        connectors=(Connector("books", schema, ("send-orders",),
                              rules={"send-shipments": ()}),))
    plugins = build_plugins(Registers(op(), connectors=(
        Connector("books", schema, ("send-orders", "send-refunds")),)), autoload=False)
    assert plugins.connector("books").operations == ("send-orders", "send-refunds")


def test_the_registry_reads_in_position_order() -> None:
    plugins = build_plugins(Registers(op(position=5), SEND_PAYMENTS), autoload=False)
    ops = plugins.operations
    assert ops.names() == ("send-refunds", "send-orders", "send-shipments",
                           "send-vendor-bills", "send-payments")
    (payments,) = ops.for_kind("payment")
    assert payments.name == "send-payments" and payments.plugin_name  # who registered it
    assert ops.words("vendor_bill").count(2) == "2 vendor bills"
    assert ops.words("payment").count(1) == "1 payment"
    with pytest.raises(PluginError, match="unknown operation 'send-paymnts'"):
        ops["send-paymnts"]


def test_core_never_names_the_plugins_operation() -> None:
    """The point of the registry: the operation below is added without touching core/."""
    named = re.compile(r"send-payments|[\"']payments?[\"']|paybooks")
    hits = [p for p in CORE.rglob("*.py") if named.search(p.read_text())]
    assert hits == []


# --- send-payments, end to end through the CLI -------------------------------------------------


ORDER = {"id": "ORD-1", "channel": "web",
         "lines": [{"id": "L1", "sku": "A", "quantity": 1, "unit_price": "10.00"}],
         "fulfillment_requests": [{"id": "FR-1", "type": "internal", "warehouse": "W",
                                   "items": [{"order_line_id": "L1", "sku": "A",
                                              "quantity": 1}]}]}


def payment(pid: str, amount: str = "10.00", **extra: Any) -> dict[str, Any]:
    return {"id": pid, "order_id": "ORD-1", "amount": amount, "method": "card", **extra}


@pytest.fixture
def plugin() -> PaymentsPlugin:
    return PaymentsPlugin()


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    config = tmp_path / "flx.toml"
    config.write_text('[store]\nurl = "sqlite:///flx.db"\n\n'
                      '[connections.pay]\nplugin = "paybooks"\n\n'
                      '[connections.pay.operations.send-payments]\nbatch_size = 10\n')
    os.chmod(config, 0o600)
    return tmp_path


def flx(plugin: PaymentsPlugin, workspace: Path, *args: str) -> Any:
    app = build_app(build_plugins(plugin, autoload=False))
    return CliRunner().invoke(app, ["--config", str(workspace / "flx.toml"), *args])


def write(path: Path, data: Any) -> Path:
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def test_config_takes_the_plugins_operation_table(plugin: PaymentsPlugin,
                                                  workspace: Path) -> None:
    plugins = build_plugins(plugin, autoload=False)
    config = load_config(workspace / "flx.toml", plugins=plugins, env={})
    assert config.operation_settings("pay", "send-payments")["batch_size"] == 10
    assert config.operations.names()[-1] == "send-payments"
    text = (workspace / "flx.toml").read_text()
    write(workspace / "flx.toml", text.replace("send-payments]", "send-paymnts]"))
    with pytest.raises(ConfigError) as excinfo:
        load_config(workspace / "flx.toml", plugins=plugins, env={})
    assert excinfo.value.problems == [
        "connections.pay.operations: 'send-paymnts' is not one of ['send-orders', "
        "'send-shipments', 'send-vendor-bills', 'send-payments']"]
    # Without the plugin the name is unknown, as any other typo.
    with pytest.raises(ConfigError):
        load_config(workspace / "flx.toml", plugins=build_plugins(autoload=False), env={})


def test_import_takes_the_plugins_list_and_kind(plugin: PaymentsPlugin, workspace: Path) -> None:
    doc = write(workspace / "in.json", {"orders": [ORDER], "payments": [
        payment("PAY-1"), payment("PAY-2", amount="ten")]})
    result = flx(plugin, workspace, "import", str(doc))
    assert result.exit_code == 3, result.output
    assert "order: 1 inserted, 0 updated, 0 unchanged, 0 rejected" in result.stdout
    assert "payment: 1 inserted, 0 updated, 0 unchanged, 1 rejected" in result.stdout
    assert f"rejected: {doc} payments[1] (payment PAY-2) $.amount: " in result.stdout
    lines = "\n".join(json.dumps({"kind": "payment", **payment(f"PAY-{n}")}) for n in (3, 4))
    result = flx(plugin, workspace, "import", str(write(workspace / "in.ndjson", lines)),
                 "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["kinds"]["payment"]["inserted"] == 2
    # Without the plugin, the same document's payments are an unknown list.
    bare = write(workspace / "bare.toml", '[store]\nurl = "sqlite:///flx.db"\n')
    result = CliRunner().invoke(build_app(build_plugins(autoload=False)),
                                ["--config", str(bare), "import", str(doc)])
    assert "unknown top-level key 'payments': its records were not imported (allowed keys: " \
        '"orders", "shipments", "vendor_bills")' in result.output


def test_run_sends_the_plugins_records_once_its_requirement_is_met(
        plugin: PaymentsPlugin, workspace: Path) -> None:
    doc = write(workspace / "in.json", {"orders": [ORDER], "payments": [
        payment("PAY-1"), payment("PAY-0", amount="0")]})
    assert flx(plugin, workspace, "import", str(doc)).exit_code == 0
    result = flx(plugin, workspace, "run", "send-payments", "--json")
    report = json.loads(result.stdout)
    rows = {r["record_id"]: r for r in report["rows"]}
    # The zero payment can never go (the plugin's rule, with its fix); the other waits for
    # its order, which this connection has not sent.
    assert rows["PAY-0"]["status"] == "failed" and rows["PAY-0"]["error_class"] == "data"
    assert rows["PAY-0"]["hint"] == "import the payment with its real amount"
    assert rows["PAY-1"]["status"] == "waiting"
    assert rows["PAY-1"]["message"] == ("order ORD-1 is not in Paybooks yet "
                                        "(send-orders: not sent)")
    assert plugin.connector.sent == []

    from flx.store.store import Store

    with Store(f"sqlite:///{workspace / 'flx.db'}") as store:  # the order is in Paybooks
        store.set_sync("pay", "send-orders", "ORD-1", status="linked")
    result = flx(plugin, workspace, "run", "send-payments", "--dry-run", "--json")
    assert [(r["record_id"], r["status"]) for r in json.loads(result.stdout)["rows"]] == [
        ("PAY-1", "dry_run")]  # PAY-0 failed for good: not due again until it changes
    assert plugin.connector.sent == []
    result = flx(plugin, workspace, "run", "send-payments", "--json")
    rows = {r["record_id"]: r for r in json.loads(result.stdout)["rows"]}
    assert rows["PAY-1"]["status"] == "sent" and rows["PAY-1"]["remote_ids"] == {
        "payment": "PB-1"}
    assert plugin.connector.sent == [{"operation": "send-payments", "id": "PAY-1",
                                      "connection": "pay"}]
    flx(plugin, workspace, "run", "send-payments")
    assert len(plugin.connector.sent) == 1  # never twice


def test_status_and_show_word_the_plugins_records(plugin: PaymentsPlugin,
                                                  workspace: Path) -> None:
    doc = write(workspace / "in.json", {"payments": [payment("PAY-1"), payment("PAY-2")]})
    assert flx(plugin, workspace, "import", str(doc)).exit_code == 0
    result = flx(plugin, workspace, "status")
    assert result.exit_code == 0, result.output
    assert ("records: 0 orders, 0 shipments, 0 vendor bills, 2 payments"
            in result.stdout)
    assert "pay send-payments: not run yet (2 payments imported)" in result.stdout
    summary = json.loads(flx(plugin, workspace, "status", "--json").stdout)
    assert summary["sync"][0]["kind"] == "payment" and summary["sync"][0]["backlog"] == 2

    result = flx(plugin, workspace, "show", "PAY-1")
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("PAY-1: payment imported")
    assert "pay send-payments: not taken yet" in result.stdout
    result = flx(plugin, workspace, "errors", "--operation", "send-paymnts")
    assert result.exit_code == 2 and "did you mean 'send-payments'?" in result.output
