"""The order list's rows as PostgreSQL writes them (serializers.ORDER_SUMMARY_JSON_SQL) are the rows
serializers.order_summary_row writes, key for key and value for value, on the cases where the two could
differ in form: blank and null text, order numbers wider than six digits, times between milliseconds
and in other time zones, money, text that JSON must escape, and tracking numbers of every JSON type."""

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import orjson
import pytest

from orders import serializers
from orders.encoding import dumps
from orders.models import Order
from orders.serializers import SUMMARY_FIELDS
from tests.factories import CustomerFactory, make_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

METADATA = [
    {"trackingNumber": "1Z999AA10123456784", "carrier": "UPS"},
    {"trackingNumber": "", "carrier": ""},
    {"trackingNumber": 123456789012, "carrier": -7},
    {"trackingNumber": 1.5, "carrier": True},
    {"trackingNumber": None, "carrier": {"name": "DHL"}},
    {"trackingNumber": ["A", "B"]},
    {},
    ["not", "an", "object"],
    {"trackingNumber": 'quote " backslash \\ tab \t ünïcødé 😀'},
]

# Narrower and wider than the six digits shown; none among the 1…9 the orders are first given.
ORDER_NUMBERS = [42, 999_999, 1_000_000, 12_345_678_901, 100_000, 1_234_567, 77, 10, 123]


def test_each_row_postgresql_writes_is_the_row_the_serializer_writes(store):
    # given: orders with every form of each field
    customer = CustomerFactory(
        store=store, email='odd"mail\\@example.com', first_name="Zoë 😀", last_name="O'Brien"
    )
    for n, metadata in enumerate(METADATA):
        order = make_order(
            store,
            customer=customer if n % 2 else None,
            external_id=None if n % 3 == 0 else ("" if n == 1 else f"EXT-{n}"),  # "" once: unique
            platform_name="" if n % 2 else "Shopify",
            metadata=metadata,
        )
        Order.objects.filter(pk=order.pk).update(
            order_number=ORDER_NUMBERS[n],
            total=Decimal("1234567.80") if n % 2 else Decimal("0.05"),
            refunded_amount=Decimal("10.00") * n,
            created_at=datetime(2026, 3, 29, 1, 59, 59, 999_999, tzinfo=UTC)
            + timedelta(microseconds=n * 1001),
            updated_at=datetime(2026, 12, 1, 9, 0, 0, 500, tzinfo=timezone(timedelta(hours=-5))),
        )
    orders = Order.objects.filter(store=store).order_by("order_number", "id")

    # when
    written = list(orders.values_list(serializers.order_summary_json(), flat=True))
    expected = [serializers.order_summary_row(row) for row in orders.values(*SUMMARY_FIELDS)]

    # then: the same keys in the same order, the same values once parsed
    assert len(written) == len(METADATA)
    for text, row in zip(written, expected, strict=True):
        parsed = orjson.loads(text)
        assert list(parsed) == list(row)
        assert parsed == orjson.loads(dumps(row)), text


def test_the_list_answers_the_rows_postgresql_wrote(api, store):
    # given
    make_order(store, metadata={"trackingNumber": "TRACK-1"})
    # when
    response = api.get("/api/v1/orders")
    # then: the API's list of one row, as the serializer writes it
    (row,) = response.json()["data"]["orders"]
    order = Order.objects.values(*SUMMARY_FIELDS).get()
    assert row == orjson.loads(dumps(serializers.order_summary_row(order)))
    assert row["trackingNumber"] == "TRACK-1"
