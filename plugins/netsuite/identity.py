"""The fields flx finds its own NetSuite records by again, checked on every rendered payload:
a template override may not change them."""

from __future__ import annotations

from typing import Any

from flx import TemplateError

__all__ = ["IDENTITY", "check_identity"]

# The fields flx finds its own records by again (payload path -> context path): a template
# override that changes one would make flx take another record for this one (a constant
# externalId: every order "sent" as the first one's Sales Order).
IDENTITY: dict[str, tuple[tuple[str, str], ...]] = {
    "salesOrder": (("externalId", "external_id"), ("otherRefNum", "order_number")),
    "customer": (("externalId", "external_id"),),
    "purchaseOrder": (("externalId", "external_id"), ("entity.id", "vendor_id")),
    "itemFulfillment": (("externalId", "external_id"),),
    "vendorBill": (("externalId", "external_id"), ("tranId", "bill.number")),
}


def _at(data: Any, path: str) -> Any:
    for key in path.split("."):
        data = data.get(key) if isinstance(data, dict) else None
    return data


def check_identity(name: str, payload: dict[str, Any], context: dict[str, Any],
                   record_id: str) -> None:
    """Refuse a rendered payload whose identity keys are not the values flx expects."""
    for key, source in IDENTITY.get(name, ()):
        expected, got = _at(context, source), _at(payload, key)
        if expected is None or got == expected:
            continue
        raise TemplateError(
            f"template {name}.json.j2 sets {key} of {record_id} to {got!r}, not "
            f"{expected!r}: flx finds the records it writes by {key}, so a template may "
            "not change it; nothing was sent",
            hint=f"write {key} as the shipped template does ({{{{ {source} | json }}}}) "
                 f"in your override of {name}.json.j2, or leave it out of the override",
            record_id=record_id, path=f"$.{key}", template=f"{name}.json.j2")
