"""GET /api/v1/orders/export: every matching row, streamed as CSV or NDJSON, the list's filters."""

import csv
import io
import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.http import StreamingHttpResponse

from orders import export
from tests.factories import CustomerFactory, make_order
from tests.orders.api.auth_cases import assert_refused, assert_validation_error, client_with, key_kinds

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/export"
LIST = "/api/v1/orders"
# spec/dashboard.md §2 "CSV export".
HEADER = [
    "Order number",
    "Order ID",
    "External ID",
    "Platform",
    "Created",
    "Updated",
    "Status",
    "Payment status",
    "Customer name",
    "Customer email",
    "Items",
    "Subtotal",
    "Tax",
    "Shipping",
    "Discount",
    "Total",
    "Refunded",
    "Currency",
]


def body(response) -> str:
    assert isinstance(response, StreamingHttpResponse)
    return b"".join(response.streaming_content).decode()


def csv_rows(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body(response))))


def test_csv_has_the_dashboard_columns_and_one_row_per_order(api, store):
    # given: a New York store, an order at 23:30 local time
    store.timezone = "America/New_York"
    store.name = "Acme Shop & Co"
    store.save()
    created = datetime(2024, 1, 31, 23, 30, tzinfo=ZoneInfo("America/New_York"))
    order = make_order(store, created_at=created, external_id="ext-1", platform_name="shopify")
    # when
    response = api.get(URL)
    rows = csv_rows(response)
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert re.fullmatch(
        r'attachment; filename="orders-acme-shop-co-\d{8}T\d{6}Z\.csv"', response["Content-Disposition"]
    )
    assert rows[0] == HEADER
    assert rows[1] == [
        f"ORD-{order.order_number:06d}",
        str(order.id),
        "ext-1",
        "shopify",
        "2024-01-31T23:30:00-05:00",
        "2024-01-31T23:30:00-05:00",
        "confirmed",
        "paid",
        order.customer_name,
        order.customer_email,
        "2",
        "59.98",
        "0.00",
        "0.00",
        "0.00",
        "59.98",
        "0.00",
        "USD",
    ]


@pytest.mark.parametrize(
    "params", [{}, {"status": "pending,shipped"}, {"sort": "total"}, {"sort": "-orderNumber"}]
)
def test_csv_rows_are_the_lists_orders_in_the_same_order(api, store, params):
    # given
    statuses = ["pending", "shipped", "delivered"]
    for i in range(12):
        make_order(
            store, status=statuses[i % 3], created_at=datetime(2024, 1, 1, tzinfo=UTC) + timedelta(hours=i)
        )
    listed = [o["id"] for o in api.get(LIST, params).json()["data"]["orders"]]
    # when
    exported = [row[1] for row in csv_rows(api.get(URL, params))[1:]]
    # then
    assert exported == listed
    assert exported


def test_formula_cells_are_neutralised_and_round_trip(api, store):
    # given: customer-controlled text that a spreadsheet would execute
    customer = CustomerFactory(store=store, first_name='=HYPERLINK("http://evil")', last_name="x")
    make_order(store, customer=customer, external_id="+1-202", platform_name="@sum")
    # when
    row = csv_rows(api.get(URL))[1]
    # then
    assert row[8] == '\'=HYPERLINK("http://evil") x'
    assert row[2] == "'+1-202"
    assert row[3] == "'@sum"


@pytest.mark.parametrize(
    ("cell", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1", "'-1"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("a=b", "a=b"),
        ("", ""),
    ],
)
def test_neutralise(cell, expected):
    assert export.neutralise(cell) == expected


def test_ndjson_lines_parse_and_match_the_list(api, store):
    # given
    for _ in range(3):
        make_order(store)
    listed = api.get(LIST).json()["data"]["orders"]
    # when
    response = api.get(URL, {"format": "ndjson"})
    text = body(response)
    # then
    assert response["Content-Type"] == "application/x-ndjson"
    assert response["Content-Disposition"].endswith('.ndjson"')
    lines = [json.loads(line) for line in text.splitlines()]
    assert [line["id"] for line in lines] == [o["id"] for o in listed]
    assert {k: v for k, v in lines[0].items() if k in listed[0]} == listed[0]
    assert lines[0]["subtotal"] == 59.98
    assert lines[0]["tax"] == 0.0


def test_python_writer_streams_in_chunks_of_rows(api, store, monkeypatch):
    # given the portable writer (SQLite; PostgreSQL has its own below), two rows per chunk
    monkeypatch.setattr(export, "can_copy", lambda: False)
    monkeypatch.setattr(export, "ROWS_PER_CHUNK", 2)
    for _ in range(5):
        make_order(store)
    # when
    chunks = list(api.get(URL).streaming_content)
    # then: header + 2 rows, 2 rows, 1 row
    assert len(chunks) == 3
    assert sum(chunk.count(b"\n") for chunk in chunks) == 6


@pytest.mark.postgres
def test_copy_writer_streams_in_chunks_of_bytes(api, store, monkeypatch):
    # given PostgreSQL's COPY writer with tiny chunks
    monkeypatch.setattr(export, "_COPY_CHUNK_BYTES", 300)
    for _ in range(5):
        make_order(store)
    # when
    chunks = list(api.get(URL).streaming_content)
    # then the header comes alone, then the rows in several chunks, none of them lost
    assert len(chunks) >= 4
    assert chunks[0].count(b"\n") == 1
    assert sum(chunk.count(b"\n") for chunk in chunks) == 6


