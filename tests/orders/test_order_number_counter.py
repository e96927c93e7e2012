"""The order-number counter (`Store.last_order_number`, orders/services/order_numbers.py) and the data
migration that brings it up to the highest number each store already has."""

import importlib
import threading

import pytest
from django.apps import apps
from django.db import connection, transaction

from orders.models import Order, Store
from orders.services.order_numbers import order_number_next
from tests.factories import StoreFactory, make_order

migration = importlib.import_module("orders.migrations.0005_order_number_allocation")


def test_counters_are_raised_to_the_highest_order_number_and_never_lowered(db):
    # given: a store whose counter fell behind its orders, one ahead of them, one without orders
    behind = StoreFactory()
    order = make_order(behind)
    Order.objects.filter(pk=order.pk).update(order_number=41)
    make_order(behind)  # number 2
    Store.objects.filter(pk=behind.pk).update(last_order_number=0)
    ahead = StoreFactory(last_order_number=90)
    make_order(ahead)  # number 91
    Store.objects.filter(pk=ahead.pk).update(last_order_number=95)
    empty = StoreFactory()

    # when
    migration.counters_from_highest_order_number(apps, None)

    # then
    counters = dict(Store.objects.values_list("pk", "last_order_number"))
    assert (counters[behind.pk], counters[ahead.pk], counters[empty.pk]) == (41, 95, 0)


def test_numbers_go_on_from_the_counter_one_by_one(db):
    # given
    store = StoreFactory(last_order_number=1_233)

    # when
    with transaction.atomic():
        numbers = [order_number_next(store_id=store.pk) for _ in range(3)]

    # then
    assert numbers == [1_234, 1_235, 1_236]
    store.refresh_from_db()
    assert store.last_order_number == 1_236


class RolledBack(Exception):
    pass


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_on_postgresql_a_number_is_taken_at_once_for_good_outside_the_callers_transaction():
    # given a committed store
    store = StoreFactory()
    seen_meanwhile: list[int] = []

    def read_the_committed_counter():
        try:
            seen_meanwhile.append(Store.objects.get(pk=store.pk).last_order_number)
        finally:
            connection.close()

    taken: list[int] = []

    def take_a_number_let_another_connection_read_the_counter_and_roll_back():
        with transaction.atomic():
            taken.append(order_number_next(store_id=store.pk))
            reader = threading.Thread(target=read_the_committed_counter)
            reader.start()
            reader.join(timeout=60)
            raise RolledBack

    # when
    with pytest.raises(RolledBack):
        take_a_number_let_another_connection_read_the_counter_and_roll_back()

    # then the bump was committed while the transaction was open, and stays: the next number leaves a gap
    assert (taken, seen_meanwhile) == ([1], [1])
    with transaction.atomic():
        assert order_number_next(store_id=store.pk) == 2
