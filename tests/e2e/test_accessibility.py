"""axe-core (axe-playwright-python, which bundles it: no network) finds 0 violations on every page a
support team uses: the orders list with its saved-view tabs, the shortcuts dialog, an order, an open
action dialog, the audit view, the overview, webhooks and the saved-view pages. On failure the test
prints each violation with the elements and axe's messages."""

import re

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import expect

from tests.e2e.team_shop import SLUG, make_team_shop, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# WCAG 2.0/2.1 A and AA, and axe's best practices (landmarks, one h1, headings in order…).
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]},
    "resultTypes": ["violations"],
}


@pytest.fixture
def shop(db):
    return make_team_shop()


@pytest.fixture(scope="module")
def axe():
    return Axe()


def assert_no_violations(axe, page, what: str) -> None:
    results = axe.run(page, options=AXE_OPTIONS)
    assert results.violations_count == 0, f"{what} ({page.url}):\n{results.generate_report()}"


def test_every_page_has_no_axe_violations(live_server, page, shop, axe):
    sign_in(page, live_server, "admin")
    base = f"{live_server.url}/stores/{SLUG}"
    order = shop["orders"][2]  # processing: every action button is offered

    page.goto(f"{base}/orders/?view=all")
    assert_no_violations(axe, page, "orders list")

    page.goto(f"{base}/orders/?status=confirmed&status=partially_shipped&status=processing&sort=createdAt")
    expect(page.locator('#view-tabs a[aria-current="page"]')).to_have_text("Unfulfilled")
    page.keyboard.press("j")  # a selected row
    assert_no_violations(axe, page, "orders list on a saved view, a row selected")

    page.keyboard.press("?")
    expect(page.get_by_role("dialog", name="Keyboard shortcuts")).to_be_visible()
    assert_no_violations(axe, page, "keyboard shortcuts dialog")
    page.keyboard.press("Escape")

    page.goto(f"{base}/orders/{order.id}/")
    assert_no_violations(axe, page, "order page")

    page.get_by_role("link", name="Mark shipped").click()
    expect(page.locator("#action-dialog")).to_be_visible()
    assert_no_violations(axe, page, "status update dialog")
    page.keyboard.press("Escape")
    page.get_by_role("link", name="Cancel order").click()
    expect(page.locator("#action-dialog")).to_be_visible()
    assert_no_violations(axe, page, "cancel dialog")

    for path, what in [
        ("/audit/", "audit view"),
        ("/", "overview"),
        ("/webhooks/", "webhooks"),
        (f"/webhooks/{shop['endpoint'].id}/", "webhook endpoint and its deliveries"),
        ("/orders/views/", "saved views"),
        ("/orders/views/new/?status=shipped", "new saved view form"),
    ]:
        page.goto(f"{base}{path}")
        assert_no_violations(axe, page, what)

    # a form with errors
    page.get_by_role("button", name="Save view").click()
    expect(page.get_by_role("alert")).to_contain_text(re.compile("not saved|required"))
    assert_no_violations(axe, page, "saved view form with errors")


def test_the_scan_does_find_violations(live_server, page, shop, axe):
    """The 0 above is axe's answer, not a scan that did not run: an unlabelled field is reported."""
    sign_in(page, live_server, "viewer")
    page.evaluate("document.querySelector('#filters').append(document.createElement('input'))")
    results = axe.run(page, options=AXE_OPTIONS)
    assert [v["id"] for v in results.response["violations"]] == ["label"]
