"""Which NetSuite customer an order belongs to (reference page, "Customer logic"): a customer id
given on the order or by the profile; else one found by email, then by name; else one created
from the customer template (or, per profile, a failure or a default customer)."""

from __future__ import annotations

import re
import threading
from typing import Any

from flx import FlxError, MappingError, RemoteRejectedError
from flx_netsuite.common import (
    NetSuiteContext,
    address,
    eid,
    explain_rejection,
    with_defaults,
)
from flx_netsuite.lookups import CustomerFinder, name_key, refused_error

MATCHERS = ("id", "email", "name")
# Profile spellings (customer.fields) → NetSuite customer fields.
FIELD_NAMES = {"custom_form": "customForm", "entity_status": "entityStatus"}


class CustomerResolver:
    def __init__(self, ctx: NetSuiteContext) -> None:
        self.ctx = ctx
        policy = ctx.profile.get("customer") or {}
        self.match: list[str] = [m for m in policy.get("match", MATCHERS) if m in MATCHERS]
        self.on_missing: str = policy.get("on_missing", "create")
        self.default_id: str | None = policy.get("default_customer_id")
        self.fields: dict[str, Any] = policy.get("fields") or {}
        # custentity_* values sent as written (text, numbers, booleans), not as {"id": ...}.
        self.custom_fields: dict[str, Any] = policy.get("custom_fields") or {}
        self.finder = CustomerFinder(ctx)
        self._creating: dict[str, threading.Lock] = {}
        self._created: dict[str, str] = {}
        self._lock = threading.Lock()

    def prefetch(self, orders: list[dict[str, Any]]) -> None:
        """Warm the look-ups for a whole batch: one query for all emails, one for all names."""
        pending = [o for o in orders if not self._given_id(o)]
        # In the profile's match order, and only for orders not matched yet: a returning
        # customer found by email must not cost a name query (warm runs cost no look-up).
        for how in self.match:
            if how == "email":
                found = self.finder.by_email(_email(o) for o in pending)
                pending = [o for o in pending if _email(o) not in found]
            elif how == "name":
                found = self.finder.by_name(name_key(o.get("customer") or {}) or ""
                                            for o in pending)
                pending = [o for o in pending
                           if (name_key(o.get("customer") or {}) or "") not in found]

    def find(self, order: dict[str, Any]) -> tuple[str, str] | None:
        """An existing customer as (id, how: id / email / name), or None. Never writes, so
        previews (`flx render`, --dry-run) use it without touching shared state."""
        customer = order.get("customer") or {}
        for how in self.match:
            if how == "id" and (given := self._given_id(order)):
                return given, "id"
            if how == "email" and customer.get("email"):
                email = customer["email"].lower()
                found = self.finder.by_email([email]).get(email)
                if found:
                    return found, "email"
                if email in self.finder.refused["email"]:
                    raise refused_error(order["id"], f"order {order['id']}", "customer.email",
                                        customer["email"], self.finder.refused["email"][email])
            if how == "name" and (key := name_key(customer)):
                found = self.finder.by_name([key]).get(key)
                if found:
                    return found, "name"
                if key in self.finder.refused["name"]:
                    field = "customer.company" if customer.get("company") else \
                        "customer.first_name/last_name"
                    raise refused_error(order["id"], f"order {order['id']}", field, key,
                                        self.finder.refused["name"][key])
        return None

    def resolve(self, order: dict[str, Any]) -> tuple[str, str]:
        """(customer id, how it was found: id / email / name / created / default)."""
        customer = order.get("customer") or {}
        found = self.find(order)
        if found:
            return found
        inactive = self.inactive_error(order)
        if inactive is not None:
            raise inactive
        if self.on_missing == "default" and self.default_id:
            return str(self.default_id), "default"
        if self.on_missing != "create":
            raise MappingError(
                f"order {order['id']}: no NetSuite customer found by "
                f"{', '.join(self.match)} "
                f"({customer.get('email') or name_key(customer) or 'no email or name'})"
                " and customer creation is off (customer.on_missing = "
                f"{self.on_missing!r})",
                hint="give the order a customer.netsuite_id, map Email/Name, create the customer "
                     "in NetSuite, or set customer.on_missing = \"create\" in the profile",
                record_id=order["id"])
        return self._create(order), "created"

    def inactive_error(self, order: dict[str, Any]) -> MappingError | None:
        """An order whose customer matches only inactive NetSuite customers: neither linked
        to one (NetSuite refuses an inactive customer) nor given a new one silently."""
        customer = order.get("customer") or {}
        keys = [("email", (customer.get("email") or "").lower()),
                ("name", name_key(customer) or "")]
        for kind, key in keys:
            if kind in self.match and key and key in self.finder.inactive[kind]:
                found_id, name = self.finder.inactive[kind][key]
                return MappingError(
                    f"order {order['id']}: the customer ({kind} {key}) matches only inactive "
                    f"NetSuite customer {found_id} ({name}), which NetSuite refuses on a Sales "
                    "Order", hint=f"reactivate customer {found_id} in NetSuite (clear "
                    "Inactive), or give the order the customer.netsuite_id of an active "
                    "customer; then `flx retry " + order["id"] + "`", record_id=order["id"])
        return None

    def payload(self, order: dict[str, Any]) -> dict[str, Any]:
        customer = order.get("customer") or {}
        person = {key: customer.get(key) for key in
                  ("email", "first_name", "last_name", "company", "phone")}
        if not customer.get("company"):
            person["first_name"], person["last_name"], _ = person_name(order)
        context = {
            "order": order, "customer": person, "external_id": self.external_id(order),
            "is_person": not customer.get("company"),
            "fields": self._fields(order),
            "addresses": self._addresses(order),
        }
        # customer.custom_fields may be expressions, rendered like the order's custom_fields.
        scope = {"order": with_defaults(order), "customer": person, "profile": self.ctx.profile,
                 "tables": self.ctx.tables, "options": self.ctx.options}
        context["custom_fields"] = self.ctx.fields(self.custom_fields, scope, order["id"],
                                                   "customer.custom_fields")
        return self.ctx.render("customer", context, order["id"])

    def entity_hint(self, order: dict[str, Any], leaf: str) -> str | None:
        """When NetSuite refuses a Sales Order's entity: where that customer id came from
        (the order, tables.customers or the profile's default customer), or None."""
        found = self.find(order) if leaf == "entity" else None
        customer = order.get("customer") or {}
        email = (customer.get("email") or "").lower()
        if found and found[1] == "id" and customer.get("netsuite_id"):
            return (f"order {order['id']}'s customer.netsuite_id {found[0]} is not a NetSuite "
                    "customer (or the integration role cannot see it): correct it at the "
                    "source and re-import the order, or remove it so flx matches the customer "
                    f"by {', '.join(m for m in self.match if m != 'id') or 'email/name'}")
        if found and found[1] == "id":
            return (f"tables.customers maps {email} to {found[0]}, which is not a NetSuite "
                    "customer (or the integration role cannot see it): correct or remove "
                    f'"{email}" in tables.customers of the mapping profile, then '
                    f"`flx retry {order['id']}`")
        if leaf == "entity" and not found and self.on_missing == "default" and self.default_id:
            return (f"customer.default_customer_id {self.default_id} is not a NetSuite "
                    "customer: set it in the mapping profile to the internal id of your "
                    f"catch-all customer, then `flx retry {order['id']}`")
        return None

    def _fields(self, order: dict[str, Any]) -> dict[str, str]:
        """customer.fields as NetSuite names them. A new customer of a mapped currency
        (tables.currencies) bills in the order's currency unless the profile fixes one:
        NetSuite refuses a Sales Order in a currency its customer does not use."""
        fields = {FIELD_NAMES.get(k, k): str(v) for k, v in self.fields.items()
                  if v not in (None, "")}
        currency = self.ctx.table_value("currencies", order.get("currency")) \
            if order.get("currency") else None
        if currency and "currency" not in fields:
            fields["currency"] = str(currency)
        return fields

    def external_id(self, order: dict[str, Any]) -> str:
        key = self._identity(order)
        return eid("cust", key)

    # -- internals -----------------------------------------------------------------------------

    def _given_id(self, order: dict[str, Any]) -> str | None:
        customer = order.get("customer") or {}
        given = customer.get("netsuite_id")
        if given:
            return str(given)
        email = (customer.get("email") or "").lower()
        mapped = self.ctx.table_value("customers", email) if email else None
        return str(mapped) if mapped else None

    def _identity(self, order: dict[str, Any]) -> str:
        customer = order.get("customer") or {}
        key = (customer.get("email") or "").lower() or name_key(customer)
        if not key:
            raise MappingError(
                f"order {order['id']}: the customer has no email and no name, so flx can neither "
                "find nor create it",
                hint="add customer.email or customer.first_name/last_name/company to the order, "
                     "or give customer.netsuite_id", record_id=order["id"], path="$.customer")
        return key

    def _addresses(self, order: dict[str, Any]) -> list[dict[str, Any]]:
        ship, bill = address(order.get("shipping_address")), address(order.get("billing_address"))
        if ship and bill and ship == bill:
            return [{"default_shipping": True, "default_billing": True, "address": ship}]
        out = []
        if ship:
            out.append({"default_shipping": True, "default_billing": False, "address": ship})
        if bill:
            out.append({"default_shipping": False, "default_billing": True, "address": bill})
        return out

    def _explain(self, err: RemoteRejectedError, order: dict[str, Any]) -> RemoteRejectedError:
        """NetSuite's words plus the customer.fields key the user actually wrote (custom_form,
        not customForm), or the key to add when NetSuite wants a value that was not sent."""
        out = explain_rejection(err, f"the new customer for order {order['id']}")
        leaf = (err.path or "").split(".")[0].split("[")[0]
        keys = [k for k in self.fields if FIELD_NAMES.get(k, k) == leaf]
        spelling = {v: k for k, v in FIELD_NAMES.items()}.get(leaf, leaf)
        if leaf in self.custom_fields:
            out.hint = (f"NetSuite refused {leaf}, set by customer.custom_fields.{leaf} in the "
                        "mapping profile: check that the custom entity field exists in your "
                        "account (exact id), applies to customers, and takes this kind of value")
        elif keys:
            out.hint = (f"NetSuite refused {leaf} {self.fields[keys[0]]!r}: set "
                        f"customer.fields.{keys[0]} in the mapping profile to the internal id "
                        "of a value that exists in your NetSuite account and suits a customer")
        elif leaf in ("subsidiary", "category", "customForm", "entityStatus"):
            out.hint = (f"NetSuite needs a valid {leaf} on new customers: add "
                        f'"{spelling}": "<internal id>" to customer.fields in the mapping profile')
        return out

    def _create(self, order: dict[str, Any]) -> str:
        key = self._identity(order)
        # Two orders of one new customer in the same batch: the second waits for the first.
        with self._lock:
            lock = self._creating.setdefault(key, threading.Lock())
        with lock:
            if key in self._created:
                return self._created[key]
            body = self.payload(order)
            try:
                created = self.ctx.client.create("customer", body, external_id=body["externalId"])
            except RemoteRejectedError as err:
                raise self._explain(err, order) from err
            except FlxError:
                raise
            self._created[key] = created.id
            customer = order.get("customer") or {}
            if customer.get("email"):
                self.finder.remember("email", customer["email"].lower(), created.id)
            elif name_key(customer):
                self.finder.remember("name", name_key(customer) or "", created.id)
            return created.id


