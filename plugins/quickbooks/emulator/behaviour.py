"""One switch per behaviour quickbooks-api.md marks UNCERTAIN, so a test can run both readings.

The defaults are the stricter reading (the one that would break a careless client)."""

from __future__ import annotations

from dataclasses import dataclass

DAY = 86_400.0


@dataclass
class Behaviour:
    # OAuth (§1.4): a refresh returns a new refresh token every time ("every_refresh") or only
    # once a day ("daily"); the previous value dies at once (grace 0) or after `old_token_grace`.
    rotation: str = "every_refresh"
    old_token_grace: float = 0.0
    access_token_lifetime: float = 3600.0
    refresh_token_lifetime: float = 100 * DAY
    # requestid (§2.8): "replay" answers a repeat with the first response; "ignore" performs it
    # again (proves the client never relies on it alone).
    requestid: str = "replay"
    # DocNumber uniqueness (§5): "cross_type" (any sale/purchase type), "per_type", or "off".
    # Bills are checked per vendor unless this is "off".
    doc_numbers: str = "cross_type"
    # A sales or purchase line's Amount must equal Qty x UnitPrice rounded to cents (§3.5).
    amount_check: bool = True
    # A bill line above the PO line's open quantity (§3.10): "link" (QBO links and closes),
    # "drop_link" (the bill is created without that link), "refuse" (a validation fault).
    overbilling: str = "drop_link"
    # 429 answers carry Retry-After (§2.7) or not.
    retry_after: bool = False
    # Customer e-mail matched case-insensitively in queries (§2.3).
    email_case_insensitive: bool = False
    # `Vendor.PrimaryEmailAddr` filterable (§2.3, contested).
    vendor_email_queryable: bool = False
    # Custom field value length limit (§3.7, unknown; 31 in several reports).
    custom_field_max: int = 31
    # Throttling (§2.7): per realm.
    per_minute: int = 500
    per_second: int = 10
    in_flight: int = 10
    # Monthly metered-read quota left (None: unlimited); past it every read is a 429.
    read_quota: int | None = None
