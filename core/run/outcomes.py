"""What a plugin's answer for one record means for flx: the stored error dict and whether
it is retried (`error_details`), when it is tried again (`next_retry_at`, up to
MAX_ATTEMPTS), a plugin that broke the protocol (`plugin_fault`), and a batch that never
reached the remote (`unreachable`). Used by core/run/batches.py; re-exported by core/run/runner.py.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from flx.errors import AbortError, FlxError
from flx.model import RecordResult
from flx.run.http import DryRunRefused

__all__ = ["MAX_ATTEMPTS", "RETRY_BASE", "RETRY_CAP", "UNREACHABLE_CLASSES", "error_details",
           "next_retry_at", "plugin_fault", "unreachable"]

RETRY_BASE = dt.timedelta(minutes=5)
RETRY_CAP = dt.timedelta(hours=6)
MAX_ATTEMPTS = 8  # after the 8th failed attempt a person has to look (flx retry)


def next_retry_at(attempts: int, now: dt.datetime,
                  retry_after: float | None = None) -> dt.datetime | None:
    """When a retryable failure is tried again: 5 min x 2^(attempts-1), at most 6 h, at least
    the remote's Retry-After; None once `attempts` reaches MAX_ATTEMPTS."""
    if attempts >= MAX_ATTEMPTS:
        return None
    delay = min(RETRY_BASE * 2 ** max(attempts - 1, 0), RETRY_CAP)
    if retry_after:
        delay = max(delay, dt.timedelta(seconds=retry_after))
    return now + delay


def error_details(error: BaseException | None, message: str = "") -> tuple[dict[str, Any], bool]:
    """(error dict as stored, retryable?) for whatever a plugin reported or raised."""
    if isinstance(error, FlxError):
        return error.to_dict(), error.retryable
    if isinstance(error, DryRunRefused):
        return {"class": "dry_run", "message": str(error)}, False
    if isinstance(error, httpx.TransportError):  # a plugin that did not translate it
        return {"class": "network", "message": f"{type(error).__name__}: {error}"}, True
    if error is None:
        return {"class": "error", "message": message or "failed (the plugin gave no reason)"}, False
    return {"class": "plugin", "message": f"{type(error).__name__}: {error}",
            "hint": "this looks like a bug in the plugin; report it with this message"}, False


UNREACHABLE_CLASSES = frozenset({"network"})


def unreachable(results: list[RecordResult], remote: str) -> AbortError | None:
    """When every record of a batch failed because the remote could not be reached at all (no
    connection, no answer), that is the connection's state, not the records': the run stops
    (exit 1) and the records stay as they were, to go at the next run. A 5xx is an answer and
    may be the record's own doing, so it stays a record failure with automatic retries."""
    if not results or any(r.status != "failed" or not isinstance(r.error, FlxError)
                          or r.error.error_class not in UNREACHABLE_CLASSES for r in results):
        return None
    first = results[0].error
    assert isinstance(first, FlxError)
    error = AbortError(
        f"{remote} could not be reached for any record of the batch: {first.message}",
        hint=f"check the network, the endpoint (base_url) and {remote}'s status; the records "
             "were left as they were and go at the next run")
    error.error_class = first.error_class
    return error


def plugin_fault(message: str) -> FlxError:
    """A plugin broke the protocol for one record: that record fails (class "plugin"), the run
    goes on. (PluginError would abort the whole run.)"""
    error = FlxError(message, hint="report this to the plugin's authors; `flx retry ID` "
                                   "sends the record again")
    error.error_class = "plugin"
    return error
