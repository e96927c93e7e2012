"""PUT /api/v1/orders/{orderId}/status (spec §3.1)."""

import pytest

from orders.models import HistoryEntry, Order, WebhookEvent
from orders.statuses import OrderStatus
from tests.factories import VariantFactory, make_order


def url(ref) -> str:
    return f"/api/v1/orders/{ref}/status"


def test_update_status_moves_order_and_records_history_with_metadata(api, store, issued_key):
    # given
    order = make_order(store, status=OrderStatus.PROCESSING)
    tracking = {"trackingNumber": "TRACK123", "carrier": "UPS"}

    # when
    response = api.put_json(
        url(order.id), {"status": "shipped", "metadata": tracking, "note": "Left the dock"}
    )

    # then
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert data["status"] == "shipped"
    assert data["metadata"] == tracking
    assert data["allowedTransitions"] == ["partially_delivered", "delivered", "cancelled"]
    last = data["statusHistory"][-1]
    assert (last["kind"], last["fromStatus"], last["toStatus"]) == ("status", "processing", "shipped")
    assert last["note"] == "Left the dock"
    assert last["metadata"] == tracking
    assert last["actor"] == {"type": "api_key", "name": "Test key", "apiKeyPrefix": issued_key.api_key.prefix}
    types = set(WebhookEvent.objects.filter(order=order).values_list("type", flat=True))
    assert types == {"order.status_updated", "order.shipped"}


@pytest.mark.parametrize("to", ["confirmed", "cancelled"])
def test_the_status_answer_is_what_reading_the_order_answers(api, store, to):
    """The answer comes from the row the service locked and saved (not read again): the same order as a
    later read shows."""
    # given
    order = make_order(store, status=OrderStatus.PENDING, metadata={"keep": "me", "drop": 1})

    # when
    updated = api.put_json(url(order.id), {"status": to, "note": "Why", "metadata": {"drop": None, "n": 2.5}})
    read = api.get(f"/api/v1/orders/{order.id}")

    # then
    assert updated.status_code == 200, updated.content
    assert updated.json() == read.json()
    assert updated.json()["data"]["metadata"] == {"keep": "me", "n": 2.5}


def test_update_status_accepts_any_case(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), {"status": "PROCESSING"})

    # then
    assert response.status_code == 200
    assert response.json()["data"]["status"] == "processing"


def test_update_status_by_external_id(api, store):
    # given
    order = make_order(
        store, status=OrderStatus.CONFIRMED, external_id="shop_order_1", platform_name="Shopify"
    )

    # when
    response = api.put_json(url("shop_order_1"), {"status": "processing"})

    # then
    assert response.status_code == 200
    assert response.json()["data"]["id"] == str(order.id)


def test_confirming_a_pending_order_marks_it_paid(api, store):
    # given
    order = make_order(store, status=OrderStatus.PENDING)

    # when
    response = api.put_json(url(order.id), {"status": "confirmed"})

    # then
    data = response.json()["data"]
    assert data["paymentStatus"] == "paid"
    assert data["payment"]["paidAt"] is not None


def test_metadata_merges_and_null_removes_a_key(api, store):
    # given
    order = make_order(store, status=OrderStatus.SHIPPED, metadata={"carrier": "UPS", "keep": "yes"})

    # when
    response = api.put_json(
        url(order.id), {"status": "delivered", "metadata": {"carrier": None, "signedBy": "J"}}
    )

    # then
    assert response.json()["data"]["metadata"] == {"keep": "yes", "signedBy": "J"}


def test_status_cancelled_is_a_cancel_without_refund_and_restores_stock(api, store):
    # given
    variant = VariantFactory(product__store=store, inventory_quantity=5)
    order = make_order(store, status=OrderStatus.CONFIRMED, items=[(variant, 2)])

    # when
    response = api.put_json(url(order.id), {"status": "cancelled", "note": "Out of stock"})

    # then
    data = response.json()["data"]
    assert data["status"] == "cancelled"
    assert data["refunds"] == []
    assert data["cancelReason"] == "Out of stock"
    assert data["statusHistory"][-1]["kind"] == "cancel"
    variant.refresh_from_db()
    assert variant.inventory_quantity == 7


def test_unknown_status_is_400_invalid_status(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), {"status": "teleported"})

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_STATUS"


def test_disallowed_move_is_400_naming_current_and_allowed(api, store):
    # given
    order = make_order(store, status=OrderStatus.PENDING)

    # when
    response = api.put_json(url(order.id), {"status": "shipped"})

    # then
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "INVALID_STATUS_TRANSITION"
    assert "'pending'" in body["message"]
    assert "confirmed, cancelled" in body["message"]
    assert HistoryEntry.objects.filter(order=order).count() == 1  # only `created`


def test_any_change_of_a_cancelled_order_is_409(api, store):
    # given
    order = make_order(store, status=OrderStatus.CANCELLED)

    # when
    response = api.put_json(url(order.id), {"status": "confirmed"})

    # then
    assert response.status_code == 409
    assert response.json()["errorCode"] == "ORDER_ALREADY_CANCELLED"


@pytest.mark.parametrize(
    ("metadata", "field"),
    [
        ({"k" * 41: "v"}, "metadata." + "k" * 41),
        ({"long": "x" * 501}, "metadata.long"),
        ({"nested": {"a": 1}}, "metadata.nested"),
        ({"list": [1, 2]}, "metadata.list"),
        ({f"k{i}": i for i in range(51)}, "metadata"),
    ],
)
def test_invalid_metadata_is_400_validation_error(api, store, metadata, field):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), {"status": "processing", "metadata": metadata})

    # then
    assert response.status_code == 400
    body = response.json()
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in body["errors"]]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED


def test_merged_metadata_over_50_keys_is_400(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED, metadata={f"old{i}": i for i in range(45)})

    # when
    response = api.put_json(
        url(order.id), {"status": "processing", "metadata": {f"new{i}": i for i in range(6)}}
    )

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"


def test_missing_status_is_400_validation_error_naming_the_field(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), {"note": "no status"})

    # then
    assert response.status_code == 400
    assert response.json()["errors"][0]["field"] == "status"


def test_malformed_json_is_400_invalid_request(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put(url(order.id), "{not json", content_type="application/json")

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] in {"INVALID_REQUEST", "VALIDATION_ERROR"}


def test_another_stores_order_is_404_and_unchanged(other_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = other_api.put_json(url(order.id), {"status": "processing"})

    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "ORDER_NOT_FOUND"
    assert Order.objects.get(pk=order.pk).status == OrderStatus.CONFIRMED


def test_missing_key_is_401(anon_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = anon_api.put_json(url(order.id), {"status": "processing"})

    # then
    assert response.status_code == 401
    assert response.json()["errorCode"] == "INVALID_API_KEY"


def test_on_behalf_of_is_recorded_as_user_actor(api, store, issued_key):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), {"status": "processing"}, HTTP_X_ON_BEHALF_OF="ana@example.com")

    # then
    actor = response.json()["data"]["statusHistory"][-1]["actor"]
    assert actor == {"type": "user", "name": "ana@example.com", "apiKeyPrefix": issued_key.api_key.prefix}


def test_idempotency_key_replays_the_first_response(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    first = api.put_json(url(order.id), {"status": "processing"}, HTTP_IDEMPOTENCY_KEY="k-1")

    # when
    again = api.put_json(url(order.id), {"status": "processing"}, HTTP_IDEMPOTENCY_KEY="k-1")

    # then
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert HistoryEntry.objects.filter(order=order, kind="status").count() == 1
