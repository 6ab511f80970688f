"""`flx demo`: the whole flow against the bundled emulator, through the real `flx` commands.

It starts the emulator on a loopback port, writes a demo flx.toml whose secrets come from
environment variables, imports the bundled sample data and runs send-orders, send-shipments
and send-vendor-bills as separate `flx` processes — exactly what a user would type — then
shows what NetSuite (the emulator) now holds and the one error the sample data contains.

Before the import it pulls from every installed source that offers a demo emulator
(`Source.demo`, e.g. the flxpoint plugin's): the emulator serves while the demo runs and its
`[sources.NAME]` table goes into the demo's flx.toml. No source plugin is imported here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from flx import SourceDemo, build_plugins

CONNECTION = "demo"
STEPS = (
    ("Import the sample orders, shipments and vendor invoices", ["import", "{data}"]),
    ("Send orders (ORD-1004 fails on purpose: its SKU is not in NetSuite)",
     ["run", "send-orders", "--connection", CONNECTION]),
    ("Send shipments (SHP-1 and SHP-2 ship one order in two parts)",
     ["run", "send-shipments", "--connection", CONNECTION]),
    ("Send vendor bills (INV-5001 and INV-5002 bill one dropship PO in two stages)",
     ["run", "send-vendor-bills", "--connection", CONNECTION]),
    ("Run send-orders again: nothing is created twice",
     ["run", "send-orders", "--connection", CONNECTION]),
    ("The error queue: what failed and how to fix it", ["errors", "--connection", CONNECTION]),
)


def source_demos(stack: ExitStack) -> dict[str, SourceDemo]:
    """The demo emulators of the installed sources, started (and stopped with `stack`)."""
    demos: dict[str, SourceDemo] = {}
    for name, source in sorted(build_plugins().sources.items()):
        starter = source.demo()
        if starter is not None:
            demos[name] = stack.enter_context(starter)
    return demos


def pull_steps(sources: dict[str, SourceDemo]) -> list[tuple[str, list[str]]]:
    return [(f"Pull orders, shipments and vendor bills from {name} (its emulator)",
             ["pull", name]) for name in sources]


def source_tables(sources: dict[str, SourceDemo]) -> str:
    out = []
    for name, demo in sources.items():
        keys = "".join(f"{key} = {json.dumps(value)}\n" for key, value in demo.settings.items())
        out.append(f'\n[sources.{name}]\nplugin = "{name}"\n{keys}')
    return "".join(out)


def demo_config(base_url: str, env: dict[str, str],
                sources: dict[str, SourceDemo] | None = None) -> str:
    names = list(env)
    ops = "\n".join(f'[connections.{CONNECTION}.operations.{op}]\nmapping = "demo"\n'
                    for op in ("send-orders", "send-shipments", "send-vendor-bills"))
    return f"""# Written by `flx demo`: a connection to the bundled NetSuite emulator.
[store]
url = "sqlite:///flx-demo.db"

[connections.{CONNECTION}]
plugin = "netsuite"
account_id = "1234567_SB1"
client_id = "${{{names[0]}}}"
client_secret = "${{{names[1]}}}"
token_id = "${{{names[2]}}}"
token_secret = "${{{names[3]}}}"
concurrency = 5
base_url = "{base_url}"

