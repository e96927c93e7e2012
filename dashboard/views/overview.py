"""The store's landing page: counts per status, orders and revenue per day, the latest changes."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.http import urlencode

from dashboard.api import client_for
from dashboard.charts import daily_chart
from dashboard.permissions import StoreAccess, store_view
from dashboard.vocabulary import status_label, status_table

LATEST_CHANGES = 10


@store_view("view")
def store_overview(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    client = client_for(access.store, request.user)
    # No date filter: the API's daily series then covers the last 30 days in the store's timezone.
    stats = client.orders.stats()
    latest = client.history.list(limit=LATEST_CHANGES)
    list_url = reverse("dashboard:order_list", args=[access.store.slug])
    counts = [
        {
            "status": value,
            "label": status_label(value),
            "count": stats.by_status.get(value, 0),
            "url": f"{list_url}?{urlencode({'status': value})}",
        }
        for value in status_table(access.store, client).statuses
    ]
    context = {
        "stats": stats,
        "counts": counts,
        "chart": daily_chart(stats.per_day, stats.currency),
        "currency": stats.currency,
        "latest": latest.entries,
        "list_url": list_url,
    }
    return render(request, "dashboard/overview/store_overview.html", context)
