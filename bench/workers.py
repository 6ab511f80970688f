"""Several flx processes on one PostgreSQL store against one emulated account: what the
tests (tests/core/test_workers.py), `make bench` and `make soak` share.

`pg_store(admin_url)` gives a fresh schema and a unique application_name (so this run's
connections can be counted in pg_stat_activity, and terminated, without touching anyone
else's); `workers_phase()` imports generated orders, starts `flx worker --once` (or `flx run`)
processes, optionally SIGKILLs one or terminates every store connection mid-run, and checks
the account: every order exactly once, the requests in flight never above the account's
limit, the connections used at peak."""

from __future__ import annotations

import contextlib
import json
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from bench import generate as gen
from bench.harness import CONNECTION, EmulatorProcess, Workspace

__all__ = ["pg_store", "terminate_connections", "workers_phase"]


def _libpq(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@contextlib.contextmanager
def pg_store(admin_url: str) -> Iterator[tuple[str, str]]:
    """(store URL in a brand-new schema, its application_name); the schema is dropped after."""
    import psycopg
    from sqlalchemy.engine import make_url

    tag = uuid.uuid4().hex[:12]
    schema, app = f"flx_bench_{tag}", f"flx_{tag}"
    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(admin_url).update_query_dict(
        {"options": f"-csearch_path={schema}", "application_name": app})
    try:
        yield url.render_as_string(hide_password=False), app
    finally:
        with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         "WHERE application_name = %s", (app,))
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def terminate_connections(admin_url: str, app: str) -> int:
    """End every server connection of `app` (what a PostgreSQL restart does to flx)."""
    import psycopg

    with psycopg.connect(_libpq(admin_url), autocommit=True) as conn:
        row = conn.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                           "WHERE application_name = %s", (app,)).fetchone()
    return int(row[0]) if row else 0


class _PeakConnections:
    """Samples pg_stat_activity for `app` in a thread; `.peak` is the most seen at once."""

    def __init__(self, admin_url: str, app: str, every: float = 0.05) -> None:
        self.admin_url, self.app, self.every = admin_url, app, every
        self.peak = 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> _PeakConnections:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join(10)

    def _loop(self) -> None:
        import psycopg

        with psycopg.connect(_libpq(self.admin_url), autocommit=True) as conn:
            while not self._done.wait(self.every):
                row = conn.execute("SELECT count(*) FROM pg_stat_activity "
                                   "WHERE application_name = %s", (self.app,)).fetchone()
                self.peak = max(self.peak, int(row[0]) if row else 0)


def _workspace(path: Path, emu: EmulatorProcess, store_url: str, concurrency: int,
               account_concurrency: int | None, batch_size: int | None) -> Workspace:
    settings = {"send-orders": {"batch_size": batch_size}} if batch_size else {}
    ws = Workspace(path, emu.base_url, emu.env, gen.bench_profile(), concurrency=concurrency,
                   store_url=store_url, operation_settings=settings)
    if account_concurrency is not None:
        text = ws.config_path.read_text()
        ws.config_path.write_text(text.replace(
            f"concurrency = {concurrency}\n",
            f"concurrency = {concurrency}\naccount_concurrency = {account_concurrency}\n", 1))
    return ws


