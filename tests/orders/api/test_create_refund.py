"""POST /api/v1/orders/{orderId}/refunds (spec §3.6)."""

from decimal import Decimal

import pytest
from django.core import mail

from orders.models import HistoryEntry, Refund, WebhookEvent
from orders.payments import GatewayResult, get_gateway
from orders.statuses import OrderStatus
from tests.factories import CustomerFactory, make_order


def url(ref) -> str:
    return f"/api/v1/orders/{ref}/refunds"


class FailingGateway:
    name = "failing"

    def refund(self, refund, *, idempotency_key):
        return GatewayResult(succeeded=False, failure_reason="Card expired")


def test_refund_is_created_pending_and_the_gateway_task_completes_it(
    api, store, django_capture_on_commit_callbacks
):
    # given
    order = make_order(store, status=OrderStatus.SHIPPED)  # total 59.98
    calls_before = len(get_gateway().calls)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post_json(url(order.id), {"amount": 20, "reason": "Damaged box"})

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert data["refund"]["amount"] == 20
    assert data["refund"]["status"] == "pending"  # the response is written before commit
    assert data["order"]["paymentStatus"] == "partially_refunded"
    assert data["order"]["refundedAmount"] == 20
    assert data["order"]["status"] == "shipped"
    refund = Refund.objects.get(pk=data["refund"]["id"])
    assert refund.status == Refund.Status.SUCCEEDED
    assert refund.processed_at is not None
    assert refund.gateway_reference
    assert len(get_gateway().calls) == calls_before + 1
    entry = HistoryEntry.objects.filter(order=order).latest("id")
    assert (entry.kind, entry.note, entry.metadata["amount"]) == ("refund", "Damaged box", 20.0)
    assert WebhookEvent.objects.filter(order=order, type="order.refunded").count() == 1


def test_full_refund_of_delivered_order_makes_it_refunded(api, store):
    # given
    order = make_order(store, status=OrderStatus.DELIVERED)

    # when
    response = api.post_json(url(order.id), {"amount": str(order.total)})

    # then
    assert response.status_code == 201
    data = response.json()["data"]["order"]
    assert (data["status"], data["paymentStatus"]) == ("refunded", "refunded")
    last = data["statusHistory"][-1]
    assert (last["kind"], last["fromStatus"], last["toStatus"]) == ("refund", "delivered", "refunded")
    assert data["allowedTransitions"] == []


def test_full_refund_of_cancelled_order_stays_cancelled(api, store):
    # given
    order = make_order(store, status=OrderStatus.CANCELLED)

    # when
    response = api.post_json(url(order.id), {"amount": str(order.total)})

    # then
    assert response.status_code == 201
    data = response.json()["data"]["order"]
    assert (data["status"], data["paymentStatus"]) == ("cancelled", "refunded")


def test_refunds_add_up_to_the_total_and_no_further(api, store):
    # given
    order = make_order(store, status=OrderStatus.DELIVERED)  # 59.98
    api.post_json(url(order.id), {"amount": 30})

    # when
    too_much = api.post_json(url(order.id), {"amount": 30})
    rest = api.post_json(url(order.id), {"amount": 29.98})
    after_full = api.post_json(url(order.id), {"amount": 0.01})

    # then
    assert too_much.status_code == 400
    assert too_much.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    assert "29.98" in too_much.json()["message"]
    assert rest.status_code == 201
    assert after_full.status_code == 400
    assert after_full.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    order.refresh_from_db()
    assert order.refunded_amount == order.total


