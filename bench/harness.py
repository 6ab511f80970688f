"""What the benchmark and the reliability runs share: the NetSuite emulator as a real loopback
server in its own process, and an flx workspace (flx.toml, mapping profile, store) pointing
at it.

The emulator runs in a separate process on purpose: its CPU (SuiteQL, validation, JSON) must
not be counted as flx's, and a SIGKILLed flx must not take the account down with it."""

from __future__ import annotations

import gc
import json
import multiprocessing
import os
import platform
import socket
import sys
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from flx.config.load import Config
    from flx.plugins import Plugins
    from flx.run.report import RunReport
    from flx.sources.files import ImportReport

CONNECTION = "bench"
OPERATIONS = ("send-orders", "send-shipments", "send-vendor-bills")
SPAWN = multiprocessing.get_context("spawn")  # no fork: the parent may hold threads


def _serve(seed: dict[str, Any] | None, latency: float, concurrency: int | None,
           faults: dict[str, Any] | None, conn: Any) -> None:
    """Child process: build the account, bind a loopback port, report it, serve until
    SIGTERM (uvicorn then shuts down cleanly)."""
    from flx_netsuite.emulator import Emulator, FaultPlan
    from flx_netsuite.emulator.server import base_url, hidden_drops, make_server

    plan = FaultPlan(**faults) if faults else None
    emulator = Emulator(seed, latency=latency, concurrency=concurrency, faults=plan)
    sock = loopback_socket()
    conn.send((base_url(sock), emulator.credential_env()))
    conn.close()
    with hidden_drops():
        make_server(emulator).run(sockets=[sock])
    sock.close()