def workers_phase(work: Path, admin_url: str, n_orders: int, *,
                  concurrencies: Sequence[int] = (5,), account_limit: int = 5,
                  state_limit: bool = True, latency: float = 0.05, lease: float = 30.0,
                  command: str = "worker", batch_size: int | None = None,
                  kill_after: int | Sequence[int] | None = None,
                  terminate_after: int | None = None,
                  rounds: int = 1, timeout: float = 900.0, seed: int = 3) -> dict[str, Any]:
    """One process per entry of `concurrencies` (its local `concurrency`), all on one store and
    one account limited to `account_limit` in flight. `kill_after` / `terminate_after`: after
    that many requests reached the account, SIGKILL the first process / end every store
    connection (several `kill_after` thresholds: SIGKILL processes 0, 1 ... in turn).
    `command="run"` runs `flx run send-orders` `rounds` times instead of workers."""
    result: dict[str, Any] = {"processes": len(concurrencies), "orders": n_orders,
                              "concurrencies": list(concurrencies),
                              "account_limit": account_limit, "latency": latency,
                              "command": command}
    with (EmulatorProcess(gen.catalog_seed(), latency=latency,
                          concurrency=account_limit) as emu,
          pg_store(admin_url) as (store_url, app)):
        spaces = [_workspace(work / f"w{i}", emu, store_url, c,
                             account_limit if state_limit else None, batch_size)
                  for i, c in enumerate(concurrencies)]
        data_file = gen.write_orders_ndjson(work / "orders.ndjson", n_orders, seed=seed,
                                            prefix="WK")
        imported = spaces[0].import_files([data_file])
        if not imported.ok:
            raise RuntimeError(f"the generated orders did not import: {imported.problems[:3]}")
        events: list[str] = []
        started = time.perf_counter()
        with _PeakConnections(admin_url, app) as peak:
            for round_no in range(rounds):
                argv_extra = (["worker", "--once", "--poll", "0.5", "--lease", str(lease)]
                              if command == "worker" else ["run", "send-orders",
                                                           "--connection", CONNECTION])
                logs = [ws.path / f"out-{round_no}.log" for ws in spaces]
                procs = []
                for ws, log in zip(spaces, logs, strict=True):
                    with log.open("w") as sink:
                        procs.append(subprocess.Popen(
                            ws.argv(*argv_extra), env=ws.child_env(), cwd=ws.path,
                            stdout=sink, stderr=subprocess.STDOUT, text=True))
                if round_no == 0:
                    first = _first_request(emu, procs)
                    _disturb(emu, procs, admin_url, app, kill_after, terminate_after, events)
                outputs = []
                for proc, log in zip(procs, logs, strict=True):
                    try:
                        proc.wait(timeout=timeout)
                    except subprocess.TimeoutExpired:
                        proc.kill()
                        proc.wait()
                        events.append("a process did not finish in time")
                    outputs.append((proc.returncode, log.read_text()[-3000:]))
                result.setdefault("exit_codes", []).append([code for code, _ in outputs])
                result.setdefault("outputs", []).append([out for _, out in outputs])
        ended = time.perf_counter()
        wall = ended - first  # from the first request: the processes' start-up is not flx's
        result.update(_check(emu, spaces[0], n_orders, seed), wall_s=round(wall, 2),
                      start_s=round(first - started, 2),
                      peak_connections=peak.peak, events=events)
    bound = n_orders * _requests_per_order(result) * latency / account_limit
    result["pct_of_bound"] = round(100 * bound / wall, 1) if wall else None
    return result


def _first_request(emu: EmulatorProcess, procs: list[subprocess.Popen[str]]) -> float:
    """perf_counter() when the account saw its first request (polled every 10 ms)."""
    while emu.stats()["requests"] == 0 and any(p.poll() is None for p in procs):
        time.sleep(0.01)
    return time.perf_counter()


def _requests_per_order(result: dict[str, Any]) -> float:
    return float(result["requests"]) / max(int(result["orders"]), 1)


def _disturb(emu: EmulatorProcess, procs: list[subprocess.Popen[str]], admin_url: str, app: str,
             kill_after: int | Sequence[int] | None, terminate_after: int | None,
             events: list[str]) -> None:
    """Wait (in this thread) until the account saw enough requests, then do the damage."""
    kills = [kill_after] if isinstance(kill_after, int) else list(kill_after or [])
    plans = sorted([(n, "kill") for n in kills]
                   + ([(terminate_after, "terminate")] if terminate_after is not None else []))
    victim = 0
    for threshold, what in plans:
        deadline = time.monotonic() + 300
        while emu.stats()["requests"] < threshold and time.monotonic() < deadline:
            if all(p.poll() is not None for p in procs):
                events.append(f"{what}: the processes ended before {threshold} requests")
                return
            time.sleep(0.02)
        if what == "kill":
            procs[victim].send_signal(signal.SIGKILL)
            events.append(f"SIGKILLed process {victim} after {emu.stats()['requests']} "
                          "requests")
            victim += 1
        else:
            killed = terminate_connections(admin_url, app)
            events.append(f"terminated {killed} store connections after "
                          f"{emu.stats()['requests']} requests")


