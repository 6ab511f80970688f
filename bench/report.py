"""Turning bench results into the verdicts against issue 9's targets, the terminal tables and
the PNG chart of docs/performance.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

OPS = ("send-orders", "send-shipments", "send-vendor-bills")


def totals(results: dict[str, Any]) -> dict[str, float]:
    """The three operations together: requests/s against the bound, 429s, failures."""
    ops = results["flx"]["operations"].values()
    wall = sum(o["wall_s"] for o in ops)
    requests = sum(o["requests"] for o in ops)
    rps = requests / wall if wall else 0.0
    return {"wall_s": round(wall, 2), "requests": requests, "requests_per_s": round(rps, 2),
            "bound_pct": round(100 * rps / results["settings"]["bound_rps"], 1),
            "throttled": sum(o["throttled"] for o in ops),
            "failed": sum(o["failed"] for o in ops),
            "failed_429": sum(o["failed_429"] for o in ops)}


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    """Issue 9's targets with the measured figure and whether it is met."""
    flx, settings = results["flx"], results["settings"]
    total = totals(results)
    orders = flx["operations"]["send-orders"]
    warm = flx.get("warm", {})
    out = [
        {"name": "requests/s vs the C/L bound (all three operations)", "target": ">= 90 %",
         "measured": f"{total['bound_pct']} %", "met": total["bound_pct"] >= 90},
        {"name": "records failed because of 429s", "target": "0",
         "measured": str(total["failed_429"]), "met": total["failed_429"] == 0},
    ]
    if "internal" in warm:
        rpo = warm["internal"]["requests_per_record"]
        out.append({"name": "requests per internal-only order (warm caches)",
                    "target": "<= 1.1", "measured": f"{rpo:.3f}", "met": rpo <= 1.1})
    if "dropship" in warm:
        rpo = warm["dropship"]["requests_per_record"]
        out.append({"name": "requests per dropship order (warm caches)", "target": "<= 3",
                    "measured": f"{rpo:.3f}", "met": rpo <= 3})
    own, cpu = orders["own_cpu_ms_per_record"], orders["cpu_ms_per_record"]
    out.append({"name": "flx's own CPU per order (render + validate + store)",
                "target": "<= 2 ms", "measured": f"{own:.2f} ms (process: {cpu:.2f} ms)",
                "met": own <= 2})
    rss = flx["peak_rss_mb"]
    out.append({"name": f"peak RSS of the flx process (N={settings['orders']:,})",
                "target": "<= 150 MB", "measured": f"{rss:.0f} MB", "met": rss <= 150})
    ratio = results.get("ratio")
    if ratio is not None:
        out.append({"name": "orders/s, flx / baseline (PyPI netsuite, sequential)",
                    "target": ">= 10x", "measured": f"{ratio:.1f}x", "met": ratio >= 10})
    dup = results["emulator"]["duplicate_external_ids"]
    out.append({"name": "duplicate external ids in NetSuite", "target": "0",
                "measured": str(dup), "met": dup == 0})
    lost = total["failed"]
    out.append({"name": "records not sent (failed)", "target": "0", "measured": str(lost),
                "met": lost == 0})
    for extra in (results.get("extras") or {}).values():
        out.extend(extra.get("targets") or [])
    board = results.get("dashboard")
    if board:
        out.append({"name": f"dashboard pages, slowest median ({board['records']:,} records)",
                    "target": f"< {board['budget_ms']:g} ms",
                    "measured": f"{board['slowest_median_ms']:.1f} ms", "met": board["ok"]})
    for key, store in (("scale", "SQLite"), ("scale_postgres", "PostgreSQL")):
        sizes = (results.get(key) or {}).get("sizes") or {}
        if sizes:
            n = max(sizes, key=int)
            rate = int(n) / max(sizes[n]["import"]["wall_s"], 1e-9)
            out.append({"name": f"import of {int(n):,} orders on {store}",
                        "target": ">= 10,000 records/s", "measured": f"{rate:,.0f} records/s",
                        "met": rate >= 10_000})
    return out


