"""Measures the product against what a developer would otherwise write, side by side (issue 11, item 1).

One server process (gunicorn, 1 worker, gthread, one thread per client) serves, from the bench database:

- the product: `GET /api/v1/orders` through the real middleware, API-key auth and rate limiting (a custom
  tier with limits far above what the run reaches), and its writes (`POST /api/v1/orders`,
  `PUT /api/v1/orders/{id}/status`); the dashboard's order list and search;
- a bare Django view per operation (`/bench/bare/...`): the same queryset (the product's own filter
  selector, so the WHERE clause is the same), `.values()` of the summary fields, orjson, the same envelope
  keys. It does not count: `total` is the rows seen so far. The product's list must pay for its `total`
  out of the 20 % margin of the target;
- a DRF `ModelSerializer` + `CursorPagination` view (`/bench/drf/orders`) of the same fields and filters;
- the Django admin changelist of Order (`/admin/orders/order/`, and `?q=` for search).

N client threads (8 by default) send requests over keep-alive HTTP. The variants of one comparison run
interleaved in rounds (A, B, C, A, B, C, ...), each for a time slice, so machine noise hits them alike.
Per variant: req/s, p50, p99 and the SQL time per request, measured in the server (a
`connection.execute_wrapper` around each request, sent back in a response header). Writes go to two stores
of their own (one for the product, one for the bare view), created by the script, and run last.

    PYTHONPATH=$PWD .venv/bin/python bench/compare.py [--quick] [--only list|writes|dashboard]
        [--clients 8] [--rounds 5] [--slice 3]

Needs the 1,000,000-order database (`bash bench/seed_1m.sh`) and Redis (`BENCH_REDIS_URL`, default
redis://127.0.0.1:6379/4: the cache and the rate-limit counters of the server). Writes
bench/results/compare.md (or `--out`) and prints it. Exit status 0 whatever the verdicts: figures, not
assertions.
"""

from __future__ import annotations

import argparse
import base64
import collections
import http.client
import itertools
import json
import logging
import os
import platform
import shlex
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

from _django import RESULTS, ROOT, biggest_store, setup  # noqa: E402

SQL_HEADER = "X-Bench-Sql"
WRITE_STORE_NAMES = ("bench-compare writes (product)", "bench-compare writes (bare)")
DASHBOARD_SLUG = "bench-compare"
USERNAME = "bench-compare@bench.test"
LIST_LIMIT = 50
# A status-update pool order goes confirmed → processing → shipped → delivered: three updates each.
STATUS_STEPS = ("processing", "shipped", "delivered")
# What `orders.webhooks.events` fires when an order enters these statuses (besides order.status_updated).
STATUS_EVENTS = {"confirmed", "shipped", "partially_shipped", "delivered", "partially_delivered"}


# ---------------------------------------------------------------------------------------------------
# The views the product is compared with. Factories, so the smoke test (tests/test_bench_compare.py) can
# serve them against its own store; Django must be set up before they are called.


def _filters_from(request):
    """The list parameters the bench sends (status, dateFrom, dateTo with an offset, search, customerId),
    parsed as a hand-written view would, into the product's filter object."""
    from orders.selectors import OrderFilters

    get = request.GET
    date_to = get.get("dateTo")
    return OrderFilters(
        statuses=tuple(s for s in get.get("status", "").split(",") if s),
        created_from=datetime.fromisoformat(get["dateFrom"]) if get.get("dateFrom") else None,
        # The API takes an exact end as inclusive; the filter's bound is exclusive.
        created_before=datetime.fromisoformat(date_to) + timedelta(microseconds=1) if date_to else None,
        customer_id=uuid.UUID(get["customerId"]) if get.get("customerId") else None,
        search=get.get("search") or None,
    )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _bare_row(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(row["id"]),
        "externalId": row["external_id"],
        "platformName": row["platform_name"] or None,
        "orderNumber": f"ORD-{row['order_number']:06d}",
        "status": row["status"],
        "paymentStatus": row["payment_status"],
        "customerId": str(row["customer_id"]) if row["customer_id"] else None,
        "customerEmail": row["customer_email"] or None,
        "customerName": row["customer_name"] or None,
        "itemCount": row["item_count"],
        "total": float(row["total"]),
        "refundedAmount": float(row["refunded_amount"]),
        "currency": row["currency"],
        "createdAt": _iso(row["created_at"]),
        "updatedAt": _iso(row["updated_at"]),
        "trackingNumber": _metadata_text(row["metadata"], "trackingNumber"),
        "carrier": _metadata_text(row["metadata"], "carrier"),
    }


def _metadata_text(metadata: Any, key: str) -> str | None:
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return None if value is None or value == "" else str(value)


def _orjson_response(body: dict, status: int = 200):
    import orjson
    from django.http import HttpResponse

    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")


