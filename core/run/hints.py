"""What each error class means to the person reading `flx errors`: the class groups (retried
by flx itself, caused by the record's data, every class a filter accepts), a default hint per
class, and the formatting of one failed or waiting record into an `flx errors` row with a
one-line fix; and waiting reasons grouped without their ids. core/ops/status.py re-exports the
public names.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import TYPE_CHECKING, Any

from flx.errors import ERROR_CLASSES
from flx.run.outcomes import MAX_ATTEMPTS

if TYPE_CHECKING:
    from flx.store.store import SyncState

__all__ = ["AUTO_RETRY_CLASSES", "DATA_CLASSES", "DEFAULT_HINTS", "KNOWN_CLASSES", "error_row",
           "fix_hint", "iso_utc", "reason_group"]

# Classes the runner retries by itself (RetryableError subclasses, untranslated transport
# errors); everything else waits for a person or for a changed record.
AUTO_RETRY_CLASSES = frozenset({"network", "outage", "rate_limit", "transient"})
# Classes caused by the record's content: a corrected re-import makes it due again at once.
DATA_CLASSES = frozenset({"data", "reference", "template", "rejected", "duplicate"})
_EXTRA_CLASSES = ("waiting", "resolved", "transient", "plugin", "error", "dry_run")
KNOWN_CLASSES = tuple(sorted({*ERROR_CLASSES, *_EXTRA_CLASSES}))

DEFAULT_HINTS: dict[str, str] = {
    "data": "correct the record where it comes from and import it again",
    "reference": "add the missing value to the mapping profile (or create it in the "
                 "accounting system), then `flx retry {id}`",
    "template": "fix the template or mapping profile (`flx render ... --id {id}` shows the "
                "payload), then `flx retry {id}`",
    "rejected": "read the remote system's message and errorPath; fix the record or the "
                "mapping, then `flx retry {id}`",
    "duplicate": "the record already exists remotely and could not be linked safely: check it "
                 "there, then `flx resolve {id} --note ...` or remove the copy and retry",
    "network": "usually transient; if it persists check the network, proxy and base_url",
    "outage": "the remote system failed on its side; nothing to fix here",
    "rate_limit": "the account's concurrency limit was hit; lower `concurrency` if it persists",
    "transient": "usually transient; nothing to fix unless it persists",
    "authentication": "check the connection's credentials (`flx connections test NAME`)",
    "permission": "give the integration role the permission named in the message",
    "config": "correct flx.toml (`flx connections test NAME` checks a connection)",
    "plugin": "this looks like a plugin bug: report it with this message; `flx retry {id}` "
              "after upgrading",
    "waiting": "flx checks again at every run; if it can never go (a cancelled order, say), "
               "`flx resolve {id} --note ...`",
    "resolved": "resolved by hand; it will not be sent",
}
_FALLBACK_HINT = "read the message, fix the cause, then `flx retry {id}`"


def iso_utc(value: dt.datetime | None) -> str | None:
    """A stored time as RFC 3339 UTC ("2026-11-20T14:03:00Z"); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:  # the store hands back UTC; be explicit about it
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _when(value: dt.datetime) -> str:
    """A time the way a person reads it in a one-line hint."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def fix_hint(state: SyncState, error: dict[str, Any] | None = None) -> str:
    """One line: what to do about this record, and when (if ever) flx tries it again by
    itself. The error's own hint comes first; else a default for its class."""
    error = error if error is not None else (state.error or {})
    cls = str(error.get("class") or "error")
    base = str(error.get("hint") or DEFAULT_HINTS.get(cls, _FALLBACK_HINT))
    base = base.replace("{id}", state.record_id)
    if state.status == "waiting" or cls in ("resolved", "waiting"):
        return base
    if cls in AUTO_RETRY_CLASSES:
        if state.next_retry_at is not None:
            when = (f"flx tries again by itself at the first run after "
                    f"{_when(state.next_retry_at)} (attempt {state.attempts + 1} of "
                    f"{MAX_ATTEMPTS})")
        else:
            when = (f"automatic retries are used up ({state.attempts} attempts): "
                    f"`flx retry {state.record_id}` once the cause is gone")
        return f"{base}. {when}"
    again = f"`flx retry {state.record_id}`"
    if cls in DATA_CLASSES:
        text = f"{base}. Not retried by itself: a re-imported, changed record goes out at the " \
               "next run"
        return text if again in base else f"{text}; after a mapping or template fix use {again}"
    return base if again in base else f"{base}. Not retried by itself: {again} once fixed"


