"""Sign in → filter → back button → search → sort → open an order → its history timeline."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from dashboard.client import OrdersApiClient
from dashboard.models import Membership, StoreConnection
from dashboard.transport import transport_for
from orders.auth import api_key_create
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-123"


@pytest.fixture
def demo(db):
    """A store with a dozen orders, one with a full history, and a support user."""
    store = StoreFactory(name="Vesuvio Coffee", currency="EUR", timezone="Europe/Rome")
    key = api_key_create(store=store, name="Dashboard").plaintext
    connection = StoreConnection(name=store.name, slug="vesuvio-coffee", timezone=store.timezone)
    connection.set_api_key(key)
    connection.save()
    user = get_user_model().objects.create_user("support@demo.test", "support@demo.test", PASSWORD)
    Membership.objects.create(user=user, store=connection, role="support")
    beans = VariantFactory(
        product__store=store, product__name="Espresso beans 1 kg", sku="BEANS-1KG", price=Decimal("24.90")
    )
    mug = VariantFactory(
        product__store=store, product__name="Ceramic mug", sku="MUG-WHT", price=Decimal("12.00")
    )
    statuses = ["pending", "confirmed", "processing", "shipped", "delivered", "cancelled"]
    orders = []
    for i in range(12):
        customer = CustomerFactory(
            store=store, first_name=["Giulia", "Marco", "Sofia", "Luca"][i % 4], last_name=f"Rossi{i}"
        )
        orders.append(
            make_order(
                store,
                status=statuses[i % len(statuses)],
                customer=customer,
                items=[(beans, 1 + i % 3), (mug, i % 2)] if i % 2 else [(beans, 1 + i % 3)],
                shipping=Decimal("4.90"),
                created_at=datetime(2024, 5, 1 + i, 9, 30, tzinfo=UTC),
                external_id=f"shopify-{5000 + i}" if i % 3 == 0 else None,
                platform_name="shopify" if i % 3 == 0 else "",
            )
        )
    vip = CustomerFactory(
        store=store, email="giulia.bianchi@example.com", first_name="Giulia", last_name="Bianchi"
    )
    star = make_order(
        store,
        status="confirmed",
        customer=vip,
        items=[(beans, 6), (mug, 4)],
        shipping=Decimal("0.00"),
        created_at=datetime(2024, 5, 20, 15, 5, tzinfo=UTC),
        metadata={"giftWrap": "yes", "channel": "web"},
    )
    base_url, transport = transport_for("")
    api = OrdersApiClient(base_url, key, transport=transport, on_behalf_of="Marta (support)")
    api.orders.update_status(str(star.id), "processing", note="Roasting today")
    api.orders.update_status(
        str(star.id),
        "shipped",
        note="Handed to courier",
        metadata={"carrier": "BRT", "trackingNumber": "BRT123456"},
    )
    return {"store": store, "star": star, "orders": orders}


def rows(page):
    return page.locator("#orders-table a.order-link").all_inner_texts()


def test_support_finds_and_opens_an_order(live_server, page, demo):
    # sign in
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("support@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/stores/vesuvio-coffee/orders/$"))
    assert len(rows(page)) == 13
    all_rows = rows(page)
    page.screenshot(path=str(SCREENSHOTS / "orders-list.png"), full_page=True, caret="initial")

    # filter by status: the table swaps, the URL changes
    page.get_by_label("Shipped", exact=True).check()
    page.wait_for_url(re.compile(r"status=shipped"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(3)
    shipped = rows(page)
    expect(page.locator("#results-status")).to_have_text("3 orders")  # announced to screen readers
    assert "ORD-000013" in shipped

    # back restores the previous table
    page.go_back()
    page.wait_for_url(re.compile(r"/orders/$"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(13)
    assert rows(page) == all_rows

    # search by customer email (debounced keyup)
    page.locator("#id_search").press_sequentially("giulia.bianchi@example.com")
    page.wait_for_url(re.compile(r"search=giulia.bianchi"))
    expect(page.locator("#orders-table a.order-link")).to_have_count(1)
    assert rows(page) == ["ORD-000013"]

    # clear the search, sort by total (descending first)
    page.locator("#id_search").fill("")
    page.locator("#id_search").press("Enter")
    expect(page.locator("#orders-table a.order-link")).to_have_count(13)
    page.locator("#orders-table th a.sort-link", has_text="Total").click()
    page.wait_for_url(re.compile(r"sort=-total"))
    page.wait_for_selector('#orders-table th[aria-sort="descending"]')
    assert rows(page)[0] == "ORD-000013"  # 6 × 24.90 + 4 × 12.00 is the biggest

    # open the order: the history timeline shows its entries
    page.get_by_role("link", name="ORD-000013").click()
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/(\?from=[^#]*)?$"))
    timeline = page.locator("#order-history .timeline-entry")
    assert timeline.count() == 3
    text = page.locator("#order-history").inner_text()
    assert "Roasting today" in text
    assert "Marta (support)" in text
    assert "BRT123456" in text
    page.screenshot(path=str(SCREENSHOTS / "order-detail.png"), full_page=True, caret="initial")
    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors


def test_phone_width_list_is_usable(live_server, browser, demo):
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True
    )
    page = context.new_page()
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("support@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/orders/$"))
    # no horizontal scrolling of the page at 390 px
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.screenshot(path=str(SCREENSHOTS / "orders-list-phone.png"), full_page=False, caret="initial")
    context.close()
