"""`make bench`: flx against the NetSuite emulator served on loopback, next to a baseline
client, with issue 9's targets checked. See docs/performance.md.

    python bench/run.py [--orders 2000] [--latency 50] [--concurrency 5] [--quick]
                        [--baseline-orders 150] [--warm 200] [--scale 10000 100000]
                        [--no-baseline] [--no-scale] [--trace]
                        [--postgres URL] [--workers 1 2 4] [--no-postgres]

Three processes: the emulator (its CPU is not flx's), flx (import, send-orders,
send-shipments, send-vendor-bills, then warm-cache orders; CPU and peak RSS measured there)
and this one, which generates the data and reports. The PostgreSQL phases (bench/workers.py)
then send the same number of orders with 1, 2 and 4 `flx worker` processes sharing one store
and one account: % of the bound, 429s, duplicates, connections at peak (pg_stat_activity).
A full run writes
bench/results/latest.json and docs/performance.png; --quick writes bench/results/quick.json.
Exit code 0 whether or not targets are met (the table says which); 1 when the run itself
failed (records lost, duplicates, a step that did not run).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import httpx  # noqa: E402
from rich.console import Console  # noqa: E402

from bench import generate as gen  # noqa: E402
from bench.harness import SPAWN, EmulatorProcess, machine, repo_root  # noqa: E402
from bench.measure import flx_side  # noqa: E402
from bench.report import chart, print_results, targets, totals  # noqa: E402

BENCH = Path(__file__).resolve().parent
BASELINE_VENV = BENCH / ".baseline-venv"
RESULTS = BENCH / "results"


def calibrate(base_url: str, threads: int, per_thread: int = 30) -> dict[str, Any]:
    """What a minimal client gets from this emulator: `threads` threads sending tiny
    unauthenticated requests back to back (each still spends the latency in flight)."""
    done = 0
    lock = threading.Lock()

    def worker() -> None:
        nonlocal done
        with httpx.Client() as client:
            for _ in range(per_thread):
                client.get(f"{base_url}/services/rest/record/v1/salesOrder/0")
                with lock:
                    done += 1

    pool = [threading.Thread(target=worker) for _ in range(threads)]
    started = time.perf_counter()
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    wall = time.perf_counter() - started
    return {"requests": done, "wall_s": round(wall, 3), "requests_per_s": round(done / wall, 2)}


def ensure_baseline_venv(console: Console) -> Path | None:
    """bench/.baseline-venv with the PyPI `netsuite` package (it pins an older httpx)."""
    python = BASELINE_VENV / "bin" / "python"
    marker = BASELINE_VENV / ".installed"
    requirements = BENCH / "baseline-requirements.txt"
    if python.exists() and marker.exists() and \
            marker.read_text() == requirements.read_text():
        return python
    console.print("Setting up the baseline's virtual environment (bench/.baseline-venv) ...")
    try:
        subprocess.run([sys.executable, "-m", "venv", str(BASELINE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", "-r", str(requirements)],
                       check=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        console.print(f"[yellow]baseline unavailable: {exc}[/yellow]")
        return None
    marker.write_text(requirements.read_text())
    return python


def run_baseline(python: Path, data: Path, profile: Path, limit: int, seed: dict[str, Any],
                 latency: float, concurrency: int) -> dict[str, Any]:
    """The baseline script against a fresh emulator with the same account and settings."""
    with EmulatorProcess(seed, latency=latency, concurrency=concurrency) as emu:
        done = subprocess.run(
            [str(python), str(BENCH / "baseline.py"), "--base-url", emu.base_url,
             "--orders", str(data), "--profile", str(profile), "--limit", str(limit)],
            env={**os.environ, **emu.env}, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            return {"skipped": f"baseline.py exited {done.returncode}: "
                               f"{done.stderr.strip()[-500:]}"}
        result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
        result["emulator_requests"] = emu.stats()["requests"]
        return result


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="flx benchmark against the NetSuite emulator")
    parser.add_argument("--orders", type=int, default=2000)
    parser.add_argument("--latency", type=float, default=50.0, help="ms per request")
    parser.add_argument("--concurrency", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="300 orders, a short baseline, scale at 2k and 10k")
    parser.add_argument("--baseline-orders", type=int, default=150,
                        help="the baseline sends the first N of the same orders")
    parser.add_argument("--warm", type=int, default=200,
                        help="warm-cache orders of each shape (internal-only, dropship)")
    parser.add_argument("--scale", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--no-scale", action="store_true")
    parser.add_argument("--trace", action="store_true",
                        help="record each request's time in flight (slot occupancy)")
    parser.add_argument("--postgres", default=os.environ.get(
        "FLX_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"),
        help="PostgreSQL server for the worker phases (a schema of its own, dropped after)")
    parser.add_argument("--workers", type=int, nargs="*", default=[1, 2, 4],
                        help="worker processes of each PostgreSQL phase")
    parser.add_argument("--no-postgres", action="store_true")
    parser.add_argument("--dashboard-records", type=int, default=100_000,
                        help="orders in the store whose dashboard pages are timed")
    parser.add_argument("--no-dashboard", action="store_true")
    parser.add_argument("--no-extras", action="store_true",
                        help="skip the other connectors' and sources' phases (EXTRA_PHASES)")
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--render", type=Path, default=None, metavar="RESULTS_JSON",
                        help="only print the tables and redraw the chart of a results file")
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)
    if args.quick:
        args.orders, args.warm = min(args.orders, 300), min(args.warm, 50)
        args.baseline_orders = min(args.baseline_orders, 30)
        args.scale = [2_000, 10_000]
    return args


# Phases of other connectors and sources, each "module:function(work, log, quick) -> dict": the
# dict has "ok", a "title" and "rows" (list of dicts, one table), and "targets" (rows of the
# targets table: name, target, measured, met). Each runs in its own folder under `work`.
EXTRA_PHASES: tuple[tuple[str, str], ...] = (
    ("quickbooks", "bench.quickbooks:bench_phase"),
    ("flxpoint", "bench.flxpoint:bench_phase"),
)


def run_extras(work: Path, console: Console, *, quick: bool) -> dict[str, Any]:
    import importlib

    out: dict[str, Any] = {}
    for name, target in EXTRA_PHASES:
        module, _, function = target.partition(":")
        folder = work / f"extra-{name}"
        folder.mkdir(exist_ok=True)
        console.print(f"Running the {name} phase ...")
        out[name] = getattr(importlib.import_module(module), function)(
            folder, console.print, quick)
    return out


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # Piped output (CI logs, `| tee`) gets a table wide enough to read, not rich's 80 columns.
    console = Console() if sys.stdout.isatty() else Console(width=120)
    if args.render is not None:
        results = json.loads(args.render.read_text())
        print_results(results, console)
        chart(results, repo_root() / "docs" / "performance.png")
        return 0
    with tempfile.TemporaryDirectory(prefix="flx-bench-") as tmp:
        work = args.workdir or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        return bench(args, work, console)


def bench(args: argparse.Namespace, work: Path, console: Console) -> int:
    latency, conc = args.latency / 1000, args.concurrency
    console.print(f"Generating {args.orders:,} orders ...")
    data = gen.generate(args.orders)
    seed = gen.catalog_seed()
    profile = gen.bench_profile()
    data_file = gen.write_ndjson(work / "data.ndjson", data)
    profile_file = work / "bench-profile.json"
    profile_file.write_text(json.dumps(profile))
    warm_files = {}
    for shape in ("internal", "dropship"):
        orders = gen.returning_orders(args.warm, shape, data, prefix=f"W{shape[0].upper()}")
        warm_files[shape] = str(gen.write_json(work / f"warm-{shape}.json", orders=orders))
    results: dict[str, Any] = {
        "command": " ".join(["python bench/run.py", *args.argv]),
        "when": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "machine": machine(),
        "settings": {"orders": args.orders, **{k: v for k, v in data.counts().items()
                                               if k != "orders"},
                     "shapes": data.shapes, "latency_ms": args.latency, "concurrency": conc,
                     "bound_rps": conc / latency if latency else float("inf"),
                     "warm_orders": args.warm, "quick": args.quick}}
    with EmulatorProcess(seed, latency=latency, concurrency=conc) as emu:
        results["calibration"] = calibrate(emu.base_url, conc)
        results["calibration"]["bound_pct"] = round(
            100 * results["calibration"]["requests_per_s"] / results["settings"]["bound_rps"], 1)
        console.print("Running flx: import, send-orders, send-shipments, send-vendor-bills, "
                      "warm-cache orders ...")
        plan = {"workdir": str(work / "flx"), "base_url": emu.base_url, "env": emu.env,
                "profile": profile, "concurrency": conc, "latency": latency,
                "data": str(data_file), "warm": warm_files, "trace": args.trace}
        with ProcessPoolExecutor(max_workers=1, mp_context=SPAWN) as pool:
            results["flx"] = pool.submit(flx_side, plan).result()
        stats = emu.stats()
        results["emulator"] = {k: stats[k] for k in ("requests", "throttled", "peak_in_flight",
                                                     "duplicate_external_ids", "records")}
    if not args.no_baseline:
        python = ensure_baseline_venv(console)
        if python is None:
            results["baseline"] = {"skipped": "could not install the PyPI netsuite package"}
        else:
            console.print(f"Running the baseline on {args.baseline_orders} orders ...")
            results["baseline"] = run_baseline(python, data_file, profile_file,
                                               args.baseline_orders, seed, latency, conc)
            if results["baseline"].get("orders_per_s"):
                results["ratio"] = round(
                    results["flx"]["operations"]["send-orders"]["records_per_s"]
                    / results["baseline"]["orders_per_s"], 2)
    if not args.no_scale and args.scale:
        from bench.scale import measure

        results["scale"] = measure(args.scale, work, log=console.print)
        if not args.no_postgres:
            results["scale_postgres"] = measure(args.scale, work, log=console.print,
                                                store=args.postgres)
    if not args.no_postgres and args.workers:
        from bench.workers import postgres_phases, postgres_table

        results["postgres"] = postgres_phases(work, args.postgres, args.orders,
                                              concurrency=conc, latency=latency,
                                              workers=args.workers, log=console.print)
        console.print(postgres_table(results["postgres"]))
    if not args.no_dashboard:
        from bench.serve import dashboard

        console.print(f"Timing the dashboard's pages with {args.dashboard_records:,} records ...")
        results["dashboard"] = dashboard(args.dashboard_records)
    if not args.no_extras:
        results["extras"] = run_extras(work, console, quick=args.quick)
    results["totals"] = totals(results)
    results["targets"] = targets(results)
    print_results(results, console)
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / ("quick.json" if args.quick else "latest.json")
    out.write_text(json.dumps(results, indent=1) + "\n")
    console.print(f"Results: {out.relative_to(repo_root())}")
    if not args.quick:
        try:
            png = chart(results, repo_root() / "docs" / "performance.png")
            console.print(f"Chart: {png.relative_to(repo_root())}")
        except ImportError:
            console.print("[yellow]No chart: matplotlib is not installed "
                          "(.venv/bin/pip install matplotlib).[/yellow]")
    broken = results["emulator"]["duplicate_external_ids"] or results["totals"]["failed"] \
        or not results["flx"]["import"]["ok"] \
        or not all(p["ok"] for p in results.get("postgres", [])) \
        or not results.get("dashboard", {}).get("ok", True) \
        or not all(e.get("ok", False) for e in results.get("extras", {}).values())
    return 1 if broken else 0


if __name__ == "__main__":
    sys.exit(main())
