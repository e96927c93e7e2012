"""Order reads (spec §3.2–§3.4, §3.7). Write operations decorate this router from order_writes.py.

Route order matters: the fixed paths (`/statuses`, `/export`, `/stats`) are registered before
`/{order_id}` so they are never taken for an order id.
"""

from datetime import UTC, datetime, timedelta

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.utils import timezone
from django.utils.text import slugify
from ninja import Query, Router

from orders import errors, export, selectors, serializers
from orders.api import params
from orders.api.common import store_of
from orders.api.openapi import documented, respond
from orders.api.schemas import (
    ExportQuery,
    OrderDetailEnvelope,
    OrderFilterQuery,
    OrderHistoryEnvelope,
    OrderListEnvelope,
    OrderListQuery,
    StatsEnvelope,
    StatusesEnvelope,
)
from orders.errors import FieldError
from orders.statuses import CANCELLABLE, TERMINAL, TRANSITIONS, OrderStatus, PaymentStatus

router = Router(tags=["orders"])

ORDER_REF_HELP = "The order's UUID or its external (platform) ID."

EXPORT_DOCS = documented(200, None, "VALIDATION_ERROR")
EXPORT_DOCS["openapi_extra"]["responses"][200] |= {
    "description": "The file, streamed (Content-Disposition: attachment).",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    },
}


@router.get(
    "",
    operation_id="list_orders",
    summary="List orders",
    description=(
        "Filters combine with AND. Page with `limit`/`offset` for shallow page-number UIs, or follow "
        "`nextCursor` (same filters and sort) to page deep or to sync: the cursor walk never skips or "
        "repeats an order while new orders arrive. `total` is exact up to a cap (the setting "
        "API_COUNT_CAP, 1,000 by default). Beyond it `totalIsCapped` is true and, on PostgreSQL, "
        "`total` is the planner's estimate of the count with `totalIsEstimate` true (show it as "
        '"about N"); where no estimate is available `total` is the cap (show "N+"). A list found '
        "above the cap is not counted again for a minute: its pages answer the estimate meanwhile (a "
        "page that holds the list's end still answers the exact number). `search` is served by "
        "trigram indexes on PostgreSQL."
    ),
    **documented(200, OrderListEnvelope, "VALIDATION_ERROR"),
)
def list_orders(request: HttpRequest, query: Query[OrderListQuery]) -> HttpResponse:
    store = store_of(request)
    filters = params.order_filters(query, store)
    page = selectors.order_list(
        store=store, filters=filters, limit=query.limit, offset=query.offset, cursor=query.cursor
    )
    items = serializers.order_summary_items(page.rows)
    return respond(serializers.page_body("orders", items, page, limit=query.limit, offset=query.offset))


@router.get(
    "/statuses",
    operation_id="list_order_statuses",
    summary="The status transition table",
    description="Every status and the statuses `PUT /orders/{orderId}/status` may move each one to.",
    **documented(200, StatusesEnvelope),
)
def list_order_statuses(request: HttpRequest) -> HttpResponse:
    return respond(
        {
            "statuses": [s.value for s in OrderStatus],
            "paymentStatuses": [s.value for s in PaymentStatus],
            "transitions": {src.value: [dst.value for dst in dsts] for src, dsts in TRANSITIONS.items()},
            "cancellable": [s.value for s in OrderStatus if s in CANCELLABLE],
            "terminal": [s.value for s in OrderStatus if s in TERMINAL],
        }
    )


@router.get(
    "/export",
    operation_id="export_orders",
    summary="Export orders (CSV or NDJSON)",
    description=(
        "Every order matching the list's filters, in the list's sort, streamed. CSV (default): a header "
        "row, then one row per order; times in the store's timezone (ISO 8601 with offset); cells that "
        "a spreadsheet would run as a formula (starting with = + - @, tab or CR) are prefixed with `'`. "
        "NDJSON: one order summary (plus subtotal, tax, shipping, discount) per line."
    ),
    **EXPORT_DOCS,
)
def export_orders(request: HttpRequest, query: Query[ExportQuery]) -> StreamingHttpResponse:
    store = store_of(request)
    filters = params.order_filters(query, store)
    rows = selectors.order_export_rows(store=store, filters=filters)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    name = f"orders-{slugify(store.name) or 'store'}-{stamp}"
    if query.format == "ndjson":
        response = StreamingHttpResponse(export.ndjson_stream(rows), content_type="application/x-ndjson")
        response["Content-Disposition"] = f'attachment; filename="{name}.ndjson"'
    else:
        tz = params.store_timezone(store)
        if export.can_copy():
            stream = export.csv_stream_copy(
                selectors.order_sorted_queryset(store=store, filters=filters), str(tz)
            )
        else:
            stream = export.csv_stream(rows, tz)
        response = StreamingHttpResponse(stream, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="{name}.csv"'
    response["Cache-Control"] = "no-store"
    return response


@router.get(
    "/stats",
    operation_id="get_order_stats",
    summary="Order counts and revenue",
    description=(
        "For the list's filters: the number of orders per status (every status, zeros included), the "
        "totals (orders, revenue = sum of `total`), and per local day (store timezone) the order count "
        "and revenue. The daily series covers the dateFrom–dateTo range, or the last 30 days when no "
        f"date is given, and at most {selectors.STATS_MAX_DAYS} days. `sort` is ignored."
    ),
    **documented(200, StatsEnvelope, "VALIDATION_ERROR"),
)
def get_order_stats(request: HttpRequest, query: Query[OrderFilterQuery]) -> HttpResponse:
    store = store_of(request)
    filters = params.order_filters(query, store)
    tz = params.store_timezone(store)
    first_day, last_day = selectors.stats_window(filters=filters, tz=tz, now=timezone.now())
    if last_day - first_day >= timedelta(days=selectors.STATS_MAX_DAYS):
        message = f"The daily series covers at most {selectors.STATS_MAX_DAYS} days; narrow dateFrom–dateTo."
        raise errors.ValidationFailed(message, errors=[FieldError("dateFrom", message)])
    stats = selectors.order_stats(store=store, filters=filters, tz=tz, first_day=first_day, last_day=last_day)
    return respond(
        {
            "byStatus": stats.by_status,
            "totals": {"orders": stats.total_orders, "revenue": stats.total_revenue},
            "days": [{**day, "date": day["date"].isoformat()} for day in stats.days],
            "dateFrom": first_day.isoformat(),
            "dateTo": last_day.isoformat(),
            "timezone": str(tz),
            "currency": store.currency,
        }
    )


@router.get(
    "/{order_id}",
    operation_id="get_order",
    summary="Get an order",
    description=ORDER_REF_HELP + " With its items, refunds, status history and allowedTransitions.",
    **documented(200, OrderDetailEnvelope, "ORDER_NOT_FOUND"),
)
def get_order(request: HttpRequest, order_id: str) -> HttpResponse:
    order = selectors.order_get_for_detail(store=store_of(request), order_ref=order_id)
    return respond(serializers.order_detail(order))


@router.get(
    "/{order_id}/history",
    operation_id="get_order_history",
    summary="An order's status history",
    description=ORDER_REF_HELP + " Entries oldest first, including the creation (fromStatus null).",
    **documented(200, OrderHistoryEnvelope, "ORDER_NOT_FOUND"),
)
def get_order_history(request: HttpRequest, order_id: str) -> HttpResponse:
    order = selectors.order_get(store=store_of(request), order_ref=order_id)
    return respond(
        {
            "orderId": str(order.id),
            "orderNumber": serializers.order_number(order.order_number),
            "entries": [serializers.history_entry(e) for e in selectors.order_history(order=order)],
        }
    )