def bare_list_view(store_id):
    """`GET` like /api/v1/orders for one store: one query (the page, limit + 1 rows), no count, orjson."""
    from orders.selectors import order_sorted_queryset
    from orders.serializers import SUMMARY_FIELDS

    def view(request):
        from orders.models import Store

        limit = int(request.GET.get("limit", LIST_LIMIT))
        offset = int(request.GET.get("offset", 0))
        store = Store(pk=store_id)
        qs = order_sorted_queryset(store=store, filters=_filters_from(request))
        rows = list(qs.values(*SUMMARY_FIELDS)[offset : offset + limit + 1])
        has_more = len(rows) > limit
        rows = rows[:limit]
        cursor = None
        if has_more:
            key = json.dumps([rows[-1]["created_at"].isoformat(), str(rows[-1]["id"])])
            cursor = base64.urlsafe_b64encode(key.encode()).decode()
        data = {
            "orders": [_bare_row(row) for row in rows],
            "total": offset + len(rows),
            "totalIsCapped": False,
            "limit": limit,
            "offset": offset,
            "hasMore": has_more,
            "nextCursor": cursor,
        }
        return _orjson_response({"success": True, "data": data})

    return view


def drf_list_view(store_id):
    """The same list as DRF users write it: a ModelSerializer of the summary fields, CursorPagination."""
    from rest_framework import generics, pagination, renderers, serializers
    from rest_framework.response import Response

    from orders.models import Order, Store
    from orders.selectors import order_filter_queryset

    class IsoDateTime(serializers.DateTimeField):
        def to_representation(self, value):
            return _iso(value)

    class BlankAsNull(serializers.CharField):
        def to_representation(self, value):
            return value or None

    class OrderSummarySerializer(serializers.ModelSerializer):
        externalId = serializers.CharField(source="external_id", allow_null=True)
        platformName = BlankAsNull(source="platform_name")
        orderNumber = serializers.SerializerMethodField()
        paymentStatus = serializers.CharField(source="payment_status")
        customerId = serializers.UUIDField(source="customer_id", allow_null=True)
        customerEmail = BlankAsNull(source="customer_email")
        customerName = BlankAsNull(source="customer_name")
        itemCount = serializers.IntegerField(source="item_count")
        total = serializers.DecimalField(max_digits=14, decimal_places=3, coerce_to_string=False)
        refundedAmount = serializers.DecimalField(
            source="refunded_amount", max_digits=14, decimal_places=3, coerce_to_string=False
        )
        createdAt = IsoDateTime(source="created_at")
        updatedAt = IsoDateTime(source="updated_at")
        trackingNumber = serializers.SerializerMethodField()
        carrier = serializers.SerializerMethodField()

        class Meta:
            model = Order
            fields = (
                "id",
                "externalId",
                "platformName",
                "orderNumber",
                "status",
                "paymentStatus",
                "customerId",
                "customerEmail",
                "customerName",
                "itemCount",
                "total",
                "refundedAmount",
                "currency",
                "createdAt",
                "updatedAt",
                "trackingNumber",
                "carrier",
            )

        def get_trackingNumber(self, order) -> str | None:  # noqa: N802
            return _metadata_text(order.metadata, "trackingNumber")

        def get_carrier(self, order) -> str | None:
            return _metadata_text(order.metadata, "carrier")

        def get_orderNumber(self, order) -> str:  # noqa: N802 - DRF names it after the field
            return f"ORD-{order.order_number:06d}"

    class Cursor(pagination.CursorPagination):
        page_size = LIST_LIMIT
        page_size_query_param = "limit"
        max_page_size = LIST_LIMIT
        ordering = ("-created_at", "-id")

        def get_paginated_response(self, data):
            next_link = self.get_next_link()
            return Response(
                {
                    "success": True,
                    "data": {"orders": data, "hasMore": next_link is not None, "nextCursor": next_link},
                }
            )

    class OrderList(generics.ListAPIView):
        serializer_class = OrderSummarySerializer
        pagination_class = Cursor
        renderer_classes = [renderers.JSONRenderer]
        authentication_classes: list = []
        permission_classes: list = []

        def get_queryset(self):
            return order_filter_queryset(store=Store(pk=store_id), filters=_filters_from(self.request))

    return OrderList.as_view()


