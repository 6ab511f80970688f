"""A local stand-in for the parts of the Flxpoint API flx reads (see docs/flxpoint.md).

    Emulator(seed=None, *, rate=2.0, clock=time.time, max_page_size=100)
    create_app(emulator) -> Starlette
    EmulatorTransport(emulator)          sync httpx transport, in-process
    run_server(emulator, host, port)     context manager yielding a loopback base URL
"""

from .app import create_app
from .server import run_server
from .state import Emulator, load_default_seed
from .transport import EmulatorTransport

__all__ = ["Emulator", "EmulatorTransport", "create_app", "load_default_seed", "run_server"]
