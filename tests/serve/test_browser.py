"""The dashboard in a real browser (headless Chromium through Playwright), as operations
staff use it: find the failed order, read its fix, apply it, retry, run, see it sent; resolve
a waiting shipment with a note; be refused without the token. The screenshots in
docs/dashboard/ are taken by these tests (docs/dashboard.md shows them)."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import pytest

from .conftest import TOKEN, Site, live

pytestmark = pytest.mark.filterwarnings("ignore:Using `httpx`")

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "dashboard"


def _page(browser: Any) -> Any:
    context = browser.new_context(viewport={"width": 1200, "height": 860})
    return context.new_page()


def _shot(page: Any, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)


def _no_secret(page: Any, site: Site) -> None:
    html = page.content()
    for value in site.secrets():
        assert value not in html, page.url


def test_find_fix_retry_and_see_a_failed_order_sent(site: Site, browser: Any) -> None:
    with live(site.app()) as base:
        page = _page(browser)
        page.goto(base + "/")
        section = page.locator("section.pair", has_text="demo · send-orders")
        assert "1 reference" in section.inner_text()
        _no_secret(page, site)
        _shot(page, "overview")

        section.get_by_role("link", name="1 reference").click()
        page.wait_for_url(re.compile(r"/errors\?class=reference"))
        error = page.locator("article.error", has_text="ORD-1004")
        fix = error.locator("p.fix").inner_text()
        assert "create the item in NetSuite with itemid = 'GHOST-404'" in fix
        page.goto(base + "/errors")
        _no_secret(page, site)
        _shot(page, "errors")

        # The fix says what NetSuite lacks: the item. Create it, then retry from the page.
        site.emulator.insert("inventoryItem", {
            "itemId": "GHOST-404", "displayName": "Discontinued gadget",
            "subsidiary": {"id": "1"}, "basePrice": 30.0})
        page.fill("header input[name=by]", "Ann Ops")  # who acts, for the action log
        page.get_by_role("button", name="Save").click()
        assert page.input_value("header input[name=by]") == "Ann Ops"
        error = page.locator("article.error", has_text="ORD-1004")
        error.get_by_role("button", name="Retry").click()
        assert "ORD-1004: queued again" in page.locator(".flash").inner_text()

        page.goto(base + "/")
        page.locator("section.pair", has_text="demo · send-orders") \
            .get_by_role("button", name="Run send-orders now").click()
        assert "send-orders on demo started" in page.locator(".flash").inner_text()

        deadline = time.monotonic() + 20
        while True:
            page.goto(base + "/records/ORD-1004")
            state = page.locator("section.pair", has_text="demo · send-orders")
            if "sent" in state.locator(".status").inner_text():
                break
            assert time.monotonic() < deadline, state.inner_text()
            time.sleep(0.3)
        so = next(r for r in site.emulator.records("salesOrder")
                  if r.get("externalId") == "ORD-1004")
        link = state.get_by_role("link", name=so["id"])  # its NetSuite id, into NetSuite's UI
        assert link.get_attribute("href") == ("https://1234567-sb1.app.netsuite.com/app/"
                                              f"accounting/transactions/salesord.nl?id={so['id']}")
        page.get_by_role("link", name="Preview payload").first.click()
        assert "salesOrder" in page.locator("pre.payload").inner_text()
        assert "Ann Ops" in page.inner_text("main")  # the action log
        _no_secret(page, site)
        _shot(page, "record")

        page.goto(base + "/runs")
        assert page.locator("svg.chart").count() == 2
        assert "Ann Ops" in page.inner_text("main")
        _no_secret(page, site)
        _shot(page, "runs")
    so = [r for r in site.emulator.records("salesOrder") if r.get("externalId") == "ORD-1004"]
    assert len(so) == 1


def test_resolve_a_waiting_shipment_with_a_note(site: Site, browser: Any) -> None:
    with live(site.app()) as base:
        page = _page(browser)
        page.goto(base + "/errors?class=waiting")
        page.fill("header input[name=by]", "Bo")
        page.get_by_role("button", name="Save").click()
        waiting = page.locator("article.error", has_text="SHP-9")
        assert "order is not in NetSuite yet" in page.inner_text("main")
        waiting.locator("input[name=note]").fill("shipped by hand, entered in NetSuite")
        waiting.get_by_role("button", name="Resolve").click()
        assert "SHP-9: marked resolved" in page.locator(".flash").inner_text()
        page.goto(base + "/records/SHP-9")
        text = page.inner_text("main")
        assert "resolved by hand" in text
        assert "shipped by hand, entered in NetSuite" in text
        assert re.search(r"Bo from 127\.0\.0\.1 · resolve", text)


def test_without_the_token_nothing_is_shown_or_done(site: Site, browser: Any) -> None:
    with live(site.app(token=TOKEN)) as base:
        page = _page(browser)
        page.goto(base + "/errors")
        assert page.url.endswith("/login?next=/errors")
        assert "ORD-1004" not in page.content()
        _shot(page, "login")
        refused = page.request.post(base + "/actions/retry",
                                    form={"record_id": "ORD-1004"})
        assert refused.status == 401
        page.fill("input[name=token]", "not-the-token")
        page.get_by_role("button", name="Log in").click()
        assert "that is not the dashboard's token" in page.inner_text("main")
        page.fill("input[name=token]", TOKEN)
        page.get_by_role("button", name="Log in").click()
        page.wait_for_url(base + "/errors")
        assert "ORD-1004" in page.inner_text("main")
        _no_secret(page, site)
        # Logged in, a POST without the form's CSRF token is still refused.
        forged = page.request.post(base + "/actions/retry", form={"record_id": "ORD-1004"})
        assert forged.status == 403 and "CSRF" in forged.text()