def print_results(results: dict[str, Any], console: Console) -> None:
    s = results["settings"]
    console.print(f"[bold]flx benchmark[/bold]: {s['orders']:,} orders, "
                  f"{s['shipments']:,} shipments, {s['vendor_bills']:,} vendor bills; "
                  f"emulator latency {s['latency_ms']} ms, concurrency {s['concurrency']} "
                  f"(bound {s['bound_rps']:.0f} requests/s)")
    table = Table("operation", "records", "wall s", "rec/s", "req/s", "% bound", "req/rec",
                  "429s", "failed", "CPU ms/rec", "own ms/rec",
                  title="flx through flx.run.runner.run_operation (the code of `flx run`)")
    rows = [(op.replace("send-", ""), results["flx"]["operations"][op]) for op in OPS]
    rows += [(f"warm {shape}", f) for shape, f in results["flx"].get("warm", {}).items()]
    for name, f in rows:
        table.add_row(name, f"{f['records']:,}", f"{f['wall_s']:.1f}",
                      f"{f['records_per_s']:.1f}", f"{f['requests_per_s']:.1f}",
                      f"{f['bound_pct']:.0f}", f"{f['requests_per_record']:.2f}",
                      str(f["throttled"]), str(f["failed"]), f"{f['cpu_ms_per_record']:.2f}",
                      f"{f['own_cpu_ms_per_record']:.2f}")
    console.print(table)
    console.print("CPU ms/rec: the flx process's CPU (all threads) per record; own ms/rec: "
                  "render + validate + store only (issue 9's definition).")
    for op in OPS:
        trace = results["flx"]["operations"][op].get("trace")
        if trace:
            shares = " ".join(f"{k}:{v:.0%}" for k, v in enumerate(trace["in_flight_share"])
                              if v or k <= results["settings"]["concurrency"])
            console.print(f"{op}: requests in flight {shares}; mean "
                          f"{trace['mean_in_flight']:.2f}, {trace['mean_request_ms']:.1f} ms "
                          "per request")
    calibration = results.get("calibration")
    if calibration:
        console.print(f"A plain client (5 threads, tiny requests) reaches "
                      f"{calibration['requests_per_s']:.1f} requests/s = "
                      f"{calibration['bound_pct']:.0f} % of the bound on this machine: the "
                      "emulator's own overhead per request.")
    base = results.get("baseline") or {}
    if base.get("sent"):
        console.print(f"Baseline (PyPI netsuite, sequential): {base['sent']} orders in "
                      f"{base['wall_s']:.1f} s = {base['orders_per_s']:.2f} orders/s, "
                      f"{base['requests_per_order']:.2f} requests/order; flx send-orders "
                      f"{results['flx']['operations']['send-orders']['records_per_s']:.1f} "
                      f"orders/s: {results['ratio']:.1f}x")
    elif base:
        console.print(f"Baseline skipped: {base.get('skipped') or base.get('failures')}")
    for key, store in (("scale", "SQLite"), ("scale_postgres", "PostgreSQL")):
        scale = results.get(key) or {}
        if not scale.get("sizes"):
            continue
        st = Table("records", "file MB", "import s", "records/s", "import peak MB",
                   "select s", "select peak MB",
                   title=f"Scale on {store} (idle process: {scale['idle_rss_mb']:.0f} MB)")
        for n, f in scale["sizes"].items():
            st.add_row(f"{int(n):,}", f"{f['file_mb']:.0f}", f"{f['import']['wall_s']:.1f}",
                       f"{int(n) / max(f['import']['wall_s'], 1e-9):,.0f}",
                       f"{f['import']['peak_rss_mb']:.0f}", f"{f['candidates']['wall_s']:.2f}",
                       f"{f['candidates']['peak_rss_mb']:.0f}")
        console.print(st)
    board = results.get("dashboard")
    if board:
        bt = Table("page", "median ms", "max ms", "CPU ms", "bytes",
                   title=f"flx serve with {board['records']:,} records ({board['store']}), "
                         f"{board['repeat']} requests per page")
        for r in board["pages"]:
            bt.add_row(r["path"], f"{r['median_ms']:.1f}", f"{r['max_ms']:.1f}",
                       f"{r['cpu_ms']:.1f}", f"{r['bytes']:,}")
        console.print(bt)
    for phase in (results.get("extras") or {}).values():
        table_rows: list[dict[str, Any]] = phase.get("rows") or []
        if table_rows:
            et = Table(*table_rows[0].keys(), title=phase.get("title", ""))
            for row in table_rows:
                et.add_row(*(str(v) for v in row.values()))
            console.print(et)
    tt = Table("target", "goal", "measured", "", title="Targets")
    for t in results["targets"]:
        tt.add_row(t["name"], t["target"], t["measured"],
                   "[green]met[/green]" if t["met"] else "[red]missed[/red]")
    console.print(tt)
    console.print(f"peak RSS of the flx process: {results['flx']['peak_rss_mb']:.0f} MB; "
                  f"emulator peak in flight {results['emulator']['peak_in_flight']}, "
                  f"429s {results['emulator']['throttled']}")


