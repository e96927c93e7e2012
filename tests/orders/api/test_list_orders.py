"""GET /api/v1/orders: filters, sorts, offset and cursor paging, validation, auth, query count."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order
from tests.orders.api.auth_cases import assert_refused, assert_validation_error, client_with, key_kinds

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders"
# Spec §3.4: every `sort` value → the Order attribute it orders by, descending or not (the id breaks ties).
SORTS = {
    "-createdAt": ("created_at", True),
    "createdAt": ("created_at", False),
    "-updatedAt": ("updated_at", True),
    "updatedAt": ("updated_at", False),
    "-total": ("total", True),
    "total": ("total", False),
    "-orderNumber": ("order_number", True),
    "orderNumber": ("order_number", False),
}


def ids(response) -> list[str]:
    return [o["id"] for o in response.json()["data"]["orders"]]


def test_lists_the_stores_orders_newest_first(api, store, other_store):
    # given
    now = timezone.now()
    older = make_order(store, created_at=now - timedelta(hours=2), external_id="A-1", platform_name="shopify")
    newer = make_order(store, created_at=now - timedelta(hours=1))
    make_order(other_store)
    # when
    response = api.get(URL)
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["success"] is True
    data = body["data"]
    assert [o["id"] for o in data["orders"]] == [str(newer.id), str(older.id)]
    assert data["total"] == 2
    assert data["totalIsCapped"] is False
    assert data["totalIsEstimate"] is False
    assert (data["limit"], data["offset"], data["hasMore"], data["nextCursor"]) == (50, 0, False, None)
    row = data["orders"][1]
    assert row == {
        "id": str(older.id),
        "externalId": "A-1",
        "platformName": "shopify",
        "orderNumber": f"ORD-{older.order_number:06d}",
        "status": "confirmed",
        "paymentStatus": "paid",
        "customerId": str(older.customer_id),
        "customerEmail": older.customer_email,
        "customerName": older.customer_name,
        "itemCount": 2,
        "total": float(older.total),
        "refundedAmount": 0.0,
        "currency": "USD",
        "createdAt": older.created_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.")
        + f"{older.created_at.microsecond // 1000:03d}Z",
        "updatedAt": row["updatedAt"],
        "trackingNumber": None,
        "carrier": None,
    }


def test_rows_carry_the_tracking_number_and_carrier_from_the_metadata(api, store):
    # given
    make_order(store, status="shipped", metadata={"trackingNumber": "BRT123", "carrier": "BRT", "box": "B-1"})
    # when
    row = api.get(URL).json()["data"]["orders"][0]
    # then: those two keys only, not the whole metadata
    assert (row["trackingNumber"], row["carrier"]) == ("BRT123", "BRT")
    assert "metadata" not in row


def test_status_filter_takes_one_or_several_values_in_any_case(api, store):
    # given
    pending = make_order(store, status="pending")
    shipped = make_order(store, status="shipped")
    make_order(store, status="delivered")
    # when
    one = api.get(URL, {"status": "PENDING"})
    several = api.get(URL, {"status": "pending, Shipped"})
    # then
    assert ids(one) == [str(pending.id)]
    assert set(ids(several)) == {str(pending.id), str(shipped.id)}


def test_date_only_values_are_whole_days_in_the_stores_timezone(api, store):
    # given: a New York store; 2024-01-31 23:30 local is February in UTC, 2024-02-01 00:30 local is not January
    store.timezone = "America/New_York"
    store.save()
    ny = ZoneInfo("America/New_York")
    first_minute = make_order(store, created_at=datetime(2024, 1, 1, 0, 0, tzinfo=ny))
    last_evening = make_order(store, created_at=datetime(2024, 1, 31, 23, 30, tzinfo=ny))
    make_order(store, created_at=datetime(2024, 2, 1, 0, 30, tzinfo=ny))
    make_order(store, created_at=datetime(2023, 12, 31, 23, 59, tzinfo=ny))
    # when
    response = api.get(URL, {"dateFrom": "2024-01-01", "dateTo": "2024-01-31"})
    # then
    assert ids(response) == [str(last_evening.id), str(first_minute.id)]


def test_datetime_with_offset_is_taken_exactly(api, store):
    # given
    base = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    inside = make_order(store, created_at=base)
    make_order(store, created_at=base + timedelta(seconds=1))
    make_order(store, created_at=base - timedelta(seconds=1))
    # when
    response = api.get(URL, {"dateFrom": "2024-03-01T07:00:00-05:00", "dateTo": "2024-03-01T12:00:00Z"})
    # then
    assert ids(response) == [str(inside.id)]


def test_updated_range_filters_on_updated_at(api, store):
    # given
    changed = make_order(store, created_at=datetime(2024, 1, 1, tzinfo=UTC))
    make_order(store, created_at=datetime(2024, 1, 2, tzinfo=UTC))
    type(changed).objects.filter(pk=changed.pk).update(updated_at=datetime(2024, 5, 5, 10, tzinfo=UTC))
    # when
    response = api.get(URL, {"updatedFrom": "2024-05-05", "updatedTo": "2024-05-05"})
    # then
    assert ids(response) == [str(changed.id)]


def test_customer_external_platform_and_payment_filters(api, store):
    # given
    customer = CustomerFactory(store=store)
    mine = make_order(
        store, customer=customer, external_id="shop-1", platform_name="shopify", status="pending"
    )
    make_order(store, platform_name="woocommerce")
    # when / then
    assert ids(api.get(URL, {"customerId": str(customer.id)})) == [str(mine.id)]
    assert ids(api.get(URL, {"externalId": "shop-1"})) == [str(mine.id)]
    assert ids(api.get(URL, {"platformName": "shopify"})) == [str(mine.id)]
    assert ids(api.get(URL, {"paymentStatus": "unpaid"})) == [str(mine.id)]


@pytest.mark.parametrize(
    "term",
    [
        "ORD-{n:06d}",  # the order number, as shown
        "ord-{n}",
        "{n}",
        "ada.lov",  # part of the email
        "LOVELACE@EXAMPLE",  # any case
        "ada love",  # part of the name
        "EXT-77",  # the external ID
        "xt-7",  # part of it, any case
        "track-abc",  # part of the tracking number (metadata trackingNumber), any case
    ],
)
def test_search_matches_number_email_name_external_id_and_tracking_number(api, store, other_store, term):
    # given: no digits in any email, name or tracking number, and only 7s in an external ID, so a number
    # (the wanted order's is 4) matches the order number only; and the same order data in another store
    customer = CustomerFactory(
        store=store, email="ada.lovelace@example.com", first_name="Ada", last_name="Lovelace"
    )
    for letter in "abc":
        other = CustomerFactory(store=store, email=f"other-{letter}@example.com", first_name="Other")
        make_order(store, customer=other, external_id=f"EXT-{letter}", metadata={"trackingNumber": "ZZ"})
    wanted = make_order(
        store, customer=customer, external_id="EXT-77", metadata={"trackingNumber": "TRACK-ABCXYZ"}
    )
    assert wanted.order_number == 4
    twin = CustomerFactory(
        store=other_store, email="ada.lovelace@example.com", first_name="Ada", last_name="Lovelace"
    )
    make_order(other_store, customer=twin, external_id="EXT-77", metadata={"trackingNumber": "TRACK-ABCXYZ"})
    # when
    response = api.get(URL, {"search": term.format(n=wanted.order_number)})
    # then
    assert ids(response) == [str(wanted.id)]
    assert response.json()["data"]["total"] == 1


def test_search_takes_percent_and_underscore_literally(api, store):
    # given
    wanted = make_order(store, customer=CustomerFactory(store=store, email="a_b%c@example.com"))
    make_order(store, customer=CustomerFactory(store=store, email="axbyc@example.com"))
    # when
    response = api.get(URL, {"search": "a_b%c"})
    # then
    assert ids(response) == [str(wanted.id)]


@pytest.mark.parametrize("sort", ["-createdAt", "createdAt"])
def test_search_pages_are_the_matches_in_order_whether_many_or_few(api, store, monkeypatch, sort):
    # given: a search walks 4 rows of the list per page of depth before it looks matches up by index
    # (when it expects many: always on SQLite);
    # the 6 newest orders match "hit", then 8 alternate (4 more matches), the oldest 3 match "old"
    from orders import pagination

    monkeypatch.setattr(pagination, "SEARCH_WALK_ROWS", 4)
    at = datetime(2024, 1, 1, tzinfo=UTC)
    names = [f"hit-{i}" for i in range(6)] + [f"{'hit' if i % 2 else 'miss'}-x{i}" for i in range(8)]
    names += ["old-1", "old-2", "old-3"]
    orders = [
        make_order(
            store,
            customer=CustomerFactory(store=store, email=f"{name}@example.com"),
            created_at=at - timedelta(hours=i),
        )
        for i, name in enumerate(names)
    ]
    hits = [str(o.id) for o, name in zip(orders, names, strict=True) if name.startswith("hit")]
    olds = [str(o.id) for o in orders[-3:]]
    if sort == "createdAt":
        hits.reverse()
        olds.reverse()
    # when: by cursor, and by offset, two at a time
    by_cursor: list[str] = []
    cursor = None
    while True:
        query = {"search": "hit", "sort": sort, "limit": 2, **({"cursor": cursor} if cursor else {})}
        data = api.get(URL, query).json()["data"]
        by_cursor += [o["id"] for o in data["orders"]]
        cursor = data["nextCursor"]
        if not cursor:
            break
    pages = [
        api.get(URL, {"search": "hit", "sort": sort, "limit": 2, "offset": n}).json()["data"]
        for n in range(0, 12, 2)
    ]
    old = api.get(URL, {"search": "OLD-", "sort": sort, "limit": 2}).json()["data"]
    # then
    assert len(hits) == 10
    assert by_cursor == hits
    assert [o["id"] for page in pages for o in page["orders"]] == hits
    # few matches for PostgreSQL's planner (a table this small): sorted after the index lookup and
    # counted in the same query; SQLite (no estimate) walks, finds the page full, and counts up to the cap
    assert (pages[0]["total"], pages[0]["totalIsCapped"], pages[0]["totalIsEstimate"]) == (10, False, False)
    assert (pages[-1]["total"], pages[-1]["totalIsEstimate"]) == (10, False)  # past the end: counted
    assert [o["id"] for o in old["orders"]] == olds[:2]
    assert (old["total"], old["totalIsCapped"], old["hasMore"]) == (3, False, True)


@pytest.mark.parametrize("sort", list(SORTS))
def test_every_sort_orders_rows_with_id_as_tie_breaker(api, store, sort):
    # given: ties on created_at and on total
    variant = VariantFactory(product__store=store, price=Decimal("10.00"))
    at = datetime(2024, 1, 1, tzinfo=UTC)
    orders = [
        make_order(store, items=[(variant, 1 + i % 3)], created_at=at + timedelta(minutes=i // 2))
        for i in range(9)
    ]
    column, descending = SORTS[sort]
    expected = sorted(orders, key=lambda o: (getattr(o, column), str(o.id)), reverse=descending)
    # when
    response = api.get(URL, {"sort": sort})
    # then
    assert ids(response) == [str(o.id) for o in expected]


def test_offset_and_limit_page_through_the_list(api, store):
    # given
    orders = [
        make_order(store, created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i)) for i in range(5)
    ]
    newest_first = [str(o.id) for o in reversed(orders)]
    # when
    page = api.get(URL, {"limit": 2, "offset": 2}).json()["data"]
    # then
    assert [o["id"] for o in page["orders"]] == newest_first[2:4]
    assert page["hasMore"] is True
    assert page["total"] == 5


def test_total_of_a_page_that_is_not_full_is_counted_from_the_page(api, store):
    # given
    for _ in range(5):
        make_order(store)
    # when
    last_page = api.get(URL, {"limit": 2, "offset": 4}).json()["data"]
    past_the_end = api.get(URL, {"limit": 2, "offset": 10}).json()["data"]
    # then
    assert (last_page["total"], last_page["totalIsCapped"], last_page["hasMore"]) == (5, False, False)
    assert len(last_page["orders"]) == 1
    assert (past_the_end["total"], past_the_end["orders"]) == (5, [])


def test_total_beyond_the_cap_is_capped_and_says_so(api, store, settings):
    # given
    settings.API_COUNT_CAP = 3
    for _ in range(5):
        make_order(store)
    # when
    data = api.get(URL, {"limit": 2}).json()["data"]
    # then
    assert data["hasMore"] is True
    assert data["totalIsCapped"] is True
    if connection.vendor == "postgresql" and data["totalIsEstimate"]:
        # the planner's estimate (of a table never analysed here: see the test below), above the cap
        assert data["total"] > 3
    else:
        # SQLite has no estimate; PostgreSQL falls back to the cap when its estimate is not above it
        assert (data["total"], data["totalIsEstimate"]) == (3, False)


@pytest.mark.postgres
def test_total_beyond_the_cap_is_the_planners_estimate(api, store, other_store, settings):
    # given: statistics that count the store's orders exactly (ANALYZE samples every row of a small table)
    settings.API_COUNT_CAP = 3
    for _ in range(7):
        make_order(store)
    for _ in range(2):
        make_order(other_store)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    # when
    first = api.get(URL, {"limit": 2}).json()["data"]
    filtered = api.get(URL, {"limit": 2, "status": "confirmed"}).json()["data"]
    # then
    assert (first["total"], first["totalIsCapped"], first["totalIsEstimate"]) == (7, True, True)
    assert (filtered["total"], filtered["totalIsEstimate"]) == (7, True)


def _order_queries(api, params) -> tuple[dict, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        data = api.get(URL, params).json()["data"]
    return data, [q["sql"] for q in queries.captured_queries if '"orders_order"' in q["sql"]]


def test_a_list_found_above_the_cap_is_not_counted_again_for_a_minute(api, store, settings, monkeypatch):
    # given: a list above the cap, counted once
    settings.API_COUNT_CAP = 3
    for _ in range(5):
        make_order(store)
    api.get(URL)  # the key's last-used write
    clock = [1000.0]
    monkeypatch.setattr("orders.pagination.time.monotonic", lambda: clock[0])
    first, first_queries = _order_queries(api, {"limit": 2})
    # when: asked again within the minute, and once more after it
    again, again_queries = _order_queries(api, {"limit": 2})
    end, end_queries = _order_queries(api, {"limit": 50})
    clock[0] += 61
    later, later_queries = _order_queries(api, {"limit": 2})
    # then: the second page of the same list is the bare page query, with the same (capped) total
    assert any("COUNT(*)" in sql for sql in first_queries)
    assert len(again_queries) == 1
    assert "COUNT(" not in again_queries[0]
    assert (again["total"], again["totalIsCapped"], again["totalIsEstimate"]) == (
        first["total"],
        True,
        first["totalIsEstimate"],
    )
    assert again["hasMore"] is True
    # a page that holds the list's end still answers the exact number
    assert (end["total"], end["totalIsCapped"], len(end["orders"])) == (5, False, 5)
    assert all("COUNT(" not in sql for sql in end_queries)
    # after the minute the list is counted again
    assert any("COUNT(*)" in sql for sql in later_queries)
    assert later["totalIsCapped"] is True


def test_another_list_of_the_store_is_still_counted(api, store, settings):
    # given: the store's whole list found above the cap
    settings.API_COUNT_CAP = 3
    for _ in range(5):
        make_order(store)
    make_order(store, status="shipped")
    make_order(store, status="shipped")
    api.get(URL, {"limit": 2})
    # when: a filtered list of the same store, below the cap, one page of 1 at a time
    data, queries = _order_queries(api, {"limit": 1, "status": "shipped"})
    # then: counted, exactly
    assert any("COUNT(*)" in sql for sql in queries)
    assert (data["total"], data["totalIsCapped"], data["hasMore"]) == (2, False, True)


def _walk(api, params, store, variant) -> list[str]:
    seen: list[str] = []
    cursor = None
    while True:
        query = dict(params, limit=50)
        if cursor:
            query["cursor"] = cursor
        data = api.get(URL, query).json()["data"]
        seen.extend(o["id"] for o in data["orders"])
        # a new order arrives between every two pages, with a total anywhere in the range
        make_order(store, items=[(variant, 1 + len(seen) % 7)])
        cursor = data["nextCursor"]
        if not cursor:
            return seen


@pytest.mark.parametrize("sort", list(SORTS))
def test_cursor_walk_returns_every_existing_order_once_while_orders_arrive(api, store, sort):
    # given: 300 orders with ties on created_at and total
    variant = VariantFactory(product__store=store, price=Decimal("5.00"))
    customer = CustomerFactory(store=store)
    start = timezone.now() - timedelta(days=2)
    existing = {
        str(
            make_order(
                store,
                customer=customer,
                items=[(variant, 1 + i % 4)],
                created_at=start + timedelta(seconds=i // 3),
                history=False,
            ).id
        )
        for i in range(300)
    }
    # when
    seen = _walk(api, {"sort": sort}, store, variant)
    # then
    assert len(seen) == len(set(seen)), "an order was returned twice"
    assert existing <= set(seen), "an existing order was skipped"


def test_cursor_with_other_filters_is_refused(api, store):
    # given
    for _ in range(3):
        make_order(store)
    cursor = api.get(URL, {"limit": 1}).json()["data"]["nextCursor"]
    # when
    other_sort = api.get(URL, {"limit": 1, "cursor": cursor, "sort": "total"})
    other_filter = api.get(URL, {"limit": 1, "cursor": cursor, "status": "pending"})
    same = api.get(URL, {"limit": 1, "cursor": cursor})
    # then
    assert_validation_error(other_sort, "cursor")
    assert_validation_error(other_filter, "cursor")
    assert same.status_code == 200


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 51}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"dateFrom": "2024-13-01"}, "dateFrom"),
        ({"dateTo": "yesterday"}, "dateTo"),
        ({"dateFrom": "2024-02-01", "dateTo": "2024-01-01"}, "dateTo"),
        ({"updatedFrom": "01/02/2024"}, "updatedFrom"),
        ({"updatedTo": "2024-01-01T25:00"}, "updatedTo"),
        ({"status": "shipped,lost"}, "status"),
        ({"paymentStatus": "free"}, "paymentStatus"),
        ({"sort": "price"}, "sort"),
        ({"customerId": "42"}, "customerId"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"cursor": "eyJ2IjoxfQ"}, "cursor"),
        ({"dateFrom": "0001-01-01"}, "dateFrom"),
        ({"dateTo": "9999-12-31"}, "dateTo"),
        ({"search": "a\x00b"}, "search"),
        ({"externalId": "\x00"}, "externalId"),
    ],
)
def test_bad_values_are_400_naming_the_field(api, params, field):
    # when
    response = api.get(URL, params)
    # then
    assert_validation_error(response, field)
    assert response.json()["message"]


def test_every_bad_filter_is_named_at_once(api):
    # when
    response = api.get(URL, {"status": "lost", "sort": "price", "dateFrom": "nope"})
    # then
    fields = [e["field"] for e in response.json()["errors"]]
    assert set(fields) == {"status", "sort", "dateFrom"}


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # when
    response = client_with(key_kind, store).get(URL)
    # then
    assert_refused(response, key_kind)


def test_other_stores_orders_never_appear(api, other_store):
    # given
    foreign = make_order(other_store, external_id="theirs")
    # when
    by_external = api.get(URL, {"externalId": "theirs"}).json()["data"]
    by_customer = api.get(URL, {"customerId": str(foreign.customer_id)}).json()["data"]
    # then
    assert by_external["orders"] == []
    assert by_external["total"] == 0
    assert by_customer["orders"] == []


def test_query_count_is_the_same_for_5_and_50_rows(api, store, django_assert_num_queries):
    # given: a warm-up request so the key's last-used write is not part of the measured requests
    other = StoreFactory()
    for _ in range(5):
        make_order(store)
    for _ in range(50):
        make_order(other)
    from orders.auth import api_key_create
    from tests.conftest import ApiClient

    other_api = ApiClient(api_key_create(store=other).plaintext)
    api.get(URL)
    other_api.get(URL)
    # when: five rows (the key lookup, rate limiting, the page)
    with CaptureQueriesContext(connection) as five_queries:
        five = api.get(URL)
    # then: fifty rows take exactly as many queries
    with django_assert_num_queries(len(five_queries)):
        fifty = other_api.get(URL)
    assert len(five.json()["data"]["orders"]) == 5
    assert len(fifty.json()["data"]["orders"]) == 50
    order_queries = [q["sql"] for q in five_queries.captured_queries if '"orders_order"' in q["sql"]]
    assert len(order_queries) == 1  # the page, which is not full: its rows are the total


def test_a_full_page_counts_in_the_same_query(api, store):
    # given
    for _ in range(12):
        make_order(store)
    api.get(URL)
    # when
    with CaptureQueriesContext(connection) as queries:
        data = api.get(URL, {"limit": 10}).json()["data"]
    # then
    order_queries = [q["sql"] for q in queries.captured_queries if '"orders_order"' in q["sql"]]
    assert len(order_queries) == 1  # the page, with the capped count as a column
    assert "SELECT COUNT(*) FROM (SELECT" in order_queries[0]
    assert (data["total"], data["totalIsCapped"], data["totalIsEstimate"], data["hasMore"]) == (
        12,
        False,
        False,
        True,
    )


@pytest.mark.parametrize(
    ("sort", "key"),
    [
        ("-createdAt", ["0001-01-01T00:00:00+14:00", "00000000-0000-0000-0000-000000000000"]),
        ("-createdAt", [{"a": 1}, 5]),
        ("total", ["NaN", "00000000-0000-0000-0000-000000000000"]),
        ("orderNumber", [10**30, "00000000-0000-0000-0000-000000000000"]),
    ],
)
def test_forged_cursor_is_400_not_500(api, sort, key):
    # given: a cursor with the right fingerprint (it is not a secret) but impossible values
    from orders import pagination
    from orders.selectors import OrderFilters

    cursor = pagination.encode_cursor(key, OrderFilters(sort=sort).fingerprint())
    # when
    response = api.get(URL, {"sort": sort, "cursor": cursor})
    # then
    assert_validation_error(response, "cursor")
