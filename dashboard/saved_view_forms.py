"""The form of a saved view: its name and description here, its filters in the list's own OrderFilterSet
(dashboard/filters.py), so a view offers exactly the filters the list has."""

from __future__ import annotations

from typing import Any

from django import forms

from dashboard.filters import OrderFilterSet
from dashboard.models import SAVED_VIEW_NAME_MAX_LENGTH, SavedView, StoreConnection
from dashboard.saved_views import MAX_VIEWS_PER_STORE


class SavedViewForm(forms.Form):
    name = forms.CharField(label="Name", max_length=SAVED_VIEW_NAME_MAX_LENGTH)
    description = forms.CharField(
        label="Description",
        max_length=200,
        required=False,
        help_text="Shown under the tabs when the view is open: say what the view is for.",
    )

    def __init__(
        self, data=None, *, store: StoreConnection, filterset: OrderFilterSet, view: SavedView | None = None
    ) -> None:
        initial = {"name": view.name, "description": view.description} if view else None
        super().__init__(data, initial=initial)
        self.store = store
        self.filterset = filterset
        self.view = view

    def filter_fields(self) -> list:
        """The filterset's fields that are neither the statuses nor dates (the template lays those out)."""
        form = self.filterset.form
        return [form[name] for name in ("search", "payment_status", "platform", "sort")]

    def clean_name(self) -> str:
        name = self.cleaned_data["name"].strip()
        others = SavedView.objects.filter(store=self.store, name__iexact=name)
        if self.view is not None:
            others = others.exclude(pk=self.view.pk)
        if name.casefold() == "all orders" or others.exists():
            raise forms.ValidationError(f"There is already a view named “{name}”. Choose another name.")
        return name

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if self.view is None and SavedView.objects.filter(store=self.store).count() >= MAX_VIEWS_PER_STORE:
            raise forms.ValidationError(
                f"A store keeps at most {MAX_VIEWS_PER_STORE} views. Delete one you no longer use first."
            )
        if not self.filterset.is_valid():
            raise forms.ValidationError("Some filters are not valid. Fix them below.")
        data["query"] = self.filterset.view_query()
        if not data["query"]:
            raise forms.ValidationError(
                "This view has no filters and the default sort: it would show the same as “All orders”."
                " Choose a status, a payment status or another filter or sort."
            )
        return data