def _check(emu: EmulatorProcess, ws: Workspace, n_orders: int, seed: int) -> dict[str, Any]:
    from flx.store.store import Store

    stats = emu.stats()
    eids = [r.get("externalId") for r in emu.records("salesOrder")]
    want = {json.loads(line)["id"] for line in
            (ws.path.parent / "orders.ndjson").read_text().splitlines()}
    config, _ = ws.load()
    with Store(config.store_url) as store:
        statuses: dict[str, int] = {}
        plugin_failures = 0
        for state in store.iter_sync(CONNECTION, "send-orders"):
            statuses[state.status] = statuses.get(state.status, 0) + 1
            if state.status == "failed" and (state.error or {}).get("class") == "plugin":
                plugin_failures += 1
        held = sum(int(r["count"]) for r in store.claims_held(CONNECTION, "send-orders"))
    return {"sales_orders": len(eids), "distinct": len(set(eids)),
            "missing": len(want - set(eids)), "duplicates": len(eids) - len(set(eids)),
            "duplicate_external_ids": stats["duplicate_external_ids"],
            "throttled": stats["throttled"], "peak_in_flight": stats["peak_in_flight"],
            "requests": stats["requests"], "statuses": statuses,
            "plugin_failures": plugin_failures, "claims_left": held, "seed": seed}


def postgres_phases(work: Path, admin_url: str, n_orders: int, *, concurrency: int,
                    latency: float, workers: Sequence[int],
                    log: Any = print) -> list[dict[str, Any]]:
    """`make bench`'s PostgreSQL phases: 1, 2, 4 ... `flx worker --once` processes (each with
    the same local concurrency) against one account limited to `concurrency`, orders only.
    Wall time counts from the first request the account saw to the last process's exit."""
    phases = []
    for count in workers:
        log(f"PostgreSQL: {n_orders:,} orders with {count} worker{'s' * (count != 1)} ...")
        result = workers_phase(work / f"pg-{count}", admin_url, n_orders,
                               concurrencies=(concurrency,) * count, account_limit=concurrency,
                               latency=latency)
        result.pop("outputs", None)
        failed = result["statuses"].get("failed", 0)
        result.update(workers=count, failed=failed,
                      orders_per_s=round(n_orders / result["wall_s"], 1),
                      connections_bound=count * (concurrency + 3),
                      ok=(failed == 0 and result["duplicates"] == 0 and result["missing"] == 0
                          and result["duplicate_external_ids"] == 0
                          and result["peak_connections"] <= count * (concurrency + 3)))
        phases.append(result)
    return phases


def postgres_table(phases: list[dict[str, Any]]) -> Any:
    from rich.table import Table

    table = Table("workers", "orders", "wall s", "orders/s", "% bound", "429s", "failed",
                  "duplicates", "peak conns", "conn bound", title="PostgreSQL store, one account")
    for p in phases:
        table.add_row(str(p["workers"]), str(p["orders"]), f"{p['wall_s']:.1f}",
                      f"{p['orders_per_s']:.1f}", f"{p['pct_of_bound']:.0f}",
                      str(p["throttled"]), str(p["failed"]),
                      str(p["duplicates"] + p["duplicate_external_ids"]),
                      str(p["peak_connections"]), str(p["connections_bound"]))
    return table


def soak_phase(work: Path, admin_url: str, n_orders: int, *, seed: int = 1,
               latency: float = 0.01) -> dict[str, Any]:
    """`make soak`'s PostgreSQL phase: three workers share the orders; two are SIGKILLed
    mid-run and every store connection of the run is terminated in between (what a
    PostgreSQL restart does to flx; the server itself is shared, so it is not restarted).
    The survivor takes over the dead workers' records after their 5 s lease."""
    result = workers_phase(work, admin_url, n_orders, concurrencies=(3, 3, 3),
                           account_limit=5, latency=latency, batch_size=50, lease=5.0,
                           kill_after=[max(1, n_orders // 2), n_orders * 3 // 2],
                           terminate_after=n_orders, seed=seed)
    problems = []
    if result["missing"] or result["sales_orders"] != n_orders:
        problems.append(f"salesOrder: {result['sales_orders']} for {n_orders} orders, "
                        f"{result['missing']} missing")
    if result["duplicates"] or result["duplicate_external_ids"]:
        problems.append(f"duplicates: {result['duplicates']}, duplicate external ids "
                        f"{result['duplicate_external_ids']}")
    if result["statuses"] != {"sent": n_orders}:
        problems.append(f"store: {result['statuses']} (all {n_orders} should be sent)")
    if result["plugin_failures"] or result["claims_left"]:
        problems.append(f"{result['plugin_failures']} failed as plugin bugs, "
                        f"{result['claims_left']} claims left")
    result.pop("outputs", None)
    result.update(phase="postgres", ok=not problems, problems=problems,
                  found={"salesOrder": result["sales_orders"]},
                  expected={"salesOrder": n_orders}, faults={})
    return result
