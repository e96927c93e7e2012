"""The store-scoped order lookups and the representation the API and the writes share."""

from decimal import Decimal

import pytest

from orders import errors, selectors, serializers
from tests.factories import make_order

pytestmark = pytest.mark.django_db


def test_order_get_finds_by_uuid_and_by_external_id(store):
    # given
    order = make_order(store, external_id="shopify-1001")
    # when
    by_id = selectors.order_get(store=store, order_ref=str(order.id))
    by_external = selectors.order_get(store=store, order_ref="shopify-1001")
    # then
    assert by_id.pk == order.pk
    assert by_external.pk == order.pk


def test_order_get_of_another_stores_order_is_not_found(store, other_store):
    # given
    order = make_order(other_store, external_id="ext-1")
    # when / then
    with pytest.raises(errors.OrderNotFound):
        selectors.order_get(store=store, order_ref=str(order.id))
    with pytest.raises(errors.OrderNotFound):
        selectors.order_get(store=store, order_ref="ext-1")


def test_uuid_shaped_reference_prefers_the_orders_own_id(store):
    # given: a platform that uses UUIDs; one order's external id equals another order's own id
    first = make_order(store)
    make_order(store, external_id=str(first.id))
    # when
    found = selectors.order_get(store=store, order_ref=str(first.id))
    # then
    assert found.pk == first.pk


def test_order_detail_loads_in_a_fixed_number_of_queries(store, django_assert_num_queries):
    # given
    order = make_order(store, external_id="e-1")
    # when / then: order+customer, items, refunds, history — and serialising needs no more
    with django_assert_num_queries(4):
        detail = serializers.order_detail(selectors.order_get_for_detail(store=store, order_ref="e-1"))
    assert detail["id"] == str(order.id)


def test_order_detail_representation(store):
    # given
    order = make_order(store, external_id="e-2", platform_name="shopify", tax=Decimal("1.50"))
    # when
    detail = serializers.order_detail(selectors.order_get_for_detail(store=store, order_ref=str(order.id)))
    # then
    assert detail["orderNumber"] == f"ORD-{order.order_number:06d}"
    assert detail["total"] == order.subtotal + Decimal("1.50")
    assert detail["allowedTransitions"] == ["processing", "cancelled"]
    assert detail["statusHistory"][0]["fromStatus"] is None
    assert detail["statusHistory"][0]["kind"] == "created"
    assert detail["items"][0]["product"]["name"] == order.items.get().name
    assert detail["customer"]["email"] == order.customer_email
    assert detail["payment"]["paidAt"].endswith("Z")
