"""`flx run | render | import` and the status commands, through the CLI.

`run`, `render` and `import` go through the real runner, importer and store with a tiny plugin;
the status commands are wired to a stand-in module, so these tests check what the CLI adds:
option parsing, connection choice, output, one JSON document, exit codes."""

import json
import os
import sys
import types

import pytest
from typer.testing import CliRunner

import flx.ops.status as real_status
from flx.cli.main import build_app
from flx.cli.usage import complete_operation
from flx.connector import Connector
from flx.errors import MappingError, RecordValidationError
from flx.model import RecordResult
from flx.plugins import build_plugins, hookimpl

SECRET = "tok-secret-value-123"
SCHEMA = {"type": "object", "properties": {"token_secret": {"type": "string", "x-secret": True}}}


class BooksConnector(Connector):
    """Sends orders; an order whose channel is "bad" is refused with the token in the text."""

    def send(self, operation, records, runtime):
        connection = runtime.connection
        self.extra["calls"].append({"ids": [o["id"] for o in records],
                                    "dry_run": runtime.dry_run, "connection": connection.name})
        out = []
        for o in records:
            if runtime.dry_run:
                out.append(RecordResult(o["id"], "dry_run"))
            elif o["channel"] == "bad":
                out.append(RecordResult(o["id"], "failed", error=RecordValidationError(
                    f"refused with token {connection.settings['token_secret']}",
                    hint="fix the order")))
            else:
                out.append(RecordResult(o["id"], "sent", remote_ids={"order": f"R{o['id']}"}))
        return out

    def render(self, operation, record, runtime):
        if record["channel"] == "unmapped":
            raise MappingError("order U1: SKU 'A' has no item", hint="map SKU 'A'",
                               record_id=record["id"])
        return [{"name": "order", "method": "POST", "path": "/order",
                 "body": {"ref": record["id"]}}]


class Books:
    """The plugin: registers the connector; `calls` records each batch it was handed."""

    def __init__(self):
        self.calls = []

    @hookimpl
    def register_connectors(self, register):
        register(BooksConnector(name="books", connection_schema=SCHEMA,
                                operations=("send-orders",), extra={"calls": self.calls}))


def order(oid, channel="web"):
    return {"id": oid, "channel": channel,
            "lines": [{"id": "L1", "sku": "A", "quantity": 1, "unit_price": "1.00"}],
            "fulfillment_requests": [{"id": "FR1", "type": "internal", "warehouse": "W",
                                      "items": [{"order_line_id": "L1", "sku": "A",
                                                 "quantity": 1}]}]}


@pytest.fixture
def plugin():
    return Books()


@pytest.fixture
def app(plugin):
    return build_app(build_plugins(plugin, autoload=False))


@pytest.fixture
def cfg(tmp_path):
    path = tmp_path / "flx.toml"
    path.write_text('[connections.main]\nplugin = "books"\ntoken_secret = "${BOOKS_TOKEN}"\n'
                    '[connections.main.operations.send-orders]\n')
    os.chmod(path, 0o600)
    from flx.store.store import Store

    with Store(f"sqlite:///{tmp_path / 'flx.db'}") as store:
        store.upsert_records("order", [order("O1"), order("O2", "bad"), order("O3")])
    return path


def invoke(app, cfg, *args):
    return CliRunner().invoke(app, ["--config", str(cfg), *args], env={"BOOKS_TOKEN": SECRET})


def test_operation_arguments_are_the_registered_operations(app, cfg):
    """Checked against the plugins' registry (tests/core/test_operations.py adds one), with
    the nearest name for a typo, and offered by shell completion."""
    result = invoke(app, cfg, "run", "send-order")
    assert result.exit_code == 2
    assert ("'send-order' is not an operation; use one of send-orders, send-shipments, "
            "send-vendor-bills; did you mean 'send-orders'?") in " ".join(result.stderr.split())
    assert complete_operation(None, "send-s") == ["send-shipments"]  # type: ignore[arg-type]


