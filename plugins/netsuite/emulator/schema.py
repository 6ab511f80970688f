"""The record types the emulator knows and the body fields each accepts (REST API Browser
names, camelCase). A field not listed here is an unknown field: ignored with a warning by
default, refused under `X-NetSuite-PropertyNameValidation: Error`, exactly like NetSuite."""

from __future__ import annotations

from dataclasses import dataclass

# Field kinds. Values are checked by validate.py; business rules live with each record type.
TEXT, BOOL, INT, QTY, MONEY, RATE, NUMBER, DATE, EMAIL = (
    "text", "bool", "int", "qty", "money", "rate", "number", "date", "email")
REF, CHOICE, ADDRESS, SUBLIST, KEY = "ref", "choice", "address", "sublist", "key"


@dataclass(frozen=True)
class F:
    kind: str
    targets: tuple[str, ...] = ()  # REF: record types (or "item"); CHOICE: allowed ids
    readonly: bool = False
    bare_string: bool = False  # CHOICE: also accept "B" instead of {"id": "B"}
    sublist: str = ""  # SUBLIST: key into LINES


def ref(*targets: str) -> F:
    return F(REF, targets)


RO = F(TEXT, readonly=True)

ADDRESS_FIELDS: dict[str, F] = {
    "addressee": F(TEXT), "attention": F(TEXT), "addr1": F(TEXT), "addr2": F(TEXT),
    "addr3": F(TEXT), "city": F(TEXT), "state": F(TEXT), "zip": F(TEXT),
    "country": ref("country"), "addrPhone": F(TEXT), "override": F(BOOL), "addrText": RO,
}

_TRAN_COMMON: dict[str, F] = {
    "id": RO, "externalId": F(TEXT), "tranId": F(TEXT), "tranDate": F(DATE), "memo": F(TEXT),
    "subsidiary": ref("subsidiary"), "customForm": ref("customForm"),
    "currency": ref("currency"), "exchangeRate": F(NUMBER), "department": ref("department"),
    "class": ref("classification"), "location": ref("location"), "status": RO, "total": RO,
    "subtotal": RO, "createdDate": RO, "lastModifiedDate": RO,
}
_LINE_COMMON: dict[str, F] = {
    "line": F(KEY), "department": ref("department"), "class": ref("classification"),
    "location": ref("location"), "description": F(TEXT),
}

LINES: dict[str, dict[str, F]] = {
    "salesOrder.item": {
        **_LINE_COMMON, "item": ref("item"), "quantity": F(QTY), "rate": F(RATE),
        "amount": F(MONEY), "price": ref("priceLevel"),
        "createPo": F(CHOICE, ("DropShip", "SpecOrd")), "poVendor": ref("vendor"),
        "poRate": F(RATE), "isClosed": F(BOOL), "quantityFulfilled": RO,
        "quantityBilled": RO, "quantityCommitted": RO, "createdPo": RO, "isOpen": RO,
    },
    "purchaseOrder.item": {
        **_LINE_COMMON, "item": ref("item"), "quantity": F(QTY), "rate": F(RATE),
        "amount": F(MONEY), "isClosed": F(BOOL), "quantityBilled": RO,
        "quantityReceived": RO,
    },
    "itemFulfillment.item": {
        "orderLine": F(INT), "quantity": F(QTY), "itemReceive": F(BOOL),
        "location": ref("location"), "item": ref("item"), "description": F(TEXT),
        "line": RO, "quantityRemaining": RO, "createdPo": RO,
    },
    "itemFulfillment.package": {
        "packageTrackingNumber": F(TEXT), "packageTrackingNumberReturn": F(TEXT),
        "packageWeight": F(NUMBER), "packageDescr": F(TEXT), "packageCartonNumber": F(TEXT),
    },
    # Carrier-integration sublists: the same fields, suffixed (netsuite-rest.md §4.2, §10.6).
    "itemFulfillment.packageUps": {"packageTrackingNumberUps": F(TEXT),
                                   "packageWeightUps": F(NUMBER), "packageDescrUps": F(TEXT)},
    "itemFulfillment.packageFedex": {"packageTrackingNumberFedEx": F(TEXT),
                                     "packageWeightFedEx": F(NUMBER)},
    "itemFulfillment.packageUsps": {"packageTrackingNumberUsps": F(TEXT),
                                    "packageWeightUsps": F(NUMBER), "packageDescrUsps": F(TEXT)},
    "vendorBill.item": {
        **_LINE_COMMON, "orderLine": F(INT), "orderDoc": ref("purchaseOrder"),
        "item": ref("item"), "quantity": F(QTY), "rate": F(RATE), "amount": F(MONEY),
        "line": RO,
    },
    "vendorBill.expense": {
        **_LINE_COMMON, "account": ref("account"), "amount": F(MONEY), "memo": F(TEXT),
        "line": RO,
    },
    "customer.addressBook": {
        "id": F(KEY), "label": F(TEXT), "defaultShipping": F(BOOL), "defaultBilling": F(BOOL),
        "isResidential": F(BOOL), "addressBookAddress": F(ADDRESS),
    },
}


