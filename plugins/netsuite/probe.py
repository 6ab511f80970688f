"""`flx connections test NAME --deep`: learn how the account behaves where netsuite-rest.md
§10 is UNCERTAIN, before the first real shipment or bill. Every request is a read: records are
read, and transforms are asked for the record they would create without saving it
(`type=create-form`); the connection test runs under the dry-run guard, which refuses any
other write. Each finding names the profile line that fits the account."""

from __future__ import annotations

from typing import Any

from flx import CheckResult, FlxError
from flx_netsuite.client import NetSuiteClient

# Fields that exist only with an account feature: (record type, sublist or "", field) ->
# (the feature, the profile line that avoids sending it).
FEATURE_FIELDS = {
    ("itemFulfillment", "", "shipStatus"): (
        "Pick, Pack and Ship", '"omit_fields": ["shipStatus"] under options'),
    ("salesOrder", "item", "createPo"): (
        "Drop Shipments & Special Orders",
        '"dropship_mode": "explicit_po" and "omit_fields": ["createPo", "poVendor", "poRate"] '
        "under options"),
}


def deep_checks(client: NetSuiteClient, profile: dict[str, Any]) -> list[CheckResult]:
    options = profile.get("options") or {}
    checks = _features(client, options)
    po = _newest_dropship_po(client)
    if po is None:
        checks.append(CheckResult(
            "drop-ship fulfilment and billing", True,
            "not probed: the account has no drop-ship Purchase Order yet (send one order with "
            "a dropship line, then run this again)"))
        return checks
    checks.append(_fulfillment(client, po, options))
    checks += _bills(client, po, options)
    return checks


def _features(client: NetSuiteClient, options: dict[str, Any]) -> list[CheckResult]:
    omitted = set(options.get("omit_fields") or ())
    missing: list[str] = []
    fixes: list[str] = []
    for record_type in sorted({key[0] for key in FEATURE_FIELDS}):
        try:
            schema = client.metadata(record_type)
        except FlxError as err:
            return [CheckResult("account features (record metadata)", True,
                                f"not checked: NetSuite gave no metadata for {record_type} "
                                f"({err.message})")]
        props = schema.get("properties") or {}
        for (rtype, sublist, field), (feature, fix) in FEATURE_FIELDS.items():
            if rtype != record_type:
                continue
            where = props
            if sublist:
                where = ((((props.get(sublist) or {}).get("properties") or {}).get("items") or {})
                         .get("items") or {}).get("properties") or {}
            if field not in where and field not in omitted:
                missing.append(f"{rtype}.{sublist + '.' if sublist else ''}{field} "
                               f"({feature} is off)")
                fixes.append(fix)
    if missing:
        return [CheckResult("account features (record metadata)", False,
                            "fields flx sends that this account lacks: " + "; ".join(missing),
                            "in the mapping profile, set " + "; and ".join(fixes))]
    return [CheckResult("account features (record metadata)", True,
                        "every field flx sends exists on this account (or is omitted)")]


def _newest_dropship_po(client: NetSuiteClient) -> dict[str, Any] | None:
    rows = client.suiteql("SELECT id FROM transaction WHERE type = 'PurchOrd' ORDER BY id DESC",
                          page_size=20, max_rows=20)
    for row in rows:
        po = client.get("purchaseOrder", row["id"], expand=True)
        if po.get("createdFrom"):
            return po
    return None


def _lines(record: dict[str, Any]) -> list[dict[str, Any]]:
    return ((record.get("item") or {}).get("items")) or []


def _describe(lines: list[dict[str, Any]], number_field: str) -> str:
    return ", ".join(f"line {ln.get(number_field)} {(ln.get('item') or {}).get('refName', '')}"
                     f" x {ln.get('quantity')}".replace("  ", " ") for ln in lines) or "none"