def bare_create_view(store_id):
    """`POST` a platform order: the same rows as the product (customer by email, order, line items, the
    created history entry, the order.created event) in one transaction; the order number from a
    PostgreSQL sequence (lock-free). Answers the order's summary, 201."""
    from django.db import connection, transaction
    from django.utils import timezone
    from django.views.decorators.csrf import csrf_exempt

    from orders.models import Customer, HistoryEntry, LineItem, Order, Variant

    @csrf_exempt
    def view(request):
        import orjson

        body = orjson.loads(request.body)
        now = timezone.now()
        with transaction.atomic():
            info = body["customerInfo"]
            customer, _ = Customer.objects.get_or_create(
                store_id=store_id,
                email=info["email"].lower(),
                defaults={"first_name": info.get("firstName", ""), "last_name": info.get("lastName", "")},
            )
            wanted = {item["externalVariantId"] for item in body["items"]}
            variants = {
                v.external_id: v
                for v in Variant.objects.select_related("product").filter(
                    store_id=store_id, external_id__in=wanted
                )
            }
            with connection.cursor() as cursor:
                cursor.execute("SELECT nextval('bench_compare_order_number')")
                number = cursor.fetchone()[0]
            items = [
                (item, variants[item["externalVariantId"]], Decimal(str(item["price"])))
                for item in body["items"]
            ]
            subtotal = sum((price * item["quantity"] for item, _, price in items), Decimal(0))
            order = Order.objects.create(
                store_id=store_id,
                order_number=number,
                external_id=body.get("externalOrderId"),
                platform_name=body.get("platformName", ""),
                status="confirmed",
                payment_status="paid",
                paid_at=now,
                customer=customer,
                customer_email=customer.email,
                customer_name=f"{customer.first_name} {customer.last_name}".strip(),
                item_count=sum(item["quantity"] for item, _, _ in items),
                subtotal=subtotal,
                total=Decimal(str(body["total"])),
                currency=body.get("currency", "USD"),
                metadata=body.get("metadata") or {},
                created_at=now,
                updated_at=now,
            )
            LineItem.objects.bulk_create(
                LineItem(
                    order=order,
                    product=variant.product,
                    variant=variant,
                    external_product_id=item["externalProductId"],
                    external_variant_id=item["externalVariantId"],
                    name=variant.product.name,
                    sku=variant.sku,
                    quantity=item["quantity"],
                    price=price,
                    subtotal=price * item["quantity"],
                    position=position,
                )
                for position, (item, variant, price) in enumerate(items)
            )
            HistoryEntry.objects.create(
                store_id=store_id,
                order=order,
                kind="created",
                to_status=order.status,
                changed_at=now,
                actor_type="api_key",
                actor_name="bench",
            )
            _record_event(order, "order.created", now)
        return _orjson_response({"success": True, "data": _bare_row(_summary_of(order))}, status=201)

    return view


def bare_status_view(store_id):
    """`PUT {status}`: lock the order, check the move, update it, a history entry and its events, in one
    transaction. Answers the order's summary."""
    from django.db import transaction
    from django.utils import timezone
    from django.views.decorators.csrf import csrf_exempt

    from orders.models import HistoryEntry, Order
    from orders.statuses import TRANSITIONS, OrderStatus

    @csrf_exempt
    def view(request, order_id):
        import orjson

        target = orjson.loads(request.body)["status"]
        now = timezone.now()
        with transaction.atomic():
            order = Order.objects.select_for_update().get(pk=order_id, store_id=store_id)
            previous = order.status
            if OrderStatus(target) not in TRANSITIONS[OrderStatus(previous)]:
                return _orjson_response({"success": False, "errorCode": "INVALID_STATUS_TRANSITION"}, 400)
            order.status = target
            order.updated_at = now
            order.save(update_fields=["status", "updated_at"])
            HistoryEntry.objects.create(
                store_id=store_id,
                order=order,
                kind="status",
                from_status=previous,
                to_status=target,
                changed_at=now,
                actor_type="api_key",
                actor_name="bench",
            )
            _record_event(order, "order.status_updated", now, previousStatus=previous)
            if target in STATUS_EVENTS:
                _record_event(order, f"order.{target}", now)
        return _orjson_response({"success": True, "data": _bare_row(_summary_of(order))})

    return view


def _summary_of(order) -> dict[str, Any]:
    from orders.serializers import SUMMARY_FIELDS

    return {name: getattr(order, name) for name in SUMMARY_FIELDS}


def _record_event(order, event_type: str, now: datetime, **extra: Any) -> None:
    """The outbox row of one event (no endpoints are subscribed in the bench stores: no deliveries)."""
    import secrets

    from orders.models import WebhookEvent

    event_id = f"evt_{secrets.token_hex(16)}"
    data = {
        "storeId": str(order.store_id),
        "orderId": str(order.id),
        "orderNumber": f"ORD-{order.order_number:06d}",
        "status": order.status,
        "total": float(order.total),
        "currency": order.currency,
        **extra,
    }
    payload = {"id": event_id, "type": event_type, "created_at": _iso(now), "data": data}
    WebhookEvent.objects.create(
        id=event_id, store_id=order.store_id, order=order, type=event_type, payload=payload
    )


def bench_urlpatterns(read_store_id, bare_write_store_id=None) -> list:
    """The comparison views, mounted beside the project's own URLs."""
    from django.urls import path

    patterns = [
        path("bench/bare/orders", bare_list_view(read_store_id)),
        path("bench/drf/orders", drf_list_view(read_store_id)),
    ]
    if bare_write_store_id:
        patterns += [
            path("bench/bare/writes/orders", bare_create_view(bare_write_store_id)),
            path("bench/bare/writes/orders/<uuid:order_id>/status", bare_status_view(bare_write_store_id)),
        ]
    return patterns


# ---------------------------------------------------------------------------------------------------
# The server process.