def _sub(name: str) -> F:
    return F(SUBLIST, sublist=name)


_ENTITY_COMMON: dict[str, F] = {
    "id": RO, "externalId": F(TEXT), "entityId": F(TEXT), "isPerson": F(BOOL),
    "firstName": F(TEXT), "middleName": F(TEXT), "lastName": F(TEXT), "salutation": F(TEXT),
    "companyName": F(TEXT), "email": F(EMAIL), "phone": F(TEXT), "altPhone": F(TEXT),
    "mobilePhone": F(TEXT), "fax": F(TEXT), "subsidiary": ref("subsidiary"),
    "currency": ref("currency"), "terms": ref("term"), "isInactive": F(BOOL),
    "comments": F(TEXT), "url": F(TEXT), "defaultAddress": RO, "dateCreated": RO,
    "lastModifiedDate": RO,
}
_ITEM_FIELDS: dict[str, F] = {
    "id": RO, "externalId": F(TEXT), "itemId": F(TEXT), "displayName": F(TEXT),
    "description": F(TEXT), "purchaseDescription": F(TEXT), "isDropShipItem": F(BOOL),
    "isSpecialOrderItem": F(BOOL), "vendor": ref("vendor"), "cost": F(RATE),
    "basePrice": F(RATE), "upcCode": F(TEXT), "subsidiary": ref("subsidiary"),
    "includeChildren": F(BOOL), "isInactive": F(BOOL), "department": ref("department"),
    "class": ref("classification"), "location": ref("location"),
}
_NAMED: dict[str, F] = {"id": RO, "name": F(TEXT), "externalId": F(TEXT),
                        "isInactive": F(BOOL)}

FIELDS: dict[str, dict[str, F]] = {
    "customer": {
        **_ENTITY_COMMON, "category": ref("customerCategory"), "customForm": ref("customForm"),
        "entityStatus": ref("customerStatus"), "priceLevel": ref("priceLevel"),
        "salesRep": ref("employee"), "parent": ref("customer"), "taxable": F(BOOL),
        "addressBook": _sub("customer.addressBook"),
    },
    "vendor": {**_ENTITY_COMMON, "legalName": F(TEXT), "printOnCheckAs": F(TEXT),
               "accountNumber": F(TEXT)},
    "salesOrder": {
        **_TRAN_COMMON, "entity": ref("customer"), "otherRefNum": F(TEXT),
        "orderStatus": F(CHOICE, ("A", "B"), bare_string=True), "shipMethod": ref("shipItem"),
        "shippingCost": F(MONEY), "email": F(EMAIL), "isMultiShipTo": F(BOOL),
        "shipDate": F(DATE), "terms": ref("term"), "salesRep": ref("employee"),
        "discountItem": ref("item"), "discountRate": F(MONEY),
        "shippingAddress": F(ADDRESS), "billingAddress": F(ADDRESS), "shipComplete": F(BOOL),
        "toBeEmailed": F(BOOL), "toBePrinted": F(BOOL), "linkedTrackingNumbers": RO,
        "item": _sub("salesOrder.item"),
    },
    "purchaseOrder": {
        **_TRAN_COMMON, "entity": ref("vendor"), "otherRefNum": F(TEXT),
        "shipTo": ref("customer"), "shippingAddress": F(ADDRESS), "dueDate": F(DATE),
        "employee": ref("employee"), "terms": ref("term"), "createdFrom": RO,
        "trackingNumbers": RO, "item": _sub("purchaseOrder.item"),
    },
    "itemFulfillment": {
        "id": RO, "externalId": F(TEXT), "tranId": F(TEXT), "tranDate": F(DATE),
        "memo": F(TEXT), "customForm": ref("customForm"),
        "shipStatus": F(CHOICE, ("A", "B", "C")), "shipMethod": ref("shipItem"),
        "shippingCost": F(MONEY), "createdFrom": RO, "entity": RO, "subsidiary": RO,
        "status": RO, "createdDate": RO, "lastModifiedDate": RO,
        "item": _sub("itemFulfillment.item"), "package": _sub("itemFulfillment.package"),
        "packageUps": _sub("itemFulfillment.packageUps"),
        "packageFedex": _sub("itemFulfillment.packageFedex"),
        "packageUsps": _sub("itemFulfillment.packageUsps"),
    },
    "vendorBill": {
        **_TRAN_COMMON, "dueDate": F(DATE), "account": ref("account"), "terms": ref("term"),
        "createdFrom": RO, "entity": RO, "userTotal": RO,
        "item": _sub("vendorBill.item"), "expense": _sub("vendorBill.expense"),
    },
    "inventoryItem": _ITEM_FIELDS,
    "nonInventorySaleItem": _ITEM_FIELDS,
    "nonInventoryResaleItem": _ITEM_FIELDS,
    "discountItem": _ITEM_FIELDS,
    "serviceSaleItem": _ITEM_FIELDS,
    "otherChargeSaleItem": _ITEM_FIELDS,
}

