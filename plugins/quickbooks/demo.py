"""`flx quickbooks demo`: the whole flow against the bundled QuickBooks emulator, through the
real `flx` commands (separate processes, as a user would type them), then what QuickBooks (the
emulator) holds."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any

import typer

from .emulator import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REALM, Emulator, run_server

STEPS = (
    ("Authorize: a refresh token, as Intuit's OAuth Playground gives one",
     ["connections", "authorize", "qb", "--refresh-token", "{token}"]),
    ("Import the sample orders, shipments and vendor invoices", ["import", "{data}"]),
    ("Send orders (ORD-1003 fails on purpose: its SKU is not in QuickBooks)",
     ["run", "send-orders", "--connection", "qb"]),
    ("Send shipments (two parts of one order, on its Sales Receipt)",
     ["run", "send-shipments", "--connection", "qb"]),
    ("Send vendor bills (one drop-ship PO billed in two stages)",
     ["run", "send-vendor-bills", "--connection", "qb"]),
    ("Run send-orders again: nothing is created twice",
     ["run", "send-orders", "--connection", "qb"]),
)


def demo_config(base: str) -> str:
    ops = "\n".join(f'[connections.qb.operations.{op}]\nmapping = "demo"\n'
                    for op in ("send-orders", "send-shipments", "send-vendor-bills"))
    return f"""# Written by `flx quickbooks demo`: a connection to the bundled QuickBooks emulator.
[store]
url = "sqlite:///flx-demo.db"

[connections.qb]
plugin = "quickbooks"
client_id = "${{QBO_CLIENT_ID}}"
client_secret = "${{QBO_CLIENT_SECRET}}"
realm_id = "{DEMO_REALM}"
api_url = "{base}"
token_url = "{base}/oauth2/v1/tokens/bearer"

{ops}"""


def run_demo(workdir: Path, echo: Callable[[str], Any] = typer.echo) -> int:
    emulator = Emulator()
    workdir.mkdir(parents=True, exist_ok=True)
    # The emulator starts empty: an earlier demo's store here would say all is sent already.
    replaced = sorted(workdir.glob("flx-demo.db*"))
    for old in replaced:
        old.unlink()
    data = workdir / "demo-data.json"
    data.write_text(resources.files("flx_quickbooks").joinpath("data/demo.json").read_text())
    env = {**os.environ, "QBO_CLIENT_ID": DEMO_CLIENT_ID, "QBO_CLIENT_SECRET": DEMO_CLIENT_SECRET}
    env.pop("FLX_CONFIG", None)
    failed = 0
    with run_server(emulator) as base:
        (workdir / "flx.toml").write_text(demo_config(base))
        echo(f"QuickBooks emulator: {base} (company {DEMO_REALM})\nWorkspace: {workdir}"
             + ("; an earlier demo's store there was replaced" if replaced else "") + "\n")
        token = emulator.oauth.issue(DEMO_CLIENT_ID, DEMO_REALM)
        for number, (title, args) in enumerate(STEPS, 1):
            echo(f"--- {number}. {title}")
            argv = [a.format(token=token, data=data) for a in args]
            shown = ["TOKEN" if a == token else a for a in argv]
            echo("$ flx " + " ".join(shown))
            done = subprocess.run([sys.executable, "-m", "flx.cli.main", *argv], cwd=workdir,
                                  env=env, capture_output=True, text=True)
            echo((done.stdout + done.stderr).replace(token, "********").rstrip() + "\n")
            failed += done.returncode not in (0, 3)  # 3: some records failed (ORD-1003)
        books = emulator.company(DEMO_REALM)
        echo("--- What QuickBooks holds now")
        for entity in ("Customer", "SalesReceipt", "PurchaseOrder", "Bill"):
            rows = books.objects[entity].values()
            names = [str(r.get("DocNumber") or r.get("DisplayName")) for r in rows]
            echo(f"{entity}: {len(names)} ({', '.join(sorted(names))})")
    return failed


def add_demo_command(group: typer.Typer) -> None:
    @group.command("demo")
    def demo_command(workdir: Path | None = typer.Option(
            None, "--dir", "--workdir",
            help="Folder for the demo workspace (default: a new temporary one).")) -> None:
        """The whole flow against the bundled QuickBooks emulator, as real `flx` commands."""
        folder = workdir or Path(tempfile.mkdtemp(prefix="flx-quickbooks-demo-"))
        raise typer.Exit(1 if run_demo(folder) else 0)
