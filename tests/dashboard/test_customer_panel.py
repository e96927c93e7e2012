"""The customer beside the order: their other orders (newest 5), order count and total spent from the
API's stats for that customer, a link to the list filtered by them, copyable email and phone."""

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = pytest.mark.usefixtures("connection")


@pytest.fixture
def customer_orders(store):
    """Seven orders of Giulia (totals 10, 20, … 70), oldest first, and one of somebody else."""
    giulia = CustomerFactory(
        store=store, first_name="Giulia", last_name="Bianchi", email="giulia@example.com"
    )
    start = datetime(2026, 2, 1, 10, tzinfo=UTC)
    made = []
    for i in range(7):
        variant = VariantFactory(product__store=store, price=Decimal(10 * (i + 1)))
        made.append(
            make_order(store, customer=giulia, items=[(variant, 1)], created_at=start + timedelta(days=i))
        )
    make_order(store, created_at=start + timedelta(days=3))
    return made


def panel(html: str) -> str:
    return html[html.index('id="order-customer"') : html.index('<div class="addresses">')]


def test_order_page_shows_the_customers_other_orders_count_and_total_spent(viewer_client, customer_orders):
    # when: the middle order
    html = panel(viewer_client.get(f"/stores/acme/orders/{customer_orders[3].id}/").content.decode())
    # then: the newest five others, newest first, this one left out
    shown = re.findall(r'class="order-link" href="/stores/acme/orders/([0-9a-f-]+)/"', html)
    assert shown == [
        str(o.id)
        for o in (
            customer_orders[6],
            customer_orders[5],
            customer_orders[4],
            customer_orders[2],
            customer_orders[1],
        )
    ]
    # and the stats of all seven
    assert re.search(r'id="customer-order-count">7<', html)
    assert re.search(r'id="customer-total-spent"><span class="money">280.00 <span class="currency">USD', html)
    customer_id = customer_orders[0].customer_id
    assert f'href="/stores/acme/orders/?customer={customer_id}"' in html


def test_email_and_phone_are_links_with_copy_buttons(viewer_client, customer_orders):
    html = panel(viewer_client.get(f"/stores/acme/orders/{customer_orders[0].id}/").content.decode())
    assert '<a id="customer-email" href="mailto:giulia@example.com">giulia@example.com</a>' in html
    assert '<a id="customer-phone" href="tel:+15550100">+1 555 0100</a>' in html
    # shown by app.js only (no JavaScript, no button that does nothing)
    assert html.count('data-copy-from="customer-') == 2
    assert re.search(r'<button type="button" class="btn-copy" data-copy-from="customer-email" hidden>', html)


def test_the_list_filtered_by_customer_shows_only_their_orders(viewer_client, customer_orders):
    # when
    customer_id = customer_orders[0].customer_id
    html = viewer_client.get(f"/stores/acme/orders/?customer={customer_id}").content.decode()
    # then
    assert re.search(r"<strong>7</strong> orders", html)
    assert 'Orders of <strong>Giulia Bianchi <span class="muted">(giulia@example.com)</span></strong>' in html
    # kept across filter changes, and removable
    assert f'<input type="hidden" name="customer" value="{customer_id}">' in html
    assert 'href="/stores/acme/orders/">Show every customer</a>' in html


def test_a_malformed_customer_filter_is_a_form_error_not_a_failure(viewer_client):
    response = viewer_client.get("/stores/acme/orders/?customer=not-a-uuid")
    assert response.status_code == 200
    assert "customerId must be a customer&#x27;s UUID." in response.content.decode()
