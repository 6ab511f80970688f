"""The flx side of `make bench`, run in its own process so that its CPU time and peak memory
are flx's alone (the emulator serves from another process).

`flx_side(plan)` imports the generated files and runs send-orders, send-shipments and
send-vendor-bills through `flx.run.runner.run_operation`, the function behind `flx run`, then
measures warm-cache request costs with orders from returning customers. Around each step it
takes the wall time, `time.process_time()` (this process's CPU, every thread) and the
emulator's counters; the counters are read outside the timed windows.

`Meter` splits the CPU by component with `time.thread_time()` wrappers (exact, SQLite's C
work included): store, render + validate, OAuth signing, the HTTP transport. Issue 9's
"flx's own CPU per order" is render + validate + store; the whole-process figure is shown
beside it. The wrappers cost about a microsecond per call."""

from __future__ import annotations

import functools
import inspect
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.harness import OPERATIONS, Workspace, peak_rss_mb, stats_delta


class Meter:
    """Thread-CPU seconds and call counts per component (the outermost wrapper counts)."""

    def __init__(self) -> None:
        self.cpu: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self._lock = threading.Lock()
        self._local = threading.local()

    def wrap(self, owner: Any, name: str, label: str) -> None:
        original = getattr(owner, name)

        @functools.wraps(original)
        def metered(*args: Any, **kwargs: Any) -> Any:
            if getattr(self._local, "inside", False):
                return original(*args, **kwargs)  # nested: counted by the outer call
            self._local.inside = True
            start = time.thread_time()
            try:
                result = original(*args, **kwargs)
            finally:
                self._add(label, name, time.thread_time() - start)
            # A streamed read (candidates): its pages are read as the caller iterates.
            return self._iterated(result, label) if inspect.isgenerator(result) else result

        setattr(owner, name, metered)

    def _add(self, label: str, name: str | None, spent: float) -> None:
        self._local.inside = False
        with self._lock:
            self.cpu[label] += spent
            if name is not None:
                self.calls[f"{label}.{name}"] += 1

    def _iterated(self, items: Iterator[Any], label: str) -> Iterator[Any]:
        while True:
            self._local.inside = True
            start = time.thread_time()
            try:
                item = next(items)
            except StopIteration:
                return
            finally:
                self._add(label, None, time.thread_time() - start)
            yield item


def instrument(meter: Meter) -> Meter:
    import flx.render.renderer
    import flx.store.store
    import flx.store.sync
    import flx_netsuite.auth

    for cls in (flx.store.store.Store, flx.store.sync.SyncMixin):
        for name in ("get_sync", "get_syncs", "set_sync", "put_syncs", "candidates",
                     "get_record", "get_records", "audit", "cache_get_many",
                     "cache_put_many", "claim", "release_claims", "start_run", "finish_run",
                     "acquire_lock", "record_info"):
            if name in vars(cls):
                meter.wrap(cls, name, "store")
    meter.wrap(flx.render.renderer.Renderer, "render_json", "render+validate")
    meter.wrap(flx_netsuite.auth.TokenAuth, "authorization", "oauth signing")
    # The inner transport only: the audit write that follows each POST is a store call.
    meter.wrap(httpx.HTTPTransport, "handle_request", "http transport")
    return meter


class TracingTransport(httpx.HTTPTransport):
    """The transport flx builds by default, plus a (start, end) timestamp per request, so that
    `--trace` can show how full the C request slots were over the run."""

    def __init__(self, concurrency: int) -> None:
        super().__init__(limits=httpx.Limits(max_connections=concurrency,
                                             max_keepalive_connections=concurrency), retries=0)
        self.spans: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        start = time.perf_counter()
        response = super().handle_request(request)
        response.read()  # the body belongs to the request's time in flight
        with self._lock:
            self.spans.append((start, time.perf_counter()))
        return response


def occupancy(spans: list[tuple[float, float]], start: float, end: float,
              slots: int) -> dict[str, Any]:
    """Share of the window with k requests in flight (k = 0..slots+), and mean latency."""
    events = sorted([(s, 1) for s, _ in spans] + [(e, -1) for _, e in spans])
    share = [0.0] * (slots + 2)
    level, last = 0, start
    for moment, step in events:
        moment = min(max(moment, start), end)
        share[min(level, slots + 1)] += moment - last
        level, last = level + step, moment
    share[min(level, slots + 1)] += max(end - last, 0.0)
    total = max(end - start, 1e-9)
    busy = sum(e - s for s, e in spans)
    return {"in_flight_share": [round(x / total, 4) for x in share],
            "mean_in_flight": round(busy / total, 3),
            "mean_request_ms": round(busy / max(len(spans), 1) * 1000, 2)}


