"""The orders CSV through the dashboard: the exact filters and sort of the list, formula cells
neutralised, streamed (the first chunk leaves before the last row is read), flat memory at 100,000
orders, and the file name."""

import csv
import io
import re
import tracemalloc
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from dashboard.client import ExportStream
from orders import export
from orders.models import Order, Store
from orders.statuses import PaymentStatus
from tests.factories import CustomerFactory, make_order

LIST = "/stores/acme/orders/"
EXPORT = "/stores/acme/orders/export.csv"
STATUSES = ["pending", "confirmed", "shipped", "delivered", "cancelled"]


def bulk_orders(store: Store, count: int, *, customer=None, start=datetime(2024, 1, 1, tzinfo=UTC)) -> None:
    """`count` orders written in bulk (no items, no history): enough for list, sort and export."""
    customer = customer or CustomerFactory(store=store)
    first = store.last_order_number + 1
    Order.objects.bulk_create(
        (
            Order(
                store=store,
                order_number=first + i,
                status=STATUSES[i % len(STATUSES)],
                payment_status=PaymentStatus.PAID,
                customer=customer,
                customer_email=customer.email,
                customer_name=customer.full_name,
                item_count=1 + i % 4,
                subtotal=Decimal(10 + (i * 37) % 500),
                tax=Decimal("0.00"),
                shipping=Decimal("0.00"),
                discount=Decimal("0.00"),
                total=Decimal(10 + (i * 37) % 500),
                currency=store.currency,
                created_at=start + timedelta(minutes=i),
                updated_at=start + timedelta(minutes=i),
            )
            for i in range(count)
        ),
        batch_size=2000,
    )
    store.last_order_number = first + count - 1
    Store.objects.filter(pk=store.pk).update(last_order_number=store.last_order_number)


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def api_ids(api, **params) -> list[str]:
    """Every order id of GET /api/v1/orders for these params, in the API's order (cursor walk)."""
    ids, params = [], {**params, "limit": 50}
    while True:
        data = api.get("/api/v1/orders", params).json()["data"]
        ids += [o["id"] for o in data["orders"]]
        if not data["nextCursor"]:
            return ids
        params["cursor"] = data["nextCursor"]


def test_export_link_carries_the_lists_exact_filters_and_sort(support_client, store):
    # given
    bulk_orders(store, 5)
    query = {
        "status": ["shipped", "delivered"],
        "search": "a",
        "sort": "-total",
        "page": "2",
        "page_size": "50",
    }
    # when
    html = support_client.get(LIST, query).content.decode()
    # then: everything that selects or orders rows, nothing that pages
    export_url = reverse("dashboard:order_export", args=["acme"])
    assert f'href="{export_url}?status=shipped&amp;status=delivered&amp;search=a&amp;sort=-total"' in html


@pytest.mark.parametrize(
    ("query", "api_params"),
    [
        (
            {"status": ["shipped", "delivered"], "sort": "-total"},
            {"status": "shipped,delivered", "sort": "-total"},
        ),
        (
            {"created_from": "2024-01-01", "created_to": "2024-01-01", "sort": "orderNumber"},
            {"dateFrom": "2024-01-01", "dateTo": "2024-01-01", "sort": "orderNumber"},
        ),
        ({}, {}),
    ],
)
def test_csv_rows_equal_the_api_list_for_the_same_filters_and_sort(
    support_client, api, store, query, api_params
):
    # given more orders than one API page, over two days
    bulk_orders(store, 130, start=datetime(2024, 1, 1, 22, tzinfo=UTC))
    # when
    response = support_client.get(EXPORT, query)
    rows = csv_rows(response)
    # then
    assert response.status_code == 200
    assert rows[0][:2] == ["Order number", "Order ID"]
    expected = api_ids(api, **api_params)
    assert len(expected) > 0
    assert [row[1] for row in rows[1:]] == expected


def test_formula_cells_are_neutralised_and_still_readable(support_client, store):
    # given customers whose names a spreadsheet would run
    link = CustomerFactory(
        store=store, first_name='=HYPERLINK("http://x")', last_name="", email="link@example.com"
    )
    phone = CustomerFactory(store=store, first_name="+1-555", last_name="", email="phone@example.com")
    make_order(store, customer=link, created_at=datetime(2024, 2, 1, tzinfo=UTC))
    make_order(store, customer=phone, created_at=datetime(2024, 2, 2, tzinfo=UTC), platform_name="@shop")
    # when
    rows = csv_rows(support_client.get(EXPORT, {"sort": "createdAt"}))
    # then: csv.reader gives back the text with one leading quote, nothing else changed
    name = rows[0].index("Customer name")
    assert rows[1][name] == '\'=HYPERLINK("http://x")'
    assert rows[2][name] == "'+1-555"
    assert rows[2][rows[0].index("Platform")] == "'@shop"
    assert rows[1][rows[0].index("Customer email")] == "link@example.com"


def test_file_name_names_the_store_and_the_time(support_client, store):
    bulk_orders(store, 1)
    response = support_client.get(EXPORT)
    assert re.fullmatch(
        r'attachment; filename="orders-acme-\d{8}T\d{6}Z\.csv"', response["Content-Disposition"]
    )
    assert response["Content-Type"] == "text/csv; charset=utf-8"


def test_first_chunk_leaves_before_the_last_row_is_read(support_client, store, monkeypatch):
    # given a few thousand orders, and a count of what the API's CSV writer (whichever the database
    # uses: Python rows on SQLite, COPY on PostgreSQL) has produced so far
    bulk_orders(store, 3500)
    produced = {"chunks": 0, "exhausted": False}

    def counting(writer):
        def wrapped(*args, **kwargs):
            for chunk in writer(*args, **kwargs):
                produced["chunks"] += 1
                yield chunk
            produced["exhausted"] = True

        return wrapped

    monkeypatch.setattr(export, "csv_stream", counting(export.csv_stream))
    monkeypatch.setattr(export, "csv_stream_copy", counting(export.csv_stream_copy))
    pulled: list[int] = []
    real_chunks = ExportStream.chunks

    def counting_chunks(self, chunk_size=None):
        for chunk in real_chunks(self, chunk_size):
            pulled.append(len(chunk))
            yield chunk

    monkeypatch.setattr(ExportStream, "chunks", counting_chunks)
    # when the dashboard's response is read one chunk
    response = support_client.get(EXPORT)
    body = iter(response.streaming_content)
    first = next(body)
    # then: it left after one upstream chunk, while the API's writer had not finished
    assert first.startswith(b"Order number,Order ID,")
    assert len(pulled) == 1
    assert produced["chunks"] == 1
    assert not produced["exhausted"]
    # and reading on streams the rest, chunk by chunk
    rest = b"".join(body)
    assert produced["exhausted"]
    assert produced["chunks"] >= 4
    assert len(pulled) >= 4
    assert (first + rest).count(b"\n") == 3501


@pytest.mark.postgres
def test_100k_order_export_through_the_dashboard_keeps_memory_flat(support_client, store):
    # given (bulk-written in a few seconds on PostgreSQL; SQLite would take minutes under tracemalloc)
    bulk_orders(store, 100_000)
    tracemalloc.start()
    try:
        baseline = tracemalloc.get_traced_memory()[0]
        # when
        response = support_client.get(EXPORT)
        lines = 0
        for chunk in response.streaming_content:
            lines += chunk.count(b"\n")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    # then: every row, and Python's peak allocation grew by far less than 100 MB
    assert lines == 100_001
    assert peak - baseline < 100 * 2**20, f"peak growth {(peak - baseline) / 2**20:.1f} MB"
