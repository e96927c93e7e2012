"""Orders list, order detail and the CSV export pass-through. Thin: parse → one client call → render."""

from __future__ import annotations

import math
from contextlib import ExitStack

from django.http import HttpRequest, HttpResponse, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from dashboard.api import client_for
from dashboard.client import ApiError, OrdersApiClient
from dashboard.customer_panel import customer_panel
from dashboard.filters import API_FIELD_TO_FORM, SORTS, OrderFilterSet
from dashboard.navigation import list_context, list_query
from dashboard.permissions import StoreAccess, store_view
from dashboard.saved_views import ALL_ORDERS_QUERY, default_view_url, tabs_context
from dashboard.tables import SORTABLE, OrderTable
from dashboard.views.notes import timeline_context
from dashboard.vocabulary import status_table

LIST_TEMPLATE = "dashboard/orders/order_list.html"
TABLE_PARTIAL = "orders-table"


@store_view("view")
def order_list(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    # The bare list (the Orders link) opens on the user's default view; HTMX requests never redirect.
    if not request.GET and not request.htmx:  # type: ignore[attr-defined]
        default_url = default_view_url(user=request.user, store=access.store)
        if default_url:
            return redirect(default_url)
    client = client_for(access.store, request.user)
    filterset = _filterset(request.GET, access, client)
    page = None
    if filterset.is_valid():
        params = filterset.api_params()
        try:
            page = client.orders.list(**params)
        except ApiError as exc:
            if exc.status != 400 or not exc.field_errors:
                raise  # the one failure mapper (dashboard/errors.py) renders it
            # A value the form let through but the API refused: show it at the field, page still renders.
            for error in exc.field_errors:
                filterset.form.add_error(API_FIELD_TO_FORM.get(error.field), error.message)
    context = {"filterset": filterset, "page": page, **_table_context(request, access, filterset, page)}
    context.update(tabs_context(store=access.store, user=request.user, filterset=filterset))
    template = LIST_TEMPLATE
    if request.htmx.target == TABLE_PARTIAL:  # type: ignore[attr-defined]
        template = f"{LIST_TEMPLATE}#{TABLE_PARTIAL}"
        context["tabs_oob"] = True  # the tabs follow the filters (hx-swap-oob)
    return render(request, template, context)


def _filterset(params: QueryDict, access: StoreAccess, client: OrdersApiClient) -> OrderFilterSet:
    """The list's filters, offering the statuses the API has (dashboard/vocabulary.py)."""
    table = status_table(access.store, client)
    return OrderFilterSet(params, statuses=table.statuses, payment_statuses=table.payment_statuses)


def _table_context(request: HttpRequest, access: StoreAccess, filterset: OrderFilterSet, page) -> dict:
    """Header sort links, pager and export links: real hrefs that reproduce the state as a full page."""
    # Not the bare path: that opens the user's default view (dashboard/saved_views.py).
    all_orders_url = f"{request.path}?{ALL_ORDERS_QUERY}"
    clear_url = _url(request, keep=("sort", "page_size"))
    context: dict = {
        "list_url": request.path,
        "clear_url": all_orders_url if clear_url == request.path else clear_url,
        "all_orders_url": all_orders_url,
        "without_customer_url": _url(request, customer=None, page=None),
        "export_url": reverse("dashboard:order_export", args=[access.store.slug])
        + "?"
        # Every row of the current filters in the current sort: only paging is dropped.
        + _query(request, drop=("page", "page_size")),
    }
    if page is None:
        return {**context, "table": None}
    params = filterset.api_params()
    page_number = params["offset"] // params["limit"] + 1
    sort = params["sort"]
    table = OrderTable(
        page.orders, store_slug=access.store.slug, list_query=list_query(request.GET), offset=params["offset"]
    )
    headers = []
    for column in table.columns:
        field = SORTABLE.get(column.name)
        header = {"label": column.header, "attrs": column.attrs.get("th", {}), "url": None, "direction": None}
        if field:
            # First click sorts descending (biggest/newest first); clicking the sorted column flips it.
            header["url"] = _url(request, sort=field if sort == f"-{field}" else f"-{field}", page=None)
            header["direction"] = (
                "descending" if sort == f"-{field}" else "ascending" if sort == field else None
            )
        headers.append(header)
    page_count = None if page.total_is_capped else max(1, math.ceil(page.total / params["limit"]))
    return {
        **context,
        "table": table,
        "headers": headers,
        "page_number": page_number,
        "page_count": page_count,
        "total_display": f"{page.total:,}{'+' if page.total_is_capped else ''}",
        "previous_url": _url(request, page=page_number - 1 if page_number > 2 else None)
        if page_number > 1
        else None,
        "next_url": _url(request, page=page_number + 1) if page.has_more else None,
        "last_page_url": _past_the_end_url(request, page_number, page.orders, page.total, page_count),
        "sort": sort,
        "sorts": SORTS,
        "sort_label": dict(SORTS).get(sort, sort),
        "page_size": params["limit"],
    }


def _past_the_end_url(
    request: HttpRequest, page_number: int, rows: list, total: int, page_count: int | None
) -> str | None:
    """A page number beyond the last page (an old link, a hand-edited URL) shows no rows though the
    filters match some: the link to the last page (the first, when the total is capped), else None."""
    if rows or page_number == 1 or not total:
        return None
    last = page_count or 1
    return _url(request, page=last if last > 1 else None)


def _query(request: HttpRequest, *, keep=None, drop=(), **changes) -> str:
    query = request.GET.copy()
    for key in list(query):
        if (keep is not None and key not in keep) or key in drop:
            del query[key]
    for key, value in changes.items():
        if value is None:
            query.pop(key, None)
        else:
            query[key] = str(value)
    return query.urlencode()


def _url(request: HttpRequest, **kwargs) -> str:
    query = _query(request, **kwargs)
    return f"{request.path}?{query}" if query else request.path


@store_view("view")
def order_detail(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    client = client_for(access.store, request.user)
    order = client.orders.get(order_id)
    navigation = list_context(
        request.GET,
        store_slug=access.store.slug,
        order_id=order.id,
        client=client,
        filterset=lambda params: _filterset(params, access, client),
    )
    context = {
        "order": order,
        "navigation": navigation,
        "customer_panel": customer_panel(client, order, store_slug=access.store.slug),
        **timeline_context(request, access, order),
    }
    return render(request, "dashboard/orders/order_detail.html", context)


@store_view("export")
def order_export(request: HttpRequest, access: StoreAccess) -> HttpResponseBase:
    """Stream the API's CSV for the list's filters straight through: no buffering, flat memory."""
    client = client_for(access.store, request.user)
    filterset = _filterset(request.GET, access, client)
    if not filterset.is_valid():
        return render(request, LIST_TEMPLATE, {"filterset": filterset, "table": None}, status=400)
    params = {k: v for k, v in filterset.api_params().items() if k not in {"limit", "offset"}}
    stack = ExitStack()
    # Opened here, inside the error mapper, so a refused key, a down API or an answer that is not CSV (a
    # proxy's HTML page: the client checks the type before reading a byte) is a page, not a cut file.
    export = stack.enter_context(client.orders.export(format="csv", **params))

    def chunks():
        with stack:
            yield from export.chunks()

    response = StreamingHttpResponse(chunks(), content_type=f"text/csv; charset={export.charset}")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="orders-{access.store.slug}-{stamp}.csv"'
    return response
