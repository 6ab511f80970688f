"""Ctrl-C during `flx run`, in a real process against a real (loopback) emulator.

The emulator holds every Sales Order response at a gate the test opens, so the signal always
lands while a batch is in flight, whatever the machine's load: no timing decides the outcome.
The first Ctrl-C finishes that batch, says so, prints the summary and records the run as
`interrupted` with its counts; a second one stops at once and still records what it left in
flight, which the next run then settles without a duplicate."""

from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

import pytest

from flx_netsuite.demo import demo_config
from flx_netsuite.emulator import Emulator, run_server

FLX = Path(sys.executable).with_name("flx")
ORDERS = 30
BATCH = 5
PATIENCE = 120  # seconds: only a safety net against a hung test, never what decides it


class Gate:
    """Holds each Sales Order response until opened; `reached` is set by the first one."""

    def __init__(self, emulator: Emulator) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()
        count = emulator.count

        def gated(route: str, status: int) -> None:
            if route.startswith("POST") and "salesorder" in route.lower():
                self.reached.set()
                self.opened.wait(PATIENCE)
            count(route, status)

        emulator.count = gated  # type: ignore[method-assign]


def orders() -> list[dict[str, Any]]:
    text = resources.files("flx_netsuite").joinpath("data/demo.json").read_text()
    model = json.loads(text)["orders"][0]  # internal, shipped from MAIN
    out = []
    for n in range(ORDERS):
        order = copy.deepcopy(model)
        order["id"], order["number"] = f"ORD-{5000 + n}", str(5000 + n)
        for fr in order["fulfillment_requests"]:
            fr["id"] = f"FR-{5000 + n}-1"
        out.append(order)
    return out


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[tuple[Path, dict[str, str], Emulator, Gate]]:
    emulator = Emulator()
    gate = Gate(emulator)
    with run_server(emulator) as base_url:
        config = demo_config(base_url, emulator.credential_env()).replace(
            'mapping = "demo"\n', f'mapping = "demo"\nbatch_size = {BATCH}\n')
        (tmp_path / "flx.toml").write_text(config)
        (tmp_path / "orders.json").write_text(json.dumps({"orders": orders()}))
        env = {**os.environ, **emulator.credential_env(), "COLUMNS": "200"}
        env.pop("FLX_CONFIG", None)
        done = flx(tmp_path, env, "import", "orders.json")
        assert done.returncode == 0, done.stdout + done.stderr
        try:
            yield tmp_path, env, emulator, gate
        finally:
            gate.opened.set()


def flx(cwd: Path, env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(FLX), *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=PATIENCE, check=False)


def start_run(cwd: Path, env: dict[str, str]) -> subprocess.Popen[str]:
    return subprocess.Popen([str(FLX), "run", "send-orders", "--connection", "demo"], cwd=cwd,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for_line(stream: Any, words: str) -> str:
    """Read `stream` until a line holds `words` (the process said it); what was read."""
    seen = []
    for line in stream:
        seen.append(line)
        if words in line:
            return "".join(seen)
    raise AssertionError(f"never said {words!r}; said:\n{''.join(seen)}")


def last_run(cwd: Path, env: dict[str, str]) -> dict[str, Any]:
    done = flx(cwd, env, "runs", "--json", "--limit", "1")
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout)["runs"][0])


def test_first_ctrl_c_finishes_the_batch_and_records_an_interrupted_run(workspace) -> None:
    cwd, env, emulator, gate = workspace
    proc = start_run(cwd, env)
    try:
        assert gate.reached.wait(PATIENCE), "the run never sent a Sales Order"
        proc.send_signal(signal.SIGINT)  # the batch is in flight: its responses are held
        told = wait_for_line(proc.stderr, "stopping after the batch in flight")
        gate.opened.set()
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        gate.opened.set()
        proc.kill()
    assert proc.returncode == 130, out + told + err
    assert "press Ctrl-C again to stop at once" in told
    summary = " ".join(out.split())
    assert "interrupted (Ctrl-C) after" in summary and f"{BATCH} sent" in summary, out
    assert "stay queued for the next run" in summary

    run = last_run(cwd, env)
    assert run["status"] == "interrupted"
    assert run["counts"]["sent"] == BATCH  # the batch in flight was finished and recorded

    status = flx(cwd, env, "status", "--connection", "demo", "--json")
    row = json.loads(status.stdout)["sync"][0]
    assert row["counts"].get("sent") == BATCH and not row["counts"].get("in_flight")
    # The rest is queued (the next batch was read, then let go) or never picked up: both
    # said, none lost.
    queued = row["counts"].get("pending", 0)
    assert row["backlog"] > 0 and row["backlog"] + queued == ORDERS - BATCH, row
    text = flx(cwd, env, "status", "--connection", "demo").stdout
    assert f"{row['backlog']} not picked up yet" in text

    again = flx(cwd, env, "run", "send-orders", "--connection", "demo")
    assert again.returncode == 0, again.stdout + again.stderr
    assert f"{ORDERS - BATCH} sent" in again.stdout
    assert emulator.stats().get("duplicate_external_ids", 0) == 0


def test_second_ctrl_c_stops_at_once_and_keeps_what_was_in_flight(workspace) -> None:
    cwd, env, emulator, gate = workspace
    proc = start_run(cwd, env)
    try:
        assert gate.reached.wait(PATIENCE), "the run never sent a Sales Order"
        proc.send_signal(signal.SIGINT)
        wait_for_line(proc.stderr, "stopping after the batch in flight")
        proc.send_signal(signal.SIGINT)  # the gate is still shut: only stopping at once ends it
        out, err = proc.communicate(timeout=PATIENCE)
    finally:
        gate.opened.set()
        proc.kill()
    assert proc.returncode == 130, out + err
    summary = " ".join(out.split())
    assert "interrupted (stopped at once)" in summary, out
    assert f"{BATCH} in flight" in summary and "nothing to do" not in out

    run = last_run(cwd, env)
    assert run["status"] == "interrupted"
    assert run["counts"]["in_flight"] == BATCH  # recorded, never "nothing to do"
    runs = flx(cwd, env, "runs").stdout
    assert "nothing to do" not in runs and "in flight" in runs.replace("in_flight", "in flight")

    # The next run settles the records left in flight: each looked up first, none twice.
    again = flx(cwd, env, "run", "send-orders", "--connection", "demo")
    assert again.returncode == 0, again.stdout + again.stderr
    assert emulator.stats().get("duplicate_external_ids", 0) == 0
    assert len(emulator.records("salesOrder")) == ORDERS
