"""The store-wide status-change feed (spec §3.3 `GET /api/v1/history`): the audit view's source."""

from django.http import HttpRequest, HttpResponse
from ninja import Query, Router

from orders import selectors, serializers
from orders.api import params
from orders.api.common import store_of
from orders.api.openapi import documented, respond
from orders.api.schemas import HistoryFeedEnvelope, HistoryFeedQuery

router = Router(tags=["history"])


@router.get(
    "",
    operation_id="list_history",
    summary="Store-wide history feed",
    description=(
        "Every history entry of the store's orders, newest first, each with its orderId and "
        "orderNumber. Filter by `dateFrom`/`dateTo` (on changedAt), `status` (the status changed to) "
        "and `actor`; page like the order list (`limit`/`offset`, or `nextCursor`)."
    ),
    **documented(200, HistoryFeedEnvelope, "VALIDATION_ERROR"),
)
def list_history(request: HttpRequest, query: Query[HistoryFeedQuery]) -> HttpResponse:
    store = store_of(request)
    filters = params.history_filters(query, store)
    page = selectors.history_feed(
        store=store, filters=filters, limit=query.limit, offset=query.offset, cursor=query.cursor
    )
    items = [serializers.history_feed_row(row) for row in page.rows]
    return respond(serializers.page_body("entries", items, page, limit=query.limit, offset=query.offset))
