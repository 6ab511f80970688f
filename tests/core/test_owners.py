"""A run killed with SIGKILL leaves its run lock and claims behind; a restart on the same
machine takes them over at once instead of exiting "already running" for minutes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from flx.store.owners import default_owner, owner_is_dead
from flx.store.store import Store

ROOT = Path(__file__).resolve().parents[2]
HOLDER = """
import sys, time
from flx.store.store import Store, default_owner
store = Store(sys.argv[1])
me = default_owner()
assert store.acquire_lock("run:ns:send-orders", me, 300)
assert store.claim("ns", "send-orders", ["ORD-1", "ORD-2"], me, ttl_seconds=900)
print(me, flush=True)
time.sleep(600)
"""


def test_a_killed_holder_gives_up_its_lock_and_claims(store_url: str) -> None:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, store_url], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    try:
        dead_owner = (holder.stdout.readline() if holder.stdout else "").strip()
        assert dead_owner, "the holder process did not start"
        with Store(store_url) as store:
            me = default_owner()
            assert store.acquire_lock("run:ns:send-orders", me, 300) is False  # still alive
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            assert owner_is_dead(dead_owner)
            store.upsert_records("order", [{"id": "ORD-1", "lines": []},
                                           {"id": "ORD-2", "lines": []}])
            seen = [r["id"] for r, _ in store.candidates("ns", "send-orders", "order", owner=me)]
            assert seen == []  # still claimed by the dead run
            store.release_dead_claims("ns", "send-orders")  # what a restarted run does first
            seen = [r["id"] for r, _ in store.candidates("ns", "send-orders", "order", owner=me)]
            assert seen == ["ORD-1", "ORD-2"]
            assert store.acquire_lock("run:ns:send-orders", me, 300) is True
            assert store.claim("ns", "send-orders", ["ORD-1", "ORD-2"], me) == ["ORD-1", "ORD-2"]
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait()
        if holder.stdout:
            holder.stdout.close()


def test_owners_elsewhere_or_alive_are_never_judged_dead() -> None:
    assert not owner_is_dead(default_owner())  # this process
    assert not owner_is_dead("other-host.example:1:abcd")
    assert not owner_is_dead(f"{default_owner().split(':')[0]}:1:init")  # pid 1 runs
    assert not owner_is_dead(None)