def _fulfillment(client: NetSuiteClient, po: dict[str, Any],
                 options: dict[str, Any]) -> CheckResult:
    """Which Sales Order lines NetSuite would put on a fulfillment, and whether drop-ship lines
    go through the Sales Order or the Purchase Order (dropship_fulfillment)."""
    name = "drop-ship fulfilment (prefilled Item Fulfillment, not saved)"
    so_id = str(po["createdFrom"]["id"])
    so = client.get("salesOrder", so_id, expand=True)
    label = f"Sales Order {so.get('tranId') or so_id}"
    dropship = {str(ln.get("line")) for ln in _lines(so) if ln.get("createdPo")}
    chosen = options.get("dropship_fulfillment", "sales_order")
    try:
        via_so = _lines(client.prefilled("salesOrder", so_id, "itemFulfillment", {}))
    except FlxError as err:
        return CheckResult(name, True, f"not probed: NetSuite would fulfil nothing on {label} "
                                       f"({err.message})")
    on_so = [ln for ln in via_so if str(ln.get("orderLine")) in dropship]
    detail = f"{label} would be fulfilled with {_describe(via_so, 'orderLine')}"
    if on_so:
        reading = "sales_order"
    else:
        try:
            via_po = _lines(client.prefilled("purchaseOrder", str(po["id"]), "itemFulfillment",
                                             {}))
            reading = "purchase_order"
            detail += (f"; drop-ship lines go through Purchase Order {po.get('tranId')}: "
                       f"{_describe(via_po, 'orderLine')}")
        except FlxError as err:
            return CheckResult(name, False, f"{detail}; its drop-ship lines are on neither its "
                               f"fulfillment nor its Purchase Order's ({err.message})",
                               "fulfil the drop-ship lines in NetSuite by hand and report it; "
                               "flx cannot fulfil them on this account")
    if reading != chosen:
        return CheckResult(name, False, f"{detail}: this account fulfils drop-ship lines "
                           f"through the {reading.replace('_', ' ')}, not the "
                           f"{chosen.replace('_', ' ')}",
                           f'set "dropship_fulfillment": "{reading}" under options in the '
                           "mapping profile")
    return CheckResult(name, True, f"{detail} (options.dropship_fulfillment = {chosen})")


def _bills(client: NetSuiteClient, po: dict[str, Any],
           options: dict[str, Any]) -> list[CheckResult]:
    """Whether the PO may be billed before receipt, and whether a zero-quantity line is
    kept off a bill (bill_timing, bill_strategy)."""
    label = f"Purchase Order {po.get('tranId') or po['id']}"
    lines = [ln for ln in _lines(po)
             if float(ln.get("quantity") or 0) > float(ln.get("quantityBilled") or 0)]
    if not lines:
        return [CheckResult("vendor bills (prefilled Vendor Bill, not saved)", True,
                            f"not probed: {label} is billed in full")]
    unreceived = [ln for ln in lines if float(ln.get("quantityReceived") or 0)
                  < float(ln.get("quantity") or 0)]
    out = []
    timing = options.get("bill_timing", "on_invoice")
    if unreceived:
        name = "billing before receipt (prefilled Vendor Bill, not saved)"
        try:
            client.prefilled("purchaseOrder", str(po["id"]), "vendorBill", {"item": {"items": [
                {"orderLine": ln["line"], "quantity": 1} for ln in unreceived[:1]]}})
            out.append(CheckResult(name, True, f"{label} may be billed before it is received"))
        except FlxError as err:
            ok = timing == "after_shipment"
            out.append(CheckResult(
                name, ok, f"NetSuite refuses billing {label} before it is received or marked "
                f"shipped ({err.message})" + (" (options.bill_timing = after_shipment)"
                                              if ok else ""),
                "" if ok else 'set "bill_timing": "after_shipment" under options in the '
                "mapping profile, so a bill waits for its shipment"))
            return out
    name = "zero-quantity bill lines (prefilled Vendor Bill, not saved)"
    strategy = options.get("bill_strategy", "zero_quantity_lines")
    body = {"item": {"items": [{"orderLine": ln["line"], "quantity": 0 if i == 0 else 1}
                               for i, ln in enumerate(lines)]}}
    try:
        bill = client.prefilled("purchaseOrder", str(po["id"]), "vendorBill", body)
        kept = {str(ln.get("orderLine")) for ln in _lines(bill)}
        off = str(lines[0]["line"]) not in kept
        out.append(CheckResult(name, off, f"a line sent with quantity 0 is "
                               f"{'kept off' if off else 'put on'} the bill",
                               "" if off else 'set "bill_strategy": "replace_lines" under '
                               "options in the mapping profile"))
    except FlxError as err:
        if len(lines) == 1 and "at least one line" in err.message:
            out.append(CheckResult(name, True, "a line sent with quantity 0 is kept off the "
                                   "bill (the Purchase Order has one open line)"))
        else:
            ok = strategy == "replace_lines"
            out.append(CheckResult(name, ok, f"NetSuite refuses a bill line with quantity 0 "
                                   f"({err.message})",
                                   "" if ok else 'set "bill_strategy": "replace_lines" under '
                                   "options in the mapping profile"))
    return out