def _message(error: dict[str, Any]) -> str:
    """The message, with the remote system's code, detail and error path when it adds them."""
    message = str(error.get("message") or "")
    extra = []
    code, detail, path = error.get("code"), error.get("detail"), error.get("path")
    if code and str(code) not in message:
        extra.append(f"code {code}")
    if detail and str(detail) not in message:
        extra.append(str(detail))
    if path and str(path) not in message:
        extra.append(f"at {path}")
    return f"{message} ({'; '.join(extra)})" if extra else message


def error_row(state: SyncState) -> dict[str, Any]:
    error = dict(state.error or {})
    cls = "waiting" if state.status == "waiting" else str(error.get("class") or "error")
    if state.status == "skipped":
        cls = "resolved"
    retry_text = None
    if state.status == "failed":
        # The store offers any failed record again once its content changes (see
        # Store.candidates); transient ones also on their retry time, until attempts run out.
        retry_text = (iso_utc(state.next_retry_at) if state.next_retry_at is not None
                      else "no (use flx retry)" if cls in AUTO_RETRY_CLASSES
                      else "when the record changes")
    return {
        "record_id": state.record_id, "connection": state.connection,
        "operation": state.operation, "status": state.status, "class": cls,
        "message": _message(error), "hint": fix_hint(state, {**error, "class": cls}),
        "code": error.get("code"), "detail": error.get("detail"), "path": error.get("path"),
        "attempts": state.attempts,
        "first_failed_at": iso_utc(state.first_failed_at),
        "last_attempt_at": iso_utc(state.last_attempt_at),
        "updated_at": iso_utc(state.updated_at),
        "next_retry_at": iso_utc(state.next_retry_at),
        "automatic_retry": retry_text,
        "note": error.get("note") if cls == "resolved" else None,
    }


_ID_AFTER = re.compile(
    r"\b(order|shipment|vendor bill|bill|fulfillment request|request|line|record|item|sku)"
    r"\s+'?(?=[^\s:;,()']*\d)[^\s:;,()']+'?", re.IGNORECASE)
_OWN_PREFIX = re.compile(r"^(shipment|vendor bill|order)\s*:\s*", re.IGNORECASE)
# "refund ID0: ...": the record's own noun and id before a colon, whatever the operation.
_OWN_ID_PREFIX = re.compile(r"^[A-Za-z][A-Za-z ]{0,40}?\s+ID0\s*:\s*")
_PARTLY = re.compile(r"\bline\s*:\s*\d+ of \d+ routed( \(more than ordered\))?")


def reason_group(message: str, record_id: str = "") -> str:
    """A waiting reason without the ids in it, so that "order ORD-7 is not in NetSuite yet"
    and "order ORD-9 is not in NetSuite yet" count as one reason."""
    # The record's own id may have no digit: mark it as one, so the id pattern takes it too
    # (ids shorter than 3 characters would match inside ordinary words and numbers).
    text = message.replace(record_id, "ID0") if len(record_id) >= 3 else message
    text = _OWN_ID_PREFIX.sub("", text)
    text = _ID_AFTER.sub(lambda m: m.group(1), text).replace("ID0", "")
    text = _OWN_PREFIX.sub("", text)
    text = _PARTLY.sub(lambda m: "a line is routed more than ordered" if m.group(1)
                       else "a line is not fully routed", text)
    parts = list(dict.fromkeys(" ".join(p.split()) for p in text.split(";") if p.strip()))
    return "; ".join(parts) or "no reason given"
