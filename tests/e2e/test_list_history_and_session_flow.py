"""Issue 12 in Chromium: Back from an order to the filtered list, the list's times in the store's zone,
one request per search edit, and a session that expires while a dialog is open."""

import re
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from playwright.sync_api import expect

from dashboard.models import Membership, StoreConnection
from orders.auth import api_key_create
from tests.factories import CustomerFactory, StoreFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-123"
LIST = re.compile(r"/stores/ny-apparel/orders/(\?.*)?")
ORDER_PAGE = re.compile(r"/stores/ny-apparel/orders/[0-9a-f-]{36}/")


@pytest.fixture
def shop(db):
    """A New York store (the API's store and the dashboard's connection alike) with Robert Martin's
    orders and others; ORD-000001 was placed at 23:38 New York time, already the next day in UTC."""
    store = StoreFactory(name="NY Apparel", currency="USD", timezone="America/New_York")
    connection = StoreConnection(name=store.name, slug="ny-apparel", timezone=store.timezone)
    connection.set_api_key(api_key_create(store=store, name="Dashboard").plaintext)
    connection.save()
    user = get_user_model().objects.create_user("ana@demo.test", "ana@demo.test", PASSWORD)
    Membership.objects.create(user=user, store=connection, role="admin")
    robert = CustomerFactory(store=store, first_name="Robert", last_name="Martin", email="rm@example.com")
    other = CustomerFactory(store=store, first_name="Giulia", last_name="Rossi", email="gr@example.com")
    late = make_order(
        store, status="delivered", customer=robert, created_at=datetime(2026, 11, 29, 4, 38, tzinfo=UTC)
    )
    for day, (customer, status) in enumerate(
        [(robert, "delivered"), (robert, "shipped"), (other, "delivered"), (other, "pending")], start=1
    ):
        make_order(
            store, status=status, customer=customer, created_at=datetime(2026, 11, day, 15, tzinfo=UTC)
        )
    return {"late": late}


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("ana@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(LIST)


def filtered(search: str | None = None, *statuses: str):
    """A wait_for_url predicate: the list URL with exactly this search and these statuses (any order)."""

    def matches(url: str) -> bool:
        parts = urlsplit(url)
        query = parse_qs(parts.query)
        return (
            LIST.search(parts.path) is not None
            and query.get("search", [None])[0] == search
            and sorted(query.get("status", [])) == sorted(statuses)
        )

    return matches


def rows(page):
    return page.locator("#orders-table a.order-link").all_inner_texts()


def test_back_from_an_order_shows_the_full_list_with_the_same_filters(live_server, page, shop):
    sign_in(page, live_server)
    # given: a search and a ticked status
    page.locator("#id_search").press_sequentially("Robert Martin")  # typed
    page.wait_for_url(filtered("Robert Martin"))
    page.get_by_label("Delivered", exact=True).check()
    page.wait_for_url(filtered("Robert Martin", "delivered"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(2)
    listed = rows(page)
    # when: open an order, then Back
    page.get_by_role("link", name=listed[0]).click()
    page.wait_for_url(ORDER_PAGE)
    page.go_back()
    page.wait_for_url(filtered("Robert Martin", "delivered"))
    # then: the whole page (header, filters), the filters as in the URL, the same rows, not busy
    expect(page.get_by_role("navigation", name="Store")).to_be_visible()
    expect(page.locator("#id_search")).to_have_value("Robert Martin")
    expect(page.get_by_label("Delivered", exact=True)).to_be_checked()
    expect(page.get_by_label("Shipped", exact=True)).not_to_be_checked()
    expect(page.locator("#orders-table a.order-link")).to_have_count(2)
    assert rows(page) == listed
    expect(page.locator("#orders-table")).not_to_have_attribute("aria-busy", "true")
    # and the next tick keeps the search
    page.get_by_label("Shipped", exact=True).check()
    page.wait_for_url(filtered("Robert Martin", "delivered", "shipped"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(3)


def test_back_within_the_list_restores_the_filters_of_that_url(live_server, page, shop):
    sign_in(page, live_server)
    page.get_by_label("Delivered", exact=True).check()
    page.wait_for_url(filtered(None, "delivered"))
    page.get_by_label("Pending", exact=True).check()
    page.wait_for_url(filtered(None, "delivered", "pending"))
    # when
    page.go_back()
    page.wait_for_url(filtered(None, "delivered"))
    # then: the boxes say what the URL says
    expect(page.get_by_label("Delivered", exact=True)).to_be_checked()
    expect(page.get_by_label("Pending", exact=True)).not_to_be_checked()
    expect(page.locator("#orders-table a.order-link")).to_have_count(3)
    expect(page.locator("#orders-table")).not_to_have_attribute("aria-busy", "true")


def test_list_time_equals_the_order_page_time_in_the_stores_zone(live_server, page, shop):
    sign_in(page, live_server)
    late = shop["late"]
    row = page.locator("#orders-table tr", has=page.get_by_role("link", name=late.display_number))
    listed = row.locator("time").inner_text()
    # when
    page.get_by_role("link", name=late.display_number).click()
    page.wait_for_url(ORDER_PAGE)
    # then
    on_page = page.locator(".order-head dt:text-is('Created') + dd time").inner_text()
    assert listed == "Nov 28, 2026 23:38"
    assert on_page == "Nov 28, 2026 23:38 EST"


def test_pasted_search_asks_once_and_a_tick_after_typing_adds_one_history_entry(live_server, page, shop):
    sign_in(page, live_server)
    asked = []
    page.on("request", lambda r: asked.append(r.url) if r.headers.get("hx-request") else None)
    # when: text is pasted (an `input` event, no key pressed)
    page.locator("#id_search").fill("Rossi")
    # then: it is searched without Enter or leaving the box, once
    page.wait_for_url(filtered("Rossi"), timeout=5_000)
    expect(page.locator("#orders-table a.order-link")).to_have_count(2)
    assert len(asked) == 1
    # when: a box is ticked right after typing
    entries = page.evaluate("history.length")
    page.get_by_label("Pending", exact=True).check()
    page.wait_for_url(filtered("Rossi", "pending"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(1)
    # then: one more request and one more history entry, not two
    assert len(asked) == 2, asked
    assert page.evaluate("history.length") == entries + 1


def test_expired_session_during_a_dialog_signs_in_and_returns_to_the_order(live_server, page, shop):
    sign_in(page, live_server)
    late = shop["late"]
    order_url = f"{live_server.url}/stores/ny-apparel/orders/{late.id}/"
    page.goto(order_url)
    page.get_by_role("link", name="Edit metadata").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("New key 1").fill("giftNote")
    dialog.get_by_label("New value 1").fill("Happy birthday")
    # given: the session expires while the dialog is open
    Session.objects.all().delete()
    # when
    dialog.get_by_role("button", name="Save metadata").click()
    # then: the whole window goes to the sign-in page (not the dialog), and back to the order after it
    page.wait_for_url(re.compile(r"/login/\?next=/stores/ny-apparel/orders/[0-9a-f-]{36}/"))
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.locator("dialog")).to_have_count(0)
    page.get_by_label("Email").fill("ana@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(order_url)
    # exact: the reopened dialog's title ("Edit metadata ORD-…") is a heading too
    expect(page.get_by_role("heading", name=late.display_number, exact=True)).to_be_visible()
    # and the dialog is open again with what was typed, ready to send
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("New key 1")).to_have_value("giftNote")
    expect(dialog.get_by_label("New value 1")).to_have_value("Happy birthday")
    dialog.get_by_role("button", name="Save metadata").click()
    expect(page.locator("#order-metadata")).to_contain_text("Happy birthday")
    late.refresh_from_db()
    assert late.metadata == {"giftNote": "Happy birthday"}


def test_add_row_in_the_metadata_dialog_adds_a_blank_row_in_place(live_server, page, shop):
    sign_in(page, live_server)
    late = shop["late"]
    page.goto(f"{live_server.url}/stores/ny-apparel/orders/{late.id}/")
    page.evaluate("window.__noReload = 'same page'")
    page.get_by_role("link", name="Edit metadata").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("New key 1")).to_be_visible()
    expect(dialog.get_by_label("New key 2")).to_have_count(0)  # one blank row to start with
    dialog.get_by_label("New key 1").fill("giftNote")
    dialog.get_by_label("New value 1").fill("Happy birthday")
    # when
    dialog.get_by_role("button", name="Add row").click()
    # then: a second blank row, focused, in the same dialog (no request, no reload)
    expect(dialog.get_by_label("New key 2")).to_be_focused()
    expect(dialog.get_by_label("New key 1")).to_have_value("giftNote")
    page.keyboard.type("channel")
    dialog.get_by_label("New value 2").fill("phone")
    dialog.get_by_role("button", name="Save metadata").click()
    metadata = page.locator("#order-metadata")
    expect(metadata).to_contain_text("giftNote")
    expect(metadata).to_contain_text("channel")
    assert page.evaluate("window.__noReload") == "same page"
    late.refresh_from_db()
    assert late.metadata == {"giftNote": "Happy birthday", "channel": "phone"}
