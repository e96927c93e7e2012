"""PUT /api/v1/orders/{orderId}/cancel (spec §3.5)."""

from decimal import Decimal

import pytest
from django.core import mail

from orders.models import HistoryEntry, Refund, WebhookEvent
from orders.statuses import OrderStatus
from tests.factories import CustomerFactory, VariantFactory, make_order


def url(ref) -> str:
    return f"/api/v1/orders/{ref}/cancel"


def test_cancel_with_refund_and_notify_emails_the_customer_once_after_commit(
    api, store, django_capture_on_commit_callbacks
):
    # given
    customer = CustomerFactory(store=store, email="buyer@example.com")
    order = make_order(store, status=OrderStatus.CONFIRMED, customer=customer)
    body = {"reason": "Customer requested cancellation", "refundAmount": 10.5, "notifyCustomer": True}

    # when
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        response = api.put_json(url(order.id), body)
        sent_before_commit = len(mail.outbox)
    for callback in callbacks:
        callback()

    # then
    assert response.status_code == 200, response.content
    assert sent_before_commit == 0
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["buyer@example.com"]
    assert order.display_number in mail.outbox[0].subject
    assert "Customer requested cancellation" in mail.outbox[0].body
    data = response.json()["data"]
    assert data["status"] == "cancelled"
    assert data["cancelReason"] == "Customer requested cancellation"
    assert data["cancelledAt"] is not None
    assert data["refundedAmount"] == 10.5
    assert data["paymentStatus"] == "partially_refunded"
    cancel_entry = next(e for e in data["statusHistory"] if e["kind"] == "cancel")
    assert cancel_entry["metadata"]["notifyCustomer"] is True
    assert cancel_entry["fromStatus"] == "confirmed"
    assert cancel_entry["reason"] == "Customer requested cancellation"
    assert Refund.objects.get(order=order).status == Refund.Status.SUCCEEDED  # the task ran after commit


def test_cancel_without_notify_sends_no_email(api, store, django_capture_on_commit_callbacks):
    # given
    order = make_order(store, status=OrderStatus.PROCESSING)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.put_json(url(order.id), {"reason": "Duplicate"})

    # then
    assert response.status_code == 200
    assert mail.outbox == []
    assert response.json()["data"]["statusHistory"][-1]["metadata"]["notifyCustomer"] is False


def test_cancel_restores_tracked_inventory_only(api, store):
    # given
    tracked = VariantFactory(product__store=store, inventory_quantity=3, track_inventory=True)
    untracked = VariantFactory(product__store=store, inventory_quantity=0, track_inventory=False)
    order = make_order(store, status=OrderStatus.SHIPPED, items=[(tracked, 2), (untracked, 4)])

    # when
    response = api.put_json(url(order.id), {"reason": "Lost in transit"})

    # then
    assert response.status_code == 200
    tracked.refresh_from_db()
    untracked.refresh_from_db()
    assert (tracked.inventory_quantity, untracked.inventory_quantity) == (5, 0)


def test_cancel_fires_cancelled_events(api, store):
    # given
    order = make_order(store, status=OrderStatus.PENDING)

    # when
    api.put_json(url(order.id), {"reason": "Changed mind"})

    # then
    types = set(WebhookEvent.objects.filter(order=order).values_list("type", flat=True))
    assert types == {"order.status_updated", "order.cancelled"}


def test_cancel_by_external_id(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED, external_id="woo-77", platform_name="WooCommerce")

    # when
    response = api.put_json(url("woo-77"), {"reason": "Fraud"})

    # then
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(order.id)


def test_cancel_of_cancelled_order_is_409_already_cancelled(api, store):
    # given
    order = make_order(store, status=OrderStatus.CANCELLED)

    # when
    response = api.put_json(url(order.id), {"reason": "Again"})

    # then
    assert response.status_code == 409
    assert response.json()["errorCode"] == "ORDER_ALREADY_CANCELLED"


@pytest.mark.parametrize(
    "status", [OrderStatus.DELIVERED, OrderStatus.PARTIALLY_DELIVERED, OrderStatus.REFUNDED]
)
def test_cancel_of_delivered_or_refunded_order_is_409_invalid_cancellation(api, store, status):
    # given
    order = make_order(store, status=status)

    # when
    response = api.put_json(url(order.id), {"reason": "Too late"})

    # then
    assert response.status_code == 409
    assert response.json()["errorCode"] == "INVALID_CANCELLATION"
    assert HistoryEntry.objects.filter(order=order).count() == 1


@pytest.mark.parametrize("body", [{}, {"reason": ""}, {"reason": "   "}, {"reason": "x" * 501}])
def test_cancel_reason_is_required_and_at_most_500(api, store, body):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), body)

    # then
    assert response.status_code == 400
    payload = response.json()
    assert payload["errorCode"] == "VALIDATION_ERROR"
    assert payload["errors"][0]["field"] == "reason"


@pytest.mark.parametrize("amount", [0, -5, 1000, 0.001])
def test_refund_amount_out_of_range_is_400_invalid_refund_amount(api, store, amount):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)  # total 59.98

    # when
    response = api.put_json(url(order.id), {"reason": "x", "refundAmount": amount})

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert not Refund.objects.filter(order=order).exists()


def test_refund_on_unpaid_order_is_400_invalid_refund_amount(api, store):
    # given
    order = make_order(store, status=OrderStatus.PENDING)

    # when
    response = api.put_json(url(order.id), {"reason": "x", "refundAmount": 1})

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"


def test_full_refund_on_cancel_keeps_status_cancelled(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), {"reason": "x", "refundAmount": str(order.total)})

    # then
    data = response.json()["data"]
    assert data["status"] == "cancelled"
    assert data["paymentStatus"] == "refunded"
    assert Decimal(str(data["refundedAmount"])) == order.total


def test_another_stores_order_is_404(other_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = other_api.put_json(url(order.id), {"reason": "x"})

    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "ORDER_NOT_FOUND"
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_missing_key_is_401(anon_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = anon_api.put_json(url(order.id), {"reason": "x"})

    # then
    assert response.status_code == 401


def test_idempotency_key_replays_cancel_instead_of_409(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    first = api.put_json(url(order.id), {"reason": "x"}, HTTP_IDEMPOTENCY_KEY="cancel-1")

    # when
    retry = api.put_json(url(order.id), {"reason": "x"}, HTTP_IDEMPOTENCY_KEY="cancel-1")

    # then
    assert retry.status_code == 200
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