def _write_csv(writer: str, store, tz_name: str) -> bytes:
    """The whole CSV of the store's orders from one of the two writers: "python" or "copy" (PostgreSQL)."""
    from orders.selectors import OrderFilters, order_export_rows, order_sorted_queryset

    if writer == "python":
        return b"".join(
            export.csv_stream(order_export_rows(store=store, filters=OrderFilters()), ZoneInfo(tz_name))
        )
    return b"".join(
        export.csv_stream_copy(order_sorted_queryset(store=store, filters=OrderFilters()), tz_name)
    )


@pytest.mark.parametrize("writer", ["python", pytest.param("copy", marks=pytest.mark.postgres)])
def test_each_csv_writer_writes_exactly_the_expected_file(store, writer):
    # given a New York store with a tricky order (formula cells, a comma and quotes, updated in summer
    # time, refunded in part) and a plain one (empty cells, a number wider than six digits, after the
    # switch to summer time)
    from orders.models import Order, Store

    store.timezone = "America/New_York"
    store.last_order_number = 41
    store.save()
    tricky = make_order(
        store,
        status="shipped",
        external_id="+44 20",
        platform_name='Shop, "Inc"',
        tax=Decimal("2.00"),
        shipping=Decimal("5.00"),
        discount=Decimal("1.00"),
        created_at=datetime(2024, 2, 1, 4, 30, 59, 999999, tzinfo=UTC),
    )
    Order.objects.filter(pk=tricky.pk).update(
        customer_name="=SUM(A1)",
        customer_email="ann@example.com",
        payment_status="partially_refunded",
        refunded_amount=Decimal("10.00"),
        updated_at=datetime(2024, 7, 4, 12, 0, tzinfo=UTC),
    )
    Store.objects.filter(pk=store.pk).update(last_order_number=1_234_566)
    store.refresh_from_db()
    plain = make_order(store, created_at=datetime(2024, 3, 10, 7, 0, tzinfo=UTC))
    Order.objects.filter(pk=plain.pk).update(customer_name="", customer_email="plain@example.com")
    # when
    written = _write_csv(writer, store, "America/New_York").decode()
    # then: the header, then the rows newest first, every cell literal (a column added to, dropped from
    # or changed in one writer fails here on that writer)
    assert written == (
        "Order number,Order ID,External ID,Platform,Created,Updated,Status,Payment status,Customer name,"
        "Customer email,Items,Subtotal,Tax,Shipping,Discount,Total,Refunded,Currency\n"
        f"ORD-1234567,{plain.id},,,2024-03-10T03:00:00-04:00,2024-03-10T03:00:00-04:00,confirmed,paid,,"
        "plain@example.com,2,59.98,0.00,0.00,0.00,59.98,0.00,USD\n"
        f'ORD-000042,{tricky.id},\'+44 20,"Shop, ""Inc""",2024-01-31T23:30:59-05:00,'
        "2024-07-04T08:00:00-04:00,shipped,partially_refunded,'=SUM(A1),ann@example.com,2,59.98,2.00,5.00,"
        "1.00,65.98,10.00,USD\n"
    )


@pytest.mark.postgres
@pytest.mark.parametrize("tz_name", ["America/New_York", "Asia/Kolkata", "UTC"])
def test_copy_writer_writes_the_same_bytes_as_the_python_writer(store, tz_name):
    # given orders whose cells exercise quoting, formula neutralising, empties, wide numbers, odd offsets
    from orders.models import Order, Store
    from orders.selectors import OrderFilters, order_export_rows, order_sorted_queryset

    store.timezone = tz_name
    store.save()
    tricky = [
        ('=HYPERLINK("http://x","y")', "+1-555@example.com", "@ext,1", "-platform"),
        ('Quote "me", please', "tab\tinside@example.com", "\tlead", "Shopify"),
        ("Line\nbreak and é ü 漢字", "cr\rinside@example.com", None, ""),
        ("", "plain@example.com", "=1+2", "WooCommerce"),
    ]
    for i, (name, email, external_id, platform) in enumerate(tricky):
        order = make_order(
            store,
            customer=CustomerFactory(store=store, email=f"c{i}@example.com"),
            external_id=external_id,
            platform_name=platform,
            created_at=datetime(2024, 3, 10, 6 + i, 59, 59, 999999, tzinfo=UTC),  # around a DST change
        )
        Order.objects.filter(pk=order.pk).update(
            customer_name=name, customer_email=email, updated_at=order.created_at + timedelta(days=200)
        )
    Store.objects.filter(pk=store.pk).update(last_order_number=1_234_566)
    store.refresh_from_db()
    make_order(store)  # ORD-1234567: wider than six digits
    filters = OrderFilters()
    # when both writers export the same orders
    python_bytes = b"".join(
        export.csv_stream(order_export_rows(store=store, filters=filters), ZoneInfo(tz_name))
    )
    copy_bytes = b"".join(
        export.csv_stream_copy(order_sorted_queryset(store=store, filters=filters), tz_name)
    )
    # then they are identical, byte for byte
    assert copy_bytes == python_bytes
    assert b"'=HYPERLINK" in copy_bytes
    assert b"ORD-1234567" in copy_bytes


def test_export_has_only_the_stores_orders(api, store, other_store):
    # given
    mine = make_order(store)
    make_order(other_store)
    # when
    rows = csv_rows(api.get(URL))
    # then
    assert [row[1] for row in rows[1:]] == [str(mine.id)]


def test_empty_export_is_just_the_header(api):
    # when
    rows = csv_rows(api.get(URL))
    # then
    assert rows == [HEADER]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"format": "xlsx"}, "format"),
        ({"status": "lost"}, "status"),
        ({"dateFrom": "31/01/2024"}, "dateFrom"),
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
