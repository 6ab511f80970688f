"""A local stand-in for QuickBooks Online (OAuth server and v3 accounting API) for flx's tests,
demo and bench. See docs/quickbooks.md "Emulator".

    Emulator(*, seed=True, behaviour=None, faults=None, clock=time.time, latency=0.0)
    Behaviour(...)                 one switch per UNCERTAIN behaviour of quickbooks-api.md
    FaultPlan(seed, rates)         seeded faults; Emulator.faults.inject(kind) for exact ones
    EmulatorTransport(emulator)    sync httpx transport, in-process
    create_app(emulator)           Starlette app
    run_server(emulator, port=0)   context manager: served on loopback, yields the base URL
"""

from .app import create_app
from .behaviour import Behaviour
from .faults import FaultPlan
from .seed import DEMO_CLIENT_ID, DEMO_CLIENT_SECRET, DEMO_REALM
from .server import run_server
from .state import Emulator
from .transport import EmulatorTransport

__all__ = ["DEMO_CLIENT_ID", "DEMO_CLIENT_SECRET", "DEMO_REALM", "Behaviour", "Emulator",
           "EmulatorTransport", "FaultPlan", "create_app", "run_server"]
