"""The orders list's filters: a django-filter FilterSet defines and validates them, and
`api_params()` turns the cleaned values into Orders API query parameters (spec §3.4).

There is no queryset: the rows come from the API. The FilterSet is used for its form (fields, labels,
validation, errors), never for `.qs`. The statuses and payment statuses offered are the API's own
(dashboard/vocabulary.py), passed in by the view.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

import django_filters
from django import forms

from dashboard.models import StoreConnection
from dashboard.vocabulary import status_choices

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

    def api_params(self) -> dict[str, Any]:
        """The API's list parameters (snake_case; the client camelCases them). Call after is_valid()."""
        data = self.form.cleaned_data
        page_size = int(data.get("page_size") or DEFAULT_PAGE_SIZE)
        page = int(data.get("page") or 1)
        return {
            "status": list(data.get("status") or []) or None,
            "date_from": data.get("created_from"),
            "date_to": data.get("created_to"),
            "updated_from": data.get("updated_from"),
            "updated_to": data.get("updated_to"),
            "search": (data.get("search") or "").strip() or None,
            "payment_status": data.get("payment_status") or None,
            "platform_name": (data.get("platform") or "").strip() or None,
            "customer_id": (data.get("customer") or "").strip() or None,
            "sort": data.get("sort") or DEFAULT_SORT,
            "limit": page_size,
            "offset": (page - 1) * page_size,
        }


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
