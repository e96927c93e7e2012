"""Keep the list's context: a list row opens its order with the list's query and position; the order page
offers the previous/next order of that filtered, sorted list and a breadcrumb back to the exact list page
with the row as fragment (highlighted by CSS :target)."""

import re
from datetime import UTC, datetime, timedelta
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.factories import make_order

pytestmark = pytest.mark.usefixtures("connection")

LIST = "/stores/acme/orders/"


@pytest.fixture
def orders(store):
    """Six orders a day apart (oldest first); the odd ones are shipped."""
    start = datetime(2026, 3, 1, 12, tzinfo=UTC)
    return [
        make_order(store, status="shipped" if i % 2 else "pending", created_at=start + timedelta(days=i))
        for i in range(6)
    ]


def detail(order) -> str:
    return f"{LIST}{order.id}/"


def links(html: str, element_id: str) -> str | None:
    match = re.search(rf'id="{element_id}"[^>]*href="([^"]+)"', html) or re.search(
        rf'href="([^"]+)"[^>]*id="{element_id}"', html
    )
    return unescape(match.group(1)) if match else None


def test_list_rows_open_the_order_with_the_lists_query_and_position(viewer_client, orders):
    # when: shipped orders, newest first: 5, 3, 1
    html = viewer_client.get(LIST + "?status=shipped&sort=-createdAt").content.decode()
    # then: each row has its anchor, and its link carries the list's query and its position
    assert f'<tr id="order-{orders[3].id}">' in html
    href = unescape(re.search(rf'href="({detail(orders[3])}[^"]*)"', html).group(1))
    query = parse_qs(urlsplit(href).query)
    assert query == {"from": ["status=shipped&sort=-createdAt"], "pos": ["1"]}


def test_order_page_offers_previous_and_next_within_the_filtered_list(viewer_client, orders):
    # when: the middle one of the shipped orders (5, 3, 1)
    html = viewer_client.get(
        detail(orders[3]), {"from": "status=shipped&sort=-createdAt", "pos": "1"}
    ).content
    html = html.decode()
    # then
    previous, following = links(html, "previous-order"), links(html, "next-order")
    assert previous.startswith(detail(orders[5]))
    assert parse_qs(urlsplit(previous).query) == {"from": ["status=shipped&sort=-createdAt"], "pos": ["0"]}
    assert following.startswith(detail(orders[1]))
    assert parse_qs(urlsplit(following).query)["pos"] == ["2"]
    assert "2 of 3" in html
    # pending orders between them are skipped: they are not in the list
    assert str(orders[4].id) not in previous + following


def test_first_and_last_order_of_the_list_have_one_neighbour(viewer_client, orders):
    first = viewer_client.get(detail(orders[5]), {"from": "status=shipped", "pos": "0"}).content.decode()
    last = viewer_client.get(detail(orders[1]), {"from": "status=shipped", "pos": "2"}).content.decode()
    assert links(first, "previous-order") is None
    assert links(first, "next-order").startswith(detail(orders[3]))
    assert links(last, "previous-order").startswith(detail(orders[3]))
    assert links(last, "next-order") is None


def test_breadcrumb_goes_back_to_the_filtered_list_with_the_row_as_fragment(viewer_client, orders):
    # when
    html = viewer_client.get(
        detail(orders[3]), {"from": "search=&status=shipped&sort=-createdAt", "pos": "1"}
    ).content.decode()
    # then: the filters are kept (empty ones dropped) and the row is the fragment
    assert links(html, "back-to-list") == f"{LIST}?status=shipped&sort=-createdAt#order-{orders[3].id}"


def test_breadcrumb_and_neighbours_follow_the_page_the_order_is_on(viewer_client, store):
    # given: 26 orders, 25 per page; position 25 is the first row of page 2
    start = datetime(2026, 1, 1, tzinfo=UTC)
    made = [make_order(store, created_at=start + timedelta(hours=i)) for i in range(26)]
    oldest, second_oldest = made[0], made[1]
    # when
    html = viewer_client.get(detail(oldest), {"from": "page=2", "pos": "25"}).content.decode()
    # then: back to page 2; the previous order is the last row of page 1 (its link carries page 1)
    assert links(html, "back-to-list") == f"{LIST}?page=2#order-{oldest.id}"
    previous = links(html, "previous-order")
    assert previous.startswith(detail(second_oldest))
    assert parse_qs(urlsplit(previous).query, keep_blank_values=True) == {"from": [""], "pos": ["24"]}
    assert links(html, "next-order") is None
    assert "26 of 26" in html


def test_a_list_that_changed_keeps_the_way_back_but_offers_no_neighbours(viewer_client, orders):
    # when: position 0 of the shipped list is another order now
    html = viewer_client.get(detail(orders[3]), {"from": "status=shipped", "pos": "0"}).content.decode()
    # then
    assert links(html, "back-to-list") == f"{LIST}?status=shipped#order-{orders[3].id}"
    assert links(html, "previous-order") is None
    assert links(html, "next-order") is None


@pytest.mark.parametrize(
    "query",
    [
        {},
        {"from": "status=nonsense", "pos": "1"},
        {"from": "x" * 3000, "pos": "1"},
        {"from": "", "pos": "-1"},
    ],
)
def test_without_a_usable_list_context_the_breadcrumb_is_the_plain_list(viewer_client, orders, query):
    html = viewer_client.get(detail(orders[3]), query).content.decode()
    assert links(html, "back-to-list") in (LIST, f"{LIST}#order-{orders[3].id}")
    assert links(html, "previous-order") is None
