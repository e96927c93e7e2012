"""The order page in Chromium (issue 12, builds 2–5): ship with tracking and follow the carrier link,
write a staff note and find it in the timeline and the audit view, the customer beside the order with a
working copy button, and previous/next within the filtered list with the way back to the row."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from dashboard.models import Membership, StaffNote, StoreConnection
from orders.auth import api_key_create
from orders.models import Order
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-123"
SLUG = "napoli-apparel"


@pytest.fixture
def shop(db):
    """A store whose customer Giulia has six orders (one processing, ready to ship), a few orders of
    others, and a support member."""
    store = StoreFactory(name="Napoli Apparel", currency="EUR", timezone="Europe/Rome")
    connection = StoreConnection(name=store.name, slug=SLUG, timezone=store.timezone)
    connection.set_api_key(api_key_create(store=store, name="Dashboard").plaintext)
    connection.save()
    user = get_user_model().objects.create_user(
        "support@demo.test", "support@demo.test", PASSWORD, first_name="Marta", last_name="Esposito"
    )
    Membership.objects.create(user=user, store=connection, role="support")
    tee = VariantFactory(
        product__store=store, product__name="Linen shirt", sku="LIN-S", price=Decimal("49.00")
    )
    giulia = CustomerFactory(
        store=store,
        first_name="Giulia",
        last_name="Bianchi",
        email="giulia.bianchi@example.com",
        phone_number="+39 081 555 0199",
    )
    start = datetime(2026, 11, 2, 9, tzinfo=UTC)
    statuses = ["delivered", "delivered", "shipped", "cancelled", "confirmed", "processing"]
    orders = [
        make_order(
            store,
            status=status,
            customer=giulia,
            items=[(tee, 1 + i % 2)],
            created_at=start + timedelta(days=i),
        )
        for i, status in enumerate(statuses)
    ]
    others = [
        make_order(store, status="shipped", created_at=start + timedelta(days=i, hours=5)) for i in range(4)
    ]
    return {"store": store, "giulia": orders, "latest": orders[-1], "others": others}


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("support@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/orders/$"))


def order_url(live_server, order) -> str:
    return f"{live_server.url}/stores/{SLUG}/orders/{order.id}/"


def test_ship_with_tracking_shows_the_carriers_link(live_server, page, shop):
    sign_in(page, live_server)
    order = shop["latest"]
    page.goto(order_url(live_server, order))
    # when: ship with carrier and tracking number
    page.locator("#action-status-shipped").click()
    dialog = page.locator("#action-dialog")
    expect(dialog.get_by_label("Tracking number")).to_be_visible()
    dialog.get_by_label("Tracking number").fill("1Z999AA10123456784")
    dialog.get_by_label("Carrier").fill("UPS")
    dialog.get_by_role("button", name="Update status").click()
    expect(dialog).not_to_be_visible()
    # then: the header shows the number, linked to the carrier's page
    link = page.locator("#order-header a.tracking-link")
    expect(link).to_have_attribute("href", "https://www.ups.com/track?tracknum=1Z999AA10123456784")
    expect(link).to_contain_text("1Z999AA10123456784")
    expect(page.locator("#order-header")).to_contain_text("UPS")
    order.refresh_from_db()
    assert order.metadata == {"trackingNumber": "1Z999AA10123456784", "carrier": "UPS"}
    page.locator("header.order-head").screenshot(
        path=str(SCREENSHOTS / "order-tracking.png"), caret="initial"
    )


def test_a_confirmed_order_is_not_asked_for_tracking(live_server, page, shop):
    sign_in(page, live_server)
    page.goto(order_url(live_server, shop["giulia"][4]))  # confirmed → processing
    page.locator("#action-status-processing").click()
    dialog = page.locator("#action-dialog")
    expect(dialog.get_by_label("New status")).to_be_visible()
    expect(dialog.get_by_label("Tracking number")).to_have_count(0)


def test_a_staff_note_joins_the_timeline_and_the_audit_view(live_server, page, shop):
    sign_in(page, live_server)
    order = shop["latest"]
    page.goto(order_url(live_server, order))
    # when
    page.get_by_role("textbox", name="Staff note").fill("Customer called: deliver after 6 pm, ring twice.")
    page.get_by_role("button", name="Add note").click()
    # then: the timeline is refreshed in place, the note last (newest), by its author
    note = page.locator("#order-history .timeline-staff-note")
    expect(note).to_have_count(1)
    expect(note).to_contain_text("deliver after 6 pm")
    expect(note).to_contain_text("Marta Esposito")
    expect(page.locator("#order-history")).to_contain_text("Note added.")
    expect(page.get_by_role("textbox", name="Staff note")).to_have_value("")
    assert StaffNote.objects.get().order_id == str(order.id)
    # the author may still edit it
    note.locator("summary", has_text="Edit").click()
    note.get_by_label("Edit the note").fill(
        "Customer called: deliver after 6 pm, ring twice. Confirmed by SMS."
    )
    note.get_by_role("button", name="Save note").click()
    expect(page.locator("#order-history .timeline-staff-note")).to_contain_text("Confirmed by SMS.")
    page.locator("#order-history").screenshot(path=str(SCREENSHOTS / "order-notes.png"), caret="initial")
    # and the audit view lists it with the status changes
    page.goto(f"{live_server.url}/stores/{SLUG}/audit/")
    row = page.locator("tr.audit-staff-note")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("Confirmed by SMS.")
    expect(row).to_contain_text(order.display_number)


def test_the_customer_beside_the_order(live_server, browser, shop):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=live_server.url)
    page = context.new_page()
    sign_in(page, live_server)
    page.goto(order_url(live_server, shop["latest"]))
    panel = page.locator("#order-customer")
    # the five newest other orders, the count and total spent of all six
    expect(panel.locator(".other-orders li")).to_have_count(5)
    expect(panel.locator("#customer-order-count")).to_have_text("6")
    total = sum(o.total for o in Order.objects.filter(customer__email="giulia.bianchi@example.com"))
    expect(panel.locator("#customer-total-spent")).to_contain_text(f"{total:,.2f}")
    # copy the email
    copy = panel.locator('[data-copy-from="customer-email"]')
    expect(copy).to_have_accessible_name("Copy email")
    copy.click()
    expect(copy).to_have_accessible_name("Copied email")
    assert page.evaluate("navigator.clipboard.readText()") == "giulia.bianchi@example.com"
    panel.screenshot(path=str(SCREENSHOTS / "order-customer.png"), caret="initial")
    # all their orders in the list
    panel.get_by_role("link", name="All orders of this customer").click()
    page.wait_for_url(re.compile(r"/orders/\?customer="))
    expect(page.locator("#orders-table a.order-link")).to_have_count(6)
    expect(page.locator("#customer-filter")).to_contain_text("Giulia Bianchi")
    context.close()


def test_previous_next_and_back_to_the_row_in_the_filtered_list(live_server, page, shop):
    sign_in(page, live_server)
    # given: the shipped orders, newest first
    page.get_by_label("Shipped", exact=True).check()
    page.wait_for_url(re.compile(r"status=shipped"))
    links = page.locator("#orders-table a.order-link")
    expect(links).to_have_count(5)
    numbers = links.all_inner_texts()
    # when: open the second, then go to the next one
    links.nth(1).click()
    page.wait_for_url(re.compile(r"/orders/[0-9a-f-]{36}/\?from="))
    expect(page.locator("h1")).to_have_text(numbers[1])
    expect(page.locator(".order-pager")).to_contain_text("2 of 5")
    page.locator("#next-order").click()
    expect(page.locator("h1")).to_have_text(numbers[2])
    page.locator("#previous-order").click()
    expect(page.locator("h1")).to_have_text(numbers[1])
    page.locator("#next-order").click()
    expect(page.locator("h1")).to_have_text(numbers[2])
    # then: back to the filtered list, with the row it came from highlighted
    page.locator("#back-to-list").click()
    page.wait_for_url(re.compile(r"/orders/\?status=shipped[^#]*#order-"))
    expect(page.get_by_label("Shipped", exact=True)).to_be_checked()
    target = page.locator("#orders-table tr:target")
    expect(target).to_have_count(1)
    expect(target.locator("a.order-link")).to_have_text(numbers[2])
    assert target.evaluate("row => getComputedStyle(row).backgroundColor") == "rgb(255, 244, 214)"
    page.screenshot(path=str(SCREENSHOTS / "orders-list-return.png"), caret="initial")
