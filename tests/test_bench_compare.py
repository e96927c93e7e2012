"""bench/compare.py compares like with like: its bare Django and DRF list views return the rows the
product's `GET /api/v1/orders` returns, with the same fields and values, for the filters it measures.
No timing here (the figures are in bench/results/compare.md)."""

import importlib
import json
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.test import RequestFactory
from django.utils import timezone

from tests import requirements
from tests.factories import CustomerFactory, make_order

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "bench"))
compare = importlib.import_module("compare")

SHAPES = [
    "limit=3",
    "limit=50&status=shipped",
    "limit=50&dateFrom=2026-03-02T00:00:00.000Z&dateTo=2026-03-08T23:59:59.999Z",
    "limit=50&search=ALICE",
]


@pytest.fixture
def orders(store, other_store):
    alice = CustomerFactory(store=store, email="alice@example.com", first_name="Alice", last_name="Liddell")
    base = timezone.datetime(2026, 3, 1, 12, tzinfo=timezone.UTC)
    made = [
        make_order(store, status=status, created_at=base + timedelta(days=day), customer=customer)
        for day, status, customer in [
            (0, "confirmed", None),
            (2, "shipped", alice),
            (3, "shipped", None),
            (5, "delivered", alice),
            (7, "shipped", None),
            (9, "pending", alice),
        ]
    ]
    make_order(other_store, status="shipped", created_at=base + timedelta(days=3))  # never listed
    return made


def _api_orders(api, query: str) -> list[dict]:
    response = api.get(f"/api/v1/orders?{query}")
    assert response.status_code == 200, response.content
    return response.json()["data"]["orders"]


def _served(view, query: str) -> dict:
    response = view(RequestFactory().get(f"/bench/orders?{query}"))
    if hasattr(response, "render"):
        response.render()
    assert response.status_code == 200, response.content
    return json.loads(response.content)


@pytest.mark.parametrize("query", SHAPES)
def test_bare_view_returns_the_products_rows(api, store, orders, query):
    expected = _api_orders(api, query)
    body = _served(compare.bare_list_view(store.pk), query)
    assert expected  # every shape selects something, so the comparison is not between two empty lists
    assert body["data"]["orders"] == expected
    assert body["success"] is True


def test_bare_view_pages_like_the_product(api, store, orders):
    body = _served(compare.bare_list_view(store.pk), "limit=3")
    assert body["data"]["hasMore"] is True
    assert body["data"]["nextCursor"]
    assert [o["orderNumber"] for o in body["data"]["orders"]] == ["ORD-000006", "ORD-000005", "ORD-000004"]


@pytest.mark.parametrize("query", SHAPES)
def test_drf_view_returns_the_products_rows(api, store, orders, query):
    try:
        importlib.import_module("rest_framework")
    except ImportError:
        requirements.skip_or_fail("needs djangorestframework: pip install -e '.[bench]'")
    expected = _api_orders(api, query)
    body = _served(compare.drf_list_view(store.pk), query)
    assert expected
    assert body["data"]["orders"] == expected


def _written(store) -> dict:
    from orders.models import HistoryEntry, LineItem, Order, WebhookEvent

    return {
        "orders": Order.objects.filter(store=store).count(),
        "line items": LineItem.objects.filter(order__store=store).count(),
        "history": list(
            HistoryEntry.objects.filter(store=store)
            .order_by("id")
            .values_list("kind", "from_status", "to_status")
        ),
        "events": sorted(WebhookEvent.objects.filter(store_id=store.pk).values_list("type", flat=True)),
    }


@pytest.mark.postgres  # the bare create takes its order numbers from a PostgreSQL sequence
def test_bare_writes_write_the_rows_the_product_writes(api, store, other_store):
    """The writes comparison is like with like: the bare create and status update leave the same orders,
    line items, history entries and outbox events as the product's endpoints for the same requests."""
    from django.db import connection

    from tests.factories import VariantFactory

    for each in (store, other_store):
        for i in range(5):
            VariantFactory(
                product__store=each,
                product__external_id=f"bp{i}",
                external_id=f"bv{i}",
                track_inventory=False,
            )
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_compare_order_number START 1000000000")
    body = compare._create_body(1)
    created = api.post("/api/v1/orders", body, content_type="application/json")
    assert created.status_code == 201, created.content
    product_order = created.json()["data"]["id"]
    create, update = compare.bare_create_view(other_store.pk), compare.bare_status_view(other_store.pk)
    answer = create(RequestFactory().post("/", body, content_type="application/json"))
    assert answer.status_code == 201, answer.content
    bare_order = json.loads(answer.content)["data"]["id"]
    for status in compare.STATUS_STEPS:
        payload = json.dumps({"status": status})
        moved = api.put(f"/api/v1/orders/{product_order}/status", payload, content_type="application/json")
        assert moved.status_code == 200, moved.content
        answer = update(
            RequestFactory().put("/", payload, content_type="application/json"), order_id=bare_order
        )
        assert answer.status_code == 200, answer.content
    product, bare = _written(store), _written(other_store)
    assert product["orders"] == 1
    assert product["line items"] == 2
    assert product["events"] == [
        "order.created",
        "order.delivered",
        "order.shipped",
        "order.status_updated",
        "order.status_updated",
        "order.status_updated",
    ]
    assert bare == product
