"""PATCH /api/v1/orders/{orderId}/metadata (spec §3.10)."""

import pytest

from orders.models import HistoryEntry
from orders.statuses import OrderStatus
from tests.factories import make_order


def url(ref) -> str:
    return f"/api/v1/orders/{ref}/metadata"


def test_patch_merges_keys_and_null_removes(api, store):
    # given
    order = make_order(store, status=OrderStatus.SHIPPED, metadata={"carrier": "UPS", "warehouse": "WH-01"})

    # when
    response = api.patch_json(
        url(order.id), {"metadata": {"warehouse": None, "gift": True, "boxes": 2, "w": 1.5}}
    )

    # then
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["metadata"] == {"carrier": "UPS", "gift": True, "boxes": 2, "w": 1.5}
    assert data["status"] == "shipped"
    last = data["statusHistory"][-1]
    assert (last["kind"], last["fromStatus"], last["toStatus"]) == ("metadata", "shipped", "shipped")
    assert last["metadata"] == {"warehouse": None, "gift": True, "boxes": 2, "w": 1.5}


def test_metadata_survives_a_later_status_change(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.patch_json(url(order.id), {"metadata": {"crm": "C-1"}})

    # when
    response = api.put_json(f"/api/v1/orders/{order.id}/status", {"status": "processing"})

    # then
    assert response.json()["data"]["metadata"] == {"crm": "C-1"}


def test_patch_of_a_cancelled_order_is_allowed(api, store):
    # given
    order = make_order(store, status=OrderStatus.CANCELLED)

    # when
    response = api.patch_json(url(order.id), {"metadata": {"archived": True}})

    # then
    assert response.status_code == 200


def test_patch_by_external_id(api, store):
    # given
    make_order(store, status=OrderStatus.CONFIRMED, external_id="ext-m")

    # when
    response = api.patch_json(url("ext-m"), {"metadata": {"a": "b"}})

    # then
    assert response.json()["data"]["metadata"] == {"a": "b"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "metadata"),
        ({"metadata": "text"}, "metadata"),
        ({"metadata": {"": "empty key"}}, "metadata."),
        ({"metadata": {"k" * 41: 1}}, "metadata." + "k" * 41),
        ({"metadata": {"s": "x" * 501}}, "metadata.s"),
        ({"metadata": {"o": {"a": 1}}}, "metadata.o"),
        ({"metadata": {f"k{i}": i for i in range(51)}}, "metadata"),
    ],
)
def test_invalid_metadata_is_400_validation_error(api, store, body, field):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED, metadata={"keep": 1})

    # when
    response = api.patch_json(url(order.id), body)

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in response.json()["errors"]]
    order.refresh_from_db()
    assert order.metadata == {"keep": 1}


def test_value_of_exactly_500_chars_and_key_of_40_are_accepted(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.patch_json(url(order.id), {"metadata": {"k" * 40: "x" * 500}})

    # then
    assert response.status_code == 200


def test_another_stores_order_is_404(other_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = other_api.patch_json(url(order.id), {"metadata": {"a": 1}})

    # then
    assert response.status_code == 404
    assert not HistoryEntry.objects.filter(order=order, kind="metadata").exists()


def test_missing_key_is_401(anon_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = anon_api.patch_json(url(order.id), {"metadata": {"a": 1}})

    # then
    assert response.status_code == 401


def test_idempotency_key_replay_writes_one_history_entry(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.patch_json(url(order.id), {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="meta-1")

    # when
    retry = api.patch_json(url(order.id), {"metadata": {"a": 1}}, HTTP_IDEMPOTENCY_KEY="meta-1")

    # then
    assert retry["Idempotent-Replayed"] == "true"
    assert HistoryEntry.objects.filter(order=order, kind="metadata").count() == 1
