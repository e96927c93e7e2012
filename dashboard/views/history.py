"""The audit view (the store's history feed) and its CSV export. Thin: parse → one client call → render."""

from __future__ import annotations

import itertools
import math
import zoneinfo

from django.http import HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone

from dashboard.api import client_for
from dashboard.audit import (
    API_FIELD_TO_FORM,
    PAGE_SIZE,
    HistoryFilterSet,
    audit_csv_chunks,
    audit_pages,
    audit_rows,
)
from dashboard.client import ApiError
from dashboard.permissions import StoreAccess, store_view
from dashboard.views.orders import _past_the_end_url, _query, _url
from dashboard.vocabulary import status_table

LIST_TEMPLATE = "dashboard/history/history_list.html"
TABLE_PARTIAL = "history-table"


@store_view("view")
def history_list(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    client = client_for(access.store, request.user)
    filterset = HistoryFilterSet(request.GET, statuses=status_table(access.store, client).statuses)
    page = None
    if filterset.is_valid():
        try:
            page = client.history.list(**filterset.api_params())
        except ApiError as exc:
            if exc.status != 400 or not exc.field_errors:
                raise  # the one failure mapper (dashboard/errors.py) renders it
            for error in exc.field_errors:
                filterset.form.add_error(API_FIELD_TO_FORM.get(error.field), error.message)
    rows = (
        audit_rows(access.store, client, filterset, page, zoneinfo.ZoneInfo(access.store.timezone))
        if page is not None
        else []
    )
    context = {
        "filterset": filterset,
        "page": page,
        "rows": rows,
        **_paging_context(request, access, filterset, page),
    }
    template = LIST_TEMPLATE
    if request.htmx.target == TABLE_PARTIAL:  # type: ignore[attr-defined]
        template = f"{LIST_TEMPLATE}#{TABLE_PARTIAL}"
    return render(request, template, context)


def _paging_context(request: HttpRequest, access: StoreAccess, filterset: HistoryFilterSet, page) -> dict:
    """Pager and export links: real hrefs that reproduce the state as a full page."""
    context = {
        "list_url": request.path,
        "clear_url": request.path,
        "export_url": reverse("dashboard:history_export", args=[access.store.slug])
        + "?"
        + _query(request, drop=("page",)),
    }
    if page is None:
        return context
    page_number = filterset.api_params()["offset"] // PAGE_SIZE + 1
    page_count = None if page.total_is_capped else max(1, math.ceil(page.total / PAGE_SIZE))
    return {
        **context,
        "page_number": page_number,
        "page_count": page_count,
        "total_display": f"{page.total:,}{'+' if page.total_is_capped else ''}",
        "previous_url": _url(request, page=page_number - 1 if page_number > 2 else None)
        if page_number > 1
        else None,
        "next_url": _url(request, page=page_number + 1) if page.has_more else None,
        "last_page_url": _past_the_end_url(request, page_number, page.entries, page.total, page_count),
    }


@store_view("export")
def history_export(request: HttpRequest, access: StoreAccess) -> HttpResponseBase:
    """The feed for the view's filters as CSV, streamed page by page from the API (no buffering)."""
    client = client_for(access.store, request.user)
    filterset = HistoryFilterSet(request.GET, statuses=status_table(access.store, client).statuses)
    if not filterset.is_valid():
        return render(request, LIST_TEMPLATE, {"filterset": filterset}, status=400)
    pages = audit_pages(client, filterset.api_filters())
    # The first page is fetched here, inside the error mapper: a refused key or a down API is a page,
    # not a file cut after its header.
    first = next(pages)
    chunks = audit_csv_chunks(itertools.chain([first], pages), zoneinfo.ZoneInfo(access.store.timezone))
    response = StreamingHttpResponse(chunks, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="audit-{access.store.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
