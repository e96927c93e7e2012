"""The API client against the real Orders API in-process (the embedded transport, as in production)."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection as db_connection
from django.db import transaction
from django.utils import timezone

from dashboard.client import ApiError, OrdersApiClient
from dashboard.transport import transport_for
from orders.models import HistoryEntry
from tests.factories import CustomerFactory, VariantFactory, make_order


@pytest.fixture
def client(issued_key) -> OrdersApiClient:
    base_url, transport = transport_for("")
    return OrdersApiClient(base_url, issued_key.plaintext, transport=transport, on_behalf_of="Ann Staff")


def numbers(page):
    return [o.order_number for o in page.orders]


def test_list_with_every_filter(client, store):
    # given
    alice = CustomerFactory(store=store, email="alice@example.com", first_name="Alice", last_name="Liddell")
    jan = datetime(2024, 1, 15, 12, tzinfo=UTC)
    target = make_order(
        store,
        status="shipped",
        customer=alice,
        created_at=jan,
        external_id="shop-1001",
        platform_name="shopify",
    )
    make_order(store, status="pending", created_at=jan)  # other status, unpaid
    make_order(store, status="shipped", created_at=jan + timedelta(days=40))  # other month
    make_order(store, status="shipped", created_at=jan, platform_name="woo")  # other platform
    number = target.display_number
    # when / then: each filter on its own narrows to the target among its look-alikes
    assert number in numbers(client.orders.list(status=["shipped", "delivered"]))
    assert "ORD-000002" not in numbers(client.orders.list(status=["shipped", "delivered"]))
    assert numbers(
        client.orders.list(date_from="2024-01-01", date_to="2024-01-31", platform_name="shopify")
    ) == [number]
    assert number not in numbers(client.orders.list(date_from="2024-02-01"))
    updated = client.orders.list(updated_from=jan - timedelta(hours=1), updated_to=jan + timedelta(hours=1))
    assert number in numbers(updated)
    assert numbers(client.orders.list(customer_id=str(alice.id))) == [number]
    assert numbers(client.orders.list(external_id="shop-1001")) == [number]
    assert numbers(client.orders.list(search="alice@example.com")) == [number]
    assert numbers(client.orders.list(search=number)) == [number]
    assert "ORD-000002" not in numbers(client.orders.list(payment_status="paid"))
    assert numbers(client.orders.list(payment_status="unpaid")) == ["ORD-000002"]
    assert numbers(client.orders.list(sort="orderNumber")) == [
        "ORD-000001",
        "ORD-000002",
        "ORD-000003",
        "ORD-000004",
    ]
    page = client.orders.list(sort="orderNumber", limit=2, offset=2)
    assert numbers(page) == ["ORD-000003", "ORD-000004"]
    assert page.total == 4


def test_cursor_walk_returns_every_order_once(client, store):
    # given
    for _ in range(7):
        make_order(store)
    # when
    seen = [o.order_number for o in client.orders.iterate(limit=3)]
    # then
    assert sorted(seen) == [f"ORD-{n:06d}" for n in range(1, 8)]


def test_detail_and_history_are_typed(client, store):
    # given
    variant = VariantFactory(product__store=store, price=Decimal("10.50"), sku="MUG-1")
    order = make_order(store, items=[(variant, 3)], tax=Decimal("2.00"), metadata={"gift": "yes"})
    # when
    detail = client.orders.get(str(order.id))
    history = client.orders.history(str(order.id))
    # then
    assert detail.order_number == order.display_number
    assert detail.items[0].sku == "MUG-1"
    assert detail.items[0].subtotal == Decimal("31.50")
    assert detail.total == Decimal("33.50")
    assert detail.metadata == {"gift": "yes"}
    assert detail.allowed_transitions == ["processing", "cancelled"]
    assert [(h.kind, h.from_status, h.to_status) for h in history] == [("created", None, "confirmed")]
    assert history[0].changed_at is not None
    assert history[0].changed_at.tzinfo is not None


def test_another_stores_order_is_not_found(client, other_store):
    foreign = make_order(other_store)
    with pytest.raises(ApiError) as info:
        client.orders.get(str(foreign.id))
    assert info.value.status == 404


def test_write_records_the_person_acting(client, store):
    # given
    order = make_order(store, status="confirmed")
    # when
    updated = client.orders.update_status(str(order.id), "processing", note="Packing", idempotency_key="k-1")
    # then
    assert updated.status == "processing"
    entry = HistoryEntry.objects.filter(order=order).latest("changed_at")
    assert (entry.actor_name, entry.note) == ("Ann Staff", "Packing")


def test_statuses_and_stats(client, store):
    make_order(store, status="pending", created_at=timezone.now() - timedelta(days=1))
    table = client.orders.statuses()
    stats = client.orders.stats()
    assert table.transitions["pending"] == ["confirmed", "cancelled"]
    assert stats.by_status["pending"] == 1
    assert stats.total_orders == 1


def test_export_streams_csv_in_process(client, store):
    for _ in range(3):
        make_order(store)
    with client.orders.export() as export:
        body = b"".join(export.chunks())
    lines = body.decode().strip().splitlines()
    assert len(lines) == 4  # header + 3 rows
    assert "ORD-000003" in body.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_in_process_call_keeps_the_callers_connection_and_transaction(client, store):
    # given a caller inside a transaction (the failure design.md describes for WSGITransport)
    with transaction.atomic():
        order = make_order(store)
        before = db_connection.connection
        # when
        fetched = client.orders.get(str(order.id))  # sees the uncommitted order: same connection
        # then
        assert fetched.order_number == order.display_number
        assert db_connection.connection is before
        assert db_connection.in_atomic_block
    assert store.orders.count() == 1


def test_incremental_sync_example_from_the_readme(client, store):
    # given orders changed at different times
    base = datetime(2024, 6, 1, tzinfo=UTC)
    for hours in range(5):
        make_order(store, created_at=base + timedelta(hours=hours))
    since = base + timedelta(hours=2)
    # when: the README's loop, two per page
    seen, cursor = [], None
    while True:
        page = client.orders.list(updated_from=since, sort="updatedAt", limit=2, cursor=cursor)
        seen += [o.order_number for o in page.orders]
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    # then
    assert seen == ["ORD-000003", "ORD-000004", "ORD-000005"]


def test_history_feed_and_customers(client, store):
    # given
    alice = CustomerFactory(store=store, email="alice@example.com", first_name="Alice", last_name="Liddell")
    order = make_order(store, customer=alice, status="confirmed")
    client.orders.update_status(str(order.id), "processing", note="Packing")
    # when
    feed = client.history.list(actor="Ann Staff")
    customers = client.customers.list(search="alice")
    one = client.customers.get(str(alice.id))
    # then
    assert [(e.order_number, e.to_status, e.actor.display) for e in feed.entries] == [
        (order.display_number, "processing", "Ann Staff")
    ]
    assert [c.email for c in customers.customers] == ["alice@example.com"]
    assert one is not None
    assert one.full_name == "Alice Liddell"
