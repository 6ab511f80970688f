"""What each template must render (checked before anything is sent), so an overridden template
that drops a reference or a number fails with the field named, not as a QuickBooks fault."""

from __future__ import annotations

from typing import Any

_REF = {"type": "object", "required": ["value"],
        "properties": {"value": {"type": "string", "minLength": 1}}}
_LINES = {"type": "array", "minItems": 1, "items": {"type": "object",
                                                    "required": ["DetailType"]}}
_DOC = {"type": "string", "minLength": 1, "maxLength": 21}

SCHEMAS: dict[str, dict[str, Any]] = {
    "customer": {"type": "object", "required": ["DisplayName"],
                 "properties": {"DisplayName": {"type": "string", "minLength": 1,
                                                "maxLength": 100, "pattern": "^[^:]*$"}}},
    "sale": {"type": "object", "required": ["DocNumber", "CustomerRef", "Line", "PrivateNote"],
             "properties": {"DocNumber": _DOC, "CustomerRef": _REF, "Line": _LINES,
                            "PrivateNote": {"type": "string", "maxLength": 4000}}},
    "purchaseOrder": {"type": "object", "required": ["DocNumber", "VendorRef", "Line"],
                      "properties": {"DocNumber": _DOC, "VendorRef": _REF, "Line": _LINES}},
    "bill": {"type": "object", "required": ["DocNumber", "VendorRef", "Line"],
             "properties": {"DocNumber": _DOC, "VendorRef": _REF, "Line": _LINES}},
}
for _schema in SCHEMAS.values():
    _schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"


def payload_schemas() -> dict[str, dict[str, Any]]:
    return {f"{name}.json.j2": schema for name, schema in SCHEMAS.items()}
