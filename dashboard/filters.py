"""The orders list's filters: a django-filter FilterSet defines and validates them, and
`api_params()` turns the cleaned values into Orders API query parameters (spec §3.4).

There is no queryset: the rows come from the API. The FilterSet is used for its form (fields, labels,
validation, errors), never for `.qs`. The statuses and payment statuses offered are the API's own
(dashboard/vocabulary.py), passed in by the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import django_filters
from django import forms
from django.http import QueryDict
from django.utils import timezone

from dashboard.models import StoreConnection
from dashboard.vocabulary import status_choices, status_label

# The list's `sort` values are the API's own (spec §3.4), so links and the API agree without a mapping.
SORTS = [
    ("-createdAt", "Newest first"),
    ("createdAt", "Oldest first"),
    ("-total", "Total, high to low"),
    ("total", "Total, low to high"),
    ("-orderNumber", "Order number, high to low"),
    ("orderNumber", "Order number, low to high"),
    ("-updatedAt", "Recently updated"),
    ("updatedAt", "Least recently updated"),
]
DEFAULT_SORT = "-createdAt"
PAGE_SIZES = [("25", "25"), ("50", "50")]
DEFAULT_PAGE_SIZE = 25


class OrderFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for start, end, label in (
            ("created_from", "created_to", "Created"),
            ("updated_from", "updated_to", "Updated"),
        ):
            if data.get(start) and data.get(end) and data[start] > data[end]:
                self.add_error(end, f"{label} “to” must be on or after “from”.")
        return data


def day_start(day: date | None) -> datetime | None:
    """A "from" date as the first moment of that day in the current time zone — the store's, where
    the list's times are shown (permissions.store_view) — sent with its offset, so the API's own store
    time zone (a remote API's may differ) cannot move the boundary."""
    if day is None:
        return None
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def day_end(day: date | None) -> datetime | None:
    """A "to" date as the last moment of that day in the store's time zone (the API takes an exact end
    as inclusive)."""
    if day is None:
        return None
    next_day = datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.get_current_timezone())
    return next_day - timedelta(microseconds=1)


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class OrderFilterSet(django_filters.FilterSet):
    search = django_filters.CharFilter(
        label="Search",
        max_length=200,
        widget=forms.TextInput(
            attrs={"type": "search", "placeholder": "Order number, external ID, customer email or name"}
        ),
    )
    status = django_filters.MultipleChoiceFilter(
        label="Status", choices=[], widget=forms.CheckboxSelectMultiple
    )
    payment_status = django_filters.ChoiceFilter(
        label="Payment", choices=[], empty_label="Any payment status"
    )
    platform = django_filters.CharFilter(label="Platform", max_length=100)
    # Set from an order page's customer panel ("all orders of this customer"); the API checks the UUID.
    customer = django_filters.CharFilter(label="Customer", max_length=64, widget=forms.HiddenInput)
    created_from = django_filters.DateFilter(label="Created from", widget=_date_widget())
    created_to = django_filters.DateFilter(label="Created to", widget=_date_widget())
    updated_from = django_filters.DateFilter(label="Updated from", widget=_date_widget())
    updated_to = django_filters.DateFilter(label="Updated to", widget=_date_widget())
    sort = django_filters.ChoiceFilter(label="Sort", choices=SORTS, empty_label=None)
    page_size = django_filters.ChoiceFilter(label="Per page", choices=PAGE_SIZES, empty_label=None)
    page = django_filters.NumberFilter(label="Page", min_value=1, max_value=100_000, widget=forms.HiddenInput)

    class Meta:
        form = OrderFilterForm

    def __init__(
        self, data=None, *, statuses: Sequence[str], payment_statuses: Sequence[str], **kwargs
    ) -> None:
        # No rows are ever filtered here (see module docstring); an empty queryset satisfies the base.
        super().__init__(data=data, queryset=StoreConnection.objects.none(), **kwargs)
        fields = self.form.fields
        cast(forms.ChoiceField, fields["status"]).choices = status_choices(statuses)
        cast(forms.ChoiceField, fields["payment_status"]).choices = status_choices(payment_statuses)

    def view_query(self) -> str:
        """The filters and sort as a saved view keeps them (dashboard/saved_views.py): a query string
        with the fields in a fixed order, statuses sorted, empty fields, the default sort and paging
        left out. Two URLs that show the same orders give the same string. Call after is_valid()."""
        data = self.form.cleaned_data
        query = QueryDict(mutable=True)
        for name in VIEW_FIELDS:
            value = data.get(name)
            if name == "status":
                query.setlist(name, sorted(value or []))
            elif name == "sort":
                if value and value != DEFAULT_SORT:
                    query[name] = value
            elif hasattr(value, "isoformat"):
                query[name] = value.isoformat()
            elif value and str(value).strip():
                query[name] = str(value).strip()
        return query.urlencode()

    def api_params(self) -> dict[str, Any]:
        """The API's list parameters (snake_case; the client camelCases them). Call after is_valid()."""
        data = self.form.cleaned_data
        page_size = int(data.get("page_size") or DEFAULT_PAGE_SIZE)
        page = int(data.get("page") or 1)
        return {
            "status": list(data.get("status") or []) or None,
            "date_from": day_start(data.get("created_from")),
            "date_to": day_end(data.get("created_to")),
            "updated_from": day_start(data.get("updated_from")),
            "updated_to": day_end(data.get("updated_to")),
            "search": (data.get("search") or "").strip() or None,
            "payment_status": data.get("payment_status") or None,
            "platform_name": (data.get("platform") or "").strip() or None,
            "customer_id": (data.get("customer") or "").strip() or None,
            "sort": data.get("sort") or DEFAULT_SORT,
            "limit": page_size,
            "offset": (page - 1) * page_size,
        }


# What a saved view keeps, in this order: the filters and the sort, not the page or the page size.
VIEW_FIELDS = (
    "search",
    "status",
    "payment_status",
    "platform",
    "created_from",
    "created_to",
    "updated_from",
    "updated_to",
    "sort",
)


def describe_view_query(query: str) -> list[str]:
    """A saved view's filters in words, one entry per filter: `["Status: Confirmed, Processing",
    "Sort: Oldest first"]`. Reads the stored string only (no API call), so a status the API no longer
    has still reads as itself."""
    data = QueryDict(query)
    words = []
    for name in VIEW_FIELDS:
        values = data.getlist(name)
        if not values:
            continue
        label = OrderFilterSet.base_filters[name].label
        if name in ("status", "payment_status"):
            shown = ", ".join(status_label(v) for v in values)
        elif name == "sort":
            shown = dict(SORTS).get(values[0], values[0])
        else:
            shown = ", ".join(values)
        words.append(f"{label}: {shown}")
    if not data.get("sort"):
        words.append(f"Sort: {dict(SORTS)[DEFAULT_SORT]}")
    return words


# The API names fields in its own terms; map them back onto the form to show errors at the right field.
API_FIELD_TO_FORM = {
    "status": "status",
    "dateFrom": "created_from",
    "dateTo": "created_to",
    "updatedFrom": "updated_from",
    "updatedTo": "updated_to",
    "search": "search",
    "paymentStatus": "payment_status",
    "platformName": "platform",
    "customerId": "customer",
    "sort": "sort",
    "limit": "page_size",
    "offset": "page",
}
