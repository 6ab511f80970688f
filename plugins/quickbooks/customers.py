"""An order's QuickBooks customer: the one flx used before, else found by e-mail, then by
display name, else created. DisplayName is unique across customers, vendors and employees
(6240), so a taken name gets a deterministic suffix: the e-mail, then the commerce id."""

from __future__ import annotations

from functools import partial
from typing import Any

from flx import MappingError

from .client import where_equals
from .context import QboContext, marker
from .errors import DuplicateNameError

OPERATION = "send-orders"


def display_candidates(customer: dict[str, Any], order_id: str) -> list[str]:
    person = " ".join(p for p in (customer.get("first_name"), customer.get("last_name")) if p)
    base = (customer.get("company") or person or customer.get("email")
            or f"Customer {customer.get('id') or order_id}")
    base = str(base).replace(":", "-").strip()[:80]  # a colon separates parent:child in QBO
    out = [base]
    if customer.get("email") and customer["email"] != base:
        out.append(f"{base} ({customer['email']})"[:100])
    out.append(f"{base} ({customer.get('id') or order_id})"[:100])
    return out


def qbo_address(address: dict[str, Any] | None) -> dict[str, Any] | None:
    if not address:
        return None
    out = {"Line1": address.get("address1"), "Line2": address.get("address2"),
           "City": address.get("city"), "CountrySubDivisionCode": address.get("region"),
           "PostalCode": address.get("postal_code"), "Country": address.get("country")}
    return {k: v for k, v in out.items() if v} or None


class Customers:
    def __init__(self, ctx: QboContext) -> None:
        self.ctx = ctx
        self.match = list((ctx.profile.get("customer") or {}).get("match")
                          or ["id", "email", "name"])
        self.on_missing = (ctx.profile.get("customer") or {}).get("on_missing", "create")


    def resolve(self, order: dict[str, Any], known: str | None) -> tuple[str, bool]:
        """(QuickBooks customer Id, whether it would be created). Creates only outside a dry
        run."""
        if known and "id" in self.match:
            return known, False
        customer = dict(order.get("customer") or {})
        email = str(customer.get("email") or "").strip()
        if email and "email" in self.match:
            found = self._find("PrimaryEmailAddr", email, lambda r: str(
                (r.get("PrimaryEmailAddr") or {}).get("Address", "")).lower() == email.lower())
            if found:
                return found["Id"], False
        names = display_candidates(customer, order["id"])
        if "name" in self.match:
            found = self._find("DisplayName", names[0], lambda r: True)
            if found and self._same_person(found, email):
                return found["Id"], False
        with self.ctx.creating:  # two orders of one new customer in a batch: one creates it
            return self._found_or_created(order, customer, email, names)

    def _found_or_created(self, order: dict[str, Any], customer: dict[str, Any], email: str,
                          names: list[str]) -> tuple[str, bool]:
        if email and "email" in self.match:
            made = self.ctx.cache.get("customer:PrimaryEmailAddr", {}).get(email.lower())
            if made:
                return str(made[0]["Id"]), False
        if self.on_missing != "create":
            raise MappingError(f"order {order['id']}: no QuickBooks customer matches "
                               f"{email or names[0]!r}", record_id=order["id"],
                               hint="create the customer in QuickBooks, or set "
                                    "customer.on_missing = \"create\" in the mapping profile")
        if self.ctx.runtime.dry_run:
            return "(new)", True
        return self._create(order, customer, names), True

    def _find(self, prop: str, value: str, keep: Any) -> dict[str, Any] | None:
        def ask() -> list[dict[str, Any]]:
            return self.ctx.client.query("SELECT * FROM Customer WHERE "
                                         + where_equals(prop, value))
        rows = [r for r in self.ctx.remember(f"customer:{prop}", value.lower(), ask)
                if r.get("Active", True) and keep(r)
                and (prop != "DisplayName" or r.get("DisplayName") == value)]
        return rows[0] if rows else None

    @staticmethod
    def _same_person(found: dict[str, Any], email: str) -> bool:
        theirs = str((found.get("PrimaryEmailAddr") or {}).get("Address", "")).lower()
        return not email or not theirs or theirs == email.lower()

    def _create(self, order: dict[str, Any], customer: dict[str, Any], names: list[str]) -> str:
        email = str(customer.get("email") or "")
        for name in names:
            existing = self._find("DisplayName", name, lambda r: True)
            if existing is not None:
                if self._same_person(existing, email) and name != names[0]:
                    return str(existing["Id"])  # made by an earlier run under this name
                continue
            fields = ("id", "email", "first_name", "last_name", "company", "phone")
            body = self.ctx.render("customer", {
                "order": order, "customer": {k: customer.get(k) for k in fields},
                "display_name": name,
                "bill_addr": qbo_address(order.get("billing_address")),
                "ship_addr": qbo_address(order.get("shipping_address")),
                "note": marker("customer", str(customer.get("id") or order["id"]))},
                order["id"])
            try:
                written = self.ctx.client.create(
                    "Customer", body, what=f"order {order['id']}: creating customer {name!r}",
                    requestid=self.ctx.requestid("customer", order["id"], body),
                    find_existing=partial(self._lookup_fresh, name))
            except DuplicateNameError:
                continue  # a vendor or employee holds it: next candidate
            self.ctx.cache.setdefault("customer:DisplayName", {})[name.lower()] = [written.obj]
            if email:
                self.ctx.cache.setdefault("customer:PrimaryEmailAddr", {})[email.lower()] = [
                    written.obj]
            return str(written.obj["Id"])
        raise MappingError(f"order {order['id']}: every display name flx tried for the customer "
                           f"is taken in QuickBooks ({', '.join(names)})",
                           hint="rename the existing QuickBooks customer/vendor, or give the "
                                "order's customer an e-mail", record_id=order["id"])

    def _lookup_fresh(self, name: str) -> dict[str, Any] | None:
        rows = self.ctx.client.query("SELECT * FROM Customer WHERE "
                                     + where_equals("DisplayName", name))
        rows = [r for r in rows if r.get("DisplayName") == name]
        return rows[0] if rows else None
