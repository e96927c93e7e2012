"""The order page: every section from the API, the history timeline, actions by role."""

import re
from decimal import Decimal

import pytest

from orders.models import HistoryEntry, Order
from tests.factories import VariantFactory, make_order


@pytest.fixture
def order(store):
    variant = VariantFactory(
        product__store=store, price=Decimal("12.00"), sku="TEE-BLK-M", product__name="Tee"
    )
    order = make_order(
        store,
        status="processing",
        items=[(variant, 2)],
        tax=Decimal("1.50"),
        shipping=Decimal("4.00"),
        discount=Decimal("2.00"),
        external_id="shop-77",
        platform_name="shopify",
        metadata={"giftWrap": "yes", "priority": 2},
    )
    Order.objects.filter(pk=order.pk).update(
        shipping_address={"name": "Ann Example", "line1": "1 Main St", "city": "Springfield", "country": "US"}
    )
    HistoryEntry.objects.create(
        store=store,
        order=order,
        kind="status",
        from_status="confirmed",
        to_status="processing",
        changed_at=order.created_at,
        actor_type="user",
        actor_name="Sam Support",
        actor_api_key_prefix="sk_test_abcd1234",
        note="Packing <b>now</b>",
        metadata={"carrier": "UPS"},
    )
    return order


def url(order):
    return f"/stores/acme/orders/{order.id}/"


def test_order_page_shows_every_section(viewer_client, order):
    response = viewer_client.get(url(order))
    html = response.content.decode()
    assert response.status_code == 200
    for text in (
        order.display_number,
        "TEE-BLK-M",
        "Tee",
        "24.00",  # line subtotal
        "1.50",
        "4.00",
        "27.50",  # 24 + 1.5 + 4 − 2
        "shop-77",
        "shopify",
        "giftWrap",
        "1 Main St",
        "badge-status-processing",
        "badge-payment-paid",
    ):
        assert text in html, text


def test_history_timeline_shows_from_to_who_note_and_metadata(viewer_client, order):
    html = viewer_client.get(url(order)).content.decode()
    timeline = re.search(r'<ol class="timeline">.*?</ol>', html, re.S).group(0)
    assert timeline.count('class="timeline-entry') == 2
    assert "Sam Support" in timeline
    assert "Packing &lt;b&gt;now&lt;/b&gt;" in timeline  # user text escaped
    assert "<dt>Carrier</dt><dd>UPS</dd>" in timeline  # the metadata it attached, labelled


def test_viewer_sees_no_action_buttons(viewer_client, order):
    assert 'id="order-actions"' not in viewer_client.get(url(order)).content.decode()


def test_support_sees_status_buttons_from_allowed_transitions_but_not_cancel(support_client, order):
    html = support_client.get(url(order)).content.decode()
    actions = re.search(r'id="order-actions".*?</div>', html, re.S).group(0)
    assert "Mark partially shipped" in actions
    assert "Mark shipped" in actions
    assert "Cancel order" not in actions
    assert "Refund" not in actions


def test_admin_sees_cancel_and_refund(admin_client_member, order):
    html = admin_client_member.get(url(order)).content.decode()
    assert "Cancel order" in html
    assert ">Refund<" in html


def test_order_by_external_id_is_found(viewer_client, order):
    assert viewer_client.get("/stores/acme/orders/shop-77/").status_code == 200


def test_unknown_order_is_404_page(viewer_client, connection):
    response = viewer_client.get("/stores/acme/orders/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert "not found in this store" in response.content.decode()