TRANSACTIONS = ("salesOrder", "purchaseOrder", "itemFulfillment", "vendorBill", "cashSale")
ENTITIES = ("customer", "vendor", "employee")
ITEMS = ("inventoryItem", "nonInventorySaleItem", "nonInventoryResaleItem", "discountItem",
         "serviceSaleItem", "otherChargeSaleItem", "shipItem")
SALE_ITEMS = ITEMS[:6]  # what an item line may reference ("item" targets); not ship methods
LISTS = ("subsidiary", "location", "currency", "department", "classification",
         "customerCategory", "customerStatus", "customForm", "term", "priceLevel", "account")
ALL_TYPES = TRANSACTIONS + ENTITIES + ITEMS + LISTS
# Types a client may create with a plain POST (the rest are seed data or transform results).
CREATABLE = ("customer", "vendor", "salesOrder", "purchaseOrder", *SALE_ITEMS)

# SuiteQL's names for record types.
SUITEQL_TRAN_TYPE = {"salesOrder": "SalesOrd", "purchaseOrder": "PurchOrd",
                     "itemFulfillment": "ItemShip", "vendorBill": "VendBill",
                     "cashSale": "CashSale"}
SUITEQL_ITEM_TYPE = {"inventoryItem": "InvtPart", "nonInventorySaleItem": "NonInvtPart",
                     "nonInventoryResaleItem": "NonInvtPart", "discountItem": "Discount",
                     "serviceSaleItem": "Service", "otherChargeSaleItem": "OthCharge",
                     "shipItem": "ShipItem"}

_BY_LOWER = {name.lower(): name for name in ALL_TYPES}


def canonical_type(name: str) -> str | None:
    """Record types in URLs are case-insensitive (NetSuite's Location headers are lowercase)."""
    return _BY_LOWER.get(name.lower())


def family(record_type: str) -> str:
    """Internal ids are unique within a family (all transactions share one sequence...)."""
    if record_type in TRANSACTIONS:
        return "transaction"
    if record_type in ENTITIES:
        return "entity"
    if record_type in ITEMS:
        return "item"
    return record_type


def expand_targets(targets: tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for target in targets:
        out.extend(SALE_ITEMS if target == "item" else (target,))
    return tuple(out)


_LABELS = {
    "entity": "Customer", "subsidiary": "Subsidiary", "item": "Item", "quantity": "Quantity",
    "itemId": "Item Name/Number", "companyName": "Company Name", "firstName": "First Name",
    "lastName": "Last Name", "account": "Account", "amount": "Amount", "orderLine": "Order Line",
}


def label(name: str) -> str:
    """The UI label NetSuite uses in "Please enter value(s) for:" messages."""
    return _LABELS.get(name, name)
