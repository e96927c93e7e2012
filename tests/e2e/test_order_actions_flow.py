"""Order action dialogs in real Chromium: ship with a tracking number, cancel with a partial refund —
the page regions update without a reload, focus moves into the dialog and back, errors show in place."""

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from playwright.sync_api import expect

from dashboard.models import Membership, StoreConnection
from orders.auth import api_key_create
from orders.models import Order
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PASSWORD = "demo-password-123"
MARKER = "window.__noReload"


@pytest.fixture
def shop(db):
    store = StoreFactory(name="Vesuvio Coffee", currency="EUR", timezone="Europe/Rome")
    connection = StoreConnection(name=store.name, slug="vesuvio-coffee", timezone=store.timezone)
    connection.set_api_key(api_key_create(store=store, name="Dashboard").plaintext)
    connection.save()
    user = get_user_model().objects.create_user(
        "marta@demo.test", "marta@demo.test", PASSWORD, first_name="Marta", last_name="Esposito"
    )
    Membership.objects.create(user=user, store=connection, role="admin")
    beans = VariantFactory(
        product__store=store, product__name="Espresso beans 1 kg", sku="BEANS-1KG", price=Decimal("24.90")
    )
    customer = CustomerFactory(
        store=store, email="giulia.bianchi@example.com", first_name="Giulia", last_name="Bianchi"
    )
    order = make_order(
        store,
        status="processing",
        customer=customer,
        items=[(beans, 2)],
        shipping=Decimal("4.90"),
        created_at=datetime(2024, 5, 20, 15, 5, tzinfo=UTC),
        metadata={"giftWrap": "yes"},
    )
    return {"order": order}


def sign_in_and_open(page, live_server, order):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("marta@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/orders/$"))
    page.goto(f"{live_server.url}/stores/vesuvio-coffee/orders/{order.id}/")
    # Survives only as long as the page is not reloaded or navigated away from.
    page.evaluate(f"{MARKER} = 'same page'")


def focused_id(page) -> str:
    return page.evaluate("document.activeElement && document.activeElement.id")


def test_ship_with_a_tracking_number_updates_badge_and_timeline_without_reload(live_server, page, shop):
    order = shop["order"]
    sign_in_and_open(page, live_server, order)
    dialog = page.locator("#action-dialog")

    # Escape closes a dialog and gives the focus back to the button that opened it
    page.get_by_role("link", name="Edit metadata").click()
    expect(dialog).to_be_visible()
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()
    assert focused_id(page) == "action-metadata"

    # open the status dialog: focus goes to the first field, the status asked for is chosen
    page.get_by_role("link", name="Mark shipped").click()
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("heading", name=re.compile("Update status"))).to_be_visible()
    assert focused_id(page) == "id_status"
    expect(dialog.get_by_label("New status")).to_have_value("shipped")
    dialog.get_by_label("Tracking number").fill("BRT-0042-7781")
    dialog.get_by_label("Carrier").fill("BRT")
    dialog.get_by_label("Note").fill("Two bags, one box")
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "action-dialog.png"), caret="initial")

    # submit: the dialog closes, the regions update, the page was not reloaded
    dialog.get_by_role("button", name="Update status").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#order-header .badge-status-shipped")).to_be_visible()
    history = page.locator("#order-history")
    expect(history).to_contain_text("BRT-0042-7781")
    expect(history).to_contain_text("Marta Esposito")
    expect(history).to_contain_text("Two bags, one box")
    expect(page.locator("#action-status")).to_contain_text("is now shipped")
    expect(page.locator("#order-actions")).to_contain_text("Mark delivered")
    assert page.evaluate(MARKER) == "same page"
    # "Mark shipped" is gone: focus lands on the first remaining action, not on the page's start
    assert page.evaluate("document.activeElement.closest('#order-actions') !== null")
    assert Order.objects.get(pk=order.pk).status == "shipped"
    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors


def test_cancel_with_a_partial_refund_shows_the_refund_in_the_totals(live_server, page, shop):
    order = shop["order"]
    sign_in_and_open(page, live_server, order)
    dialog = page.locator("#action-dialog")
    page.get_by_role("link", name="Cancel order").click()
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("Up to 54.70 EUR can be refunded.")

    # a missing reason is shown at the field, and the focus goes there
    dialog.get_by_label("Refund now (optional)").fill("10.00")
    dialog.get_by_role("button", name="Cancel order").click()
    expect(dialog.locator("#id_reason_error")).to_contain_text("required")
    assert focused_id(page) == "id_reason"

    # corrected: cancelled with 10.00 refunded, the totals say so
    dialog.get_by_label("Reason").fill("Customer moved abroad")
    dialog.get_by_role("button", name="Cancel order").click()
    expect(dialog).to_be_hidden()
    totals = page.locator("#order-totals")
    expect(totals.locator("div", has_text="Refunded")).to_contain_text("10.00")
    expect(totals.locator("div", has_text="Net")).to_contain_text("44.70")
    expect(page.locator("#order-header .badge-status-cancelled")).to_be_visible()
    expect(page.locator("#order-refunds")).to_contain_text("10.00")
    expect(page.get_by_role("link", name="Cancel order")).to_have_count(0)
    assert page.evaluate(MARKER) == "same page"
    order.refresh_from_db()
    assert order.status == "cancelled"
    assert order.refunded_amount == Decimal("10.00")
