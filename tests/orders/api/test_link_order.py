"""PUT /api/v1/orders/{orderId}/link (spec §3.9)."""

import pytest

from orders.models import HistoryEntry
from orders.statuses import OrderStatus
from tests.factories import make_order


def url(ref) -> str:
    return f"/api/v1/orders/{ref}/link"


BODY = {"externalOrderId": "shop_order_456", "platformName": "WooCommerce"}


def test_link_sets_external_id_and_platform_with_a_link_history_entry(api, store):
    # given
    order = make_order(store, status=OrderStatus.PROCESSING)

    # when
    response = api.put_json(url(order.id), BODY)

    # then
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["externalId"], data["platformName"], data["status"]) == (
        "shop_order_456",
        "WooCommerce",
        "processing",
    )
    last = data["statusHistory"][-1]
    assert (last["kind"], last["fromStatus"], last["toStatus"]) == ("link", "processing", "processing")
    assert last["metadata"] == BODY
    # the order is now reachable by its external ID
    assert api.get("/api/v1/orders/shop_order_456").json()["data"]["id"] == str(order.id)


def test_same_pair_again_is_200_without_change(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    api.put_json(url(order.id), BODY)

    # when
    response = api.put_json(url("shop_order_456"), BODY)

    # then
    assert response.status_code == 200
    assert HistoryEntry.objects.filter(order=order, kind="link").count() == 1


def test_order_linked_to_another_id_is_409_already_linked(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED, external_id="first", platform_name="Shopify")

    # when
    response = api.put_json(url(order.id), BODY)

    # then
    assert response.status_code == 409
    assert response.json()["errorCode"] == "ORDER_ALREADY_LINKED"


def test_external_id_of_another_order_is_409_external_id_exists(api, store):
    # given
    make_order(store, status=OrderStatus.CONFIRMED, external_id="shop_order_456", platform_name="WooCommerce")
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), BODY)

    # then
    assert response.status_code == 409
    assert response.json()["errorCode"] == "EXTERNAL_ID_EXISTS"


def test_external_id_used_in_another_store_is_fine(api, store, other_store):
    # given
    make_order(other_store, status=OrderStatus.CONFIRMED, external_id="shop_order_456")
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), BODY)

    # then
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"platformName": "WooCommerce"}, "externalOrderId"),
        ({"externalOrderId": "x"}, "platformName"),
        ({"externalOrderId": "  ", "platformName": "WooCommerce"}, "externalOrderId"),
        ({"externalOrderId": "x" * 256, "platformName": "WooCommerce"}, "externalOrderId"),
        ({"externalOrderId": "x", "platformName": ""}, "platformName"),
    ],
)
def test_invalid_body_is_400_validation_error(api, store, body, field):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(url(order.id), body)

    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert response.json()["errors"][0]["field"] == field


def test_another_stores_order_is_404(other_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = other_api.put_json(url(order.id), BODY)

    # then
    assert response.status_code == 404
    order.refresh_from_db()
    assert order.external_id is None


def test_missing_key_is_401(anon_api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = anon_api.put_json(url(order.id), BODY)

    # then
    assert response.status_code == 401


def test_idempotency_key_replay(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    first = api.put_json(url(order.id), BODY, HTTP_IDEMPOTENCY_KEY="link-1")

    # when
    retry = api.put_json(url(order.id), BODY, HTTP_IDEMPOTENCY_KEY="link-1")

    # then
    assert retry.content == first.content
    assert retry["Idempotent-Replayed"] == "true"
