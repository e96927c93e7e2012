"""The orders list: filters through the API, HTMX partial vs full page, paging, sorting, empty state."""

import re
from datetime import UTC, datetime

import pytest
from django.db import connection
from django.urls import reverse

from tests.factories import CustomerFactory, VariantFactory, make_order

LIST = "/stores/acme/orders/"
HTMX = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "orders-table"}


def table_html(html: str) -> str:
    """The #orders-table section of a page (or the whole partial)."""
    match = re.search(r'<section id="orders-table".*?</section>', html, re.S)
    assert match, "no #orders-table in the response"
    return match.group(0)


def order_numbers(html: str) -> list[str]:
    return re.findall(r'class="order-link"[^>]*>(ORD-\d+)<', html)


@pytest.fixture
def orders(store):
    bob = CustomerFactory(store=store, email="bob@example.com", first_name="Bob", last_name="Builder")
    return [
        make_order(store, status="pending", created_at=datetime(2024, 3, 1, 9, tzinfo=UTC)),
        make_order(store, status="shipped", customer=bob, created_at=datetime(2024, 3, 2, 9, tzinfo=UTC)),
        make_order(
            store,
            status="delivered",
            items=[(VariantFactory(product__store=store), 9)],
            created_at=datetime(2024, 3, 3, 9, tzinfo=UTC),
        ),
    ]


def test_full_page_has_filters_and_table(viewer_client, orders):
    response = viewer_client.get(LIST)
    html = response.content.decode()
    assert response.status_code == 200
    assert '<form id="filters"' in html
    assert "<html" in html
    assert order_numbers(html) == ["ORD-000003", "ORD-000002", "ORD-000001"]  # newest first


def test_htmx_request_targeting_the_table_gets_only_the_partial(viewer_client, orders):
    response = viewer_client.get(LIST, {"status": "shipped"}, **HTMX)
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section id="orders-table"')
    assert "<html" not in html
    assert '<form id="filters"' not in html
    assert order_numbers(html) == ["ORD-000002"]


def test_htmx_request_for_another_target_gets_the_full_page(viewer_client, orders):
    response = viewer_client.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="main")
    assert "<html" in response.content.decode()


def test_pushed_url_reproduces_the_same_table_as_a_full_page(viewer_client, orders):
    # given the query an HTMX filter change pushes
    query = {"status": ["shipped", "delivered"], "sort": "-total", "page_size": "25"}
    partial = viewer_client.get(LIST, query, **HTMX).content.decode()
    # when the same URL is opened as a plain page (shared link, reload, back button)
    full = viewer_client.get(LIST, query).content.decode()
    # then
    assert table_html(full) == table_html(partial)
    assert order_numbers(full) == ["ORD-000003", "ORD-000002"]
    assert 'value="shipped" ' in full
    assert "checked" in full


def test_status_checkboxes_reflect_the_query(viewer_client, orders):
    html = viewer_client.get(LIST, {"status": "shipped"}).content.decode()
    assert re.search(r'<input[^>]*value="shipped"[^>]*checked', html)
    assert not re.search(r'<input[^>]*value="pending"[^>]*checked', html)


def test_search_by_customer_email(viewer_client, orders):
    html = viewer_client.get(LIST, {"search": "bob@example.com"}, **HTMX).content.decode()
    assert order_numbers(html) == ["ORD-000002"]


def test_sort_by_total_and_header_links_flip_direction(viewer_client, orders):
    html = viewer_client.get(LIST, {"sort": "-total"}).content.decode()
    assert order_numbers(html)[0] == "ORD-000003"  # 9 items: the biggest total
    assert 'aria-sort="descending"' in html
    assert "sort=total" in html  # the Total header now offers ascending
    ascending = viewer_client.get(LIST, {"sort": "total"}).content.decode()
    assert order_numbers(ascending)[-1] == "ORD-000003"


def test_created_date_range_uses_store_days(viewer_client, orders):
    html = viewer_client.get(
        LIST, {"created_from": "2024-03-02", "created_to": "2024-03-02"}
    ).content.decode()
    assert order_numbers(html) == ["ORD-000002"]


