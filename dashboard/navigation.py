"""Keep the list's context on the order page (issue 12, build 5).

An order opened from the list carries the list's query string (`from`) and its position in that list
(`pos`, 0-based across pages). The order page then offers the previous and next order of the same
filtered, sorted list, and a breadcrumb back to the exact list page with the row it came from as the URL
fragment (`#order-<id>`, highlighted by a CSS `:target` rule). One API call of at most three rows finds
the neighbours; nothing is stored between requests.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlencode

from django.http import QueryDict
from django.urls import reverse

from dashboard.client import OrdersApiClient
from dashboard.filters import OrderFilterSet

FROM_PARAM = "from"
POSITION_PARAM = "pos"
# A list query is a few filters; anything longer is not one of ours and is ignored.
MAX_FROM_LENGTH = 2000
# The list's own parameters carried to the order page and back (nothing else is passed along).
LIST_PARAMS = frozenset(OrderFilterSet.base_filters)


@dataclass(frozen=True)
class Neighbour:
    order_number: str
    url: str


@dataclass(frozen=True)
class ListContext:
    back_url: str  # the list page the order was opened from, with the row as fragment
    previous: Neighbour | None = None
    next: Neighbour | None = None
    position: int | None = None  # 1-based, for "3 of 120"
    total: str | None = None


def row_anchor(order_id: str) -> str:
    return f"order-{order_id}"


def list_query(params: QueryDict, *, page: int | None = None) -> str:
    """The list's parameters as a query string, optionally on another page (page 1 is left out)."""
    query = QueryDict(mutable=True)
    for key in params:
        if key in LIST_PARAMS and key != "page":
            query.setlist(key, [value for value in params.getlist(key) if value != ""])
    if page is None:
        page = int(params.get("page") or 1) if str(params.get("page") or "1").isdigit() else 1
    if page > 1:
        query["page"] = str(page)
    return query.urlencode()


def detail_url(store_slug: str, order_id: str, *, list_params: str, position: int) -> str:
    """The order page opened from a list row: carries the list's query and the row's position."""
    query = urlencode({FROM_PARAM: list_params, POSITION_PARAM: position})
    return f"{reverse('dashboard:order_detail', args=[store_slug, order_id])}?{query}"


def list_context(
    get: QueryDict,
    *,
    store_slug: str,
    order_id: str,
    client: OrdersApiClient,
    filterset: Callable[[QueryDict], OrderFilterSet],
) -> ListContext:
    """Where the order page's breadcrumb and previous/next lead, from the request's `from` and `pos`."""
    list_url = reverse("dashboard:order_list", args=[store_slug])
    raw = get.get(FROM_PARAM)
    if raw is None or len(raw) > MAX_FROM_LENGTH:
        return ListContext(back_url=list_url)
    params = QueryDict(raw)
    filters = filterset(params)
    if not filters.is_valid():
        return ListContext(back_url=list_url)
    api_params = filters.api_params()
    limit = api_params["limit"]
    position = _int(get.get(POSITION_PARAM))
    anchor = f"#{row_anchor(order_id)}"
    if position is None:
        return ListContext(back_url=_with_query(list_url, list_query(params)) + anchor)
    # The row before, the row itself and the row after: one small call.
    start = max(position - 1, 0)
    window = client.orders.list(**{**api_params, "offset": start, "limit": 3 if position else 2})
    index = position - start
    rows = window.orders
    back_url = _with_query(list_url, list_query(params, page=position // limit + 1)) + anchor
    if index >= len(rows) or rows[index].id != order_id:
        # The list changed since (the order moved out of it, or others came in): back to where it was.
        return ListContext(back_url=back_url)

    def neighbour(at: int) -> Neighbour | None:
        if not 0 <= at - start < len(rows) or at == position:
            return None
        row = rows[at - start]
        query = list_query(params, page=at // limit + 1)
        return Neighbour(row.order_number, detail_url(store_slug, row.id, list_params=query, position=at))

    return ListContext(
        back_url=back_url,
        previous=neighbour(position - 1) if position else None,
        next=neighbour(position + 1),
        position=position + 1,
        total=f"{window.total:,}{'+' if window.total_is_capped else ''}",
    )


def _int(value: str | None) -> int | None:
    if value is None or not value.isdigit() or len(value) > 9:
        return None
    return int(value)


def _with_query(path: str, query: str) -> str:
    return f"{path}?{query}" if query else path
