"""Races on PostgreSQL with real threads: the row locks and constraints keep the rules under concurrency.

Every thread has its own Django test client (and so its own database connection); a Barrier releases
them together. No assertion depends on timing.
"""

import threading
from decimal import Decimal

import pytest
from django.db import connection, transaction

from orders import services
from orders.actors import SYSTEM_ACTOR
from orders.models import HistoryEntry, Order, Refund, Store
from orders.payments import get_gateway
from orders.statuses import OrderStatus
from orders.webhooks import outbox
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


def create_body(variant, external_order_id: str, customer=None) -> dict:
    """One item of `variant`; the customer by id, else a new one (the same for every body)."""
    buyer = (
        {"customerId": str(customer.id)}
        if customer
        else {"customerInfo": {"email": "same.buyer@example.com"}}
    )
    return {
        "externalOrderId": external_order_id,
        **buyer,
        "items": [
            {
                "externalProductId": variant.product.external_id,
                "externalVariantId": variant.external_id,
                "quantity": 1,
                "price": 10,
            }
        ],
        "total": 10,
    }


def test_eight_concurrent_creates_in_one_store_all_succeed_with_distinct_numbers(store, issued_key):
    # given a store with two orders, and a variant that tracks its stock
    make_order(store)
    make_order(store)
    variant = VariantFactory(product__store=store, inventory_quantity=100, track_inventory=True)

    # when eight different orders of the same new customer are created at once
    names = iter(range(8))
    lock = threading.Lock()

    def create():
        with lock:
            name = f"shop-{next(names)}"
        return ApiClient(issued_key.plaintext).post_json("/api/v1/orders", create_body(variant, name))

    responses = run_concurrently(8, create)

    # then every one is created, numbered on from the store's last number without a repeat
    assert [r.status_code for r in responses] == [201] * 8, [r.content for r in responses]
    numbers = sorted(r.json()["data"]["orderNumber"] for r in responses)
    assert numbers == [f"ORD-{n:06d}" for n in range(3, 11)]
    assert sorted(Order.objects.filter(store=store).values_list("order_number", flat=True)) == list(
        range(1, 11)
    )
    store.refresh_from_db()
    assert store.last_order_number == 10
    assert store.customers.filter(email="same.buyer@example.com").count() == 1
    assert (
        HistoryEntry.objects.filter(
            store=store, kind="created", order__external_id__startswith="shop-"
        ).count()
        == 8
    )
    variant.refresh_from_db()
    assert variant.inventory_quantity == 92


def test_a_create_with_its_transaction_open_holds_no_store_lock(store, issued_key, monkeypatch):
    """One create stops inside its transaction, after it has taken its number and written its order;
    another create of the same store commits meanwhile (with a store row lock held to commit, as before,
    it would wait for the first and this test would fail)."""
    # given two variants that do not track stock (no row of theirs is locked) and two known customers:
    # a create that adds the same new email or name to the search's values (orders.SearchedText) waits
    # for the one that added it first, as any insert of a duplicate key does; never for the store
    held_variant = VariantFactory(product__store=store, track_inventory=False)
    other_variant = VariantFactory(product__store=store, track_inventory=False)
    customers = {"held": CustomerFactory(store=store), "other": CustomerFactory(store=store)}
    inside = threading.Event()
    release = threading.Event()
    record_order_events = outbox.record_order_events

    def stop_inside_the_held_create(*, order, **kwargs):
        # The last step of a create's transaction: its order row is written, not committed.
        if order.external_id == "held":
            inside.set()
            release.wait(timeout=120)
        return record_order_events(order=order, **kwargs)

    monkeypatch.setattr(outbox, "record_order_events", stop_inside_the_held_create)
    results: dict = {}

    def post(name, variant):
        try:
            body = create_body(variant, name, customers[name])
            results[name] = ApiClient(issued_key.plaintext).post_json("/api/v1/orders", body)
        finally:
            connection.close()

    held = threading.Thread(target=post, args=("held", held_variant))
    other = threading.Thread(target=post, args=("other", other_variant))
    try:
        held.start()
        assert inside.wait(timeout=60), "the held create never reached its last step"

        # when another create of the store runs while the first one's transaction is open
        other.start()
        other.join(timeout=60)

        # then it has committed, with the next number, and the held one is still uncommitted
        assert not other.is_alive(), "the second create waited for the first one's transaction"
        assert results["other"].status_code == 201, results["other"].content
        assert results["other"].json()["data"]["orderNumber"] == "ORD-000002"
        assert not Order.objects.filter(external_id="held").exists()
    finally:
        release.set()
        held.join(timeout=60)
        other.join(timeout=60)
    assert results["held"].status_code == 201, results["held"].content
    assert results["held"].json()["data"]["orderNumber"] == "ORD-000001"


def test_a_create_inside_a_transaction_that_locked_its_store_still_gets_a_number(store):
    """The second connection cannot bump a store row that the caller's own transaction holds locked: it
    gives up after its lock timeout and the bump runs in the caller's transaction (no self-deadlock)."""
    # given
    variant = VariantFactory(product__store=store, track_inventory=False)
    customer = CustomerFactory(store=store)
    make_order(store)
    data = services.PlatformOrderInput(
        items=[services.ItemInput(variant.product.external_id, variant.external_id, 1, Decimal("10"))],
        total=Decimal("10"),
        customer_id=str(customer.id),
    )

    # when
    with transaction.atomic():
        Store.objects.select_for_update().get(pk=store.pk)
        order, created = services.order_create_from_platform(store=store, data=data, actor=SYSTEM_ACTOR)

    # then
    assert created
    assert order.display_number == "ORD-000002"
    store.refresh_from_db()
    assert store.last_order_number == 2
