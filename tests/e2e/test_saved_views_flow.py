"""Saved-view tabs and the list's keyboard shortcuts, in real Chromium.

Support picks a tab, the list filters; ticking another status leaves the tab; a default view is set and
reopening the list applies it; "All orders" stays one click away. An admin saves the current filters as a
shared view. Every shortcut: `/`, `j`, `k`, Enter, `?` and Escape, and keys typed into a field are text.
"""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import SCREENSHOTS
from tests.e2e.team_shop import SLUG, make_team_shop, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def shop(db):
    return make_team_shop()


def rows(page):
    return page.locator("#orders-table a.order-link").all_inner_texts()


def tab(page, name):
    return page.get_by_role("navigation", name="Saved views").get_by_role("link", name=re.compile(f"^{name}"))


def current_tab(page):
    return page.locator('#view-tabs a[aria-current="page"]')


def test_support_picks_a_tab_and_makes_it_the_default(live_server, page, shop):
    sign_in(page, live_server, "support")
    page.wait_for_url(re.compile(rf"/stores/{SLUG}/orders/$"))
    expect(current_tab(page)).to_have_text(re.compile("^All orders"))
    assert len(rows(page)) == 10

    # pick a tab: the list filters (oldest first), the tab is marked, the filters show its statuses
    tab(page, "Unfulfilled").click()
    page.wait_for_url(
        re.compile(r"status=confirmed&status=partially_shipped&status=processing&sort=createdAt$")
    )
    expect(current_tab(page)).to_have_text("Unfulfilled")
    assert rows(page) == ["ORD-000002", "ORD-000003", "ORD-000004", "ORD-000009"]
    expect(page.get_by_label("Processing", exact=True)).to_be_checked()
    expect(page.locator("#view-tabs .view-description")).to_contain_text("Paid orders still to ship")
    page.screenshot(path=str(SCREENSHOTS / "saved-view-tabs.png"), caret="initial")

    # another status ticked (an HTMX swap): the list is no longer that view, no tab is current
    page.get_by_label("Shipped", exact=True).check()
    page.wait_for_url(re.compile(r"status=shipped"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(5)
    expect(current_tab(page)).to_have_count(0)
    # and unticked again: the tab is current again
    page.get_by_label("Shipped", exact=True).uncheck()
    expect(page.locator("#orders-table a.order-link")).to_have_count(4)
    expect(current_tab(page)).to_have_text("Unfulfilled")

    # make Unpaid the default
    tab(page, "Unpaid").click()
    page.wait_for_url(re.compile(r"status=pending&payment_status=unpaid"))
    assert rows(page) == ["ORD-000001", "ORD-000008"]
    page.get_by_role("button", name="Make “Unpaid” my default").click()
    expect(page.locator(".messages")).to_contain_text("“Unpaid” is now the view your orders list opens on")
    expect(current_tab(page)).to_have_text(re.compile(r"^Unpaid\s+your default$"))
    expect(page.get_by_role("button", name=re.compile("my default"))).to_have_count(0)

    # reopening the list (the Orders link, then a fresh visit) applies it
    page.get_by_role("navigation", name="Store").get_by_role("link", name="Overview").click()
    page.wait_for_url(re.compile(rf"/stores/{SLUG}/$"))
    page.get_by_role("navigation", name="Store").get_by_role("link", name="Orders").click()
    page.wait_for_url(re.compile(r"/orders/\?status=pending&payment_status=unpaid&sort=createdAt$"))
    expect(current_tab(page)).to_have_text(re.compile("^Unpaid"))
    assert rows(page) == ["ORD-000001", "ORD-000008"]
    page.goto(f"{live_server.url}/stores/{SLUG}/orders/")
    expect(current_tab(page)).to_have_text(re.compile("^Unpaid"))

    # All orders is one click away, and can be the default again
    tab(page, "All orders").click()
    page.wait_for_url(re.compile(r"/orders/\?view=all$"))
    assert len(rows(page)) == 10
    page.get_by_role("button", name="Make “All orders” my default").click()
    page.goto(f"{live_server.url}/stores/{SLUG}/orders/")
    expect(current_tab(page)).to_have_text(re.compile("^All orders"))
    assert page.url.endswith(f"/stores/{SLUG}/orders/")

    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors


def test_admin_saves_the_current_filters_as_a_shared_view(live_server, page, shop):
    sign_in(page, live_server, "admin")
    page.goto(f"{live_server.url}/stores/{SLUG}/orders/")
    page.get_by_label("Shipped", exact=True).check()
    page.wait_for_url(re.compile(r"status=shipped"))
    page.get_by_label("Delivered", exact=True).check()
    page.wait_for_url(re.compile(r"status=delivered"))

    page.get_by_role("link", name="Save as view").click()
    page.wait_for_url(re.compile(r"/orders/views/new/\?"))
    expect(page.get_by_label("Shipped", exact=True)).to_be_checked()
    expect(page.get_by_label("Delivered", exact=True)).to_be_checked()
    page.get_by_label("Name").fill("On the road")
    page.get_by_label("Description").fill("Shipped or delivered: answer “where is my order?” calls.")
    page.get_by_role("button", name="Save view").click()

    page.wait_for_url(re.compile(r"/orders/\?status=delivered&status=shipped$"))
    expect(current_tab(page)).to_have_text("On the road")
    expect(page.locator("#view-tabs .view-description")).to_contain_text("where is my order?")
    assert rows(page) == ["ORD-000006", "ORD-000005"]

    # manage: move it first
    page.get_by_role("link", name="Manage views").click()
    page.get_by_role("button", name="Move left On the road").click()
    page.get_by_role("button", name="Move left On the road").click()
    page.get_by_role("button", name="Move left On the road").click()
    page.screenshot(path=str(SCREENSHOTS / "saved-views-manage.png"), full_page=True, caret="initial")
    page.get_by_role("link", name="Orders", exact=True).first.click()
    names = page.locator("#view-tabs a.tab").all_inner_texts()
    assert [n.split("\n")[0].strip() for n in names][:2] == ["All orders", "On the road"]


def test_every_keyboard_shortcut_on_the_list(live_server, page, shop):
    sign_in(page, live_server, "viewer")
    page.wait_for_url(re.compile(rf"/stores/{SLUG}/orders/$"))
    search = page.locator("#id_search")
    row_links = page.locator("#orders-table tbody a.order-link")
    current_row = page.locator("#orders-table tbody tr.row-current")

    # `/` focuses the search box and is not typed into it
    page.keyboard.press("/")
    expect(search).to_be_focused()
    expect(search).to_have_value("")

    # keys typed into a field are text, not shortcuts
    platform = page.locator("#id_platform")
    platform.focus()
    page.keyboard.type("jk?/")
    expect(platform).to_have_value("jk?/")
    expect(current_row).to_have_count(0)
    expect(page.locator("#shortcuts-dialog")).to_be_hidden()
    platform.fill("")

    # a ticked status checkbox is not a text field: `j` selects the first row, then the next; `k` goes back
    page.get_by_label("Confirmed", exact=True).check()
    page.wait_for_url(re.compile(r"status=confirmed"))
    expect(row_links).to_have_count(2)
    page.get_by_label("Confirmed", exact=True).uncheck()
    expect(row_links).to_have_count(10)
    expect(page.get_by_label("Confirmed", exact=True)).to_be_focused()
    page.keyboard.press("j")
    expect(row_links.nth(0)).to_be_focused()
    expect(current_row).to_have_count(1)
    expect(current_row.locator("a.order-link")).to_have_text("ORD-000010")
    page.keyboard.press("j")
    page.keyboard.press("j")
    expect(row_links.nth(2)).to_be_focused()
    page.keyboard.press("k")
    expect(row_links.nth(1)).to_be_focused()
    expect(current_row.locator("a.order-link")).to_have_text("ORD-000009")

    # `?` opens the shortcuts dialog over the selected row; Escape closes it and the row keeps the focus
    page.keyboard.press("?")
    dialog = page.get_by_role("dialog", name="Keyboard shortcuts")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button", name="Close")).to_be_focused()
    listed = [" ".join(t.split()) for t in dialog.locator(".shortcut-list > div").all_inner_texts()]
    assert listed == [
        "/ Search orders",
        "j Next order in the list",
        "k Previous order in the list",
        "Enter Open the selected order",
        "? Show these shortcuts",
        "Esc Close this dialog",
    ]
    page.screenshot(path=str(SCREENSHOTS / "keyboard-shortcuts.png"), caret="initial")
    page.keyboard.press("j")  # no row moves under an open dialog
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    expect(row_links.nth(1)).to_be_focused()

    # the visible button opens the same dialog
    page.get_by_role("button", name="Keyboard shortcuts").click()
    expect(dialog).to_be_visible()
    dialog.get_by_role("button", name="Close").click()
    expect(dialog).to_be_hidden()

    # `k` goes on from the selected row (the focus was on the button), Enter opens that order
    page.keyboard.press("k")
    expect(row_links.nth(0)).to_be_focused()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/(\?from=.*)?$"))  # the list's context rides along
    expect(page.locator("h1")).to_contain_text("ORD-000010")

    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors
