"""GET /api/v1/orders/{orderId}/history: entries oldest first, by either identifier, 404s, auth."""

from datetime import timedelta

import pytest

from orders.models import HistoryEntry
from tests.factories import make_order
from tests.orders.api.auth_cases import assert_refused, client_with, key_kinds

pytestmark = pytest.mark.django_db


def url(ref) -> str:
    return f"/api/v1/orders/{ref}/history"


def add_entry(order, minutes: int, from_status: str, to_status: str, **extra) -> HistoryEntry:
    return HistoryEntry.objects.create(
        store=order.store,
        order=order,
        kind=extra.pop("kind", "status"),
        from_status=from_status,
        to_status=to_status,
        changed_at=order.created_at + timedelta(minutes=minutes),
        actor_type="api_key",
        actor_name="Shop sync",
        actor_api_key_prefix="sk_test_12345678",
        **extra,
    )


@pytest.mark.parametrize("ref_kind", ["uuid", "external"])
def test_history_is_oldest_first(api, store, ref_kind):
    # given: entries written out of order
    order = make_order(store, status="processing", external_id="ext-h")
    add_entry(order, 20, "confirmed", "processing", note="Packing")
    add_entry(order, 10, "processing", "processing", kind="metadata", metadata={"gift": True})
    # when
    response = api.get(url(order.id if ref_kind == "uuid" else "ext-h"))
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["orderId"] == str(order.id)
    assert data["orderNumber"] == f"ORD-{order.order_number:06d}"
    assert [e["kind"] for e in data["entries"]] == ["created", "metadata", "status"]
    assert data["entries"][0]["fromStatus"] is None
    last = data["entries"][2]
    assert last["note"] == "Packing"
    assert last["reason"] == "Packing"
    assert last["actor"] == {"type": "api_key", "name": "Shop sync", "apiKeyPrefix": "sk_test_12345678"}
    assert data["entries"][1]["metadata"] == {"gift": True}


def test_another_stores_order_is_404(api, other_store):
    # given
    foreign = make_order(other_store)
    # when
    response = api.get(url(foreign.id))
    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "ORDER_NOT_FOUND"
    assert "data" not in response.json()


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # given
    order = make_order(store)
    # when
    response = client_with(key_kind, store).get(url(order.id))
    # then
    assert_refused(response, key_kind)
