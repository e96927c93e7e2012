"""The store-scoped order lookups and the representation the API and the writes share."""

from decimal import Decimal

import pytest
from django.db import connection
from django.db.models import Prefetch, prefetch_related_objects
from django.utils import timezone

from orders import errors, selectors, serializers, services
from orders.actors import SYSTEM_ACTOR
from orders.encoding import dumps
from orders.models import HistoryEntry, LineItem, Order, Refund
from tests.factories import VariantFactory, make_order

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
    # when / then: order+customer, then items, refunds and history (one statement on PostgreSQL, three
    # elsewhere) — and serialising needs no more
    with django_assert_num_queries(2 if connection.vendor == "postgresql" else 4):
        detail = serializers.order_detail(selectors.order_get_for_detail(store=store, order_ref="e-1"))
    assert detail["id"] == str(order.id)


def _prefetched(order_id) -> Order:
    order = Order.objects.select_related("customer").get(pk=order_id)
    prefetch_related_objects(
        [order],
        "items",
        "refunds",
        Prefetch("history", queryset=HistoryEntry.objects.order_by("changed_at", "id")),
    )
    return order


def test_detail_rows_read_in_one_statement_are_the_rows_the_orm_reads(store):
    # given: an order with two items (one without product), a refund, and history whose metadata holds
    # floats, integers, nested values and text
    order = make_order(
        store, items=[(VariantFactory(product__store=store), 2), (VariantFactory(product__store=store), 1)]
    )
    first_item = order.items.order_by("position").first()
    LineItem.objects.filter(pk=first_item.pk).update(product=None, price=Decimal("1234567.89"))
    make_order(store)  # another order's rows stay out
    services.order_set_status(
        order_id=order.id,
        store=store,
        to="processing",
        actor=SYSTEM_ACTOR,
        metadata={"weight": 1.25, "boxes": 2, "carrier": "UPS", "flag": True, "none": None},
        note="Packed",
    )
    Refund.objects.create(
        store=store,
        order=order,
        amount=Decimal("0.10"),
        reason="Dent",
        status="succeeded",
        processed_at=timezone.now(),
    )
    loaded = Order.objects.select_related("customer").get(pk=order.id)
    # when
    selectors.load_detail_rows(loaded)
    # then: the same instances, field by field, and the same detail
    expected = _prefetched(order.id)
    for relation in ("items", "refunds", "history"):
        mine, theirs = list(getattr(loaded, relation).all()), list(getattr(expected, relation).all())
        assert [type(r) for r in mine] == [type(r) for r in theirs]
        assert [_values(r) for r in mine] == [_values(r) for r in theirs]
        assert all(not r._state.adding for r in mine)
    assert dumps(serializers.order_detail(loaded)) == dumps(serializers.order_detail(expected))


def _values(instance) -> list[tuple[str, str]]:
    # repr: Decimal("1.25") == 1.25 in Python, but a metadata float must stay a float
    return [(f.attname, repr(getattr(instance, f.attname))) for f in instance._meta.concrete_fields]


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
