"""A run SIGKILLed again and again still makes progress: each record's result is stored as
soon as it is known, not once per batch. Against the emulator as a real loopback server;
`flx run` as a separate process, killed mid-batch (the batch holds every record)."""

from __future__ import annotations

import signal
import sqlite3
import subprocess
import time
from pathlib import Path

from bench import generate as gen
from bench.harness import CONNECTION, EmulatorProcess, Workspace


def done_in_store(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute(
            "SELECT COUNT(*) FROM sync_state WHERE operation = 'send-orders' AND status IN "
            "('sent', 'linked')").fetchone()[0])


def test_every_kill_leaves_more_orders_done_and_none_sent_twice(tmp_path: Path) -> None:
    data = gen.generate(100, seed=4, prefix="PK")
    with EmulatorProcess(gen.catalog_seed(), latency=0.05, concurrency=5) as emu:
        ws = Workspace(tmp_path, emu.base_url, emu.env, gen.bench_profile(), concurrency=5,
                       operation_settings={"send-orders": {"batch_size": 500}})
        env = ws.child_env()
        data_file = gen.write_ndjson(tmp_path / "data.ndjson", data)
        imported = subprocess.run(ws.argv("import", str(data_file)), env=env, cwd=tmp_path,
                                  capture_output=True, text=True, check=False)
        assert imported.returncode == 0, imported.stdout + imported.stderr
        done = [0]
        for _ in range(3):
            before = emu.stats()["requests"]
            proc = subprocess.Popen(ws.argv("run", "send-orders", "--connection", CONNECTION),
                                    env=env, cwd=tmp_path, stdout=subprocess.DEVNULL,
                                    stderr=subprocess.DEVNULL)
            deadline = time.monotonic() + 120
            while proc.poll() is None and emu.stats()["requests"] < before + 35 \
                    and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(0.2)  # mid-batch still (a batch holds every order), some orders done
            assert proc.poll() is None, "the run ended before it could be killed"
            proc.send_signal(signal.SIGKILL)
            proc.wait()
            done.append(done_in_store(tmp_path / "flx.db"))
            # Killed mid-batch, and still each kill leaves more orders done than the last.
            assert done[-1] > done[-2], done
        assert done[-1] < len(data.orders), done  # the kills really were mid-run
        final = subprocess.run(ws.argv("run", "send-orders", "--connection", CONNECTION),
                               env=env, cwd=tmp_path, capture_output=True, text=True,
                               check=False, timeout=300)
        assert final.returncode in (0, 3), final.stdout[-2000:]
        assert done_in_store(tmp_path / "flx.db") == len(data.orders)
        eids = [so.get("externalId") for so in emu.records("salesOrder")]
        assert sorted(eids) == sorted(o["id"] for o in data.orders)  # each exactly once
        assert emu.stats()["duplicate_external_ids"] == 0
