"""A local stand-in for the parts of NetSuite REST that flx uses (see docs/emulator.md).

    Emulator(seed=None, *, latency=0.0, concurrency=5, faults=None, clock=time.time,
             behaviour=None)
    create_app(emulator) -> Starlette
    EmulatorTransport(emulator)            sync httpx transport, in-process
    run_server(emulator, host, port)       context manager yielding a loopback base URL
    FaultPlan(seed, error_5xx=0.0, drop_before=0.0, drop_after=0.0)
"""

from .app import create_app
from .faults import FaultPlan
from .server import run_server
from .state import Emulator
from .transport import EmulatorTransport

__all__ = ["Emulator", "EmulatorTransport", "FaultPlan", "create_app", "run_server"]
