"""Races on PostgreSQL with real threads: the row locks and constraints keep the rules under concurrency.

Every thread has its own Django test client (and so its own database connection); a Barrier releases
them together. No assertion depends on timing.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from orders.models import HistoryEntry, Order, Refund
from orders.payments import get_gateway
from orders.statuses import OrderStatus
from tests.conftest import ApiClient
from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def run_concurrently(count: int, request):
    """Call request(client) from `count` threads released at once; returns the responses."""
    barrier = threading.Barrier(count)
    responses: list = [None] * count
    failures: list[BaseException] = []

    def worker(index: int) -> None:
        try:
            barrier.wait(timeout=60)
            responses[index] = request()
        except BaseException as exc:  # surfaced below, not swallowed by the thread
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not failures, failures
    return responses


def platform_body(customer, external_order_id="race-1"):
    return {
        "externalOrderId": external_order_id,
        "customerId": str(customer.id),
        "items": [
            {"externalProductId": "prod_race", "externalVariantId": "var_race", "quantity": 1, "price": 10}
        ],
        "total": 10,
    }


def test_fifty_identical_creates_make_exactly_one_order(store, other_store, issued_key, other_api):
    # given
    VariantFactory(
        product__store=store,
        product__external_id="prod_race",
        external_id="var_race",
        inventory_quantity=1000,
    )
    customer = CustomerFactory(store=store)
    body = platform_body(customer)

    # when
    responses = run_concurrently(
        50, lambda: ApiClient(issued_key.plaintext).post_json("/api/v1/orders", body)
    )

    # then
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] * 49 + [201], [r.content for r in responses if r.status_code >= 300]
    assert len({r.json()["data"]["id"] for r in responses}) == 1
    assert all(r["Idempotent-Replayed"] == "true" for r in responses if r.status_code == 200)
    assert Order.objects.filter(store=store, external_id="race-1").count() == 1
    assert HistoryEntry.objects.filter(store=store, kind="created").count() == 1
    assert store.variants.get().inventory_quantity == 999

    # and the same externalOrderId in another store is a separate order
    VariantFactory(product__store=other_store, product__external_id="prod_race", external_id="var_race")
    other = other_api.post_json("/api/v1/orders", platform_body(CustomerFactory(store=other_store)))
    assert other.status_code == 201
    assert Order.objects.filter(external_id="race-1").count() == 2


def test_twenty_concurrent_cancels_with_refund_cancel_and_refund_once(store, issued_key):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    calls_before = len([c for c in get_gateway().calls if c["order_id"] == str(order.id)])
    body = {"reason": "Customer asked", "refundAmount": 10}

    # when
    responses = run_concurrently(
        20, lambda: ApiClient(issued_key.plaintext).put_json(f"/api/v1/orders/{order.id}/cancel", body)
    )

    # then
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200] + [409] * 19
    assert {r.json()["errorCode"] for r in responses if r.status_code == 409} == {"ORDER_ALREADY_CANCELLED"}
    assert Refund.objects.filter(order=order).count() == 1
    assert HistoryEntry.objects.filter(order=order, kind="cancel").count() == 1
    order.refresh_from_db()
    assert (order.status, order.refunded_amount) == (OrderStatus.CANCELLED, Decimal("10.00"))
    calls = [c for c in get_gateway().calls if c["order_id"] == str(order.id)]
    assert len(calls) - calls_before == 1  # one payment-provider call


def test_twenty_concurrent_refunds_never_exceed_the_total(store, issued_key):
    # given
    order = make_order(store, status=OrderStatus.DELIVERED)  # total 59.98
    amount = (order.total * Decimal("0.30")).quantize(Decimal("0.01"))  # 17.99: three fit

    # when
    responses = run_concurrently(
        20,
        lambda: ApiClient(issued_key.plaintext).post_json(
            f"/api/v1/orders/{order.id}/refunds", {"amount": str(amount)}
        ),
    )

    # then
    created = [r for r in responses if r.status_code == 201]
    refused = [r for r in responses if r.status_code != 201]
    assert len(created) == 3
    assert {(r.status_code, r.json()["errorCode"]) for r in refused} == {(400, "INVALID_REFUND_AMOUNT")}
    order.refresh_from_db()
    refunded = sum(Refund.objects.filter(order=order).values_list("amount", flat=True), Decimal("0"))
    assert refunded == order.refunded_amount == amount * 3
    assert refunded <= order.total
    assert HistoryEntry.objects.filter(order=order, kind="refund").count() == 3


def test_concurrent_status_changes_pass_the_table_check_once(store, issued_key):
    # given
    order = make_order(store, status=OrderStatus.PENDING)

    # when: everyone tries pending → confirmed; only one may see `pending`
    responses = run_concurrently(
        10,
        lambda: ApiClient(issued_key.plaintext).put_json(
            f"/api/v1/orders/{order.id}/status", {"status": "confirmed"}
        ),
    )

    # then
    assert sorted(r.status_code for r in responses) == [200] + [400] * 9
    assert HistoryEntry.objects.filter(order=order, kind="status").count() == 1
