"""Shipping and tax on a vendor's invoice: where they go on the Vendor Bill (an expense line,
an item line on no PO line, or nowhere with a warning), as the profile's options.bill_shipping
and options.bill_tax say, and how a refusal about them is worded."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flx import MappingError, RemoteRejectedError, TemplateError
from flx_netsuite.common import money

CHARGE_MODES = ("expense", "item", "skip")
CHARGES = (("shipping", "Shipping"), ("tax", "Tax"))


def charge_lines(bill: dict[str, Any], options: dict[str, Any], warnings: list[str],
                 ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The invoice's shipping and tax as (expense lines, charge item lines), each where the
    profile's options.bill_shipping / options.bill_tax say; a skipped one adds a warning."""
    expenses: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    for key, label in CHARGES:
        amount = money(bill.get(key))
        if not amount:
            continue
        setting = options.get(f"bill_{key}") or {"mode": "skip"}
        mode = setting.get("mode")
        memo = f"{label} on invoice {bill.get('number')}"
        if mode == "skip":
            warnings.append(f"{label.lower()} {amount} on the invoice was not sent "
                            f"(options.bill_{key}.mode = skip)")
        elif mode == "expense":
            account = _required(setting, "account", bill, key, amount,
                                "goes to an expense line", "a NetSuite expense account id")
            expenses.append({"account_id": account, "amount": amount, "memo": memo})
        elif mode == "item":
            item = _required(setting, "item", bill, key, amount, "goes on an item line",
                             "the internal id of the NetSuite item to bill it as")
            items.append({"key": key, "item_id": item, "quantity": 1, "rate": amount,
                          "description": memo})
        else:  # the profile schema refuses this at load; kept for profiles built in code
            raise MappingError(
                f"vendor bill {bill['id']}: options.bill_{key}.mode {mode!r} is not known",
                hint=f"use one of: {', '.join(CHARGE_MODES)}", record_id=bill["id"])
    return expenses, items


def _required(setting: dict[str, Any], name: str, bill: dict[str, Any], key: str,
              amount: Decimal, goes: str, what: str) -> str:
    value = setting.get(name)
    if value in (None, ""):
        raise MappingError(
            f"vendor bill {bill['id']}: {key} {amount} {goes} but options.bill_{key}.{name} "
            "is not set", hint=f"set options.bill_{key}.{name} to {what}",
            record_id=bill["id"])
    return str(value)


def check_charges_rendered(bill: dict[str, Any], body: dict[str, Any],
                            expenses: list[dict[str, Any]], charges: list[dict[str, Any]]) -> None:
    """A template override written before item mode existed (or one that leaves out the
    expenses) would drop a charge in silence and bill less than the invoice: refuse."""
    rendered_charges = [ln for ln in body["item"]["items"] if "orderLine" not in ln]
    rendered_expenses = (body.get("expense") or {}).get("items") or []
    if len(rendered_charges) >= len(charges) and len(rendered_expenses) >= len(expenses):
        return  # an override may add lines of its own
    raise TemplateError(
        f"vendor bill {bill['id']}: the vendorBill template rendered "
        f"{len(rendered_charges)} charge item line(s) and {len(rendered_expenses)} expense "
        f"line(s), but options.bill_shipping / options.bill_tax ask for {len(charges)} and "
        f"{len(expenses)}", record_id=bill["id"],
        hint="render the context's `charges` (item lines without orderLine) and `expenses` as "
             "the connector's vendorBill.json.j2 does, in your template override")


def name_charge_setting(err: RemoteRejectedError, body: dict[str, Any],
                         keys: list[str]) -> RemoteRejectedError:
    """NetSuite's errorPath on a charge line (`keys`: the charges of the lines without an
    orderLine, in order) names the profile's options.bill_<charge>.item in the hint: the
    shared errorPath table cannot tell a charge line's `item` from a PO line's."""
    charge_indexes = [i for i, line in enumerate(body["item"]["items"]) if "orderLine" not in line]
    for index, key in zip(charge_indexes, keys, strict=False):
        path = err.path or ""
        if path == f"item.items[{index}]" or path.startswith(f"item.items[{index}]."):
            return RemoteRejectedError(
                err.message, code=err.code, detail=err.detail, status=err.status,
                path=err.path, record_id=err.record_id,
                hint=(f"NetSuite refused the {key} charge line: check options.bill_{key}.item "
                      "against the item internal ids in your NetSuite account"))
    return err


def shown_amount(amount: Decimal) -> str:
    """A rate as people read it: cents always, more decimals only when it has them."""
    cents = money(amount)
    return f"{cents if cents == amount else amount.normalize()}"