def test_run_exits_3_when_a_record_failed_and_masks_secrets(app, cfg, plugin):
    result = invoke(app, cfg, "run", "send-orders")  # the only connection: no --connection
    assert result.exit_code == 3, result.output
    assert plugin.calls == [{"ids": ["O1", "O2", "O3"], "dry_run": False, "connection": "main"}]
    assert "O2" in result.stdout and "failed" in result.stdout
    assert SECRET not in result.output


def test_run_json_is_one_document(app, cfg):
    result = invoke(app, cfg, "run", "send-orders", "--connection", "main", "--only", "O1",
                    "--only", "O3", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["counts"]["sent"] == 2 and report["counts"]["failed"] == 0
    assert [r["record_id"] for r in report["rows"]] == ["O1", "O3"]


def test_dry_run_sends_nothing_and_exits_0(app, cfg, plugin):
    result = invoke(app, cfg, "run", "send-orders", "--dry-run", "--limit", "2", "--json")
    assert result.exit_code == 0, result.output
    assert plugin.calls == [{"ids": ["O1", "O2"], "dry_run": True, "connection": "main"}]
    assert json.loads(result.stdout)["dry_run"] is True


def test_run_with_several_connections_asks_which(app, cfg):
    cfg.write_text(cfg.read_text() + '[connections.second]\nplugin = "books"\n'
                   '[connections.second.operations.send-orders]\n')
    result = invoke(app, cfg, "run", "send-orders")
    assert result.exit_code == 1, result.output
    assert "say which connection" in result.stderr and "main, second" in result.stderr
    assert "--connection NAME" in result.stderr


def test_render_prints_the_payloads_as_json(app, cfg):
    result = invoke(app, cfg, "render", "send-orders", "--connection", "main", "--id", "O1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == [{"name": "order", "method": "POST", "path": "/order",
                                          "body": {"ref": "O1"}}]


def test_render_of_an_order_the_connection_does_not_take_says_so(app, cfg):
    cfg.write_text(cfg.read_text() + 'channels = ["shop"]\n')
    result = invoke(app, cfg, "render", "send-orders", "--id", "O1")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)[0]["body"] == {"ref": "O1"}  # the preview still comes
    assert "O1: a run would not send it (channel 'web' is not selected" in result.stderr


def test_render_unknown_record_exits_1(app, cfg):
    result = invoke(app, cfg, "render", "send-orders", "--id", "NOPE")
    assert result.exit_code == 1, result.output
    assert "NOPE" in result.stderr
    assert result.stdout == ""  # no --json: the error goes to stderr only

    result = invoke(app, cfg, "render", "send-orders", "--id", "NOPE", "--json")
    assert result.exit_code == 1, result.output
    assert "NOPE" in json.loads(result.stdout)["error"]["message"]


def test_render_of_a_record_that_cannot_be_sent_exits_3_with_the_fix(app, cfg, tmp_path):
    path = tmp_path / "u.json"
    path.write_text(json.dumps({"orders": [order("U1", channel="unmapped")]}))
    assert invoke(app, cfg, "import", str(path)).exit_code == 0
    result = invoke(app, cfg, "render", "send-orders", "--id", "U1", "--json")
    assert result.exit_code == 3  # the record's problem, as a run would count it
    assert json.loads(result.stdout)["error"] == {
        "class": "reference", "message": "order U1: SKU 'A' has no item", "hint": "map SKU 'A'",
        "problems": []}
    assert "fix: map SKU 'A'" in result.stderr


