"""`make soak`: every record reaches NetSuite exactly once, whatever goes wrong on the way.

    python bench/soak.py [--orders 1000] [--kills 6] [--seed 1] [--latency 10]
                         [--postgres URL] [--no-postgres]

Phase 1, faults: the emulator injects 5xx answers and connection drops before and after the
write is applied (seeded), and flx is configured for more concurrency than the account
allows, so it meets real 429s. `flx run` of each operation is repeated (with `flx retry
--all` between rounds, as an operator would) until nothing is left.
Phase 2, kills: `flx run` runs as a separate process and is SIGKILLed at random points (after
a random number of requests reached the emulator), then started again until it finishes.
Phase 3, poison: a faulty run (as phase 1) with orders among the good ones whose SKU,
e-mail, name or number holds a control character NetSuite refuses to look up: each must
fail alone (class data, its field named) and never reach NetSuite; the good ones go once.

Phase 3, postgres (bench/workers.py): three `flx worker` processes on a PostgreSQL store share
the orders; two are SIGKILLed and every store connection of the run is terminated mid-run
(pg_terminate_backend: what a server restart does to flx, without restarting a shared
server); the survivor takes over the dead workers' records when their lease lapses.

The first two phases then check the emulator's account against the data: one Sales Order per order,
one Item Fulfillment per shipment, one Vendor Bill per invoice, one Purchase Order per
drop-ship request, one customer per new customer, no duplicate external id, and every record
marked sent or linked in flx's store. tests/bench/test_reliability.py runs a small version.

A SIGKILLed run leaves its run lock and its batch's claims behind; the restarted `flx run`
sees that their process is gone and takes them over by itself (core/store/owners.py).
`left_behind` counts what each kill left, to show the restart really had to.
Exit code 0 when every phase passes, 1 otherwise.
"""

from __future__ import annotations

import argparse
import json
import random
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/soak.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import generate as gen  # noqa: E402
from bench.harness import CONNECTION, OPERATIONS, EmulatorProcess, Workspace  # noqa: E402

KIND_OF = {"send-orders": "orders", "send-shipments": "shipments",
           "send-vendor-bills": "vendor_bills"}
SYNC_KIND = {"send-orders": "order", "send-shipments": "shipment",
             "send-vendor-bills": "vendor_bill"}
DEFAULT_FAULTS = {"error_5xx": 0.02, "drop_before": 0.01, "drop_after": 0.02}


def expected(data: gen.Dataset) -> dict[str, Any]:
    """What the account must hold afterwards, by external id or count."""
    return {"salesOrder": {o["id"] for o in data.orders},
            "itemFulfillment": {s["id"] for s in data.shipments},
            "vendorBill": {b["id"] for b in data.vendor_bills},
            "purchaseOrder": sum(1 for o in data.orders for fr in o["fulfillment_requests"]
                                 if fr["type"] == "external"),
            "new_customers": sum(1 for n in data.customers if n >= gen.SEEDED_CUSTOMERS)}


def verify(emu: EmulatorProcess, data: gen.Dataset, ws: Workspace) -> dict[str, Any]:
    """Compare the account and the store with the data; `ok` when all is exactly once."""
    want = expected(data)
    problems: list[str] = []
    found: dict[str, Any] = {}
    for record_type in ("salesOrder", "itemFulfillment", "vendorBill"):
        eids = [r.get("externalId") for r in emu.records(record_type)]
        found[record_type] = len(eids)
        missing = want[record_type] - set(eids)
        extra = len(eids) - len(set(eids))
        if missing:
            problems.append(f"{record_type}: {len(missing)} missing, e.g. {sorted(missing)[:3]}")
        if extra:
            problems.append(f"{record_type}: {extra} external ids carried twice")
        strays = set(eids) - want[record_type]
        if strays:
            problems.append(f"{record_type}: {len(strays)} unexpected, e.g. {sorted(strays)[:3]}")
    found["purchaseOrder"] = len(emu.records("purchaseOrder"))
    if found["purchaseOrder"] != want["purchaseOrder"]:
        problems.append(f"purchaseOrder: {found['purchaseOrder']} for "
                        f"{want['purchaseOrder']} drop-ship requests")
    seeded = len(gen.catalog_seed()["records"]["customer"])
    created = len(emu.records("customer")) - seeded
    found["new_customers"] = created
    if created != want["new_customers"]:
        problems.append(f"customer: {created} created for {want['new_customers']} new "
                        "customers")
    stats = emu.stats()
    if stats["duplicate_external_ids"]:
        problems.append(f"duplicate external ids: {stats['duplicate_external_ids']}")
    from flx.store.store import Store

    config, _ = ws.load()
    with Store(config.store_url) as store:
        for op in OPERATIONS:
            states = {s.record_id: s.status for s in store.iter_sync(CONNECTION, op)}
            ids = {r["id"] for r in getattr(data, KIND_OF[op])}
            undone = sorted(i for i in ids if states.get(i) not in ("sent", "linked"))
            if undone:
                problems.append(f"{op}: {len(undone)} not done in the store, e.g. "
                                f"{[(i, states.get(i)) for i in undone[:3]]}")
    return {"ok": not problems, "problems": problems, "found": found,
            "expected": {k: (len(v) if isinstance(v, set) else v) for k, v in want.items()},
            "duplicate_external_ids": stats["duplicate_external_ids"],
            "faults": stats["faults"], "throttled": stats["throttled"],
            "requests": stats["requests"]}