def chart(results: dict[str, Any], path: Path) -> Path:
    """A 2x2 PNG: throughput vs bound, flx vs baseline, warm request costs, scale."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    s, flx = results["settings"], results["flx"]
    fig, axes = plt.subplots(2, 2, figsize=(11, 8))
    fig.suptitle(f"flx on the NetSuite emulator: L = {s['latency_ms']} ms, C = "
                 f"{s['concurrency']}, {s['orders']:,} orders "
                 f"({results['machine']['cpus']} CPUs, Python {results['machine']['python']})")
    ax = axes[0][0]
    names = [op.replace("send-", "") for op in OPS]
    rps = [flx["operations"][op]["requests_per_s"] for op in OPS]
    if results.get("calibration"):
        names.append("plain client")
        rps.append(results["calibration"]["requests_per_s"])
    ax.bar(names, rps, color=["#3b7dd8"] * len(OPS) + ["#999999"] * (len(rps) - len(OPS)))
    ax.axhline(s["bound_rps"], color="black", linestyle="--", label="C/L bound")
    ax.axhline(0.9 * s["bound_rps"], color="red", linestyle=":", label="90 % target")
    ax.set_ylabel("requests / s")
    ax.set_title("Requests per second")
    ax.legend(loc="lower right")
    ax = axes[0][1]
    base = results.get("baseline") or {}
    if base.get("sent"):
        values = [flx["operations"]["send-orders"]["records_per_s"], base["orders_per_s"]]
        ax.bar(["flx", "baseline\n(PyPI netsuite)"], values, color=["#3b7dd8", "#d8893b"])
        ax.set_title(f"Orders per second: {results['ratio']:.1f}x")
    else:
        ax.set_title("Orders per second (baseline not run)")
    ax.set_ylabel("orders / s")
    ax = axes[1][0]
    warm = flx.get("warm", {})
    shapes = list(warm)
    ax.bar(shapes, [warm[k]["requests_per_record"] for k in shapes], color="#3b7dd8")
    for x, (shape, goal) in enumerate((("internal", 1.1), ("dropship", 3.0))):
        if shape in warm:
            ax.hlines(goal, x - 0.4, x + 0.4, colors="red", linestyles=":")
    ax.set_title("Requests per order, warm caches (red: target)")
    ax.set_ylabel("requests / order")
    ax = axes[1][1]
    scale = results.get("scale") or {}
    if scale.get("sizes"):
        sizes = [int(n) for n in scale["sizes"]]
        imp = [scale["sizes"][str(n)]["import"]["wall_s"] for n in sizes]
        sel = [scale["sizes"][str(n)]["candidates"]["wall_s"] for n in sizes]
        rss = [scale["sizes"][str(n)]["import"]["peak_rss_mb"] for n in sizes]
        sel_rss = [scale["sizes"][str(n)]["candidates"]["peak_rss_mb"] for n in sizes]
        ax.plot(sizes, imp, "o-", label="import (s)")
        ax.plot(sizes, sel, "s-", label="select candidates (s)")
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("records")
        ax.set_ylabel("seconds")
        twin = ax.twinx()
        twin.plot(sizes, rss, "^--", color="#d8893b", label="import peak RSS (MB)")
        twin.plot(sizes, sel_rss, "v--", color="#7a5195", label="select peak RSS (MB)")
        twin.set_ylim(0, max(rss + sel_rss) * 1.6)
        twin.set_ylabel("MB")
        ax.legend(loc="upper left")
        twin.legend(loc="lower right")
        ax.set_title("Scale: time (left, log-log) and peak memory (right)")
    else:
        ax.set_title("Scale (not run)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path
