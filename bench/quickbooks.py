"""QuickBooks Online in `make soak` and `make bench` (bench/soak.py and bench/run.py
EXTRA_PHASES): real `flx` processes against the QuickBooks emulator served from its own process.

soak_phase: ~200 orders (internal, drop-ship from one vendor, from two), shipments and bills
in two stages; injected 5xx, faults inside HTTP 200, connections dropped before and after the
write is applied, real 429s (flx is allowed more requests in flight than the company), and
SIGKILLs of `flx run` mid-run; then clean runs that must write nothing. Every order, shipment
and bill must be in QuickBooks exactly once (requestid replay off and the emulator's duplicate
number check off, so only flx's own guards stand between a retry and a duplicate). Then a
kill between a token refresh and its store, under three readings of Intuit's rotation.

bench_phase: send-orders, send-shipments and send-vendor-bills against the emulator throttled
at Intuit's limits (500 requests per minute, 10 per second, 10 in flight per company) with a
realistic latency: how close flx's pacing (480 per minute) comes to the limit."""

from __future__ import annotations

import json
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.qbo_harness import (
    OPERATIONS,
    QboData,
    QboEmulatorProcess,
    QboWorkspace,
    generate,
    write_json,
)

SOAK_FAULTS = {"drop_after": 0.04, "drop_before": 0.02, "error_500": 0.02, "error_503": 0.02,
               "fault_200": 0.01, "timeout": 0.01}
# Where a killed refresh leaves the connection, per reading of quickbooks-api.md §1.4.
READINGS = {
    "grace": {"rotation": "every_refresh", "old_token_grace": 86_400.0},
    "daily": {"rotation": "daily", "old_token_grace": 0.0},
    "strict": {"rotation": "every_refresh", "old_token_grace": 0.0},
}


def _authorize(ws: QboWorkspace, emu: QboEmulatorProcess) -> None:
    done = ws.flx("connections", "authorize", "qb", "--refresh-token", emu.call("issue"))
    if done.returncode != 0:
        raise RuntimeError(f"flx connections authorize failed: {done.stdout}{done.stderr}")


def _import(ws: QboWorkspace, name: str, **kinds: list[dict[str, Any]]) -> None:
    done = ws.flx("import", str(write_json(ws.path / name, **kinds)))
    if done.returncode != 0:
        raise RuntimeError(f"flx import failed: {done.stdout}{done.stderr}")


def _run(ws: QboWorkspace, emu: QboEmulatorProcess, op: str, *, kill_after: int | None
         ) -> dict[str, Any]:
    """One `flx run`; with kill_after, the emulator holds every request after that many, so
    the SIGKILL lands mid-run however loaded the machine is. Held writes are applied after
    the kill: what a request already on its way does."""
    began = time.perf_counter()
    proc = ws.popen("run", op, "--connection", "qb")
    entry: dict[str, Any] = {"op": op, "killed": False}
    if kill_after is not None:
        emu.call("hold", after=kill_after)
        try:
            while proc.poll() is None and not emu.call("stats")["held"]:
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                entry.update(killed=True, exit=-9)
                return entry
        finally:
            emu.call("release")
    output, _ = proc.communicate(timeout=600)
    entry.update(exit=proc.returncode, wall_s=round(time.perf_counter() - began, 1))
    if proc.returncode not in (0, 3):
        entry["output"] = output[-600:]
    return entry


