from decimal import Decimal

import pytest
from django.db import transaction

from orders import services
from orders.actors import SYSTEM_ACTOR
from orders.errors import InvalidStatusTransition
from orders.models import WebhookDelivery, WebhookEvent
from orders.statuses import OrderStatus
from orders.webhooks.outbox import record_order_events
from tests.factories import make_order
from tests.orders.webhooks.conftest import make_endpoint
from tests.orders.webhooks.signing_checks import assert_verifies


def _types(order) -> list[str]:
    return list(
        WebhookEvent.objects.filter(order=order).order_by("created_at").values_list("type", flat=True)
    )


def test_shipping_through_the_api_fires_status_updated_and_shipped_and_delivers_them(
    api, store, issued_key, receiver, django_capture_on_commit_callbacks
):
    # given
    _, secret = make_endpoint(store, receiver.url, event_types=["order.status_updated", "order.shipped"])
    order = make_order(store, status=OrderStatus.PROCESSING)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.put_json(
            f"/api/v1/orders/{order.id}/status",
            {"status": "shipped", "note": "Left the warehouse", "metadata": {"trackingNumber": "1Z999"}},
        )
    # then
    assert response.status_code == 200, response.json()
    assert _types(order) == ["order.status_updated", "order.shipped"]
    payloads = {p["type"]: p for p in (assert_verifies(hit, secret) for hit in receiver.hits)}
    updated = payloads["order.status_updated"]["data"]
    assert updated["previousStatus"] == "processing"
    assert updated["newStatus"] == "shipped"
    assert updated["statusChangeReason"] == "Left the warehouse"
    assert updated["statusUpdatedAt"]
    assert updated["occurredAt"]
    assert updated["orderId"] == str(order.id)
    assert updated["orderNumber"] == order.display_number
    assert updated["storeId"] == str(store.id)
    assert updated["customerId"] == str(order.customer_id)
    assert updated["source"] == {
        "type": "api_key",
        "name": "Test key",
        "apiKeyPrefix": issued_key.api_key.prefix,
    }
    assert payloads["order.shipped"]["data"]["trackingInfo"]["trackingNumber"] == "1Z999"
    assert payloads["order.shipped"]["id"].startswith("evt_")
    assert WebhookDelivery.objects.filter(status="succeeded").count() == 2


def test_source_names_the_person_acting_through_the_key(api, store, issued_key):
    # given
    make_endpoint(store, "https://hooks.invalid/x", event_types=["order.confirmed"])
    order = make_order(store, status=OrderStatus.PENDING)
    # when
    api.put_json(
        f"/api/v1/orders/{order.id}/status", {"status": "confirmed"}, HTTP_X_ON_BEHALF_OF="ana@shop.test"
    )
    # then
    event = WebhookEvent.objects.get(order=order, type="order.confirmed")
    assert event.payload["data"]["source"] == {
        "type": "user",
        "name": "ana@shop.test",
        "apiKeyPrefix": issued_key.api_key.prefix,
    }


def test_a_rolled_back_change_leaves_no_event_and_no_delivery(store):
    # given
    make_endpoint(store, "https://hooks.invalid/x")
    order = make_order(store, status=OrderStatus.CONFIRMED)
    # when
    written_inside = None

    def change_that_fails():
        nonlocal written_inside
        with transaction.atomic():
            record_order_events(order=order, change="status", actor=SYSTEM_ACTOR, previous_status="pending")
            written_inside = WebhookEvent.objects.count()
            raise RuntimeError("the change fails after the events were written")

    with pytest.raises(RuntimeError):
        change_that_fails()
    assert written_inside == 2  # written inside the transaction…
    # then: …and gone with it
    assert WebhookEvent.objects.count() == 0
    assert WebhookDelivery.objects.count() == 0


def test_a_refused_status_change_fires_nothing(store):
    # given
    make_endpoint(store, "https://hooks.invalid/x")
    order = make_order(store, status=OrderStatus.PENDING)
    # when
    with pytest.raises(InvalidStatusTransition):
        services.order_set_status(order_id=order.id, store=store, to="delivered", actor=SYSTEM_ACTOR)
    # then
    assert WebhookEvent.objects.count() == 0


def test_cancel_refund_link_and_metadata_fire_the_catalogue_events(store):
    # given
    cancelled = make_order(store, status=OrderStatus.CONFIRMED)
    refunded = make_order(store, status=OrderStatus.CONFIRMED)
    # when
    services.order_cancel(order_id=cancelled.id, store=store, reason="Customer asked", actor=SYSTEM_ACTOR)
    services.refund_create(order_id=refunded.id, store=store, amount=Decimal("1.00"), actor=SYSTEM_ACTOR)
    services.order_link(
        order_id=refunded.id,
        store=store,
        external_order_id="ext-1",
        platform_name="shopify",
        actor=SYSTEM_ACTOR,
    )
    services.order_update_metadata(order_id=refunded.id, store=store, metadata={"a": 1}, actor=SYSTEM_ACTOR)
    # then
    assert _types(cancelled) == ["order.status_updated", "order.cancelled"]
    assert _types(refunded) == ["order.refunded"]
    cancel_data = WebhookEvent.objects.get(order=cancelled, type="order.cancelled").payload["data"]
    assert cancel_data["reason"] == "Customer asked"
    assert cancel_data["source"] == {"type": "system", "name": "system", "apiKeyPrefix": None}
    refund_data = WebhookEvent.objects.get(order=refunded).payload["data"]
    assert refund_data["refund"]["amount"] in ("1.00", 1.0)
    assert refund_data["total"] == float(refunded.total)


def test_payload_shape_follows_the_spec(store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED, external_id="shop-42")
    # when
    (event,) = record_order_events(order=order, change="created", actor=SYSTEM_ACTOR)
    # then
    payload = WebhookEvent.objects.get(id=event.id).payload
    assert set(payload) == {"id", "type", "created_at", "data"}
    assert payload["id"] == event.id
    assert payload["type"] == "order.created"
    assert payload["created_at"].endswith("Z")
    data = payload["data"]
    for key in (
        "storeId",
        "customerId",
        "occurredAt",
        "externalReference",
        "orderId",
        "orderNumber",
        "source",
    ):
        assert key in data
    assert data["externalReference"] == "shop-42"