def _setup(work: Path, n_orders: int, seed: int, emu: EmulatorProcess,
           concurrency: int) -> tuple[gen.Dataset, Workspace]:
    data = gen.generate(n_orders, seed=seed, prefix="SK")
    ws = Workspace(work, emu.base_url, emu.env, gen.bench_profile(), concurrency=concurrency)
    return data, ws


def fault_phase(work: Path, n_orders: int, *, seed: int = 1, latency: float = 0.01,
                faults: dict[str, float] | None = None, account_concurrency: int = 5,
                flx_concurrency: int = 8, max_rounds: int = 8) -> dict[str, Any]:
    """Injected 5xx, drops and 429s; rounds of run + retry until nothing is left."""
    from flx.ops.status import retry

    plan = {"seed": seed, **(faults or DEFAULT_FAULTS)}
    with EmulatorProcess(gen.catalog_seed(), latency=latency, concurrency=account_concurrency,
                         faults=plan) as emu:
        data, ws = _setup(work, n_orders, seed, emu, flx_concurrency)
        data_file = gen.write_ndjson(work / "data.ndjson", data)
        report = ws.import_files([data_file])
        if not report.ok:
            raise RuntimeError(f"the generated data did not import: {report.problems[:3]}")
        rounds: dict[str, list[dict[str, int]]] = {}
        started = time.perf_counter()
        for op in OPERATIONS:
            rounds[op] = []
            for _ in range(max_rounds):
                counts = dict(ws.run(op).counts)
                rounds[op].append(counts)
                if not counts.get("failed") and not counts.get("waiting"):
                    break
                config, _ = ws.load()
                from flx.store.store import Store

                with Store(config.store_url) as store:
                    retry(config, store, None, connection=CONNECTION)
        result = verify(emu, data, ws)
    result.update(phase="faults", orders=n_orders, rounds=rounds, fault_plan=plan,
                  flx_concurrency=flx_concurrency, account_concurrency=account_concurrency,
                  wall_s=round(time.perf_counter() - started, 1))
    return result


# Values NetSuite refuses to look up, one per kind of batch look-up: (the field an error
# must name, how to poison an order). `flx import` refuses control characters, so these
# orders are written to the store directly, as an older flx or a hand-filled store holds them.
POISONS: tuple[tuple[str, Any], ...] = (
    ("sku", lambda o, i: [item.update(sku=item["sku"] + "\x01")
                          for fr in o["fulfillment_requests"] for item in fr["items"]]),
    ("customer.email", lambda o, i: o["customer"].update(email=f"poison\x02{i}@example.invalid")),
    ("customer.first_name/last_name",
     lambda o, i: o["customer"].update(first_name="Poi\x00son", company=None)),
    ("number", lambda o, i: o.update(number=f"PZ\x1b{i:04d}")),
)


def poisoned_orders(data: gen.Dataset, count: int) -> dict[str, tuple[dict[str, Any], str]]:
    """Copies of generated orders, each with one poisoned value: id -> (order, field)."""
    out: dict[str, tuple[dict[str, Any], str]] = {}
    for i in range(count):
        order = json.loads(json.dumps(data.orders[i % len(data.orders)]))
        order_id = f"PZ-{i:04d}"
        order.update(id=order_id, number=f"PZ{i:04d}")
        order["customer"] = {**order["customer"], "netsuite_id": None,
                             "email": f"poison{i}@example.invalid"}
        for j, fr in enumerate(order["fulfillment_requests"]):
            fr["id"] = f"{order_id}-{j}"
        field, poison = POISONS[i % len(POISONS)]
        poison(order, i)
        out[order_id] = (order, field)
    return out


