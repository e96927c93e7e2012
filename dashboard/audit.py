"""The audit view's filters and its CSV export (spec/dashboard.md §2 "Audit view").

The rows come from the API's store-wide history feed (`GET /api/v1/history`). The FilterSet is used
for its form (fields, labels, validation, errors) and `api_params()`, never for `.qs`, as in
dashboard/filters.py.

The CSV is made here, not by the API (the feed has no export): `audit_csv_chunks` walks the feed with
its keyset cursor one API page at a time and yields one CSV chunk per page, so memory holds one page
whatever the size, and the first bytes leave before the second page is asked for.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta, tzinfo
from typing import Any, cast

import django_filters
from django import forms

from dashboard.api_types import HistoryEntry, HistoryPage
from dashboard.client import OrdersApiClient
from dashboard.filters import day_end, day_start
from dashboard.models import StaffNote, StoreConnection
from dashboard.notes import notes_between
from dashboard.vocabulary import status_choices

PAGE_SIZE = 25
# The API's largest page: the export asks for as many rows per call as it may.
EXPORT_PAGE_SIZE = 50

CSV_COLUMNS = (
    "Changed at",
    "Order number",
    "Order ID",
    "Kind",
    "From",
    "To",
    "Actor type",
    "Actor name",
    "API key prefix",
    "Note",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); the same rule as
# the API's order export.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix `'` to a cell a spreadsheet would evaluate; the text stays readable after it."""
    return "'" + cell if cell.startswith(FORMULA_TRIGGERS) else cell


class HistoryFilterForm(forms.Form):
    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("date_from") and data.get("date_to") and data["date_from"] > data["date_to"]:
            self.add_error("date_to", "“To” must be on or after “from”.")
        return data


def _date_widget() -> forms.DateInput:
    return forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class HistoryFilterSet(django_filters.FilterSet):
    date_from = django_filters.DateFilter(label="Changed from", widget=_date_widget())
    date_to = django_filters.DateFilter(label="Changed to", widget=_date_widget())
    status = django_filters.MultipleChoiceFilter(
        label="Changed to status", choices=[], widget=forms.CheckboxSelectMultiple
    )
    actor = django_filters.CharFilter(
        label="Actor",
        max_length=150,
        widget=forms.TextInput(attrs={"placeholder": "Staff name or API key name, or part of it"}),
    )
    page = django_filters.NumberFilter(label="Page", min_value=1, max_value=100_000, widget=forms.HiddenInput)

    class Meta:
        form = HistoryFilterForm

    def __init__(self, data=None, *, statuses: Sequence[str], **kwargs) -> None:
        # No rows are filtered here (see module docstring); an empty queryset satisfies the base class.
        super().__init__(data=data, queryset=StoreConnection.objects.none(), **kwargs)
        # The API's statuses (dashboard/vocabulary.py), passed in by the view.
        cast(forms.ChoiceField, self.form.fields["status"]).choices = status_choices(statuses)

    def api_filters(self) -> dict[str, Any]:
        """The feed's filter parameters (snake_case; the client camelCases them). After is_valid()."""
        data = self.form.cleaned_data
        return {
            "date_from": day_start(data.get("date_from")),  # the store's days, as the list's
            "date_to": day_end(data.get("date_to")),
            "status": list(data.get("status") or []) or None,
            "actor": (data.get("actor") or "").strip() or None,
        }

    def api_params(self) -> dict[str, Any]:
        """Filters plus this page's limit and offset."""
        page = int(self.form.cleaned_data.get("page") or 1)
        return {**self.api_filters(), "limit": PAGE_SIZE, "offset": (page - 1) * PAGE_SIZE}


# The API names the feed's fields in its own terms; map them back onto the form.
API_FIELD_TO_FORM = {
    "dateFrom": "date_from",
    "dateTo": "date_to",
    "status": "status",
    "actor": "actor",
    "offset": "page",
    "limit": None,
}


def csv_cells(entry: HistoryEntry, tz: tzinfo) -> list[str]:
    """One feed entry → the CSV cells in CSV_COLUMNS order; every text cell neutralised."""
    changed_at = entry.changed_at.astimezone(tz).isoformat(timespec="seconds") if entry.changed_at else ""
    cells = [
        entry.order_number or "",
        entry.order_id or "",
        entry.kind,
        entry.from_status or "",
        entry.to_status,
        entry.actor.type,
        entry.actor.name,
        entry.actor.api_key_prefix,
        entry.note,
    ]
    return [changed_at, *(neutralise(cell) for cell in cells)]


def audit_pages(client: OrdersApiClient, filters: dict[str, Any]) -> Iterator[HistoryPage]:
    """Every page of the feed for `filters`, walking the cursor (never skips or repeats an entry)."""
    params = {**filters, "limit": EXPORT_PAGE_SIZE, "offset": None, "cursor": None}
    while True:
        page = client.history.list(**params)
        yield page
        if not page.next_cursor:
            return
        params["cursor"] = page.next_cursor


def audit_csv_chunks(pages: Iterator[HistoryPage], tz: tzinfo) -> Iterator[bytes]:
    """The CSV file, header first, one UTF-8 chunk per API page; holds one page in memory at a time."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for page in pages:
        writer.writerows([csv_cells(entry, tz) for entry in page.entries])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # pragma: no cover - every walk yields at least one page
        yield buffer.getvalue().encode()


@dataclass(frozen=True)
class AuditRow:
    """One row of the audit view: an API history entry or a staff note (dashboard/notes.py)."""

    at: datetime
    entry: HistoryEntry | None = None
    note: StaffNote | None = None


def audit_rows(
    store: StoreConnection,
    client: OrdersApiClient,
    filterset: HistoryFilterSet,
    page: HistoryPage,
    tz: tzinfo,
) -> list[AuditRow]:
    """The page's history entries and the staff notes written within the page's time range, newest
    first. Page N holds the notes from its oldest entry up to (not including) the oldest entry of page
    N-1 — open-ended on the first and the last page — so paging shows every note exactly once. Notes
    are not status changes: a status filter leaves them out; the actor filter matches their author and
    the date filters their time."""
    rows = [AuditRow(at=entry.changed_at, entry=entry) for entry in page.entries]
    filters = filterset.api_filters()
    offset = filterset.api_params()["offset"]
    if filters["status"] or (offset and not page.entries):
        return rows
    start = page.entries[-1].changed_at if page.has_more else None
    end = None
    if offset:
        # The oldest entry of the page before: one row, asked for only beyond the first page.
        before = client.history.list(**filters, limit=1, offset=offset - 1).entries
        end = before[0].changed_at if before else None
    if filters["date_from"]:
        day_start = datetime.combine(filters["date_from"], time.min, tzinfo=tz)
        start = max(start, day_start) if start else day_start
    if filters["date_to"]:
        day_end = datetime.combine(filters["date_to"] + timedelta(days=1), time.min, tzinfo=tz)
        end = min(end, day_end) if end else day_end
    notes = notes_between(store, start=start, end=end, author=filters["actor"])
    rows += [AuditRow(at=note.created_at, note=note) for note in notes]
    return sorted(rows, key=lambda row: (row.at, row.note is not None), reverse=True)
