"""Flxpoint to NetSuite through the `flx` CLI, both emulators on loopback: pull orders, send
them, pull shipments, send them, pull invoices, send the bills, with exact counts in both
systems; a second pull brings nothing new; a changed order arrives updated and creates
nothing twice; a killed pull (the process gone mid-read) loses and doubles nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from flx.cli.main import build_app
from flx.plugins import build_plugins
from flx_flxpoint.emulator import Emulator
from flx_flxpoint.emulator import run_server as run_flxpoint
from flx_netsuite.emulator import Emulator as NetSuite
from flx_netsuite.emulator import run_server as run_netsuite

STREAMS = ("orders", "shipments", "invoices")


@pytest.fixture
def netsuite() -> Iterator[tuple[NetSuite, str]]:
    emu = NetSuite()
    with run_netsuite(emu) as url:
        yield emu, url


@pytest.fixture
def flxpoint() -> Iterator[tuple[Emulator, str]]:
    emu = Emulator(rate=20.0)  # Flxpoint's 2/s, scaled up so the test stays short
    with run_flxpoint(emu) as url:
        yield emu, url


@pytest.fixture
def workspace(tmp_path: Path, netsuite: tuple[NetSuite, str],
              flxpoint: tuple[Emulator, str]) -> tuple[Path, dict[str, str]]:
    ns_emu, ns_url = netsuite
    fp_emu, fp_url = flxpoint
    ops = "".join(f'[connections.demo.operations.{op}]\nmapping = "demo"\n'
                  for op in ("send-orders", "send-shipments", "send-vendor-bills"))
    sources = "".join(
        f'[sources.flxpoint-{stream}]\nplugin = "flxpoint"\n'
        f'api_token = "${{FLXPOINT_API_TOKEN}}"\nbase_url = "{fp_url}"\nprofile = "demo"\n'
        f'rate_limit = 18.0\nstreams = ["{stream}"]\n\n' for stream in STREAMS)
    config = tmp_path / "flx.toml"
    config.write_text(f"""[store]
url = "sqlite:///{tmp_path / 'flx.db'}"

[connections.demo]
plugin = "netsuite"
account_id = "1234567_SB1"
client_id = "${{NS_CLIENT_ID}}"
client_secret = "${{NS_CLIENT_SECRET}}"
token_id = "${{NS_TOKEN_ID}}"
token_secret = "${{NS_TOKEN_SECRET}}"
base_url = "{ns_url}"