def poison_phase(work: Path, n_orders: int, *, poisoned: int = 8, seed: int = 3,
                 latency: float = 0.01, faults: dict[str, float] | None = None,
                 max_rounds: int = 8) -> dict[str, Any]:
    """A faulty run (5xx, drops, 429s) with poisoned orders among the good ones: the good
    ones all reach NetSuite exactly once, each poisoned one fails alone (class data) with
    its field named, and none of them reaches NetSuite."""
    from flx.ops.status import retry
    from flx.store.store import Store

    plan = {"seed": seed, **(faults or DEFAULT_FAULTS)}
    bad = {}
    with EmulatorProcess(gen.catalog_seed(), latency=latency, concurrency=5,
                         faults=plan) as emu:
        data, ws = _setup(work, n_orders, seed, emu, 8)
        report = ws.import_files([gen.write_ndjson(work / "data.ndjson", data)])
        if not report.ok:
            raise RuntimeError(f"the generated data did not import: {report.problems[:3]}")
        bad = poisoned_orders(data, poisoned)
        config, _ = ws.load()
        with Store(config.store_url) as store:
            store.upsert_records("order", [order for order, _ in bad.values()])
        started = time.perf_counter()
        rounds: dict[str, list[dict[str, int]]] = {}
        for op in OPERATIONS:
            rounds[op] = []
            for _ in range(max_rounds):
                counts = dict(ws.run(op).counts)
                rounds[op].append(counts)
                with Store(config.store_url) as store:
                    again = [s.record_id for s in store.iter_sync(CONNECTION, op, ["failed"])
                             if s.record_id not in bad]
                    if again:
                        retry(config, store, again, connection=CONNECTION)
                if not again and not counts.get("waiting"):
                    break
        result = verify(emu, data, ws)
        problems = result["problems"]
        with Store(config.store_url) as store:
            states = store.get_syncs(CONNECTION, "send-orders", list(bad))
        for order_id, (_, field) in bad.items():
            state = states.get(order_id)
            error = (state.error if state else None) or {}
            if state is None or state.status != "failed" or error.get("class") != "data" \
                    or f"{field} " not in str(error.get("message")):
                problems.append(f"{order_id} (poisoned {field}): "
                                f"{state.status if state else 'never tried'}, {error}")
        reached = {str(so.get("externalId")) for so in emu.records("salesOrder")} & set(bad)
        if reached:
            problems.append(f"poisoned orders reached NetSuite: {sorted(reached)}")
    result.update(ok=not problems, phase="poison", orders=n_orders, poisoned=len(bad),
                  rounds=rounds, fault_plan=plan, wall_s=round(time.perf_counter() - started, 1))
    return result


def left_behind(db: Path, pid: int) -> int:
    """How many locks and record claims a SIGKILLed `flx run` (pid) left in the store. Owners
    are "host:pid:random" (flx.store.owners.default_owner); nothing is changed here."""
    pattern = f"%:{pid}:%"
    with sqlite3.connect(db) as conn:
        locks = conn.execute("SELECT COUNT(*) FROM locks WHERE owner LIKE ?",
                             (pattern,)).fetchone()[0]
        claims = conn.execute("SELECT COUNT(*) FROM sync_state WHERE claimed_by LIKE ?",
                              (pattern,)).fetchone()[0]
    return int(locks) + int(claims)


def _cost(op: str, data: gen.Dataset) -> int:
    """Roughly how many requests an operation sends (to aim the kills inside the run)."""
    return {"send-orders": 2 * len(data.orders), "send-shipments": 2 * len(data.shipments),
            "send-vendor-bills": 2 * len(data.vendor_bills)}[op]


def kill_phase(work: Path, n_orders: int, *, kills: int = 6, seed: int = 2,
               latency: float = 0.01, max_rounds: int = 20) -> dict[str, Any]:
    """`flx run` as a subprocess, SIGKILLed at random points and restarted until done."""
    rng = random.Random(seed)
    plan = [OPERATIONS[i % len(OPERATIONS)] for i in range(kills)]
    with EmulatorProcess(gen.catalog_seed(), latency=latency, concurrency=5) as emu:
        data, ws = _setup(work, n_orders, seed, emu, 5)
        data_file = gen.write_ndjson(work / "data.ndjson", data)
        env = ws.child_env()
        done = subprocess.run(ws.argv("import", str(data_file)), env=env, cwd=work,
                              capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"flx import failed: {done.stdout}{done.stderr}")
        log: list[dict[str, Any]] = []
        started = time.perf_counter()
        for op in OPERATIONS:
            for _ in range(max_rounds):
                entry = _one_run(ws, emu, op, env, work, rng,
                                 kill=plan.count(op) > sum(1 for e in log
                                                           if e["op"] == op and e["killed"]),
                                 budget=_cost(op, data))
                log.append(entry)
                if entry["exit"] == 0:
                    break
                if entry["exit"] == 3:  # some records failed: queue them, as an operator would
                    subprocess.run(ws.argv("retry", "--all", "--connection", CONNECTION),
                                   env=env, cwd=work, capture_output=True, check=False)
        result = verify(emu, data, ws)
    result.update(phase="kills", orders=n_orders, kills=sum(e["killed"] for e in log),
                  runs=log, wall_s=round(time.perf_counter() - started, 1))
    return result