def sql_timed(app):
    """WSGI middleware: the SQL time and statement count of each request (its thread's connection, which
    the dashboard's in-process API calls share) in a response header. Django calls start_response after
    the view has run, so the sum is complete when the header is written."""
    from django.db import connection

    def timed(environ, start_response):
        spent = [0.0, 0]

        def wrapper(execute, sql, params, many, context):
            start = time.perf_counter()
            try:
                return execute(sql, params, many, context)
            finally:
                spent[0] += time.perf_counter() - start
                spent[1] += 1

        def start(status, headers, exc_info=None):
            headers.append((SQL_HEADER, f"{spent[0]:.6f} {spent[1]}"))
            return start_response(status, headers, exc_info)

        with connection.execute_wrapper(wrapper):
            return app(environ, start)

    return timed


def serve(args: argparse.Namespace) -> None:
    import types

    setup()
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application
    from django.db import connections
    from gunicorn.app.base import BaseApplication

    import config.urls

    urls = types.ModuleType("bench_compare_urls")
    urls.urlpatterns = bench_urlpatterns(args.read_store, args.bare_write_store) + list(  # type: ignore[attr-defined]
        config.urls.urlpatterns
    )
    sys.modules[urls.__name__] = urls
    settings.ROOT_URLCONF = urls.__name__
    application = sql_timed(get_wsgi_application())
    # One INFO line per in-process API call of the dashboard would flood the run's output.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    connections.close_all()  # nothing opened before the fork may be shared with the worker

    class Server(BaseApplication):
        def load_config(self):
            options = {
                "bind": f"127.0.0.1:{args.port}",
                "workers": 1,
                "worker_class": "gthread",
                "threads": args.threads,
                "timeout": 600,
                "keepalive": 30,
                "accesslog": None,
                "errorlog": "-",
                "loglevel": "warning",
            }
            for key, value in options.items():
                self.cfg.set(key, value)

        def load(self):
            return application

    Server().run()


# ---------------------------------------------------------------------------------------------------
# The load: client threads, rounds, figures.


@dataclass
class Request:
    method: str
    path: str
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    expect: int = 200
    on_done: Any = None  # called with True/False after the answer (status-update pools)


@dataclass
class Variant:
    name: str
    make: Any  # (client index) -> Request | None; None: nothing left to send
    latencies: list[float] = field(default_factory=list)
    sql: list[float] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    errors: int = 0
    first_error: str = ""
    elapsed: float = 0.0

    @property
    def count(self) -> int:
        return len(self.latencies)

    @property
    def rate(self) -> float:
        return self.count / self.elapsed if self.elapsed else 0.0

    def pct(self, q: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def sql_ms(self) -> float:
        return 1000 * sum(self.sql) / len(self.sql) if self.sql else float("nan")

    @property
    def statements_per_request(self) -> float:
        return sum(self.statements) / len(self.statements) if self.statements else float("nan")


class Connection:
    """One keep-alive HTTP connection per client thread."""

    def __init__(self, port: int, headers: dict[str, str]) -> None:
        self.port = port
        self.headers = headers
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)

    def send(self, request: Request) -> tuple[int, bytes, str]:
        headers = {**self.headers, **request.headers}
        if request.body is not None:
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            try:
                self.conn.request(request.method, request.path, body=request.body, headers=headers)
                response = self.conn.getresponse()
                return response.status, response.read(), response.getheader(SQL_HEADER, "")
            except (ConnectionError, http.client.HTTPException):
                # The server closed an idle keep-alive connection: reconnect once.
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def run_slice(variant: Variant, connections: list[Connection], seconds: float) -> None:
    """All clients send the variant's requests back to back until the slice's time is up; the requests
    in flight then finish (they count, and so does the time they take)."""
    deadline = time.perf_counter() + seconds
    lock = threading.Lock()

    def client(index: int) -> None:
        while time.perf_counter() < deadline:
            request = variant.make(index)
            if request is None:
                return
            start = time.perf_counter()
            status, body, sql = connections[index].send(request)
            latency = time.perf_counter() - start
            ok = status == request.expect
            if request.on_done:
                request.on_done(ok)
            with lock:
                if not ok:
                    variant.errors += 1
                    variant.first_error = variant.first_error or f"{status} {body[:300]!r}"
                    continue
                variant.latencies.append(latency)
                if sql:
                    seconds_, count = sql.split()
                    variant.sql.append(float(seconds_))
                    variant.statements.append(int(count))

    threads = [threading.Thread(target=client, args=(i,)) for i in range(len(connections))]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    variant.elapsed += time.perf_counter() - start