def test_failed_gateway_gives_the_amount_back(api, store, settings, django_capture_on_commit_callbacks):
    # given
    settings.PAYMENT_GATEWAY = "tests.orders.api.test_create_refund.FailingGateway"
    order = make_order(store, status=OrderStatus.DELIVERED)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post_json(url(order.id), {"amount": str(order.total)})

    # then
    refund = Refund.objects.get(pk=response.json()["data"]["refund"]["id"])
    assert (refund.status, refund.failure_reason) == (Refund.Status.FAILED, "Card expired")
    order.refresh_from_db()
    assert order.refunded_amount == Decimal("0.00")
    assert (order.payment_status, order.status) == ("paid", "delivered")
    last = HistoryEntry.objects.filter(order=order).latest("id")
    assert last.actor_type == "system"
    assert (last.from_status, last.to_status) == ("refunded", "delivered")
    assert "Card expired" in last.note


def test_failed_refund_is_not_announced_as_another_refund(
    api, store, settings, django_capture_on_commit_callbacks
):
    # given a partially refunded order whose gateway refuses the refund
    settings.PAYMENT_GATEWAY = "tests.orders.api.test_create_refund.FailingGateway"
    order = make_order(store, status=OrderStatus.SHIPPED)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        api.post_json(url(order.id), {"amount": "10.00"})

    # then only the accepted refund fired order.refunded; the failure changed no status and fired nothing
    types = list(WebhookEvent.objects.filter(order=order).values_list("type", flat=True))
    assert types.count("order.refunded") == 1
    assert "order.status_updated" not in types


def test_refund_of_unpaid_order_is_400(api, store):
    # given
    order = make_order(store, status=OrderStatus.PENDING)

    # when
    response = api.post_json(url(order.id), {"amount": 1})

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    assert "unpaid" in response.json()["message"]


@pytest.mark.parametrize("amount", [0, -1, 0.005, 10_000])
def test_amount_out_of_range_is_400_invalid_refund_amount(api, store, amount):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.post_json(url(order.id), {"amount": amount})

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REFUND_AMOUNT"
    assert not Refund.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"amount": 1, "notifyCustomer": "maybe"}, "notifyCustomer"),
    ],
)
def test_malformed_body_is_400_validation_error(api, store, body, field):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.post_json(url(order.id), body)

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert response.json()["errors"][0]["field"] == field


def test_reason_over_500_is_400(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.post_json(url(order.id), {"amount": 1, "reason": "r" * 501})

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "reason"


def test_notify_customer_emails_once(api, store, django_capture_on_commit_callbacks):
    # given
    order = make_order(
        store, status=OrderStatus.CONFIRMED, customer=CustomerFactory(store=store, email="a@b.co")
    )

    # when
    with django_capture_on_commit_callbacks(execute=True):
        api.post_json(url(order.id), {"amount": 5, "notifyCustomer": True})

    # then
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["a@b.co"]
    assert "5.00" in mail.outbox[0].body


def test_refund_by_external_id(api, store):
    # given
    make_order(store, status=OrderStatus.CONFIRMED, external_id="ext-9")

    # when
    response = api.post_json(url("ext-9"), {"amount": 1})

    # then
    assert response.status_code == 201


def test_another_stores_order_is_404(other_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = other_api.post_json(url(order.id), {"amount": 1})

    # then
    assert response.status_code == 404
    assert not Refund.objects.exists()


def test_missing_key_is_401(anon_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = anon_api.post_json(url(order.id), {"amount": 1})

    # then
    assert response.status_code == 401


def test_idempotency_key_retry_refunds_once(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    first = api.post_json(url(order.id), {"amount": 7}, HTTP_IDEMPOTENCY_KEY="refund-7")

    # when
    retry = api.post_json(url(order.id), {"amount": 7}, HTTP_IDEMPOTENCY_KEY="refund-7")
    other_body = api.post_json(url(order.id), {"amount": 8}, HTTP_IDEMPOTENCY_KEY="refund-7")

    # then
    assert (first.status_code, retry.status_code, other_body.status_code) == (201, 201, 422)
    assert retry.content == first.content
    assert other_body.json()["errorCode"] == "IDEMPOTENCY_KEY_REUSED"
    assert Refund.objects.filter(order=order).count() == 1