def test_bad_filter_value_shows_form_error_and_page_still_renders(viewer_client, orders):
    response = viewer_client.get(LIST, {"created_from": "not-a-date", "status": "bogus"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "Some filters are not valid" in html
    assert "Enter a valid date." in html
    assert "bogus is not one of the available choices" in html


def test_reversed_date_range_is_a_form_error(viewer_client, orders):
    response = viewer_client.get(LIST, {"created_from": "2024-03-05", "created_to": "2024-03-01"})
    assert response.status_code == 200
    assert "must be on or after" in response.content.decode()


def test_empty_result_shows_message_and_clear_link_keeping_sort(viewer_client, orders):
    html = viewer_client.get(LIST, {"search": "nobody-here", "sort": "-total"}).content.decode()
    assert "No orders match these filters." in html
    assert f'href="{LIST}?sort=-total"' in html


def test_paging_through_the_api(viewer_client, store):
    # given 30 orders and 25 per page
    for _ in range(30):
        make_order(store)
    # when
    first = viewer_client.get(LIST).content.decode()
    second = viewer_client.get(LIST, {"page": "2"}).content.decode()
    # then
    assert len(order_numbers(first)) == 25
    assert order_numbers(second) == ["ORD-000005", "ORD-000004", "ORD-000003", "ORD-000002", "ORD-000001"]
    assert "Page 1 of 2" in first
    assert "Page 2 of 2" in second
    assert 'href="/stores/acme/orders/?page=2"' in first
    assert "<strong>30</strong> orders" in first
    assert 'rel="next"' not in second


def test_page_size_50(viewer_client, store):
    for _ in range(30):
        make_order(store)
    html = viewer_client.get(LIST, {"page_size": "50"}).content.decode()
    assert len(order_numbers(html)) == 30


def test_capped_total_shows_plus_or_the_estimate(viewer_client, store, settings):
    # given: a full first page (25), so the API counts, up to its cap
    settings.API_COUNT_CAP = 3
    for _ in range(26):
        make_order(store)
    if connection.vendor == "postgresql":
        # statistics that count the store's orders exactly: the API's estimate above the cap is 26
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE orders_order")
    # when
    html = viewer_client.get(LIST).content.decode()
    # then
    assert (
        "<strong>about 26</strong>" if connection.vendor == "postgresql" else "<strong>3+</strong>"
    ) in html
    assert "Page 1</span>" in html  # no "of N" when the count is capped


def test_export_link_carries_the_filters_for_support_only(viewer_client, support, orders, client):
    query = {"status": "shipped", "search": "bob", "page": "2"}
    assert "Export CSV" not in viewer_client.get(LIST, query).content.decode()
    client.force_login(support)
    html = client.get(LIST, query).content.decode()
    export_url = reverse("dashboard:order_export", args=["acme"])
    assert f'href="{export_url}?status=shipped&amp;search=bob"' in html


def test_export_streams_the_filtered_csv(support_client, orders):
    response = support_client.get("/stores/acme/orders/export.csv", {"status": "shipped"})
    assert response.status_code == 200
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    assert "ORD-000002" in body
    assert "ORD-000001" not in body
    assert response["Content-Disposition"].startswith('attachment; filename="orders-acme-')


def test_user_text_is_escaped(viewer_client, store):
    evil = CustomerFactory(store=store, first_name="<script>alert(1)</script>", last_name="X")
    make_order(store, customer=evil)
    html = viewer_client.get(LIST).content.decode()
    assert "<script>alert(1)</script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_export_with_a_bad_filter_is_400_with_the_form_error(support_client, orders):
    response = support_client.get("/stores/acme/orders/export.csv", {"created_from": "yesterday"})
    assert response.status_code == 400
    assert "Enter a valid date." in response.content.decode()


def test_viewer_asking_for_export_gets_a_403_page(viewer_client, orders):
    response = viewer_client.get("/stores/acme/orders/export.csv")
    assert response.status_code == 403
    assert "does not allow this" in response.content.decode()