def compare(title: str, variants: list[Variant], connections: list[Connection], args) -> list[Variant]:
    """Warm each variant up with one request per client, then run the rounds interleaved."""
    print(f"-- {title}: {', '.join(v.name for v in variants)}", flush=True)
    for variant in variants:
        for index, conn in enumerate(connections):
            request = variant.make(index)
            if request is not None:
                status, body, _ = conn.send(request)
                if request.on_done:
                    request.on_done(status == request.expect)
                if status != request.expect:
                    sys.exit(
                        f"{variant.name}: {request.method} {request.path} answered {status}: {body[:500]!r}"
                    )
    for round_ in range(args.rounds):
        for variant in variants if round_ % 2 == 0 else variants[::-1]:
            run_slice(variant, connections, args.slice)
    for variant in variants:
        print(
            f"   {variant.name:<34} {variant.rate:8.1f} req/s  p50 {1000 * variant.pct(0.5):8.1f} ms  "
            f"p99 {1000 * variant.pct(0.99):8.1f} ms  SQL {variant.sql_ms:7.1f} ms  n={variant.count} "
            f"errors={variant.errors} {variant.first_error}",
            flush=True,
        )
    return variants


# ---------------------------------------------------------------------------------------------------
# Fixtures in the bench database (idempotent: reused by the next run).


@dataclass
class Fixtures:
    read_store: Any
    api_key: str
    session_cookie: str
    shapes: dict[str, str]  # shape name → query string
    search_term: str
    write_stores: tuple[Any, Any] | None = None
    write_keys: tuple[str, str] | None = None


def _issue_key(store, name: str) -> str:
    from orders.auth import api_key_create
    from orders.models import ApiKey

    issued = api_key_create(store=store, name=name, tier=ApiKey.Tier.CUSTOM)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(
        custom_limit_per_minute=1_000_000_000, custom_limit_per_hour=1_000_000_000
    )
    return issued.plaintext


def prepare_read(store) -> Fixtures:
    from django.contrib.auth import get_user_model
    from django.db.models import Max
    from django.test import Client

    from dashboard.models import Membership, StoreConnection
    from orders.models import Order

    key = _issue_key(store, "bench compare")
    StoreConnection.objects.filter(slug=DASHBOARD_SLUG).delete()
    connection = StoreConnection(name=store.name, slug=DASHBOARD_SLUG, timezone="UTC")
    connection.set_api_key(key)
    connection.save()
    user_model = get_user_model()
    user = user_model.objects.filter(username=USERNAME).first() or user_model.objects.create_superuser(
        USERNAME, USERNAME, uuid.uuid4().hex
    )
    Membership.objects.create(user=user, store=connection, role="admin")
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value

    orders = Order.objects.filter(store=store)
    latest = orders.aggregate(m=Max("created_at"))["m"]
    range_to = (latest - timedelta(days=30)).replace(hour=23, minute=59, second=59, microsecond=999000)
    range_from = (range_to - timedelta(days=7)).replace(
        hour=0, minute=0, second=0, microsecond=0
    ) + timedelta(days=1)
    # A customer with a few orders, and what support types to find one while the customer is on the
    # phone: the part of an email before the @ (a handful of customers share it, a few dozen orders).
    sample = (
        orders.exclude(customer=None).order_by("-created_at").values("customer_id", "customer_email")[5000]
    )
    term = sample["customer_email"].split("@")[0]
    shapes = {
        "default sort": "",
        "status=shipped": "status=shipped",
        "7-day created range": f"dateFrom={_iso(range_from)}&dateTo={_iso(range_to)}",
        f"search {term!r} (email substring)": f"search={term}",
        "one customer": f"customerId={sample['customer_id']}",
    }
    return Fixtures(read_store=store, api_key=key, session_cookie=cookie, shapes=shapes, search_term=term)


def prepare_writes(fixtures: Fixtures, pool_size: int) -> dict[str, list[str]]:
    """Two stores (product, bare) with the same small catalogue and `pool_size` confirmed orders each for
    the status updates; the sequence the bare create takes its order numbers from."""
    from django.db import connection, transaction
    from django.db.models import Max
    from django.utils import timezone

    from orders.models import Order, Product, Store, Variant

    stores = []
    for name in WRITE_STORE_NAMES:
        store = Store.objects.filter(name=name).first() or Store.objects.create(name=name, currency="USD")
        for i in range(5):
            product, _ = Product.objects.get_or_create(
                store=store, external_id=f"bp{i}", defaults={"name": f"P{i}"}
            )
            Variant.objects.get_or_create(
                store=store,
                product=product,
                external_id=f"bv{i}",
                defaults={"sku": f"SKU{i}", "price": Decimal("10.00"), "track_inventory": False},
            )
        stores.append(store)
    pools: dict[str, list[str]] = {}
    now = timezone.now()
    for store in stores:
        with transaction.atomic():
            locked = Store.objects.select_for_update().get(pk=store.pk)
            # The bare creates number orders from a sequence, past the counter: start after both.
            highest = Order.objects.filter(store=store).aggregate(Max("order_number"))["order_number__max"]
            first = max(locked.last_order_number, highest or 0) + 1
            Store.objects.filter(pk=store.pk).update(last_order_number=first + pool_size - 1)
            created = Order.objects.bulk_create(
                Order(
                    store=store,
                    order_number=first + i,
                    status="confirmed",
                    payment_status="paid",
                    paid_at=now,
                    customer_email=f"pool{i}@compare.test",
                    customer_name="Pool Customer",
                    item_count=1,
                    subtotal=Decimal("10.00"),
                    total=Decimal("10.00"),
                    currency="USD",
                    created_at=now,
                    updated_at=now,
                )
                for i in range(pool_size)
            )
        pools[str(store.pk)] = [str(o.pk) for o in created]
    with connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE IF NOT EXISTS bench_compare_order_number")
        # Past every number the bare store holds (its pool above, earlier runs' creates): a counter raised
        # by a migration may have put the pool where the sequence was about to go.
        cursor.execute(
            "SELECT setval('bench_compare_order_number', "
            "(SELECT COALESCE(MAX(order_number), 0) + 1 FROM orders_order WHERE store_id = %s), false)",
            [stores[1].pk],
        )
    fixtures.write_stores = (stores[0], stores[1])
    fixtures.write_keys = (_issue_key(stores[0], "bench compare writes"), "")
    return pools