def _until_done(ws: QboWorkspace, emu: QboEmulatorProcess, op: str, ids: set[str],
                kills: int, rng: random.Random, log: list[dict[str, Any]]) -> None:
    """Run (killing the first `kills` runs) until every record of `ids` is sent, with `flx
    retry --all` between rounds, as an operator would."""
    for _ in range(12):
        states = ws.statuses(op)
        pending = sum(states.get(i) not in ("sent", "linked") for i in ids)
        # At least a request per pending record is to come: aim inside the first half.
        aim = rng.randint(5, max(6, pending // 2))
        entry = _run(ws, emu, op, kill_after=aim if kills > 0 else None)
        kills -= entry["killed"]
        log.append(entry)
        states = ws.statuses(op)
        if not entry["killed"] and all(states.get(i) in ("sent", "linked") for i in ids):
            return
        if entry.get("exit") == 3:
            ws.flx("retry", "--all", "--connection", "qb")


def _verify(emu: QboEmulatorProcess, ws: QboWorkspace, data: QboData) -> list[str]:
    """Exactly once, by document number and by flx's store."""
    problems: list[str] = []
    want = {"SalesReceipt": {o["number"] for o in data.orders},
            "PurchaseOrder": set(data.dropship_requests()),
            "Bill": {b["number"] for b in data.all_bills()}}
    for entity, numbers in want.items():
        found = Counter(str(o.get("DocNumber")) for o in emu.objects(entity))
        twice = sorted(n for n, c in found.items() if c > 1)
        missing = sorted(numbers - set(found))
        if twice:
            problems.append(f"{entity}: {len(twice)} document numbers twice, e.g. {twice[:3]}")
        if missing:
            problems.append(f"{entity}: {len(missing)} missing, e.g. {missing[:3]}")
    for bill in emu.objects("Bill"):
        if not all(line.get("LinkedTxn") for line in bill.get("Line", [])):
            problems.append(f"Bill {bill.get('DocNumber')}: a line without its PO link")
    sales = {str(s.get("DocNumber")): s for s in emu.objects("SalesReceipt")}
    for shipment in data.all_shipments():
        note = str(sales.get(shipment["order_id"][4:], {}).get("PrivateNote") or "")
        for tracking in shipment["tracking_numbers"]:
            if note.count(tracking) != 1:
                problems.append(f"{shipment['id']}: tracking {tracking} {note.count(tracking)} "
                                "times in its sale's note")
    emails = {o["customer"]["email"] for o in data.orders}
    if len(emu.objects("Customer")) != len(emails):
        problems.append(f"Customer: {len(emu.objects('Customer'))} for {len(emails)} e-mails")
    kinds = {"send-orders": data.orders, "send-shipments": data.all_shipments(),
             "send-vendor-bills": data.all_bills()}
    for op, records in kinds.items():
        states = ws.statuses(op)
        undone = [r["id"] for r in records if states.get(r["id"]) not in ("sent", "linked")]
        if undone:
            problems.append(f"{op}: {len(undone)} not sent in flx's store, e.g. "
                            f"{[(i, states.get(i)) for i in undone[:3]]}")
    return problems


def token_kill(ws: QboWorkspace, emu: QboEmulatorProcess, reading: str, n: int) -> dict[str, Any]:
    """SIGKILL `flx run` after the emulator rotated the refresh token and before flx stored
    the new one (the answer is held until the process is dead), then run again."""
    emu.call("behaviour", **READINGS[reading])
    orders = generate(n, seed=len(reading), prefix=f"T{reading[0].upper()}").orders
    _import(ws, f"token-{reading}.json", orders=orders)
    emu.call("expire_access")  # the next API call meets a 401 and refreshes
    emu.call("hold_refresh")
    refreshes = emu.call("stats")["refreshes"]
    proc = ws.popen("run", "send-orders", "--connection", "qb")
    try:
        while proc.poll() is None and not emu.call("stats")["refresh_held"]:
            time.sleep(0.02)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.communicate()
    finally:
        emu.call("release")
    rotated = emu.call("stats")["refreshes"] > refreshes
    after = ws.flx("run", "send-orders", "--connection", "qb")
    out: dict[str, Any] = {"reading": reading, "killed_mid_refresh": killed and rotated,
                           "next_run_exit": after.returncode}
    if after.returncode == 0:
        out["outcome"] = "the connection still works"
    elif "flx connections authorize" in after.stdout + after.stderr:
        out["outcome"] = "flx connections authorize needed (documented)"
        _authorize(ws, emu)  # a new Playground token, as the operator would
        out["after_authorize_exit"] = ws.flx("run", "send-orders", "--connection",
                                             "qb").returncode
    else:
        out["outcome"] = "unexpected: " + (after.stdout + after.stderr)[-400:]
    states = ws.statuses("send-orders")
    out["sent"] = sum(states.get(o["id"]) == "sent" for o in orders)
    out["ok"] = bool(out["killed_mid_refresh"] and out["sent"] == n and (
        after.returncode == 0 if reading != "strict" else out.get("after_authorize_exit") == 0))
    return out


def soak_phase(folder: Path, seed: int, *, n_orders: int = 200, kills: int = 5) -> dict[str, Any]:
    started = time.perf_counter()
    rng = random.Random(seed)
    data = generate(n_orders, seed)
    # Requests paced by flx at will (the bench measures the limits); 3 in flight against flx's
    # 6, so 429s (with Retry-After: 1) are real; no requestid replay and no duplicate-number
    # check: a duplicate would show.
    behaviour = {"per_second": 10_000, "per_minute": 1_000_000, "in_flight": 3,
                 "retry_after": True, "requestid": "ignore", "doc_numbers": "off"}
    log: list[dict[str, Any]] = []
    with QboEmulatorProcess(behaviour, latency=0.01) as emu:
        ws = QboWorkspace(folder, emu.base_url, concurrency=6, per_second=10_000,
                          per_minute=1_000_000)
        _authorize(ws, emu)
        _import(ws, "stage1.json", orders=data.orders, shipments=data.shipments[0],
                vendor_bills=data.bills[0])
        emu.call("faults", seed=seed, rates=SOAK_FAULTS)
        plan = {"send-orders": 2, "send-shipments": 1, "send-vendor-bills": 1}
        for op, records in zip(OPERATIONS, (data.orders, data.shipments[0], data.bills[0]),
                               strict=True):
            _until_done(ws, emu, op, {r["id"] for r in records}, plan[op], rng, log)
        _import(ws, "stage2.json", shipments=data.shipments[1], vendor_bills=data.bills[1])
        _until_done(ws, emu, "send-shipments", {s["id"] for s in data.all_shipments()}, 1, rng,
                    log)
        _until_done(ws, emu, "send-vendor-bills", {b["id"] for b in data.all_bills()}, 0, rng,
                    log)
        faulted = emu.call("stats")
        emu.call("faults")  # off: the clean runs
        clean = {}
        for op in OPERATIONS:
            before = emu.call("stats")["writes"]
            done = ws.flx("run", op, "--connection", "qb")
            clean[op] = {"exit": done.returncode,
                         "writes": emu.call("stats")["writes"] - before}
        problems = _verify(emu, ws, data)
        problems += [f"clean {op} run: exit {c['exit']}, {c['writes']} writes"
                     for op, c in clean.items() if c["exit"] != 0 or c["writes"]]
        emu.call("behaviour", requestid="replay", doc_numbers="cross_type")
        tokens = [token_kill(ws, emu, reading, 3) for reading in READINGS]
        problems += [f"token kill ({t['reading']}): {t['outcome']}" for t in tokens
                     if not t["ok"]]
        stats = emu.call("stats")
    killed = sum(e["killed"] for e in log)
    if killed < kills:
        problems.append(f"only {killed} of {kills} planned kills landed mid-run")
    return {"ok": not problems, "problems": problems, "orders": n_orders,
            "shipments": len(data.all_shipments()), "vendor_bills": len(data.all_bills()),
            "purchase_orders": len(data.dropship_requests()), "kills": killed,
            "runs": len(log), "faults": faulted["faults"], "throttled_429": faulted["throttled"],
            "requests": stats["requests"], "documents": stats["objects"],
            "duplicate_doc_numbers": sum(len(v) for v in stats["duplicate_doc_numbers"].values()),
            "clean_runs": clean, "token_kills": tokens, "log": log,
            "wall_s": round(time.perf_counter() - started, 1)}


BENCH_LATENCY = 0.2  # seconds: what a QuickBooks Online write from a US host commonly takes


def _timed_run(ws: QboWorkspace, emu: QboEmulatorProcess, op: str) -> dict[str, Any]:
    emu.call("quiet_minute")
    before = emu.call("stats")
    mark = emu.call("arrivals")["next"]
    began = time.perf_counter()
    done = ws.flx("run", op, "--connection", "qb", "--json")
    wall = time.perf_counter() - began
    after = emu.call("stats")
    spread = emu.call("arrivals", since=mark)
    try:
        report = json.loads(done.stdout[done.stdout.index("{"):])
    except ValueError:
        report = {"rows": [], "counts": {}}
    rows = report.get("rows") or []
    failed = [r for r in rows if r.get("status") == "failed"]
    requests = after["requests"] - before["requests"]
    records = len(rows)
    # The rate while requests flowed (first to last arrival), not counting flx's start-up;
    # Intuit's limit is a sliding minute, so the busiest 60 s are shown too.
    span = spread["span_s"] or wall
    per_min = requests / span * 60 if span else 0.0
    return {"operation": op, "records": records, "wall_s": round(wall, 1),
            "records_per_s": round(records / wall, 2) if wall else 0.0,
            "requests_per_record": round(requests / records, 2) if records else 0.0,
            "requests_per_min": round(per_min), "pct_of_limit": round(100 * per_min / 500, 1),
            "throttled_429": after["throttled"] - before["throttled"], "failed": len(failed),
            "failed_by_429": sum("throttled" in str(r.get("message")) for r in failed),
            "duplicates": sum(len(v) for v in after["duplicate_doc_numbers"].values()),
            "exit": done.returncode, "peak_1s": spread["peak_1s"],
            "busiest_60s": spread["peak_60s"],
            "throttled_by": {k: v - before["throttled_by"].get(k, 0)
                             for k, v in after["throttled_by"].items()
                             if v > before["throttled_by"].get(k, 0)}}


def bench_phase(work: Path, log: Callable[[str], None], quick: bool) -> dict[str, Any]:
    """The three operations on N orders (quick: 60) against the emulator throttled at Intuit's
    limits. Each operation starts from a quiet minute (the emulator's window cleared), as
    scheduled runs minutes apart do: flx paces per process, so two runs back to back within a
    minute could meet Intuit's 429 (which flx waits out)."""
    n = 60 if quick else 150  # limit-bound (480 a minute) and about 2.5 minutes in all
    data = generate(n, seed=7)
    log(f"QuickBooks: {n} orders, {len(data.all_shipments())} shipments, "
        f"{len(data.all_bills())} vendor bills against the emulator at Intuit's limits "
        f"(500/min, 10/s, 10 in flight; {BENCH_LATENCY * 1000:.0f} ms a request) ...")
    started = time.perf_counter()
    with QboEmulatorProcess({}, latency=BENCH_LATENCY) as emu:
        ws = QboWorkspace(work, emu.base_url)  # flx's defaults: 4 in flight, 8/s, 480/min
        _authorize(ws, emu)
        _import(ws, "data.json", orders=data.orders, shipments=data.all_shipments(),
                vendor_bills=data.all_bills())
        runs = []
        for op in OPERATIONS:
            runs.append(_timed_run(ws, emu, op))
            log(f"  {op}: {runs[-1]['records']} records in {runs[-1]['wall_s']} s, "
                f"{runs[-1]['requests_per_min']} requests/min")
        problems = _verify(emu, ws, data)
    problems += [f"{r['operation']}: flx run exited {r['exit']}" for r in runs if r["exit"]]
    rows = [{"operation": r["operation"], "records": r["records"], "wall s": r["wall_s"],
             "records/s": r["records_per_s"], "requests/record": r["requests_per_record"],
             "requests/min": r["requests_per_min"], "% of 500/min": r["pct_of_limit"],
             "busiest 60 s": r["busiest_60s"], "busiest 1 s": r["peak_1s"],
             "429s": r["throttled_429"], "failed": r["failed"], "duplicates": r["duplicates"]}
            for r in runs]
    pct = min((r["pct_of_limit"] for r in runs), default=0.0)
    totals = {k: sum(r[k] for r in runs) for k in ("duplicates", "failed", "failed_by_429")}
    targets = [
        {"name": "QuickBooks duplicates", "target": "0", "measured": str(totals["duplicates"]),
         "met": totals["duplicates"] == 0},
        {"name": "QuickBooks records failed", "target": "0", "measured": str(totals["failed"]),
         "met": totals["failed"] == 0},
        {"name": "QuickBooks records failed by 429", "target": "0",
         "measured": str(totals["failed_by_429"]), "met": totals["failed_by_429"] == 0},
        {"name": "QuickBooks % of the 500/min limit (slowest operation)", "target": ">= 80 %",
         "measured": f"{pct} %", "met": pct >= 80},
    ]
    return {"ok": not problems, "problems": problems, "runs": runs,
            "title": f"QuickBooks Online: {n} orders against the emulator at Intuit's limits "
                     f"(500 requests/min, 10/s, 10 in flight; {BENCH_LATENCY * 1000:.0f} ms "
                     "latency); flx paces at 480/min, 8/s, 4 in flight",
            "rows": rows, "targets": targets, "wall_s": round(time.perf_counter() - started, 1)}


if __name__ == "__main__":  # python -m bench.quickbooks [folder]: the soak phase alone
    import sys
    import tempfile

    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp())
    if len(sys.argv) > 2 and sys.argv[2] == "bench":
        print(json.dumps(bench_phase(target, print, "--quick" in sys.argv), indent=1))
    else:
        print(json.dumps(soak_phase(target, 1), indent=1, default=str))
