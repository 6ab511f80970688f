"""`flx connections test`: the token, the company, the preferences the flow relies on, and a
read of each entity the flow reads or writes, each failure with its fix."""

from __future__ import annotations

from flx import CheckResult, FlxError, Runtime

from .context import QboContext

ENTITIES = ("Customer", "Item", "Vendor", "SalesReceipt", "Invoice", "PurchaseOrder", "Bill")
# (preference path, why flx needs it, where to switch it on in QuickBooks)
PREFERENCES = (
    ("SalesFormsPrefs.CustomTxnNumbers", "document numbers are the order numbers",
     "Settings > Account and settings > Sales > Sales form content > Custom transaction "
     "numbers"),
    ("SalesFormsPrefs.AllowShipping", "shipping charges and ship dates on sales",
     "Settings > Account and settings > Sales > Sales form content > Shipping"),
    ("SalesFormsPrefs.AllowDiscount", "order discounts",
     "Settings > Account and settings > Sales > Sales form content > Discount"),
    ("VendorAndPurchasesPrefs.TrackingByCustomer", "drop-ship lines name the customer",
     "Settings > Account and settings > Expenses > Bills and expenses > Track expenses and "
     "items by customer"),
)


def check_connection(runtime: Runtime) -> list[CheckResult]:
    try:
        ctx = QboContext.of(runtime)
    except FlxError as err:
        return [CheckResult("settings", False, err.message, err.hint or "")]
    settings = ctx.client.settings
    checks = [CheckResult("settings", True, f"company {settings.realm_id} "
                          f"({settings.environment}), minor version {settings.minor_version}")]
    try:
        ctx.client.tokens.access_token()
        company = ctx.client.company_info()
        checks.append(CheckResult("token and company", True,
                                  f"authorized for {company.get('CompanyName', '?')}"))
        prefs = ctx.client.preferences()
    except FlxError as err:  # refused, unreachable or down: each says its fix
        checks.append(CheckResult("token and company", False, err.message, err.hint or ""))
        return checks
    for path, why, where in PREFERENCES:
        section, key = path.split(".")
        on = bool((prefs.get(section) or {}).get(key))
        checks.append(CheckResult(f"preference {path}", on, why, "" if on else f"turn on {where}"))
    for entity in ENTITIES:
        try:
            ctx.client.count(entity)
            checks.append(CheckResult(f"read {entity}", True, ""))
        except FlxError as err:
            checks.append(CheckResult(f"read {entity}", False, err.message, err.hint or ""))
    return checks
