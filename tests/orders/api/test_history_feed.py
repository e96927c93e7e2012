"""GET /api/v1/history: the store's status changes, newest first, filtered and paged like the list."""

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import HistoryEntry
from tests.factories import make_order
from tests.orders.api.auth_cases import assert_refused, assert_validation_error, client_with, key_kinds

pytestmark = pytest.mark.django_db

URL = "/api/v1/history"


def entry(order, at: datetime, to_status: str, actor: str = "system", **extra) -> HistoryEntry:
    return HistoryEntry.objects.create(
        store=order.store,
        order=order,
        kind=extra.pop("kind", "status"),
        from_status=extra.pop("from_status", "confirmed"),
        to_status=to_status,
        changed_at=at,
        actor_type="user" if actor != "system" else "system",
        actor_name=actor,
        **extra,
    )


def test_feed_is_newest_first_and_names_the_order(api, store, other_store):
    # given
    at = datetime(2024, 5, 1, tzinfo=UTC)
    order = make_order(store, created_at=at, history=False)
    first = entry(order, at + timedelta(minutes=1), "processing", note="go")
    second = entry(order, at + timedelta(minutes=2), "shipped")
    entry(make_order(other_store, history=False), at, "processing")
    # when
    response = api.get(URL)
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert [e["id"] for e in data["entries"]] == [second.id, first.id]
    assert data["entries"][1]["orderId"] == str(order.id)
    assert data["entries"][1]["orderNumber"] == f"ORD-{order.order_number:06d}"
    assert data["entries"][1]["note"] == "go" == data["entries"][1]["reason"]
    assert (data["total"], data["hasMore"], data["nextCursor"]) == (2, False, None)


def test_filters_status_actor_and_local_dates(api, store):
    # given: a New York store
    store.timezone = "America/New_York"
    store.save()
    ny = ZoneInfo("America/New_York")
    order = make_order(store, history=False)
    inside = entry(order, datetime(2024, 1, 31, 23, 30, tzinfo=ny), "shipped", actor="Grace Hopper")
    entry(order, datetime(2024, 2, 1, 0, 30, tzinfo=ny), "shipped", actor="Grace Hopper")
    entry(order, datetime(2024, 1, 15, tzinfo=ny), "processing", actor="Grace Hopper")
    entry(order, datetime(2024, 1, 16, tzinfo=ny), "shipped", actor="Alan")
    # when
    response = api.get(
        URL, {"dateFrom": "2024-01-01", "dateTo": "2024-01-31", "status": "SHIPPED", "actor": "grace hopper"}
    )
    # then
    assert [e["id"] for e in response.json()["data"]["entries"]] == [inside.id]


def test_cursor_walk_returns_every_entry_once_while_entries_arrive(api, store):
    # given
    order = make_order(store, history=False)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    existing = {entry(order, at + timedelta(seconds=i // 3), "processing").id for i in range(120)}
    # when
    seen: list[int] = []
    cursor = None
    while True:
        data = api.get(URL, {"limit": 25, **({"cursor": cursor} if cursor else {})}).json()["data"]
        seen.extend(e["id"] for e in data["entries"])
        entry(order, at + timedelta(days=1, seconds=len(seen)), "shipped")
        cursor = data["nextCursor"]
        if not cursor:
            break
    # then
    assert len(seen) == len(set(seen))
    assert existing <= set(seen)


def test_query_count_is_the_same_for_5_and_50_entries(api, store, django_assert_num_queries):
    # given
    order = make_order(store, history=False)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    for i in range(5):
        entry(order, at + timedelta(minutes=i), "processing")
    api.get(URL)
    with CaptureQueriesContext(connection) as five:
        api.get(URL)
    for i in range(45):
        entry(make_order(store, history=False), at + timedelta(hours=i), "shipped")
    # when / then
    with django_assert_num_queries(len(five)):
        fifty = api.get(URL)
    assert len(fifty.json()["data"]["entries"]) == 50


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"offset": -5}, "offset"),
        ({"dateFrom": "May 1"}, "dateFrom"),
        ({"dateTo": "2024-01-01", "dateFrom": "2024-02-01"}, "dateTo"),
        ({"status": "teleported"}, "status"),
        ({"cursor": "%%%"}, "cursor"),
    ],
)
def test_bad_values_are_400_naming_the_field(api, params, field):
    # when
    response = api.get(URL, params)
    # then
    assert_validation_error(response, field)


def test_cursor_from_other_filters_is_refused(api, store):
    # given
    order = make_order(store, history=False)
    for i in range(3):
        entry(order, datetime(2024, 1, 1, tzinfo=UTC) + timedelta(minutes=i), "processing")
    cursor = api.get(URL, {"limit": 1}).json()["data"]["nextCursor"]
    # when
    response = api.get(URL, {"limit": 1, "cursor": cursor, "actor": "someone"})
    # then
    assert_validation_error(response, "cursor")


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # when
    response = client_with(key_kind, store).get(URL)
    # then
    assert_refused(response, key_kind)
