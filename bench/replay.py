"""Own CPU without the noise of a shared machine: replay one run's store writes and renders.

    python bench/replay.py capture calls.pickle [--orders 600] [--latency 50]
    python bench/replay.py run calls.pickle [--reps 3] [--part store|render|all]

`capture` sends the orders against the emulator (its own process, as in `make bench`) and
keeps every `put_syncs` and `render_json` call of send-orders, arguments included. `run`
replays them on a fresh SQLite store and Renderer in one thread and prints the thread CPU per
order of the best repetition. The same file replayed by two checkouts compares their code on
the same work; under `valgrind --tool=callgrind` (instructions, unaffected by other load), take
the count of `--reps 3` minus that of `--reps 1`, halved: one replay, without the start-up.
Diagnosis only, not part of `make bench`.
"""

from __future__ import annotations

import argparse
import copy
import pickle
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/replay.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def capture(out: Path, orders: int, latency: float) -> None:
    from bench import generate as gen
    from bench.harness import EmulatorProcess, Workspace
    from flx.render.renderer import Renderer
    from flx.store.sync import SyncMixin

    calls: dict[str, list[Any]] = {"puts": [], "renders": []}
    lock = threading.Lock()
    put, render = SyncMixin.put_syncs, Renderer.render_json

    def kept_put(self: Any, states: Any, *, release_claims: bool = False,
                 audit_rows: Any = ()) -> None:
        with lock:
            calls["puts"].append(copy.deepcopy((list(states), release_claims,
                                                list(audit_rows))))
        put(self, states, release_claims=release_claims, audit_rows=audit_rows)

    def kept_render(self: Any, name: str, context: Any, *, record_id: str,
                    schema: Any = None, record_kind: str | None = None) -> Any:
        with lock:  # one copy of each schema (the Renderer caches by identity)
            calls["renders"].append((name, copy.deepcopy(dict(context)), record_id, schema,
                                     record_kind))
        return render(self, name, context, record_id=record_id, schema=schema,
                      record_kind=record_kind)

    with tempfile.TemporaryDirectory(prefix="flx-replay-") as tmp:
        data = gen.write_ndjson(Path(tmp) / "data.ndjson", gen.generate(orders, prefix="RP"))
        with EmulatorProcess(gen.catalog_seed(), latency=latency, concurrency=5) as emu:
            ws = Workspace(Path(tmp) / "flx", emu.base_url, emu.env, gen.bench_profile(),
                           concurrency=5)
            ws.import_files([data])
            SyncMixin.put_syncs = kept_put  # type: ignore[method-assign]
            Renderer.render_json = kept_render  # type: ignore[method-assign]
            try:
                report = ws.run("send-orders")
            finally:
                SyncMixin.put_syncs = put  # type: ignore[method-assign]
                Renderer.render_json = render  # type: ignore[method-assign]
    calls["orders"] = report.counts.get("sent", 0) + report.counts.get("linked", 0)
    out.write_bytes(pickle.dumps(calls))
    print(f"{calls['orders']} orders: {len(calls['puts'])} put_syncs, "
          f"{len(calls['renders'])} render_json -> {out}")


def replay(path: Path, reps: int, part: str) -> None:
    from flx.render.renderer import Renderer
    from flx.store.store import Store

    calls = pickle.loads(path.read_bytes())  # noqa: S301 - a file this script wrote
    with tempfile.TemporaryDirectory(prefix="flx-replay-") as tmp:
        store = Store(f"sqlite:///{tmp}/replay.db")
        store.sync_summary()  # the schema, before the clock starts
        renderer = Renderer(["flx_netsuite"], [])
        for name, context, rid, schema, kind in calls["renders"][:50]:  # compile first
            renderer.render_json(name, context, record_id=rid, schema=schema,
                                 record_kind=kind)
        best: dict[str, float] = {}
        for _ in range(reps):
            if part in ("store", "all"):
                start = time.thread_time()
                for states, release, audit_rows in calls["puts"]:
                    store.put_syncs(states, release_claims=release, audit_rows=audit_rows)
                spent = time.thread_time() - start
                best["store"] = min(best.get("store", spent), spent)
            if part in ("render", "all"):
                start = time.thread_time()
                for name, context, rid, schema, kind in calls["renders"]:
                    renderer.render_json(name, context, record_id=rid, schema=schema,
                                         record_kind=kind)
                spent = time.thread_time() - start
                best["render"] = min(best.get("render", spent), spent)
        store.close()
    for label, spent in best.items():
        print(f"{label}: {spent / calls['orders'] * 1000:.3f} ms per order (thread CPU, best "
              f"of {reps})")


def main() -> None:
    parser = argparse.ArgumentParser(description="replay one run's store writes and renders")
    parser.add_argument("command", choices=("capture", "run"))
    parser.add_argument("file", type=Path)
    parser.add_argument("--orders", type=int, default=600)
    parser.add_argument("--latency", type=float, default=50.0, help="ms (capture)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--part", choices=("store", "render", "all"), default="all")
    args = parser.parse_args()
    if args.command == "capture":
        capture(args.file, args.orders, args.latency / 1000)
    else:
        replay(args.file, args.reps, args.part)


if __name__ == "__main__":
    main()