# ---------------------------------------------------------------------------------------------------
# The sections.


def get(path: str, **headers: str):
    return lambda _index: Request("GET", path, headers=headers)


def list_section(fx: Fixtures, conns, args) -> list[tuple[str, list[Variant]]]:
    out = []
    for shape, query in fx.shapes.items():
        qs = f"?limit={LIST_LIMIT}" + (f"&{query}" if query else "")
        variants = [
            Variant("API GET /api/v1/orders", get(f"/api/v1/orders{qs}", **{"X-API-Key": fx.api_key})),
            Variant("bare Django + orjson", get(f"/bench/bare/orders{qs}")),
            Variant("DRF ModelSerializer + cursor", get(f"/bench/drf/orders{qs}")),
        ]
        out.append((shape, compare(f"list, {shape}", variants, conns, args)))
    return out


def dashboard_section(fx: Fixtures, conns, args) -> list[tuple[str, list[Variant]]]:
    cookie = {"Cookie": f"sessionid={fx.session_cookie}"}
    term = fx.search_term
    lists = [
        Variant("dashboard order list", get(f"/stores/{DASHBOARD_SLUG}/orders/", **cookie)),
        Variant("admin changelist of Order", get("/admin/orders/order/", **cookie)),
    ]
    searches = [
        Variant("dashboard search", get(f"/stores/{DASHBOARD_SLUG}/orders/?search={term}", **cookie)),
        Variant("admin changelist ?q=", get(f"/admin/orders/order/?q={term}", **cookie)),
    ]
    return [
        ("order list", compare("dashboard list", lists, conns, args)),
        (f"search {term!r}", compare("dashboard search", searches, conns, args)),
    ]


def _create_body(serial: int) -> bytes:
    items = [
        {"externalProductId": f"bp{i}", "externalVariantId": f"bv{i}", "quantity": 1 + i % 2, "price": 10.0}
        for i in range(serial % 3, serial % 3 + 2)
    ]
    total = sum(item["quantity"] * item["price"] for item in items)
    body = {
        "externalOrderId": f"bench-{uuid.uuid4().hex}",
        "platformName": "bench",
        "customerInfo": {
            "email": f"buyer{serial % 500}@compare.test",
            "firstName": "Bench",
            "lastName": "Buyer",
        },
        "items": items,
        "total": total,
        "currency": "USD",
    }
    return json.dumps(body).encode()


class StatusPool:
    """Orders waiting for their next status update. An order is in the queue only while no request for
    it is in flight, so two clients never move the same order (they would wait on its row lock)."""

    def __init__(self, order_ids: list[str]) -> None:
        self.queue = collections.deque((order_id, 0) for order_id in order_ids)
        self.lock = threading.Lock()

    def take(self) -> tuple[str, int] | None:
        with self.lock:
            return self.queue.popleft() if self.queue else None

    def done(self, order_id: str, step: int, ok: bool) -> None:
        if ok and step + 1 < len(STATUS_STEPS):
            with self.lock:
                self.queue.append((order_id, step + 1))


def status_variant(name: str, pool: StatusPool, path_of, headers: dict[str, str]) -> Variant:
    def make(_index: int) -> Request | None:
        taken = pool.take()
        if taken is None:
            return None
        order_id, step = taken
        body = json.dumps({"status": STATUS_STEPS[step]}).encode()
        return Request(
            "PUT", path_of(order_id), body, headers, on_done=lambda ok: pool.done(order_id, step, ok)
        )

    return Variant(name, make)


