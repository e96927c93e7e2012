"""GET /api/v1/orders/stats: per-status counts, totals and the per-day series in the store's timezone."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from tests.factories import VariantFactory, make_order
from tests.orders.api.auth_cases import assert_refused, assert_validation_error, client_with, key_kinds

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/stats"


def test_counts_every_status_and_sums_revenue(api, store, other_store):
    # given
    variant = VariantFactory(product__store=store, price=Decimal("10.00"))
    make_order(store, status="pending", items=[(variant, 1)])
    make_order(store, status="shipped", items=[(variant, 2)])
    make_order(store, status="shipped", items=[(variant, 3)])
    make_order(other_store, status="delivered")
    # when
    response = api.get(URL)
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["byStatus"] == {
        "pending": 1,
        "confirmed": 0,
        "processing": 0,
        "partially_shipped": 0,
        "shipped": 2,
        "partially_delivered": 0,
        "delivered": 0,
        "cancelled": 0,
        "refunded": 0,
    }
    assert data["totals"] == {"orders": 3, "revenue": 60.0}
    assert data["currency"] == "USD"


def test_default_window_is_the_last_30_local_days(api, store):
    # given
    make_order(store, created_at=timezone.now() - timedelta(days=40))
    make_order(store)
    # when
    data = api.get(URL).json()["data"]
    # then
    assert len(data["days"]) == 30
    assert data["days"][-1]["date"] == timezone.now().date().isoformat() == data["dateTo"]
    assert sum(d["count"] for d in data["days"]) == 1
    assert data["totals"]["orders"] == 2  # totals follow the filters, not the chart window


def test_days_are_local_days_of_the_store(api, store):
    # given: 23:30 on 31 January in New York is 1 February in UTC
    store.timezone = "America/New_York"
    store.save()
    ny = ZoneInfo("America/New_York")
    variant = VariantFactory(product__store=store, price=Decimal("7.50"))
    make_order(store, created_at=datetime(2024, 1, 31, 23, 30, tzinfo=ny), items=[(variant, 1)])
    make_order(store, created_at=datetime(2024, 1, 31, 0, 10, tzinfo=ny), items=[(variant, 2)])
    make_order(store, created_at=datetime(2024, 2, 1, 0, 30, tzinfo=ny), items=[(variant, 4)])
    # when
    data = api.get(URL, {"dateFrom": "2024-01-30", "dateTo": "2024-02-01"}).json()["data"]
    # then
    assert data["days"] == [
        {"date": "2024-01-30", "count": 0, "revenue": 0.0},
        {"date": "2024-01-31", "count": 2, "revenue": 22.5},
        {"date": "2024-02-01", "count": 1, "revenue": 30.0},
    ]
    assert data["timezone"] == "America/New_York"
    assert (data["dateFrom"], data["dateTo"]) == ("2024-01-30", "2024-02-01")


def test_list_filters_apply(api, store):
    # given
    make_order(store, status="pending", created_at=datetime(2024, 3, 3, 12, tzinfo=UTC))
    make_order(store, status="delivered", created_at=datetime(2024, 3, 3, 13, tzinfo=UTC))
    # when
    data = api.get(URL, {"status": "pending", "dateFrom": "2024-03-01", "dateTo": "2024-03-05"}).json()[
        "data"
    ]
    # then
    assert data["byStatus"]["pending"] == 1
    assert data["byStatus"]["delivered"] == 0
    assert [d["count"] for d in data["days"]] == [0, 0, 1, 0, 0]
    assert date.fromisoformat(data["days"][0]["date"]) == date(2024, 3, 1)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"dateFrom": "2024-02-30"}, "dateFrom"),
        ({"status": "unknown"}, "status"),
        ({"dateFrom": "2020-01-01", "dateTo": "2024-01-01"}, "dateFrom"),
    ],
)
def test_bad_values_are_400_naming_the_field(api, params, field):
    # when
    response = api.get(URL, params)
    # then
    assert_validation_error(response, field)


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # when
    response = client_with(key_kind, store).get(URL)
    # then
    assert_refused(response, key_kind)