{ops}
{sources}""")
    env = {**ns_emu.credential_env(), "FLXPOINT_API_TOKEN": fp_emu.token_of_type("account")}
    return config, env


def flx(workspace: tuple[Path, dict[str, str]], *args: str, code: int = 0) -> dict[str, Any]:
    config, env = workspace
    result = CliRunner().invoke(build_app(build_plugins()),
                                ["--config", str(config), *args, "--json"], env=env)
    assert result.exit_code == code, result.output
    assert env["FLXPOINT_API_TOKEN"] not in result.output
    data: dict[str, Any] = json.loads(result.stdout)
    return data


def pulled(workspace: tuple[Path, dict[str, str]], name: str | None = None) -> dict[str, Any]:
    """New and updated records per kind over the pulled sources."""
    data = flx(workspace, "pull", *([name] if name else []))
    totals: dict[str, int] = {}
    for report in data["pulls"]:
        assert report["status"] == "ok", report
        for kind, row in report["kinds"].items():
            for what in ("inserted", "updated"):
                if row[what]:
                    totals[f"{kind} {what}"] = totals.get(f"{kind} {what}", 0) + row[what]
    return totals


def sent(workspace: tuple[Path, dict[str, str]], operation: str) -> dict[str, int]:
    counts = flx(workspace, "run", operation, "--connection", "demo")["counts"]
    return {k: v for k, v in counts.items() if v and k in ("sent", "linked", "failed",
                                                            "waiting")}


def test_flxpoint_to_netsuite_with_exact_counts(workspace, netsuite, flxpoint):
    ns, _ = netsuite
    fp, _ = flxpoint
    assert pulled(workspace, "flxpoint-orders") == {"order inserted": 4}
    assert sent(workspace, "send-orders") == {"sent": 3, "waiting": 1}  # 500004 is cancelled
    assert pulled(workspace, "flxpoint-shipments") == {"shipment inserted": 3}
    assert sent(workspace, "send-shipments") == {"sent": 3}
    assert pulled(workspace, "flxpoint-invoices") == {"vendor_bill inserted": 3}
    assert sent(workspace, "send-vendor-bills") == {"sent": 3}
    assert pulled(workspace) == {}  # every source again: nothing new
    counts = {t: len(ns.all(t)) for t in ("salesOrder", "purchaseOrder", "itemFulfillment",
                                          "vendorBill")}
    assert counts == {"salesOrder": 3, "purchaseOrder": 2, "itemFulfillment": 3,
                      "vendorBill": 3}

    fp.update_order(500002, note="gift", shippingText="2-Day")
    assert pulled(workspace, "flxpoint-orders") == {"order updated": 1}
    sent(workspace, "send-orders")
    assert len(ns.all("salesOrder")) == 3  # nothing created twice
    assert fp.peak_rate(fp.token_of_type("account")) <= 20
    assert 429 not in fp.by_status

    # write-back: off unless asked for, then once per record
    writeback = ("flxpoint-writeback", "flxpoint-orders", "--connection", "demo")
    config, env = workspace
    refused = CliRunner().invoke(build_app(build_plugins()),
                                 ["--config", str(config), *writeback], env=env)
    assert refused.exit_code == 1 and "add `writeback = true`" in refused.output
    assert fp.writebacks == []
    config.write_text(config.read_text().replace('streams = ["orders"]',
                                                 'streams = ["orders"]\nwriteback = true'))
    assert flx(workspace, *writeback, "--dry-run")["written"] == 8
    assert fp.writebacks == []
    assert flx(workspace, *writeback) == {"written": 8, "unchanged": 0, "failed": [],
                                          "dry_run": False}
    assert sorted({kind for kind, _, _ in fp.writebacks}) == ["fr", "invoice", "order"]
    so_ids = {so["externalId"]: so["id"] for so in ns.all("salesOrder")}
    assert fp.orders[500001]["externalAccountingId"] == so_ids["500001"]
    assert fp.invoices[600003]["accountingSynced"] is True
    assert flx(workspace, *writeback)["unchanged"] == 8 and len(fp.writebacks) == 8


def test_a_killed_pull_loses_nothing_and_doubles_nothing(workspace, flxpoint, tmp_path):
    config, env = workspace
    fp, _ = flxpoint
    reached, release = threading.Event(), threading.Event()

    def hold_second_page(path: str, number: int, rows: list[dict[str, Any]]) -> None:
        if path == "/orders" and number == 2:
            reached.set()
            release.wait(10)

    fp.after_page.append(hold_second_page)
    cmd = [sys.executable, "-m", "flx.cli.main", "--config", str(config), "pull",
           "flxpoint-orders"]
    # page_size 2: page 1 is stored, then the process dies while page 2 is being read
    config.write_text(config.read_text().replace('streams = ["orders"]',
                                                 'streams = ["orders"]\npage_size = 2'))
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        assert reached.wait(30), "the pull never reached page 2"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        release.set()
        proc.kill()  # a no-op once it is gone
        proc.wait(10)
    fp.after_page.clear()
    assert pulled(workspace, "flxpoint-orders") == {"order inserted": 2}  # page 2 onwards
    assert pulled(workspace, "flxpoint-orders") == {}


def test_an_outage_mid_pull_stops_it_with_the_fix_and_the_next_pull_completes(workspace,
                                                                              flxpoint):
    fp, _ = flxpoint
    config, _ = workspace
    config.write_text(config.read_text().replace('streams = ["orders"]',
                                                 'streams = ["orders"]\nattempts = 2'))
    fp.fail_next(503, count=2, path="/orders")  # outlasts both attempts
    failed = flx(workspace, "pull", "flxpoint-orders", code=1)["pulls"][0]
    assert failed["status"] == "aborted" and failed["error"]["class"] == "outage"
    assert "next pull resumes" in failed["error"]["hint"]
    fp.fail_next(429, path="/orders")  # waited out
    assert pulled(workspace, "flxpoint-orders") == {"order inserted": 4}


def test_an_order_that_does_not_map_is_refused_alone_with_its_fix(workspace, flxpoint):
    fp, _ = flxpoint
    fp.update_fr(70005, sourceId=99)
    config, env = workspace
    result = CliRunner().invoke(build_app(build_plugins()),
                                ["--config", str(config), "pull", "flxpoint-orders"], env=env)
    assert result.exit_code == 3, result.output
    assert "orders 3 new" in result.output and "1 rejected" in result.output
    assert "(order 500003) sourceId: Flxpoint order 500003 fulfillment request 70005" \
        in result.output
    assert 'fix: add "sources": {"99"' in result.output
