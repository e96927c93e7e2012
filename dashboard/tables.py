"""The orders table: columns and cell rendering with django-tables2, over one page of API rows.

Sorting and paging are the API's (`sort`, `limit`, `offset`): the table never sorts or slices rows
itself and never sees more than the page. `SORTABLE` maps a column to the API sort field; the template
builds the header links from it.
"""

from __future__ import annotations

from typing import Any

import django_tables2 as tables
from django.template.defaultfilters import date as date_filter
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html

from dashboard.navigation import detail_url
from dashboard.templatetags.dashboard_tags import money, status_badge
from dashboard.tracking import tracking_url

# column name → API sort field (ascending form).
SORTABLE = {"order_number": "orderNumber", "created_at": "createdAt", "total": "total"}


class OrderTable(tables.Table):
    order_number = tables.Column("Order", orderable=False)
    created_at = tables.Column("Created", orderable=False)
    customer = tables.Column("Customer", accessor="customer_name", orderable=False)
    status = tables.Column("Status", orderable=False)
    payment_status = tables.Column("Payment", orderable=False)
    tracking = tables.Column("Tracking", accessor="tracking_number", orderable=False, default="—")
    item_count = tables.Column(
        "Items", orderable=False, attrs={"th": {"class": "num"}, "td": {"class": "num"}}
    )
    total = tables.Column("Total", orderable=False, attrs={"th": {"class": "num"}, "td": {"class": "num"}})
    external = tables.Column("External ID / platform", accessor="external_id", orderable=False, default="—")

    class Meta:
        template_name = "dashboard/orders/_orders_table.html"
        orderable = False
        empty_text = "No orders match these filters."

    def __init__(
        self, data: Any, *, store_slug: str, list_query: str | None = None, offset: int = 0, **kwargs: Any
    ) -> None:
        """`list_query`/`offset`: the list's query string and the page's first position, carried to the
        order page for its previous/next links and its way back (dashboard/navigation.py)."""
        self.store_slug = store_slug
        self.list_query = list_query
        self.positions = {record.id: offset + index for index, record in enumerate(data)}
        super().__init__(data, **kwargs)

    def render_order_number(self, value: str, record: Any) -> str:
        if self.list_query is None:
            url = reverse("dashboard:order_detail", args=[self.store_slug, record.id])
        else:
            url = detail_url(
                self.store_slug, record.id, list_params=self.list_query, position=self.positions[record.id]
            )
        return format_html('<a class="order-link" href="{}">{}</a>', url, value)

    def render_created_at(self, value: Any) -> str:
        # The view runs in the store's time zone (permissions.store_view). Templates convert to it before
        # a filter runs; called from Python, `date` does not, so convert here (the API's times are UTC).
        local = timezone.localtime(value)
        return format_html(
            '<time datetime="{}">{}</time>', local.isoformat(), date_filter(local, "M j, Y H:i")
        )

    def render_customer(self, value: str, record: Any) -> str:
        return format_html(
            '<span class="cell-stack"><span>{}</span><span class="muted small">{}</span></span>',
            value or "—",
            record.customer_email,
        )

    def render_status(self, value: str) -> str:
        return status_badge(value)

    def render_payment_status(self, value: str) -> str:
        return status_badge(value, kind="payment")

    def render_tracking(self, value: str, record: Any) -> str:
        url = tracking_url(record.carrier, value)
        number = format_html('<a class="tracking-link mono" href="{}">{}</a>', url, value) if url else value
        return format_html(
            '<span class="cell-stack"><span>{}</span><span class="muted small">{}</span></span>',
            number,
            record.carrier,
        )

    def render_total(self, value: Any, record: Any) -> str:
        return money(value, record.currency)

    def render_external(self, value: str | None, record: Any) -> str:
        if not value and not record.platform_name:
            return "—"
        return format_html(
            '<span class="cell-stack"><span class="mono">{}</span><span class="muted small">{}</span></span>',
            value or "—",
            record.platform_name,
        )