def loopback_socket() -> socket.socket:
    """A listening-to-be socket on 127.0.0.1, created with proto=IPPROTO_TCP.

    Why not the emulator's own `server.bind()`: it creates its socket with proto 0, and asyncio
    only sets TCP_NODELAY on accepted sockets whose proto is IPPROTO_TCP. Without it, Nagle's
    algorithm holds the response body until the client's delayed ACK (about 40 ms), so every
    request would take latency + 40 ms and the bench would measure the socket, not flx."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


class EmulatorProcess:
    """`with EmulatorProcess(seed, latency=0.05, concurrency=5) as emu:` → `emu.base_url`,
    `emu.env` (the credential variables), `emu.stats()`, `emu.records(type)`."""

    def __init__(self, seed: dict[str, Any] | None = None, *, latency: float = 0.0,
                 concurrency: int | None = 5, faults: Mapping[str, Any] | None = None) -> None:
        self.args = (seed, latency, concurrency, dict(faults) if faults else None)
        self.base_url = ""
        self.env: dict[str, str] = {}
        self._proc: Any = None
        self._http = httpx.Client(timeout=60)

    def __enter__(self) -> EmulatorProcess:
        receiver, sender = SPAWN.Pipe(duplex=False)
        self._proc = SPAWN.Process(target=_serve, args=(*self.args, sender),
                                   name="flx-bench-emulator", daemon=True)
        self._proc.start()
        sender.close()
        try:
            if not receiver.poll(60):
                raise EOFError
            self.base_url, self.env = receiver.recv()
        except EOFError:
            self.stop()
            raise RuntimeError("the emulator process did not start (see its error above)"
                               ) from None
        finally:
            receiver.close()
        await_answer(self._proc, self.stats, self.stop, "the emulator server")
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self._http.close()
        end_process(self._proc)

    @property
    def pid(self) -> int:
        return int(self._proc.pid)

    def stats(self) -> dict[str, Any]:
        response = self._http.get(f"{self.base_url}/_emulator/stats")
        response.raise_for_status()
        data: dict[str, Any] = response.json()
        return data

    def hold(self, after: int) -> None:
        """Once `after` requests have arrived, leave each further one unanswered until
        `release()`: a client is then certainly mid-run (see the emulator's Hold)."""
        self._http.post(f"{self.base_url}/_emulator/hold", json={"after": after}
                        ).raise_for_status()

    def release(self) -> None:
        self._http.post(f"{self.base_url}/_emulator/release").raise_for_status()

    def records(self, record_type: str) -> list[dict[str, Any]]:
        response = self._http.get(f"{self.base_url}/_emulator/records/{record_type}")
        response.raise_for_status()
        data: list[dict[str, Any]] = response.json()
        return data


def stats_delta(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, Any]:
    """Requests, 429s and injected faults between two `stats()` snapshots."""
    faults = {k: v - before.get("faults", {}).get(k, 0)
              for k, v in after.get("faults", {}).items()}
    routes = {k: v - before.get("routes", {}).get(k, 0) for k, v in after["routes"].items()
              if v - before.get("routes", {}).get(k, 0)}
    return {"requests": after["requests"] - before["requests"],
            "throttled": after["throttled"] - before["throttled"],
            "faults": {k: v for k, v in faults.items() if v}, "routes": routes,
            "peak_in_flight": after["peak_in_flight"]}


@dataclass
class Workspace:
    """An flx workspace: flx.toml (secrets as ${VAR}), profile.json and a SQLite store."""

    path: Path
    base_url: str
    env: dict[str, str]
    profile: dict[str, Any]
    concurrency: int = 5
    store_url: str | None = None
    operation_settings: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        self.write_config()

    @property
    def config_path(self) -> Path:
        return self.path / "flx.toml"

    def write_config(self) -> Path:
        profile_path = self.path / "profile.json"
        profile_path.write_text(json.dumps(self.profile, indent=1))
        names = list(self.env)
        store = self.store_url or f"sqlite:///{self.path / 'flx.db'}"
        lines = ["[store]", f"url = {json.dumps(store)}", "",
                 f"[connections.{CONNECTION}]", 'plugin = "netsuite"',
                 'account_id = "1234567_SB1"',
                 f'client_id = "${{{names[0]}}}"', f'client_secret = "${{{names[1]}}}"',
                 f'token_id = "${{{names[2]}}}"', f'token_secret = "${{{names[3]}}}"',
                 f"concurrency = {self.concurrency}", f"base_url = {json.dumps(self.base_url)}",
                 ""]
        for op in OPERATIONS:
            lines.append(f"[connections.{CONNECTION}.operations.{op}]")
            settings = {"mapping": str(profile_path), **self.operation_settings.get(op, {})}
            lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
            lines.append("")
        self.config_path.write_text("\n".join(lines))
        return self.config_path

    # -- in-process, as `flx import` / `flx run` do it -------------------------------------------

    def load(self) -> tuple[Config, Plugins]:
        from flx.config.load import load_config
        from flx.plugins import build_plugins

        plugins = build_plugins()
        env = {**os.environ, **self.env}
        return load_config(self.config_path, plugins=plugins, env=env), plugins

    def import_files(self, paths: Sequence[Path]) -> ImportReport:
        from flx.sources.files import import_files
        from flx.store.store import Store

        config, _ = self.load()
        with Store(config.store_url) as store:
            return import_files(list(paths), store)

    def run(self, operation: str, **options: Any) -> RunReport:
        from flx.run.runner import run_operation

        config, plugins = self.load()
        # A run never closes the httpx client the NetSuite plugin opens on its Runtime, so its
        # keep-alive sockets close only when the garbage collector frees the Runtime (a
        # ResourceWarning each). Harmless for one `flx run` per process; collected here, at
        # once and quietly, so that many runs in one process stay tidy. Reported to core.
        try:
            return run_operation(config, plugins, operation, CONNECTION, **options)
        finally:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", ResourceWarning)
                gc.collect()

    # -- as a separate `flx` process ---------------------------------------------------------

    def argv(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "flx.cli.main", "--config", str(self.config_path), *args]

    def child_env(self) -> dict[str, str]:
        env = {**os.environ, **self.env}
        env.pop("FLX_CONFIG", None)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(repo_root()),
                                                          env.get("PYTHONPATH")]))
        return env


def repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version(),
                            "platform": platform.platform(), "processor": platform.processor()}
    try:
        import psutil

        info["memory_gb"] = round(psutil.virtual_memory().total / 2**30, 1)
    except ImportError:  # psutil is in the dev extra; the figure is optional
        info["memory_gb"] = None
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    info["processor"] = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return info


def peak_rss_mb() -> float:
    """This process's peak resident memory so far (Linux reports KiB, macOS bytes)."""
    import resource

    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(peak / (2**20 if sys.platform == "darwin" else 2**10), 1)


def await_answer(proc: Any, probe: Callable[[], object], stop: Callable[[], None],
                 what: str) -> None:
    """Wait until a server process answers `probe` (its port is bound before uvicorn
    listens); stop it and raise if it dies or stays silent for 30 s."""
    deadline = time.monotonic() + 30
    while True:
        try:
            probe()
            return
        except httpx.TransportError:
            if time.monotonic() > deadline or not proc.is_alive():
                stop()
                raise RuntimeError(f"{what} did not answer") from None
            time.sleep(0.05)


def end_process(proc: Any) -> None:
    """Terminate a server process, and kill it if it does not go within 15 s."""
    if proc is not None and proc.is_alive():
        proc.terminate()
        proc.join(15)
        if proc.is_alive():
            proc.kill()
            proc.join(5)
