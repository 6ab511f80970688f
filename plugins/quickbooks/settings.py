"""The settings of one QuickBooks Online connection, checked once. Secrets stay out of repr()
and every message names keys, never values. The OAuth tokens are not settings: they live in
the connection's plugin state (oauth.py)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from flx import ConfigError

MINOR_VERSION = 75  # Intuit retired 1-74 in August 2025 (quickbooks-api.md §2.1)
API_URLS = {"sandbox": "https://sandbox-quickbooks.api.intuit.com",
            "production": "https://quickbooks.api.intuit.com"}
TOKEN_URL = "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"
AUTHORIZE_URL = "https://appcenter.intuit.com/connect/oauth2"
REVOKE_URL = "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
SCOPE = "com.intuit.quickbooks.accounting"
# Intuit's limit is 10 requests in flight per company (§2.7); leave room for a second client.
MAX_CONCURRENCY = 10
SECRET_KEYS = ("client_id", "client_secret", "refresh_token")

CONNECTION_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["client_id", "client_secret", "realm_id"],
    "properties": {
        "plugin": {"const": "quickbooks"},
        "operations": {"type": "object"},
        "client_id": {"type": "string", "minLength": 1, "x-secret": True,
                      "description": "Client ID of the Intuit app (Keys & credentials)."},
        "client_secret": {"type": "string", "minLength": 1, "x-secret": True,
                          "description": "Client secret of the Intuit app."},
        "refresh_token": {"type": "string", "x-secret": True,
                          "description": "A first refresh token (e.g. from the OAuth "
                                         "Playground), used only while flx holds none; after "
                                         "the first refresh flx keeps its own."},
        "realm_id": {"type": ["string", "integer"],
                     "description": "The company ID (realmId), digits only."},
        "environment": {"enum": ["sandbox", "production"], "default": "sandbox"},
        "minor_version": {"type": "integer", "minimum": MINOR_VERSION},
        "concurrency": {"type": "integer", "minimum": 1, "maximum": MAX_CONCURRENCY},
        "timeout": {"type": "number", "exclusiveMinimum": 0},
        "requests_per_second": {"type": "integer", "minimum": 1,
                                "description": "Pacing; Intuit allows 10 per company."},
        "requests_per_minute": {"type": "integer", "minimum": 1,
                                "description": "Pacing; Intuit allows 500 per company."},
        "api_url": {"type": "string", "description": "Override of the API host (emulator)."},
        "token_url": {"type": "string", "description": "Override of Intuit's token endpoint."},
        "authorize_url": {"type": "string"},
        "redirect_uri": {"type": "string",
                         "description": "Registered redirect URI (production keys: HTTPS)."},
    },
}

# What this connector adds to a mapping profile (core's schemas/mapping.schema.json has the rest).
MAPPING_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "sale_type": {"enum": ["SalesReceipt", "Invoice"], "default": "SalesReceipt",
                      "description": "The document an order becomes: a Sales Receipt (paid at "
                                     "sale) or an Invoice (paid later)."},
        "item_lookup_field": {"enum": ["Sku", "Name"], "default": "Sku",
                              "description": "The QuickBooks item field an order line's SKU "
                                             "is matched against."},
        "sku_level": {"enum": ["order", "po"], "default": "order",
                      "description": "The order line's SKU (\"order\") or the fulfillment "
                                     "request item's SKU (\"po\", exploded SKUs)."},
        "customer": {
            "type": "object", "additionalProperties": False,
            "default": {"match": ["id", "email", "name"], "on_missing": "create"},
            "properties": {
                "match": {"type": "array", "uniqueItems": True,
                          "items": {"enum": ["id", "email", "name"]},
                          "description": "Ways to find the customer, in this order: the one "
                                         "flx used for the order before, e-mail, display "
                                         "name."},
                "on_missing": {"enum": ["create", "fail"]},
                "fields": {"type": "object"},
            }},
        "options": {"type": "object", "properties": {
            "doc_number_prefix": {"type": "string", "maxLength": 10},
            "shipping": {"enum": ["item", "field", "skip"]},
            "shipping_item": {"type": "string", "minLength": 1},
            "link_existing": {"type": "boolean"},
            "shipment_note": {"enum": ["PrivateNote", "CustomerMemo"]},
        }},
    },
}


@dataclass(frozen=True)
class QboSettings:
    realm_id: str
    client_id: str = field(repr=False)
    client_secret: str = field(repr=False)
    environment: str = "sandbox"
    minor_version: int = MINOR_VERSION
    concurrency: int = 4
    timeout: float = 130.0  # Intuit ends a request after 120 s (§2.1)
    requests_per_second: int = 9  # a little under Intuit's 10 and 500 (§2.7): clock skew
    requests_per_minute: int = 480
    api_url: str = ""
    token_url: str = TOKEN_URL
    authorize_url: str = AUTHORIZE_URL
    redirect_uri: str = ""
    name: str = ""
    refresh_token: str = field(default="", repr=False)  # a first one, until flx holds its own

    def __post_init__(self) -> None:
        if not self.api_url:
            object.__setattr__(self, "api_url", API_URLS[self.environment])

    @property
    def company_path(self) -> str:
        return f"/v3/company/{self.realm_id}"

    def secrets(self) -> list[str]:
        return [s for s in (self.client_id, self.client_secret, self.refresh_token) if s]

    @classmethod
    def from_mapping(cls, settings: Mapping[str, Any], *, name: str = "") -> QboSettings:
        where = f"[connections.{name}]" if name else "the connection"
        problems: list[str] = []
        for key in ("client_id", "client_secret"):
            if not str(settings.get(key) or "").strip():
                problems.append(f"{where}.{key}: missing (the Intuit app's Keys & credentials)")
        realm = str(settings.get("realm_id") or "").strip()
        if not re.fullmatch(r"[1-9][0-9]*", realm):
            problems.append(f"{where}.realm_id: must be the company ID, digits only (shown as "
                            "realmId after `flx connections authorize`, or in the company's "
                            "Settings > Account and settings > Billing & subscription)")
        environment = str(settings.get("environment") or "sandbox")
        if environment not in API_URLS:
            problems.append(f"{where}.environment: must be \"sandbox\" or \"production\"")
        minor = settings.get("minor_version", MINOR_VERSION)
        if not isinstance(minor, int) or minor < MINOR_VERSION:
            problems.append(f"{where}.minor_version: must be a whole number >= {MINOR_VERSION}")
        concurrency = settings.get("concurrency", 4)
        if not isinstance(concurrency, int) or not 1 <= concurrency <= MAX_CONCURRENCY:
            problems.append(f"{where}.concurrency: must be 1 to {MAX_CONCURRENCY} (Intuit "
                            "allows 10 requests in flight per company)")
        if problems:
            raise ConfigError(f"{where} is not a usable QuickBooks Online connection",
                              problems=problems)
        return cls(realm_id=realm, client_id=str(settings["client_id"]).strip(),
                   client_secret=str(settings["client_secret"]).strip(),
                   environment=environment, minor_version=int(minor),
                   concurrency=int(concurrency),
                   timeout=float(settings.get("timeout", 130.0)),
                   requests_per_second=int(settings.get("requests_per_second", 9)),
                   requests_per_minute=int(settings.get("requests_per_minute", 480)),
                   api_url=str(settings.get("api_url") or ""),
                   token_url=str(settings.get("token_url") or TOKEN_URL),
                   authorize_url=str(settings.get("authorize_url") or AUTHORIZE_URL),
                   redirect_uri=str(settings.get("redirect_uri") or ""), name=name,
                   refresh_token=str(settings.get("refresh_token") or "").strip())