def writes_section(fx: Fixtures, pools, conns, args) -> list[tuple[str, list[Variant]]]:
    serial = itertools.count()
    key = {"X-API-Key": fx.write_keys[0]}
    product_store, bare_store = fx.write_stores
    creates = [
        Variant(
            "API POST /api/v1/orders",
            lambda _i: Request("POST", "/api/v1/orders", _create_body(next(serial)), key, expect=201),
        ),
        Variant(
            "bare Django, one transaction",
            lambda _i: Request("POST", "/bench/bare/writes/orders", _create_body(next(serial)), expect=201),
        ),
    ]
    updates = [
        status_variant(
            "API PUT /api/v1/orders/{id}/status",
            StatusPool(pools[str(product_store.pk)]),
            lambda order_id: f"/api/v1/orders/{order_id}/status",
            key,
        ),
        status_variant(
            "bare Django, one transaction",
            StatusPool(pools[str(bare_store.pk)]),
            lambda order_id: f"/bench/bare/writes/orders/{order_id}/status",
            {},
        ),
    ]
    return [
        ("status update", compare("status update", updates, conns, args)),
        ("create from platform", compare("create", creates, conns, args)),
    ]


# ---------------------------------------------------------------------------------------------------
# The report.


def ratio_line(what: str, value: float, op: str, target: float | None) -> tuple[str, str]:
    if target is None:
        return f"| {what} | {value:.2f}× | — | reported (no target) |", "—"
    ok = value >= target if op == "≥" else value <= target
    verdict = "PASS" if ok else "FAIL"
    return f"| {what} | **{value:.2f}×** | {op} {target:g}× | {verdict} |", verdict


