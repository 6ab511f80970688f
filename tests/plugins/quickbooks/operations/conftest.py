"""A QuickBooks workspace for operation tests: the emulator in-process, a flx.toml pointing at
it, a refresh token as `flx connections authorize --refresh-token` would store it, and `flx`
run through the real typer app."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx_quickbooks.emulator import (
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    DEMO_REALM,
    Behaviour,
    Emulator,
    EmulatorTransport,
)

OPERATIONS = ("send-orders", "send-shipments", "send-vendor-bills")


@dataclass
class Workspace:
    path: Path
    emulator: Emulator
    monkeypatch: pytest.MonkeyPatch
    profile: dict[str, Any]
    settings: dict[str, Any] = field(default_factory=dict)
    credentials: tuple[str, str] = (DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)

    def authorize(self) -> None:
        """What a user does first: `flx connections authorize` with a Playground token."""
        token = self.emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM)
        code, output = self.flx("connections", "authorize", "qb", "--refresh-token", token)
        assert code == 0, output

    def write_config(self) -> Path:
        self.monkeypatch.setenv("QBO_CLIENT_ID", self.credentials[0])
        self.monkeypatch.setenv("QBO_CLIENT_SECRET", self.credentials[1])
        (self.path / "profile.json").write_text(json.dumps(self.profile, indent=1))
        lines = ['[store]', 'url = "sqlite:///flx.db"', '', '[connections.qb]',
                 'plugin = "quickbooks"', 'client_id = "${QBO_CLIENT_ID}"',
                 'client_secret = "${QBO_CLIENT_SECRET}"', f'realm_id = "{DEMO_REALM}"']
        lines += [f"{k} = {json.dumps(v)}" for k, v in self.settings.items()]
        for op in OPERATIONS:
            lines += ["", f"[connections.qb.operations.{op}]", 'mapping = "profile.json"']
        config = self.path / "flx.toml"
        config.write_text("\n".join(lines) + "\n")
        return config

    def flx(self, *args: str, transport: Any = None) -> tuple[int, str]:
        config = self.write_config()
        app = build_app(transport=transport or EmulatorTransport(self.emulator))
        result = CliRunner().invoke(app, ["--config", str(config), *args])
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        return result.exit_code, result.output

    def import_records(self, **kinds: list[dict[str, Any]]) -> None:
        data = self.path / f"data-{len(list(self.path.glob('data-*.json')))}.json"
        data.write_text(json.dumps(kinds))
        code, output = self.flx("import", str(data))
        assert code == 0, output

    def run(self, operation: str, *args: str) -> dict[str, Any]:
        code, output = self.flx("run", operation, "--connection", "qb", "--json", *args)
        assert "{" in output, output
        report = json.loads(output[output.index("{"):])
        assert "rows" in report, output
        report["exit_code"] = code
        report["by_id"] = {row["record_id"]: row for row in report["rows"]}
        return report

    def objects(self, entity: str) -> list[dict[str, Any]]:
        return list(self.emulator.company(DEMO_REALM).objects[entity].values())


@pytest.fixture
def unauthorized(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("FLX_CONFIG", raising=False)
    monkeypatch.setenv("FLX_DISABLE_PLUGIN_AUTOLOAD", "")
    profile = json.loads(resources.files("flx_quickbooks.mappings").joinpath("demo.json")
                         .read_text())
    # Intuit's per-second and per-minute limits are tested in test_client.py; here they would
    # only make each test wait.
    fast = Behaviour(per_second=10_000, per_minute=100_000)
    yield Workspace(tmp_path, Emulator(behaviour=fast), monkeypatch, copy.deepcopy(profile),
                    {"requests_per_second": 10_000, "requests_per_minute": 100_000})


@pytest.fixture
def workspace(unauthorized: Workspace) -> Workspace:
    unauthorized.authorize()
    return unauthorized


def order(number: str, *lines: tuple[str, int, str], email: str = "jane@example.com",
          first: str = "Jane", last: str = "Doe", frs: list[dict[str, Any]] | None = None,
          shipping: str = "5.00", **extra: Any) -> dict[str, Any]:
    return {
        "id": f"ORD-{number}", "number": number, "placed_at": "2026-11-20T14:03:00Z",
        "currency": "USD",
        "customer": {"email": email, "first_name": first, "last_name": last},
        "shipping_address": {"name": f"{first} {last}", "address1": "1 Main St",
                             "city": "Austin", "region": "TX", "postal_code": "78701",
                             "country": "US"},
        "lines": [{"id": f"L{n}", "sku": sku, "quantity": qty, "unit_price": price}
                  for n, (sku, qty, price) in enumerate(lines, 1)],
        "shipping": {"method": "Ground", "amount": shipping},
        "tax_total": "0", "discount_total": "0",
        "fulfillment_requests": frs if frs is not None else [
            {"id": f"FR-{number}-1", "type": "internal", "warehouse": "MAIN",
             "items": [{"order_line_id": f"L{n}", "sku": sku, "quantity": qty}
                       for n, (sku, qty, _) in enumerate(lines, 1)]}],
        **extra,
    }


def dropship(fr_id: str, vendor: str, *items: tuple[str, str, int, str]) -> dict[str, Any]:
    """An external request: items are (order line id, sku, quantity, cost)."""
    return {"id": fr_id, "type": "external", "vendor": {"id": vendor},
            "items": [{"order_line_id": line, "sku": sku, "quantity": qty, "cost": cost}
                      for line, sku, qty, cost in items]}