def _one_run(ws: Workspace, emu: EmulatorProcess, op: str, env: dict[str, str], work: Path,
             rng: random.Random, *, kill: bool, budget: int) -> dict[str, Any]:
    before = emu.stats()["requests"]
    proc = subprocess.Popen(ws.argv("run", op, "--connection", CONNECTION), env=env, cwd=work,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    entry: dict[str, Any] = {"op": op, "killed": False, "pid": proc.pid}
    if kill:
        # The emulator holds the requests after the target, so the kill lands mid-run
        # however loaded the machine is: the run cannot finish while one is held. The target
        # stays within the first quarter of the operation's (estimated) requests.
        target = before + rng.randint(1, max(1, budget // 4))
        emu.hold(after=target)
        try:
            while proc.poll() is None and not emu.stats().get("held"):
                time.sleep(0.02)
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.communicate()
                entry.update(killed=True, exit=-9,
                             after_requests=emu.stats()["requests"] - before,
                             left_behind=left_behind(work / "flx.db", proc.pid))
                return entry
        finally:
            emu.release()
    output, _ = proc.communicate(timeout=600)
    entry.update(exit=proc.returncode, requests=emu.stats()["requests"] - before)
    if proc.returncode not in (0, 3):
        entry["output"] = output[-800:]
    return entry


def _postgres_phase(folder: Path, args: argparse.Namespace) -> dict[str, Any]:
    from bench.workers import soak_phase

    print(f"soak: postgres phase (3 workers, 2 SIGKILLed, store connections terminated), "
          f"{args.orders} orders ...", flush=True)
    folder.mkdir()
    r = soak_phase(folder, args.postgres, args.orders, seed=args.seed,
                   latency=args.latency / 1000)
    print(json.dumps({k: r[k] for k in ("ok", "problems", "found", "events", "throttled",
                                         "peak_connections", "wall_s")}, indent=1), flush=True)
    return r


# Phases of other connectors and sources: "module:function(folder, seed) -> dict" with "ok",
# "problems" and whatever counts the phase proves (printed as JSON).
EXTRA_PHASES: tuple[tuple[str, str], ...] = (
    ("quickbooks", "bench.quickbooks:soak_phase"),
    ("flxpoint", "bench.flxpoint:soak_phase"),
)


def main() -> int:
    parser = argparse.ArgumentParser(description="flx reliability soak")
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--kills", type=int, default=6)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--latency", type=float, default=10.0, help="ms per request")
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "soak.json")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test",
                        help="server of the PostgreSQL phase (a schema of its own, dropped)")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args()
    results = {}
    with tempfile.TemporaryDirectory(prefix="flx-soak-") as tmp:
        for name, phase in (("faults", fault_phase), ("kills", kill_phase),
                            ("poison", poison_phase)):
            print(f"soak: {name} phase, {args.orders} orders ...", flush=True)
            folder = Path(tmp) / name
            folder.mkdir()
            extra = {"kills": args.kills} if name == "kills" else {}
            results[name] = phase(folder, args.orders, seed=args.seed,
                                  latency=args.latency / 1000, **extra)
            r = results[name]
            print(json.dumps({k: r[k] for k in ("ok", "problems", "found", "expected",
                                                 "duplicate_external_ids", "faults",
                                                 "throttled", "wall_s")}, indent=1), flush=True)
        for name, target in EXTRA_PHASES:
            import importlib

            print(f"soak: {name} phase ...", flush=True)
            folder = Path(tmp) / name
            folder.mkdir()
            module, _, function = target.partition(":")
            results[name] = getattr(importlib.import_module(module), function)(folder, args.seed)
            print(json.dumps(results[name], indent=1, default=str), flush=True)
        if not args.no_postgres:
            results["postgres"] = _postgres_phase(Path(tmp) / "postgres", args)
    args.out.parent.mkdir(exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    ok = all(r["ok"] for r in results.values())
    print(f"soak {'PASSED' if ok else 'FAILED'}: results in {args.out}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
