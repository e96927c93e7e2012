"""GET /api/v1/orders/{orderId}: by UUID or external ID, the full representation, 404s, auth."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import HistoryEntry, Refund
from tests.factories import make_order
from tests.orders.api.auth_cases import assert_refused, client_with, key_kinds
from tests.orders.transition_table import STATUSES, allowed

pytestmark = pytest.mark.django_db


def url(ref) -> str:
    return f"/api/v1/orders/{ref}"


def test_detail_by_uuid_has_the_full_representation(api, store):
    # given
    order = make_order(
        store,
        status="shipped",
        external_id="shop-9",
        platform_name="shopify",
        tax=Decimal("2.00"),
        shipping=Decimal("5.00"),
        discount=Decimal("1.00"),
        metadata={"trackingNumber": "1Z999", "gift": True},
    )
    order.shipping_address = {"name": "Ada", "line1": "1 Main St", "city": "Springfield", "country": "US"}
    order.save()
    HistoryEntry.objects.create(
        store=store,
        order=order,
        kind="status",
        from_status="confirmed",
        to_status="shipped",
        changed_at=order.created_at + timedelta(hours=1),
        actor_type="user",
        actor_name="Grace",
        actor_api_key_prefix="sk_test_abcd1234",
        note="Sent with UPS",
        metadata={"carrier": "UPS"},
    )
    Refund.objects.create(store=store, order=order, amount=Decimal("3.00"), reason="Dent", status="succeeded")
    # when
    response = api.get(url(order.id))
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    item = order.items.get()
    assert data["id"] == str(order.id)
    assert data["orderNumber"] == f"ORD-{order.order_number:06d}"
    assert data["allowedTransitions"] == ["partially_delivered", "delivered", "cancelled"]
    assert (data["subtotal"], data["tax"], data["shipping"], data["discount"]) == (59.98, 2.0, 5.0, 1.0)
    assert data["total"] == 65.98
    assert data["metadata"] == {"trackingNumber": "1Z999", "gift": True}
    assert data["shippingAddress"] == {
        "name": "Ada",
        "line1": "1 Main St",
        "line2": None,
        "city": "Springfield",
        "region": None,
        "postalCode": None,
        "country": "US",
    }
    assert data["billingAddress"] is None
    assert data["customer"]["id"] == str(order.customer_id)
    assert data["items"] == [
        {
            "id": str(item.id),
            "productId": str(item.product_id),
            "variantId": str(item.variant_id),
            "externalProductId": item.external_product_id,
            "externalVariantId": item.external_variant_id,
            "quantity": 2,
            "price": 29.99,
            "subtotal": 59.98,
            "product": {"name": item.name, "sku": item.sku},
        }
    ]
    assert [r["amount"] for r in data["refunds"]] == [3.0]
    assert data["payment"]["paidAt"] is not None
    assert [(h["kind"], h["fromStatus"], h["toStatus"]) for h in data["statusHistory"]] == [
        ("created", None, "shipped"),
        ("status", "confirmed", "shipped"),
    ]
    change = data["statusHistory"][1]
    assert change["actor"] == {"type": "user", "name": "Grace", "apiKeyPrefix": "sk_test_abcd1234"}
    assert change["note"] == change["reason"] == "Sent with UPS"
    assert change["metadata"] == {"carrier": "UPS"}
    assert data["cancelledAt"] is None


def test_detail_by_external_id(api, store):
    # given
    order = make_order(store, external_id="woo-42")
    # when
    response = api.get(url("woo-42"))
    # then
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(order.id)


def test_line_items_keep_their_snapshot_when_the_catalogue_changes(api, store):
    # given
    order = make_order(store)
    item = order.items.get()
    item.product.name = "Renamed"
    item.product.save()
    item.variant.price = Decimal("99.00")
    item.variant.save()
    # when
    data = api.get(url(order.id)).json()["data"]
    # then
    assert data["items"][0]["product"]["name"] == item.name
    assert data["items"][0]["price"] == 29.99


@pytest.mark.parametrize("status", STATUSES)
def test_allowed_transitions_follow_the_table(api, store, status):
    # given
    order = make_order(store, status=status)
    # when
    data = api.get(url(order.id)).json()["data"]
    # then
    assert data["allowedTransitions"] == allowed(status)


@pytest.mark.parametrize("ref_kind", ["uuid", "external"])
def test_another_stores_order_is_404_without_data(api, other_store, ref_kind):
    # given
    foreign = make_order(other_store, external_id="their-1")
    ref = foreign.id if ref_kind == "uuid" else "their-1"
    # when
    response = api.get(url(ref))
    # then
    assert response.status_code == 404
    body = response.json()
    assert body["errorCode"] == "ORDER_NOT_FOUND"
    assert set(body) == {"success", "message", "errorCode"}
    assert foreign.customer_email not in response.content.decode()


@pytest.mark.parametrize(
    "ref", ["00000000-0000-0000-0000-000000000000", "no-such-order", "ORD-000001", "nul%00byte"]
)
def test_unknown_order_is_404(api, ref):
    # when
    response = api.get(url(ref))
    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "ORDER_NOT_FOUND"


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # given
    order = make_order(store)
    # when
    response = client_with(key_kind, store).get(url(order.id))
    # then
    assert_refused(response, key_kind)


def test_created_at_is_utc_with_milliseconds(api, store):
    # given
    order = make_order(store, created_at=timezone.now().replace(microsecond=123456))
    # when
    created = api.get(url(order.id)).json()["data"]["createdAt"]
    # then
    assert created.endswith(".123Z")
