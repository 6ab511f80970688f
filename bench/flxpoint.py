"""The Flxpoint source under faults (`make soak`) and at its rate limit (`make bench`).

soak_phase: `flx pull` (a real subprocess) against a Flxpoint emulator in its own process,
with many pages; each pull is SIGKILLed after a random number of requests, while the emulator
injects 429s and 5xx and changes or adds records between the pages of a read. A clean pull and
then a second one follow; every Flxpoint record must be in flx's store once, with its latest
content, and the second pull must bring nothing new; send-orders to the NetSuite emulator
then makes one Sales Order per order that is not cancelled, none twice.

bench_phase: one pull of a large account at Flxpoint's documented 2 requests per second and
100 rows per page; records/s against that bound (2 x 100 rows/s), requests made, and the peak
request rate the emulator measured, which must never exceed the limit.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/flxpoint.py` from a checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.flxpoint_emulator import FlxpointProcess  # noqa: E402

SOURCE = "flxpoint"
FLXPOINT_RATE = 2.0  # requests per second per token, as Flxpoint documents
MAX_PAGE = 100  # rows per page flx asks for (Flxpoint documents no maximum; 100 is safe)
KIND_OF = {"orders": "order", "shipments": "shipment", "invoices": "vendor_bill"}


NETSUITE = """
[connections.ns]
plugin = "netsuite"
account_id = "1234567_SB1"
client_id = "${{NS_CLIENT_ID}}"
client_secret = "${{NS_CLIENT_SECRET}}"
token_id = "${{NS_TOKEN_ID}}"
token_secret = "${{NS_TOKEN_SECRET}}"
base_url = "{url}"

[connections.ns.operations.send-orders]
mapping = "demo"
"""


def write_config(folder: Path, base_url: str, *, page_size: int, rate: float,
                 netsuite_url: str | None = None) -> Path:
    config = folder / "flx.toml"
    netsuite = NETSUITE.format(url=netsuite_url) if netsuite_url else ""
    config.write_text(f"""{netsuite}[store]
url = "sqlite:///{folder / 'flx.db'}"