def person_name(order: dict[str, Any]) -> tuple[str, str, str | None]:
    """First and last name for a person customer, never empty (NetSuite probably refuses a
    person without them, §10.10): the order's, else the shipping or billing address's name,
    else the e-mail's local part; a missing half takes the other. The note says what was
    derived (None when the order named both)."""
    customer = order.get("customer") or {}
    first = (customer.get("first_name") or "").strip()
    last = (customer.get("last_name") or "").strip()
    if first and last:
        return first, last, None
    source = ""
    if not first and not last:
        for key, label in (("shipping_address", "shipping address"),
                           ("billing_address", "billing address")):
            name = ((order.get(key) or {}).get("name") or "").strip()
            if name:
                first, _, last = name.partition(" ")
                source = f"the {label}'s name {name!r}"
                break
        email = (customer.get("email") or "").strip()
        if not first and email:
            local = email.split("@", 1)[0]
            parts = [p for p in re.split(r"[._+-]+", local) if p]
            first, last = (parts[0].capitalize(), " ".join(p.capitalize() for p in parts[1:])) \
                if parts else (local, "")
            source = f"the e-mail {email!r}"
        if not first:
            return first, last, None  # nothing to go on: _identity refuses the order
    else:
        source = "its other half"
    first, last = (first or last).strip(), (last or first).strip()
    return first, last, (f"the customer has no first and last name, so the new NetSuite "
                         f"customer is named {first} {last} (from {source}); correct it in "
                         "NetSuite if that is wrong")


def _email(order: dict[str, Any]) -> str:
    return ((order.get("customer") or {}).get("email") or "").lower()
