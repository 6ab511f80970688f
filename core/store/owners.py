"""Who holds a lock or a claim: `host:pid:random`, unique to one process. A holder on this
machine whose process is gone (killed, crashed) is known to be dead, so a restart takes over
its run lock and claims at once instead of waiting for them to expire."""

from __future__ import annotations

import os
import socket
import uuid


def default_owner() -> str:
    """A lock/claim owner name unique to this process: host:pid:random."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str | None) -> bool:
    """True only when `owner` names a process of this machine that no longer runs. Owners on
    other machines are never judged: their locks and claims expire by time."""
    if not owner:
        return False
    parts = owner.split(":")
    if len(parts) < 3 or parts[0] != socket.gethostname() or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, someone else's
        return False
    return False