[sources.{SOURCE}]
plugin = "flxpoint"
api_token = "${{FLXPOINT_API_TOKEN}}"
base_url = "{base_url}"
profile = "demo"
page_size = {page_size}
rate_limit = {rate}
""")
    return config


def pull_argv(config: Path) -> list[str]:
    return [sys.executable, "-m", "flx.cli.main", "--config", str(config), "pull", SOURCE,
            "--json"]


def run_pull(config: Path, env: dict[str, str]) -> tuple[int, dict[str, Any], float]:
    """One `flx pull` to its end: exit code, its JSON report and the wall time."""
    started = time.perf_counter()
    done = subprocess.run(pull_argv(config), env=env, capture_output=True, text=True,
                          check=False, timeout=600)
    wall = time.perf_counter() - started
    try:
        report: dict[str, Any] = json.loads(done.stdout)["pulls"][0]
    except (ValueError, KeyError, IndexError):
        report = {"status": "no report", "output": (done.stdout + done.stderr)[-800:]}
    return done.returncode, report, wall


def new_and_updated(report: dict[str, Any]) -> int:
    return sum(row.get("inserted", 0) + row.get("updated", 0)
               for row in (report.get("kinds") or {}).values())


# --- the soak -------------------------------------------------------------------------------


def soak_phase(folder: Path, seed: int, *, orders: int = 300, kills: int = 5,
               page_size: int = 10, rate: float = 10.0,
               kill_within: int = 50) -> dict[str, Any]:
    """Kills, 429s, 5xx and pages changing mid-read; then nothing lost, nothing doubled,
    and the orders sent to the NetSuite emulator once each. The emulator's limit is `rate`
    (Flxpoint's 2/s scaled up, so the phase stays short) and flx is configured with the same
    limit: the emulator's own 429s must stay at 0."""
    from bench.harness import EmulatorProcess

    rng = random.Random(seed)
    problems: list[str] = []
    started = time.perf_counter()
    with FlxpointProcess(orders, rate=rate, seed=seed) as fp, EmulatorProcess() as ns:
        config = write_config(folder, fp.base_url, page_size=page_size, rate=rate,
                              netsuite_url=ns.base_url)
        env = {**os.environ, **ns.env, "FLXPOINT_API_TOKEN": fp.token}
        fp.chaos(True)
        runs = [_killed_pull(config, env, fp, rng, kill_within) for _ in range(kills)]
        fp.chaos(False)
        code, clean, _ = run_pull(config, env)
        if code != 0 or clean.get("status") != "ok":
            problems.append(f"the clean pull ended {code}: {clean}")
        code, second, _ = run_pull(config, env)
        if code != 0 or new_and_updated(second):
            problems.append(f"the second pull brought {second.get('kinds')} (exit {code})")
        state = fp.state(with_contents=True)
        sent = send_orders(config, env, ns, state["contents"], problems)
    found, expected = check_store(folder, state["contents"], problems)
    killed = sum(1 for r in runs if r["killed"])
    if killed < max(1, kills // 2):
        problems.append(f"only {killed} of {kills} pulls were killed mid-pull")
    if state["peak_rate"] > rate:
        problems.append(f"peak request rate {state['peak_rate']}/s over the limit {rate}/s")
    if state["rate_limited"]:
        problems.append(f"flx went over the rate limit: {state['rate_limited']} 429s of "
                        "the emulator's own")
    return {"ok": not problems, "problems": problems, "found": found, "expected": expected,
            "kills": killed, "runs": runs, "chaos": state["chaos"],
            "requests": state["requests"], "by_status": state["by_status"],
            "peak_rate": state["peak_rate"], "rate_limit": rate,
            "emulator_429s": state["rate_limited"],
            "sales_orders": sent,
            "clean_pull": clean.get("kinds"), "second_pull": second.get("kinds"),
            "wall_s": round(time.perf_counter() - started, 1)}


def _killed_pull(config: Path, env: dict[str, str], fp: FlxpointProcess,
                 rng: random.Random, within: int) -> dict[str, Any]:
    """A pull SIGKILLed once the emulator has seen a random number (up to `within`) of its
    requests; it may finish first: that is recorded, not hidden."""
    before = fp.state()["requests"]
    target = before + rng.randint(4, max(4, within))
    proc = subprocess.Popen(pull_argv(config), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    while proc.poll() is None and fp.state()["requests"] < target:
        time.sleep(0.02)
    if proc.poll() is None:
        proc.send_signal(signal.SIGKILL)
        proc.communicate()
        # No pause before the next pull: the limiter's times are in the source's plugin
        # state, so a pull started at once still counts the killed one's last requests.
        return {"killed": True, "after_requests": fp.state()["requests"] - before}
    output, _ = proc.communicate()
    entry: dict[str, Any] = {"killed": False, "exit": proc.returncode,
                             "requests": fp.state()["requests"] - before}
    if proc.returncode != 0:
        entry["output"] = output[-600:]
    return entry


def send_orders(config: Path, env: dict[str, str], ns: Any, contents: dict[str, Any],
                problems: list[str]) -> int:
    """`flx run send-orders` of everything pulled: one Sales Order per order that is not
    cancelled, no external id twice. Returns the Sales Orders the account holds."""
    done = subprocess.run([sys.executable, "-m", "flx.cli.main", "--config", str(config), "run",
                           "send-orders", "--connection", "ns"], env=env, capture_output=True,
                          text=True, check=False, timeout=600)
    if done.returncode != 0:
        problems.append(f"send-orders ended {done.returncode}: {done.stdout[-600:]}")
    want = {i for i, o in contents["orders"].items() if o["status"] not in ("Draft", "Canceled")}
    eids = [str(so.get("externalId")) for so in ns.records("salesOrder")]
    if set(eids) != want:
        problems.append(f"salesOrder: {len(want - set(eids))} missing, "
                        f"{len(set(eids) - want)} unexpected")
    duplicates = ns.stats()["duplicate_external_ids"]
    if duplicates or len(eids) != len(set(eids)):
        problems.append(f"duplicate external ids in NetSuite: {duplicates}")
    return len(eids)


def _moment(value: Any) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_store(folder: Path, contents: dict[str, Any],
                problems: list[str]) -> tuple[dict[str, int], dict[str, int]]:
    """Every Flxpoint record in flx's store once (ids are the store's key, so "once" means no
    stray and no missing id), each with the content Flxpoint holds now."""
    from flx.store.store import Store

    want = {
        "order": {i: o for i, o in contents["orders"].items() if o["status"] != "Draft"},
        "shipment": {i: s for i, s in contents["shipments"].items() if s["rmaId"] is None},
        "vendor_bill": {i: v for i, v in contents["invoices"].items() if v["rmaId"] is None},
    }
    found: dict[str, int] = {}
    with Store(f"sqlite:///{folder / 'flx.db'}") as store:
        for kind, rows in want.items():
            got = {r["id"]: r for r in store.iter_records(kind)}
            found[kind] = len(got)
            missing, strays = sorted(set(rows) - set(got)), sorted(set(got) - set(rows))
            if missing:
                problems.append(f"{kind}: {len(missing)} lost, e.g. {missing[:3]}")
            if strays:
                problems.append(f"{kind}: {len(strays)} not in Flxpoint, e.g. {strays[:3]}")
            stale = [i for i in sorted(set(rows) & set(got)) if not _latest(kind, rows[i],
                                                                              got[i])]
            if stale:
                problems.append(f"{kind}: {len(stale)} not up to date, e.g. {stale[:3]}")
    return found, {kind: len(rows) for kind, rows in want.items()}


def _latest(kind: str, flxpoint: dict[str, Any], record: dict[str, Any]) -> bool:
    if kind == "vendor_bill":  # invoices are read by creation time only (docs/flxpoint.md)
        return True
    stamp = _moment((record.get("flxpoint") or {}).get("updated_at"))
    if stamp != _moment(flxpoint["updatedAt"]):
        return False
    if kind == "order":
        cancelled = flxpoint["status"] == "Canceled"
        return ((record.get("shipping") or {}).get("method") == flxpoint["shippingText"]
                and (record.get("status") == "cancelled") == cancelled)
    return record.get("tracking_numbers") == [flxpoint["trackingNumber"]]


# --- the bench ------------------------------------------------------------------------------


def bench_phase(work: Path, log: Callable[[str], None], quick: bool) -> dict[str, Any]:
    """A first pull of a large account, then a second (nothing new), at 2 requests/s."""
    orders = 800 if quick else 2000
    bound = FLXPOINT_RATE * MAX_PAGE
    log(f"Flxpoint: pulling {orders:,} orders with their shipments and invoices at "
        f"{FLXPOINT_RATE:g} requests/s ...")
    rows: list[dict[str, Any]] = []
    problems: list[str] = []
    with FlxpointProcess(orders, rate=FLXPOINT_RATE) as fp:
        config = write_config(work, fp.base_url, page_size=MAX_PAGE, rate=FLXPOINT_RATE)
        env = {**os.environ, "FLXPOINT_API_TOKEN": fp.token}
        for name in ("first pull", "second pull"):
            before = fp.state()["requests"]
            code, report, wall = run_pull(config, env)
            if code != 0:
                problems.append(f"{name} ended {code}: {report}")
            kinds = report.get("kinds") or {}
            records = sum(row.get("inserted", 0) + row.get("updated", 0)
                          + row.get("unchanged", 0) for row in kinds.values())
            seconds = float(report.get("duration_seconds") or wall)
            requests = fp.state()["requests"] - before
            rows.append({"pull": name, "records": records,
                         "new": new_and_updated(report), "requests": requests,
                         "requests_per_s": round(requests / seconds, 2) if seconds else 0.0,
                         "seconds": round(seconds, 1), "wall_s": round(wall, 1),
                         "records_per_s": round(records / seconds, 1) if seconds else 0.0,
                         "bound_per_s": bound,
                         "pct_of_bound": round(100 * records / seconds / bound) if seconds
                         else 0})
        state = fp.state()
    first, second = rows
    if second["new"]:
        problems.append(f"the second pull brought {second['new']} records")
    peak = state["peak_rate"]
    targets = [
        {"name": "Flxpoint pull throughput (records/s)",
         # Not 100%: the source and channel look-ups and each stream's last, short page
         # carry no full page of records.
         "target": f">= 60% of {bound:g} (2 requests/s x {MAX_PAGE} rows)",
         "measured": f"{first['records_per_s']:g} ({first['pct_of_bound']}%)",
         "met": first["pct_of_bound"] >= 60},
        {"name": "Flxpoint peak request rate (emulator)",
         "target": f"<= {FLXPOINT_RATE:g}/s", "measured": f"{peak}/s",
         "met": peak <= FLXPOINT_RATE},
        {"name": "Flxpoint second pull brings nothing new", "target": "0",
         "measured": str(second["new"]), "met": second["new"] == 0},
    ]
    return {"ok": not problems, "problems": problems,
            "title": f"Flxpoint pull ({orders:,} orders, {FLXPOINT_RATE:g} requests/s, "
                     f"{MAX_PAGE} rows per page)",
            "rows": rows, "targets": targets, "peak_rate": peak,
            "emulator_429s": state["rate_limited"]}


if __name__ == "__main__":  # a quick look: python bench/flxpoint.py soak|bench
    import tempfile

    with tempfile.TemporaryDirectory(prefix="flx-flxpoint-") as tmp:
        which = sys.argv[1] if len(sys.argv) > 1 else "soak"
        result = soak_phase(Path(tmp), 1) if which == "soak" else \
            bench_phase(Path(tmp), print, quick="--quick" in sys.argv)
        print(json.dumps(result, indent=1, default=str))
        sys.exit(0 if result["ok"] else 1)