{ops}{source_tables(sources or {})}"""


def run_demo(workdir: Path, console: Console) -> int:
    from flx_netsuite.emulator import Emulator, run_server

    emulator = Emulator()
    env = emulator.credential_env()
    workdir.mkdir(parents=True, exist_ok=True)
    # The emulator starts empty: an earlier demo's store in this folder would say its records
    # are all sent already, so the demo starts from a new store too.
    replaced = sorted(workdir.glob("flx-demo.db*"))
    for old in replaced:
        old.unlink()
    data = resources.files("flx_netsuite").joinpath("data/demo.json")
    data_path = workdir / "demo-data.json"
    data_path.write_text(data.read_text())
    started = time.monotonic()
    with run_server(emulator) as base_url, ExitStack() as stack:
        sources = source_demos(stack)
        config = workdir / "flx.toml"
        config.write_text(demo_config(base_url, env, sources))
        console.rule("[bold]flx demo")
        console.print(f"NetSuite emulator: {base_url} (account 1234567_SB1)")
        for demo in sources.values():
            console.print(demo.note)
        console.print(f"Workspace: {workdir}  (flx.toml, flx-demo.db, demo-data.json)"
                      + ("; an earlier demo's store there was replaced" if replaced else "")
                      + "\n")
        child_env = {**os.environ, **env, "COLUMNS": str(console.width)}
        for demo in sources.values():
            child_env.update(demo.env)
        child_env.pop("FLX_CONFIG", None)
        for number, (title, args) in enumerate([*pull_steps(sources), *STEPS], 1):
            argv = [a.format(data=data_path) for a in args]
            console.rule(f"[bold cyan]{number}. {title}", align="left")
            console.print(f"[dim]$ flx {' '.join(argv)}[/dim]")
            done = subprocess.run(
                [sys.executable, "-m", "flx.cli.main", "--config", str(config), *argv],
                env=child_env, cwd=workdir, capture_output=True, text=True, check=False)
            output = (done.stdout + done.stderr).rstrip()
            console.print(output, markup=False, highlight=False)
            console.print(f"[dim](exit code {done.returncode})[/dim]\n")
        console.rule("[bold]What NetSuite now holds")
        show_account(emulator, console)
        duplicates = emulator.stats().get("duplicate_external_ids", 0)
    stopped = "its emulators have stopped" if sources else "its emulator has stopped"
    console.print(f"\nDuplicate external ids in NetSuite: {duplicates}. "
                  f"Demo finished in {time.monotonic() - started:.1f}s.")
    console.print(f"The workspace stays in {workdir} for a look (`flx --config "
                  f"{workdir / 'flx.toml'} runs`); {stopped}.\n"
                  + path_hint() +
                  "Next: `flx init` writes a flx.toml for your own account (`flx init "
                  "--emulator` for the emulator); README.md has the tour.", soft_wrap=True)
    console.print(f"The dashboard on the demo's store: `flx --config {workdir / 'flx.toml'} "
                  "serve`, then open http://127.0.0.1:8750/", soft_wrap=True)
    return 0


def path_hint() -> str:
    """How to type `flx` in this shell, when it is not on PATH yet (`make demo` runs it from
    .venv/bin): every `flx ...` printed above and below must work as printed."""
    here = Path(sys.prefix, "bin", "flx")
    found = shutil.which("flx")
    if found and Path(found).resolve() == here.resolve():
        return ""
    activate = Path(sys.prefix, "bin", "activate")
    try:
        shown = os.path.relpath(activate)
    except ValueError:  # another drive (Windows)
        shown = str(activate)
    if shown.startswith(".."):
        shown = str(activate)
    return f"First `. {shown}`: it puts flx on your PATH (for this shell).\n"


def _ref(value: Any) -> str:
    if isinstance(value, dict):
        return str(value.get("refName") or value.get("id") or "")
    return "" if value is None else str(value)


def show_account(emulator: Any, console: Console) -> None:
    sales = Table("Sales Order", "External id", "Customer", "Status", "Lines", title="Sales Orders")
    for so in emulator.records("salesOrder"):
        lines = (so.get("item") or {}).get("items") or []
        desc = "; ".join(
            f"{_ref(ln.get('item'))} x{ln.get('quantity')}"
            + (" dropship→" + _ref(ln.get("createdPo")) if ln.get("createdPo") else "")
            + f" (fulfilled {ln.get('quantityFulfilled', 0)})" for ln in lines)
        sales.add_row(so.get("tranId", so.get("id")), so.get("externalId", ""),
                      _ref(so.get("entity")), _ref(so.get("status") or so.get("orderStatus")),
                      desc)
    console.print(sales)
    pos = Table("Purchase Order", "Vendor", "Created from", "Status", "Lines billed",
                title="Dropship Purchase Orders")
    for po in emulator.records("purchaseOrder"):
        lines = (po.get("item") or {}).get("items") or []
        pos.add_row(po.get("tranId", po.get("id")), _ref(po.get("entity")),
                    _ref(po.get("createdFrom")), _ref(po.get("status")),
                    "; ".join(f"line {ln.get('line')}: {ln.get('quantityBilled', 0)}/"
                              f"{ln.get('quantity')}" for ln in lines))
    console.print(pos)
    fulfillments = Table("Item Fulfillment", "External id", "From", "Lines", "Tracking",
                         title="Item Fulfillments")
    for itf in emulator.records("itemFulfillment"):
        lines = (itf.get("item") or {}).get("items") or []
        packages = (itf.get("package") or {}).get("items") or []
        fulfillments.add_row(
            itf.get("tranId", itf.get("id")), itf.get("externalId", ""),
            _ref(itf.get("createdFrom")),
            "; ".join(f"line {ln.get('orderLine')} x{ln.get('quantity')}" for ln in lines
                      if ln.get("itemReceive", True)),
            ", ".join(f"{p.get('packageTrackingNumber')} ({p.get('packageWeight')} lb)"
                      for p in packages))
    console.print(fulfillments)
    bills = Table("Vendor Bill", "Invoice", "From", "Lines", "Total", title="Vendor Bills")
    for bill in emulator.records("vendorBill"):
        lines = (bill.get("item") or {}).get("items") or []
        bills.add_row(bill.get("id", ""), bill.get("tranId", ""), _ref(bill.get("createdFrom")),
                      "; ".join((f"PO line {ln.get('orderLine')}" if ln.get("orderLine")
                                 else _ref(ln.get("item")))
                                + f" x{ln.get('quantity')} @ {ln.get('rate')}" for ln in lines),
                      str(bill.get("total", "")))
    console.print(bills)


def add_demo_command(app: typer.Typer) -> None:
    @app.command("demo")
    def demo(
        directory: Annotated[Path | None, typer.Option(
            "--dir", help="Workspace for flx.toml and the demo database (default: a new "
                          "temporary folder).")] = None,
    ) -> None:
        """Run the whole flow against the bundled NetSuite emulator (no account needed).

        Examples:

        \b
          flx demo
          flx demo --dir ./demo      # keep the workspace where you can find it"""
        workdir = directory or Path(tempfile.mkdtemp(prefix="flx-demo-"))
        raise typer.Exit(run_demo(workdir.resolve(), Console()))