def variant_table(variants: list[Variant]) -> list[str]:
    lines = [
        "| variant | req/s | p50 | p99 | SQL per request | statements | requests | errors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for v in variants:
        lines.append(
            f"| {v.name} | {v.rate:.1f} | {1000 * v.pct(0.5):.1f} ms | {1000 * v.pct(0.99):.1f} ms | "
            f"{v.sql_ms:.1f} ms | {v.statements_per_request:.1f} | {v.count} | {v.errors} |"
        )
    return lines


def _git(*argv: str) -> str:
    return subprocess.run(
        ["git", *argv], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()


def report(
    results: dict[str, list[tuple[str, list[Variant]]]], meta: dict[str, str]
) -> tuple[str, list[str]]:
    body: list[str] = []
    ratios = ["| ratio | measured | target | verdict |", "|---|---|---|---|"]
    verdicts: list[str] = []

    def add(what, ours, theirs, op, target):
        # No answer at all from a variant (every request failed) is a failed comparison, not a crash.
        value = ours / theirs if theirs else float("nan")
        line, verdict = ratio_line(what, value, op, target)
        ratios.append(line)
        verdicts.append(f"{verdict:<8} {what}: {value:.2f}×")

    if "list" in results:
        body += ["## API list (`GET /api/v1/orders`, 50 rows)", ""]
        for shape, (api, bare, drf) in results["list"]:
            body += [f"### {shape}", "", *variant_table([api, bare, drf]), ""]
            add(f"list, {shape}: API / bare req/s", api.rate, bare.rate, "≥", 0.8)
            add(f"list, {shape}: API / DRF req/s", api.rate, drf.rate, "≥", 2)
    if "dashboard" in results:
        body += ["## Dashboard vs the Django admin changelist (superuser and dashboard admin)", ""]
        (_, (dash, admin)), (search_name, (dash_s, admin_s)) = results["dashboard"]
        body += ["### order list", "", *variant_table([dash, admin]), ""]
        body += [f"### {search_name}", "", *variant_table([dash_s, admin_s]), ""]
        add("dashboard list / admin changelist, p50", dash.pct(0.5), admin.pct(0.5), "", None)
        add("dashboard search / admin search, p50", dash_s.pct(0.5), admin_s.pct(0.5), "≤", 0.05)
    if "writes" in results:
        body += ["## Writes (own stores; run last)", ""]
        for name, (api, bare) in results["writes"]:
            body += [f"### {name}", "", *variant_table([api, bare]), ""]
            add(f"{name}: API / bare req/s", api.rate, bare.rate, "≥", 0.5)
    text = "\n".join(
        [
            "# Side by side: the product against bare Django, DRF and the Django admin",
            "",
            f"Measured {meta['date']} at commit `{meta['commit']}` on {meta['cores']} cores shared with other "
            f"work; load average {meta['load_before']} before, {meta['load_after']} after. Python "
            f"{meta['python']}, {meta['postgres']}. Store of {meta['orders']} orders.",
            "",
            f"Run: `{meta['command']}` — {meta['clients']} client threads, {meta['rounds']} interleaved rounds "
            f"of {meta['slice']} s slices per variant, took {meta['duration']}.",
            "",
            meta["note"],
            "",
            "## Ratios against the targets of issue 11",
            "",
            *ratios,
            "",
            *body,
            "## How it is measured",
            "",
            "- One gunicorn process (1 worker, gthread, one thread per client, `DB_CONN_MAX_AGE=60`, the cache",
            "  and rate-limit counters in Redis) serves every variant; the clients are threads of the script over",
            "  keep-alive HTTP. Variants of one comparison alternate in rounds (A, B, C, then C, B, A, …).",
            "- **SQL per request** is the sum of the durations of the request's statements, measured in the",
            "  server with `connection.execute_wrapper` (the dashboard's in-process API calls included).",
            "- The **bare** list runs the product's own filter selector (the same WHERE) as `.values()` + orjson",
            "  and does not count (`total` = the rows seen); **DRF** is a `ModelSerializer` of the same 17 fields",
            "  with `CursorPagination` (no count either). The product pays for its `total` within the target.",
            "- The **bare writes** do the same rows in one transaction: create = customer by email, order (number",
            "  from a PostgreSQL sequence, no lock), line items, the `created` history entry, the order.created",
            "  event; status update = lock the order, check the transition, update it, a history entry and its",
            "  events. They answer the order summary; the product answers the full order detail.",
            "- Writes go to two stores of their own (product, bare) and run after the reads. Before the reads",
            "  the script runs `VACUUM (ANALYZE)` of `orders_order` and `orders_searchedtext`, leaving them as autovacuum would.",
            "",
        ]
    )
    return text, verdicts


# ---------------------------------------------------------------------------------------------------


def wait_for(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            sys.exit(f"The server exited with {server.returncode}.")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/bench/bare/orders?limit=1")
            conn.getresponse().read()
            return
        except OSError:
            time.sleep(0.2)
    sys.exit("The server did not start.")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="2 rounds of 2 s slices: a smoke run")
    parser.add_argument("--only", choices=("list", "writes", "dashboard"))
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--rounds", type=int)
    parser.add_argument("--slice", type=float, help="seconds per variant per round")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--out", type=Path, default=RESULTS / "compare.md")
    parser.add_argument("--note", default="")
    # Internal: the server process.
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--threads", type=int, default=8, help=argparse.SUPPRESS)
    parser.add_argument("--read-store", help=argparse.SUPPRESS)
    parser.add_argument("--bare-write-store", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("REDIS_URL", os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/4"))
    os.environ.setdefault("DB_CONN_MAX_AGE", "60")
    if args.serve:
        serve(args)
        return
    args.rounds = args.rounds or (2 if args.quick else 5)
    args.slice = args.slice or (2.0 if args.quick else 3.0)
    started = time.monotonic()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    commit = _git("rev-parse", "--short", "HEAD") + (" (with uncommitted changes)" if dirty else "")
    setup()
    from django.db import connection

    from orders.models import Order

    store = biggest_store()
    fixtures = prepare_read(store)
    sections = ("list", "dashboard", "writes") if args.only is None else (args.only,)
    pools = (
        prepare_writes(fixtures, pool_size=6000 if not args.quick else 1500) if "writes" in sections else {}
    )
    with connection.cursor() as cursor:
        # As autovacuum leaves a table at rest: the visibility map current (index-only scans skip the heap
        # only for all-visible pages; the writes of an earlier run dirty some) and fresh statistics.
        cursor.execute("VACUUM (ANALYZE) orders_order, orders_searchedtext")
        cursor.execute("SELECT version()")
        postgres = cursor.fetchone()[0].split(" on ")[0]
    orders = f"{Order.objects.filter(store=store).count():,}"
    connection.close()
    command = [
        sys.executable,
        __file__,
        "--serve",
        "--port",
        str(args.port),
        "--threads",
        str(args.clients),
        "--read-store",
        str(store.pk),
    ]
    if fixtures.write_stores:
        command += ["--bare-write-store", str(fixtures.write_stores[1].pk)]
    server = subprocess.Popen(command, env=os.environ.copy())
    # A plain `kill` of this script stops its server too (through the `finally` below).
    signal.signal(signal.SIGTERM, lambda *_: sys.exit("terminated"))
    try:
        wait_for(args.port, server)
        conns = [Connection(args.port, {"Host": "127.0.0.1"}) for _ in range(args.clients)]
        results: dict[str, list] = {}
        if "list" in sections:
            results["list"] = list_section(fixtures, conns, args)
        if "dashboard" in sections:
            results["dashboard"] = dashboard_section(fixtures, conns, args)
        if "writes" in sections:
            results["writes"] = writes_section(fixtures, pools, conns, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
    minutes, seconds = divmod(int(time.monotonic() - started), 60)
    # The note is printed below the command line; it does not change what is measured.
    argv = " ".join(shlex.quote(a) for a in sys.argv[1:] if a not in {"--note", args.note})
    meta = {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "commit": commit,
        "cores": str(os.cpu_count()),
        "load_before": load_before,
        "load_after": " ".join(f"{x:.2f}" for x in os.getloadavg()),
        "python": platform.python_version(),
        "postgres": postgres,
        "orders": orders,
        "command": f"PYTHONPATH=$PWD .venv/bin/python bench/compare.py {argv}".strip(),
        "clients": str(args.clients),
        "rounds": str(args.rounds),
        "slice": f"{args.slice:g}",
        "duration": f"{minutes} min {seconds} s",
        "note": args.note,
    }
    text, verdicts = report(results, meta)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text)
    print(text)
    print("\n".join(verdicts))


if __name__ == "__main__":
    main()
