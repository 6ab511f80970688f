"""Where flx's time goes, for the targets `make bench` reports as missed.

    python bench/diagnose.py [--orders 400] [--latency 50] [--concurrency 5]
                             [--operations send-orders] [--factors 1]

1. CPU by component. Store calls (SQLAlchemy + SQLite), rendering (Jinja2 + payload schema
   validation), OAuth signing and the HTTP transport (httpx/httpcore/h11) are wrapped with
   `time.thread_time()`, the calling thread's own CPU: exact attribution with no sampling,
   SQLite's C work (which runs without the GIL) included. What is left is the operation code,
   the runner and thread hand-offs. Calls per record are counted too.
2. Slot occupancy. Each request's (start, end) on the wire, as the share of the run with
   0..C requests in flight, and the same run with twice as many worker threads as request
   slots (the AdaptiveLimiter still caps requests in flight at C): if the bound percentage
   rises, the gap is flx's local work between requests, not the emulator.

Diagnosis only: it patches flx in its own process and is not part of `make bench`'s figures.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/diagnose.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate as gen  # noqa: E402
from bench.harness import OPERATIONS, SPAWN, EmulatorProcess, Workspace  # noqa: E402
from bench.measure import Meter, TracingTransport, instrument, occupancy  # noqa: E402


def _more_workers(factor: int) -> None:
    """Runtime gets factor x workers; the connection's limiter keeps C requests in flight."""
    import flx.run.runner

    original = flx.run.runner.Runtime

    class WideRuntime(original):  # type: ignore[misc,valid-type]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            kwargs["workers"] = kwargs.get("workers", 1) * factor
            super().__init__(*args, **kwargs)

    flx.run.runner.Runtime = WideRuntime  # type: ignore[misc]


def _child(plan: dict[str, Any]) -> dict[str, Any]:
    meter = instrument(Meter())
    if plan["workers_factor"] > 1:
        _more_workers(plan["workers_factor"])
    ws = Workspace(Path(plan["workdir"]), plan["base_url"], plan["env"], plan["profile"],
                   concurrency=plan["concurrency"])
    ws.import_files([Path(plan["data"])])
    out: dict[str, Any] = {}
    for op in plan["operations"]:
        meter.cpu.clear()
        meter.calls.clear()
        tracer = TracingTransport(plan["concurrency"])
        wall, cpu = time.perf_counter(), time.process_time()
        report = ws.run(op, transport=tracer)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        done = report.counts.get("sent", 0) + report.counts.get("linked", 0)
        per = max(done, 1)
        parts = {k: round(v / per * 1000, 3) for k, v in meter.cpu.items()}
        parts["everything else"] = round(cpu / per * 1000 - sum(parts.values()), 3)
        bound = plan["concurrency"] / plan["latency"]
        out[op] = {
            "records": done, "wall_s": round(wall, 2),
            "cpu_ms_per_record": round(cpu / per * 1000, 3),
            "own_cpu_ms_per_record": round(parts.get("store", 0)
                                           + parts.get("render+validate", 0), 3),
            "cpu_ms_per_record_by_part": parts,
            "calls_per_record": {k: round(v / per, 2) for k, v in sorted(meter.calls.items())},
            "requests_per_s": round(len(tracer.spans) / wall, 1),
            "bound_pct": round(100 * len(tracer.spans) / wall / bound, 1),
            "occupancy": occupancy(tracer.spans, min(s for s, _ in tracer.spans),
                                   max(e for _, e in tracer.spans), plan["concurrency"])}
    return out


def diagnose(orders: int, latency: float, concurrency: int, work: Path,
             operations: tuple[str, ...] = OPERATIONS,
             factors: tuple[int, ...] = (1, 2)) -> dict[str, Any]:
    data = gen.generate(orders, prefix="DG")
    data_file = gen.write_ndjson(work / "data.ndjson", data)
    results: dict[str, Any] = {}
    for factor in factors:
        with EmulatorProcess(gen.catalog_seed(), latency=latency,
                             concurrency=concurrency) as emu:
            folder = work / f"flx-x{factor}"
            shutil.rmtree(folder, ignore_errors=True)
            plan = {"workdir": str(folder), "base_url": emu.base_url, "env": emu.env,
                    "profile": gen.bench_profile(), "concurrency": concurrency,
                    "latency": latency, "data": str(data_file), "workers_factor": factor,
                    "operations": operations}
            with ProcessPoolExecutor(max_workers=1, mp_context=SPAWN) as pool:
                results[f"workers = {factor} x C"] = pool.submit(_child, plan).result()
            results[f"workers = {factor} x C"]["throttled"] = emu.stats()["throttled"]
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description="where flx's CPU and wall time go")
    parser.add_argument("--orders", type=int, default=400)
    parser.add_argument("--latency", type=float, default=50.0, help="ms")
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--operations", default=",".join(OPERATIONS),
                        help="comma-separated, in this order (default: all three)")
    parser.add_argument("--factors", default="1,2",
                        help="worker threads per request slot, one pass each (default: 1,2)")
    args = parser.parse_args()
    operations = tuple(op for op in args.operations.split(",") if op)
    unknown = [op for op in operations if op not in OPERATIONS]
    if unknown:
        parser.error(f"unknown operation {unknown[0]!r}; choose from {', '.join(OPERATIONS)}")
    factors = tuple(int(f) for f in args.factors.split(",") if f)
    with tempfile.TemporaryDirectory(prefix="flx-diagnose-") as tmp:
        started = time.perf_counter()
        result = diagnose(args.orders, args.latency / 1000, args.concurrency, Path(tmp),
                          operations, factors)
    result["took_s"] = round(time.perf_counter() - started, 1)
    result["command"] = " ".join(["python bench/diagnose.py", *sys.argv[1:]])
    out = Path(__file__).resolve().parent / "results" / "diagnose.json"
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    for label, ops in result.items():
        for op, figures in ops.items() if isinstance(ops, dict) else ():
            if isinstance(figures, dict):
                print(f"{label}, {op}: own CPU {figures['own_cpu_ms_per_record']} ms/record, "
                      f"process CPU {figures['cpu_ms_per_record']} ms/record, "
                      f"{figures['bound_pct']} % of the bound", file=sys.stderr)


if __name__ == "__main__":
    main()