class _Step:
    """Wall time, CPU time and emulator counters of one step."""

    def __init__(self, stats: Callable[[], dict[str, Any]], meter: Meter) -> None:
        self.stats = stats
        self.meter = meter

    def __call__(self, fn: Callable[[], Any]) -> tuple[Any, dict[str, Any]]:
        before = self.stats()
        self.meter.cpu.clear()
        self.meter.calls.clear()
        wall, cpu = time.perf_counter(), time.process_time()
        result = fn()
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        parts, calls = dict(self.meter.cpu), dict(self.meter.calls)  # before stats() adds
        delta = stats_delta(before, self.stats())
        return result, {"wall_s": round(wall, 3), "cpu_s": round(cpu, 3), **delta,
                        "meter": (parts, calls)}


def _run_figures(report: Any, step: dict[str, Any], bound: float) -> dict[str, Any]:
    cpu_parts, calls = step.pop("meter")
    counts = dict(report.counts)
    done = counts.get("sent", 0) + counts.get("linked", 0)
    wall = max(step["wall_s"], 1e-9)
    per = max(done, 1)
    parts = {k: round(1000 * v / per, 3) for k, v in sorted(cpu_parts.items())}
    parts["everything else"] = round(1000 * step["cpu_s"] / per - sum(parts.values()), 3)
    failed_rows = [r for r in report.rows if r.status == "failed"]
    return {
        **step, "counts": counts, "records": done, "failed": len(failed_rows),
        "failed_429": sum(1 for r in failed_rows if r.error_class == "rate_limit"),
        "failures": [f"{r.record_id}: {r.message}" for r in failed_rows[:5]],
        "records_per_s": round(done / wall, 2),
        "requests_per_s": round(step["requests"] / wall, 2),
        "bound_pct": round(100 * step["requests"] / wall / bound, 1),
        "requests_per_record": round(step["requests"] / max(done, 1), 3),
        "cpu_ms_per_record": round(1000 * step["cpu_s"] / per, 3),
        "own_cpu_ms_per_record": round(parts.get("store", 0) + parts.get("render+validate", 0),
                                       3),
        "cpu_ms_per_record_by_part": parts,
        "calls_per_record": {k: round(v / per, 2) for k, v in sorted(calls.items())},
        "aborted": report.aborted,
    }


def flx_side(plan: dict[str, Any]) -> dict[str, Any]:
    """Child-process entry point. `plan`: workdir, base_url, env, profile, concurrency,
    latency, data file, warm files {shape: file}, trace flag."""
    ws = Workspace(Path(plan["workdir"]), plan["base_url"], plan["env"], plan["profile"],
                   concurrency=plan["concurrency"])
    http = httpx.Client(timeout=60)

    def stats() -> dict[str, Any]:
        data: dict[str, Any] = http.get(f"{plan['base_url']}/_emulator/stats").json()
        return data

    meter = instrument(Meter())
    step = _Step(stats, meter)
    bound = plan["concurrency"] / plan["latency"] if plan["latency"] else float("inf")
    out: dict[str, Any] = {"operations": {}, "warm": {}}
    report, figures = step(lambda: ws.import_files([Path(plan["data"])]))
    out["import"] = {"wall_s": figures["wall_s"], "cpu_s": figures["cpu_s"],
                     "cpu_ms_per_record": round(1000 * figures["cpu_s"] / max(
                         sum(c.total for c in report.accepted.values()), 1), 3),
                     "ok": report.ok, "problems": [str(p) for p in report.problems[:5]]}
    for op in OPERATIONS:
        tracer = TracingTransport(plan["concurrency"]) if plan.get("trace") else None
        started = time.perf_counter()
        report, figures = step(lambda op=op, t=tracer: ws.run(op, transport=t))
        out["operations"][op] = _run_figures(report, figures, bound)
        if tracer is not None:
            out["operations"][op]["trace"] = occupancy(
                tracer.spans, started, started + figures["wall_s"], plan["concurrency"])
    for shape, path in plan["warm"].items():
        ws.import_files([Path(path)])
        report, figures = step(lambda: ws.run("send-orders"))
        out["warm"][shape] = _run_figures(report, figures, bound)
    out["peak_rss_mb"] = peak_rss_mb()
    http.close()
    return out
