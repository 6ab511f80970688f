"""SIGINT and SIGTERM routed to a long-running loop's stop handler (flx schedule, flx worker)."""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Callable, Iterator
from typing import Any

__all__ = ["stop_signals"]


@contextlib.contextmanager
def stop_signals(handler: Callable[[int], None], *, enabled: bool = True) -> Iterator[None]:
    """Call `handler(signum)` on SIGINT/SIGTERM while inside, then restore the old handlers.
    Signals can only be handled on the main thread: elsewhere (tests) this does nothing."""
    if not enabled or threading.current_thread() is not threading.main_thread():
        yield
        return

    def on_signal(signum: int, frame: Any) -> None:
        handler(signum)

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
