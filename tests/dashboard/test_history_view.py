"""The audit view: the store's history feed through the API, filters → API params, rows linking to
their orders, paging (HTMX partial and full page), and the audit CSV matching the feed."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import timezone

from dashboard.audit import HistoryFilterSet
from orders.models import HistoryEntry
from orders.statuses import OrderStatus
from tests.factories import make_order

LIST = "/stores/acme/audit/"
EXPORT = "/stores/acme/audit/export.csv"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "history-table"}


def entry(store, order, *, to, at, actor="system", actor_type="system", note="", prefix="", from_status=None):
    return HistoryEntry.objects.create(
        store=store,
        order=order,
        kind=HistoryEntry.Kind.STATUS if from_status else HistoryEntry.Kind.CREATED,
        from_status=from_status,
        to_status=to,
        changed_at=at,
        actor_type=actor_type,
        actor_name=actor,
        actor_api_key_prefix=prefix,
        note=note,
    )


def feed_ids(html: str) -> list[str]:
    return re.findall(r'href="/stores/acme/orders/([0-9a-f-]{36})/"', html)


def api_feed(api, **params) -> list[dict]:
    """Every entry of GET /api/v1/history for these params, walking the cursor."""
    rows, params = [], {**params, "limit": 50}
    while True:
        data = api.get("/api/v1/history", params).json()["data"]
        rows += data["entries"]
        if not data["nextCursor"]:
            return rows
        params["cursor"] = data["nextCursor"]


@pytest.fixture
def audit(store):
    """Two orders with a mix of changes by staff, an API key and the system in March 2024."""
    first = make_order(store, status="pending", created_at=datetime(2024, 3, 1, 9, tzinfo=UTC))
    second = make_order(store, status="pending", created_at=datetime(2024, 3, 2, 9, tzinfo=UTC))
    entry(
        store,
        first,
        from_status="pending",
        to="confirmed",
        at=datetime(2024, 3, 3, 10, tzinfo=UTC),
        actor="Marta",
        actor_type="user",
        note="Called the customer",
    )
    entry(
        store,
        second,
        from_status="pending",
        to="confirmed",
        at=datetime(2024, 3, 4, 10, tzinfo=UTC),
        actor="Shop sync",
        actor_type="api_key",
        prefix="sk_test_abcd",
    )
    entry(
        store,
        first,
        from_status="confirmed",
        to="shipped",
        at=datetime(2024, 3, 20, 10, tzinfo=UTC),
        actor="Marta",
        actor_type="user",
    )
    return first, second


def test_filter_form_turns_into_the_feeds_api_params():
    # given
    filterset = HistoryFilterSet(
        {
            "date_from": "2024-03-01",
            "date_to": "2024-03-31",
            "status": ["shipped", "delivered"],
            "actor": " Marta ",
            "page": "3",
        },
        statuses=[s.value for s in OrderStatus],
    )
    # when
    with timezone.override(ZoneInfo("America/New_York")):  # the store's zone, as the view runs it
        assert filterset.is_valid(), filterset.form.errors
        params = filterset.api_params()
    # then: whole days in the store's zone
    assert params == {
        "date_from": datetime(2024, 3, 1, tzinfo=ZoneInfo("America/New_York")),
        "date_to": datetime(2024, 3, 31, 23, 59, 59, 999999, tzinfo=ZoneInfo("America/New_York")),
        "status": ["shipped", "delivered"],
        "actor": "Marta",
        "limit": 25,
        "offset": 50,
    }


def test_feed_is_newest_first_and_each_row_links_to_its_order(viewer_client, audit):
    first, second = audit
    # when
    html = viewer_client.get(LIST).content.decode()
    # then: 3 changes + 2 creations, newest first
    assert feed_ids(html) == [str(first.id), str(second.id), str(first.id), str(second.id), str(first.id)]
    assert f'href="{reverse("dashboard:order_detail", args=["acme", first.id])}"' in html
    assert first.display_number in html


@pytest.mark.parametrize(
    ("query", "api_params"),
    [
        ({"actor": "marta"}, {"actor": "marta"}),
        ({"status": "confirmed"}, {"status": "confirmed"}),
        ({"status": ["confirmed", "shipped"]}, {"status": "confirmed,shipped"}),
        (
            {"date_from": "2024-03-04", "date_to": "2024-03-20"},
            {"dateFrom": "2024-03-04", "dateTo": "2024-03-20"},
        ),
    ],
)
def test_filtered_rows_equal_the_api_feed_for_the_same_filters(viewer_client, api, audit, query, api_params):
    # when
    html = viewer_client.get(LIST, query).content.decode()
    # then
    expected = [row["orderId"] for row in api_feed(api, **api_params)]
    assert expected, "the filter should match something"
    assert feed_ids(html) == expected


def test_a_bad_filter_is_shown_at_the_form_and_the_page_still_renders(viewer_client, audit):
    response = viewer_client.get(LIST, {"date_from": "2024-03-10", "date_to": "2024-03-01"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "“To” must be on or after “from”." in html
    assert feed_ids(html) == []


def test_paging_by_links_and_htmx_partial(viewer_client, store):
    # given 30 entries (one creation each)
    for i in range(30):
        make_order(store, created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i))
    # when
    page1 = viewer_client.get(LIST).content.decode()
    page2 = viewer_client.get(LIST, {"page": 2}, **HTMX).content.decode()
    # then
    assert len(feed_ids(page1)) == 25  # the audit view pages by 25
    assert 'href="/stores/acme/audit/?page=2"' in page1
    assert "Page 1 of 2" in page1
    assert page2.lstrip().startswith('<section id="history-table"')
    assert "<html" not in page2
    assert len(feed_ids(page2)) == 5
    assert 'href="/stores/acme/audit/"' in page2  # previous: page 1 without ?page
    assert not set(feed_ids(page1)) & set(feed_ids(page2))


def test_export_link_carries_the_filters_but_not_the_page(support_client, audit):
    html = support_client.get(LIST, {"actor": "Marta", "page": "1"}).content.decode()
    assert f'href="{EXPORT}?actor=Marta"' in html


def test_viewer_sees_no_export_link_and_gets_403(viewer_client, audit):
    assert EXPORT not in viewer_client.get(LIST).content.decode()
    assert viewer_client.get(EXPORT).status_code == 403


def test_csv_rows_equal_the_feed_across_several_api_pages(support_client, api, connection, store):
    # given more entries than one API page (50), in a store shown in New York time
    connection.timezone = "America/New_York"
    connection.save()
    order = make_order(store, created_at=datetime(2024, 1, 15, 12, tzinfo=UTC))
    for i in range(120):
        entry(
            store,
            order,
            from_status="confirmed",
            to="processing",
            at=datetime(2024, 1, 15, 13, tzinfo=UTC) + timedelta(minutes=i),
            actor="Marta",
            actor_type="user",
        )
    # when
    response = support_client.get(EXPORT, {"actor": "marta"})
    rows = list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))
    # then
    assert response.status_code == 200
    assert re.fullmatch(
        r'attachment; filename="audit-acme-\d{8}T\d{6}Z\.csv"', response["Content-Disposition"]
    )
    header, body = rows[0], rows[1:]
    assert header[:3] == ["Changed at", "Order number", "Order ID"]
    feed = api_feed(api, actor="marta")
    assert len(body) == len(feed) == 120
    assert [r[2] for r in body] == [f["orderId"] for f in feed]
    # newest first, store time with its offset (EST is UTC−5 in January)
    assert body[0][0] == "2024-01-15T09:59:00-05:00"
    assert body[-1][0] == "2024-01-15T08:00:00-05:00"
    assert body[0][1:] == [
        order.display_number,
        str(order.id),
        "status",
        "confirmed",
        "processing",
        "user",
        "Marta",
        "",
        "",
    ]


def test_csv_neutralises_formula_cells_and_keeps_them_readable(support_client, store):
    # given
    order = make_order(store)
    entry(
        store,
        order,
        from_status="confirmed",
        to="shipped",
        at=datetime(2024, 2, 1, tzinfo=UTC),
        actor="+1-555",
        actor_type="user",
        note='=HYPERLINK("http://x")',
    )
    # when
    body = b"".join(support_client.get(EXPORT, {"status": "shipped"}).streaming_content).decode()
    rows = list(csv.reader(io.StringIO(body)))
    # then
    assert rows[1][7] == "'+1-555"
    assert rows[1][9] == '\'=HYPERLINK("http://x")'


def test_csv_with_a_bad_filter_is_a_400_page(support_client, audit):
    response = support_client.get(EXPORT, {"date_from": "soon"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()