def test_import_reports_and_exits_3_on_rejected_records(app, cfg, tmp_path):
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps({"orders": [order("N1"), order("N2")]}))
    broken = order("N3")
    broken["lines"][0]["quantity"] = 1.5
    bad.write_text(json.dumps({"orders": [order("N4"), broken]}))
    result = invoke(app, cfg, "import", str(good))
    assert result.exit_code == 0, result.output
    assert "order: 2 inserted, 0 updated, 0 unchanged, 0 rejected" in result.stdout

    result = invoke(app, cfg, "import", str(good), str(bad))
    assert result.exit_code == 3, result.output
    assert "order: 1 inserted, 0 updated, 2 unchanged, 1 rejected" in result.stdout
    assert "rejected: " in result.stdout and "orders[1]" in result.stdout
    assert "$.lines[0].quantity" in result.stdout

    result = invoke(app, cfg, "import", str(bad), "--json")
    assert result.exit_code == 3, result.output
    problems = json.loads(result.stdout)["problems"]
    assert [(p["location"], p["path"]) for p in problems] == [("orders[1]", "$.lines[0].quantity")]


def test_import_of_a_missing_file_is_a_usage_error(app, cfg, tmp_path):
    result = invoke(app, cfg, "import", str(tmp_path / "nope.json"))
    assert result.exit_code == 2, result.output
    assert result.stdout == "" and "nope.json" in result.stderr

    # --json promises one JSON document on stdout, for usage errors too (docs/cli.md).
    result = invoke(app, cfg, "import", str(tmp_path / "nope.json"), "--json")
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["class"] == "usage" and "nope.json" in error["message"]
    assert "does not exist" in error["message"] and "nope.json" in result.stderr


@pytest.fixture
def status_api(monkeypatch):
    module = types.ModuleType("flx.ops.status")
    module.calls = []

    def record(name, result):
        def fn(*args, **kwargs):
            module.calls.append((name, args[2:], kwargs))
            return result
        return fn

    module.status_summary = record("status", {
        "records": {"order": 3}, "sync": [{"connection": "main", "operation": "send-orders",
                                           "counts": {"sent": 2, "failed": 1}}]})
    module.list_errors = record("errors", [{
        "record_id": "O2", "connection": "main", "operation": "send-orders", "class": "data",
        "message": f"refused {SECRET}", "hint": "fix the order", "attempts": 1}])
    module.retry = record("retry", 1)
    module.resolve = record("resolve", 1)
    module.list_runs = record("runs", [])
    module.status_lines = lambda summary, **_: [f"last run: {SECRET} masked"]
    module.records_text = real_status.records_text
    module.KNOWN_CLASSES = real_status.KNOWN_CLASSES
    monkeypatch.setitem(sys.modules, "flx.ops.status", module)
    return module


def test_status_commands_pass_their_filters_and_mask_secrets(app, cfg, status_api):
    result = invoke(app, cfg, "status")
    assert result.exit_code == 0, result.output
    assert "records: 3 orders" in result.stdout
    assert "last run: ******** masked" in result.stdout

    result = invoke(app, cfg, "errors", "--class", "data", "--connection", "main", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["errors"][0]["message"] == "refused ********"
    assert status_api.calls[-1] == ("errors", (), {"error_class": "data", "operation": None,
                                                   "connection": "main"})

    result = invoke(app, cfg, "retry", "--all", "--class", "network")
    assert result.exit_code == 0, result.output
    assert status_api.calls[-1] == ("retry", (None,), {"error_class": "network",
                                                       "operation": None, "connection": None})
    result = invoke(app, cfg, "retry", "O2", "O3")
    assert status_api.calls[-1][1] == (["O2", "O3"],)

    result = invoke(app, cfg, "resolve", "O2", "--note", "keyed in by hand")
    assert result.exit_code == 0, result.output
    assert status_api.calls[-1][1] == ("O2", "keyed in by hand")

    result = invoke(app, cfg, "runs", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"runs": []}


def test_retry_needs_ids_or_all_not_both(app, cfg, status_api):
    result = invoke(app, cfg, "retry", "O2", "--all")
    assert result.exit_code == 2, result.output
    assert status_api.calls == []
