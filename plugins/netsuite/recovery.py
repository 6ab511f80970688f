"""How send-orders words a Sales Order that an earlier attempt made (found again, not created
twice): by what that attempt's stored state says, since it was not always interrupted."""

from __future__ import annotations

from flx import SyncState


def recovered_note(state: SyncState | None) -> str:
    """The note after "Sales Order created": interrupted (the state is still in_flight),
    stopped while Pending Approval, failed after NetSuite saved it, or just earlier."""
    error = (state.error or {}) if state is not None else {}
    if state is not None and state.status == "in_flight":
        why = "by an earlier attempt that was interrupted"
    elif "Pending Approval" in str(error.get("message") or ""):
        why = "by an earlier attempt, which stopped while the Sales Order was Pending Approval"
    elif error:
        why = "by an earlier attempt that failed after NetSuite saved it"
    else:
        why = "created by an earlier attempt"
    return f" ({why}; found by its external id, not created again)"


def made_elsewhere(state: SyncState | None, found_after: str) -> bool:
    """A record NetSuite already held when this store's first attempt POSTed it: another
    connection to the account (a second flx store, or another connection name) sent the
    same record meanwhile. An earlier attempt of this store's own would have left its mark
    (in flight, or an attempt counted)."""
    ours = state is not None and (state.status == "in_flight" or state.attempts > 0)
    return found_after == "rejection" and not ours


ELSEWHERE_NOTE = (" (created meanwhile by another connection to this NetSuite account, such as "
                  "a second flx store or connection sending the same orders; found by its "
                  "external id, not created again)")
