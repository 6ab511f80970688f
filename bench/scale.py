"""Scale: `flx import` and eligibility selection (`store.candidates`, what every run walks)
at 10k and 100k orders: time and peak memory.

Each measurement runs in a fresh process, so that its peak RSS is its own, next to an "idle"
process that loads the same modules and opens an empty store: the difference is what the
records cost. Flat memory means the records are streamed (NDJSON is read line by line,
committed every 5,000 records, and candidates are read in keyset pages), not loaded all at
once.

The store is a fresh SQLite file per size, or with `--store postgresql://...` a fresh schema
per size in that database (dropped afterwards).

    python bench/scale.py [--sizes 10000 100000] [--workdir DIR] [--store URL]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/scale.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.generate import write_orders_ndjson  # noqa: E402
from bench.harness import SPAWN, peak_rss_mb  # noqa: E402

CONNECTION, OPERATION = "bench", "send-orders"


def _idle(store_url: str) -> dict[str, Any]:
    import flx.sources.files  # noqa: F401  (the modules an import loads)
    from flx.store.store import Store

    with Store(store_url) as store:
        store.count_records("order")
    return {"peak_rss_mb": peak_rss_mb()}


def _import(path: str, store_url: str) -> dict[str, Any]:
    from flx.sources.files import import_files
    from flx.store.store import Store

    def workers_cpu() -> float:  # the processes that examine a big file's lines
        usage = resource.getrusage(resource.RUSAGE_CHILDREN)
        return usage.ru_utime + usage.ru_stime

    with Store(store_url) as store:
        wall, cpu, workers = time.perf_counter(), time.process_time(), workers_cpu()
        report = import_files([Path(path)], store)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        workers = workers_cpu() - workers
    counts = report.accepted["order"]
    return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2),
            "workers_cpu_s": round(workers, 2), "imported": counts.total,
            "problems": len(report.problems), "peak_rss_mb": peak_rss_mb()}


def _candidates(store_url: str) -> dict[str, Any]:
    from flx.store.store import Store

    with Store(store_url) as store:
        wall = time.perf_counter()
        seen = 0
        for _record, _state in store.candidates(CONNECTION, OPERATION, "order"):
            seen += 1
        wall = time.perf_counter() - wall
    return {"wall_s": round(wall, 2), "selected": seen, "peak_rss_mb": peak_rss_mb()}


def _in_child(fn: Any, *args: Any) -> dict[str, Any]:
    with ProcessPoolExecutor(max_workers=1, mp_context=SPAWN) as pool:
        result: dict[str, Any] = pool.submit(fn, *args).result()
        return result


@contextmanager
def _fresh_store(folder: Path, base: str | None, name: str) -> Iterator[str]:
    """An empty store: a new SQLite file in `folder`, or a new schema in the PostgreSQL
    database `base` (its search_path set by the URL), removed afterwards."""
    if not base or base.startswith("sqlite"):
        path = folder / f"{name}.db"
        path.unlink(missing_ok=True)
        try:
            yield f"sqlite:///{path}"
        finally:
            path.unlink(missing_ok=True)
        return
    import psycopg
    from sqlalchemy.engine import make_url

    admin = make_url(base).set(drivername="postgresql").render_as_string(hide_password=False)
    schema = f"flx_scale_{name}_{os.getpid()}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = make_url(base).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def measure(sizes: list[int], workdir: Path, log: Any = print,
            store: str | None = None) -> dict[str, Any]:
    """Per size: file size, import (time, CPU, records/s, peak RSS), candidates (time, peak
    RSS); on SQLite, or on the PostgreSQL database `store`."""
    out: dict[str, Any] = {"sizes": {}, "store": "postgresql" if store and not
                           store.startswith("sqlite") else "sqlite"}
    for n in sizes:
        folder = workdir / f"scale-{n}"
        folder.mkdir(parents=True, exist_ok=True)
        data = write_orders_ndjson(folder / "orders.ndjson", n, prefix="SC")
        if "idle_rss_mb" not in out:
            with _fresh_store(folder, store, "idle") as idle_url:
                out["idle_rss_mb"] = _in_child(_idle, idle_url)["peak_rss_mb"]
        with _fresh_store(folder, store, str(n)) as store_url:
            log(f"scale: importing {n:,} orders into {out['store']} ...")
            imported = _in_child(_import, str(data), store_url)
            imported["records_per_s"] = round(n / imported["wall_s"]) if imported[
                "wall_s"] else None
            log(f"scale: {imported['records_per_s']:,} records/s; selecting candidates "
                f"among {n:,} orders ...")
            selected = _in_child(_candidates, store_url)
        out["sizes"][str(n)] = {
            "file_mb": round(data.stat().st_size / 2**20, 1), "import": imported,
            "candidates": selected,
            "import_us_per_record": round(imported["wall_s"] / n * 1e6, 1),
            "candidates_us_per_record": round(selected["wall_s"] / n * 1e6, 1)}
        data.unlink()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description="flx import and selection at scale")
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--store", default=None, metavar="URL",
                        help="a PostgreSQL database to measure on (a fresh schema per size); "
                             "default: SQLite files")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="flx-scale-") as tmp:
        print(json.dumps(measure(args.sizes, args.workdir or Path(tmp), store=args.store),
                         indent=1))


if __name__ == "__main__":
    main()
