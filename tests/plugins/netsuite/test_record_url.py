"""NetSuiteConnector.record_url: links into NetSuite's UI for the ids a run stores."""

from __future__ import annotations

import pytest

from flx.model import Connection
from flx_netsuite.connector import netsuite_connector


def connection(**settings: str) -> Connection:
    return Connection("prod", "netsuite", {"account_id": "1234567_SB1", **settings})


@pytest.mark.parametrize(("record_type", "page"), [
    ("sales_order", "app/accounting/transactions/salesord.nl"),
    ("item_fulfillment", "app/accounting/transactions/itemship.nl"),
    ("vendor_bill", "app/accounting/transactions/vendbill.nl"),
    ("purchase_order", "app/accounting/transactions/purchord.nl"),
    ("cash_sale", "app/accounting/transactions/cashsale.nl"),
    ("customer", "app/common/entity/custjob.nl"),
])
def test_links_use_the_account_host_and_the_record_page(record_type: str, page: str) -> None:
    url = netsuite_connector().record_url(record_type, "812", connection())
    assert url == f"https://1234567-sb1.app.netsuite.com/{page}?id=812"


def test_no_link_without_a_page_an_id_or_a_netsuite_host() -> None:
    ns = netsuite_connector()
    assert ns.record_url("lines", "812", connection()) is None  # not a record
    assert ns.record_url("sales_order", "812/../x", connection()) is None
    emulator = connection(base_url="http://127.0.0.1:8765")
    assert ns.record_url("sales_order", "812", emulator) is None  # the emulator has no UI
    real = connection(base_url="https://1234567-sb1.suitetalk.api.netsuite.com")
    assert ns.record_url("sales_order", "7", real) == (
        "https://1234567-sb1.app.netsuite.com/app/accounting/transactions/salesord.nl?id=7")
    assert ns.record_url("sales_order", "7", connection(account_id="not an id")) is None
