"""The bulk action forms: what a person fills in after choosing an action for a selection.

The rules of a move (which statuses an order may go to) are the API's, per order: a form only parses
what was typed. Text lengths leave room for the job reference the runner appends (`· bulk job #N`)
within the API's 500 characters.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from django import forms

from dashboard.models import STAFF_NOTE_MAX_LENGTH, BulkJob
from dashboard.vocabulary import status_choices

TEXT_MAX = 450
# Moving to these is a shipment: carrier and tracking number make sense (spec: metadata.trackingNumber
# / metadata.carrier, as the order page's status dialog writes them).
SHIPPING_STATUSES = frozenset({"shipped", "partially_shipped"})
NOT_A_STATUS_UPDATE = frozenset({"cancelled"})  # cancelling is its own action (admins only)


class BulkStatusForm(forms.Form):
    status = forms.ChoiceField(label="New status")
    carrier = forms.CharField(label="Carrier", required=False, max_length=100)
    tracking_number = forms.CharField(
        label="Tracking number",
        required=False,
        max_length=100,
        help_text="The same for every order (one consignment). Per-order numbers: upload a tracking file.",
    )
    note = forms.CharField(
        label="Note",
        required=False,
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Kept in each order's history with a link to this job.",
    )

    def __init__(self, *args: Any, statuses: Sequence[str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["status"]).choices = status_choices(
            s for s in statuses if s not in NOT_A_STATUS_UPDATE
        )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("status") not in SHIPPING_STATUSES:
            for name in ("carrier", "tracking_number"):
                if data.get(name):
                    self.add_error(name, "Only for a move to shipped or partially shipped.")
        return data

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {k: v for k, v in data.items() if v}


class BulkCancelForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=TEXT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required; kept in each order's history. No refund is made and customers are not emailed.",
    )

    def __init__(self, *args: Any, statuses: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def params(self) -> dict[str, Any]:
        return {"reason": self.cleaned_data["reason"]}


class BulkNoteForm(forms.Form):
    body = forms.CharField(
        label="Staff note",
        max_length=STAFF_NOTE_MAX_LENGTH,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Internal: never sent to the customer or the API.",
    )

    def __init__(self, *args: Any, statuses: Sequence[str] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)

    def params(self) -> dict[str, Any]:
        return {"body": self.cleaned_data["body"].strip()}


class TrackingUploadForm(forms.Form):
    """The tracking-number upload (dashboard/bulk/tracking.py reads the file)."""

    file = forms.FileField(
        label="Tracking file (CSV)",
        help_text="Columns: order number or external ID, carrier, tracking number. Comma, semicolon or tab.",
    )
    note = forms.CharField(
        label="Note", required=False, max_length=TEXT_MAX, help_text="Kept in each order's history."
    )


FORMS: dict[str, type[forms.Form]] = {
    BulkJob.Action.STATUS: BulkStatusForm,
    BulkJob.Action.CANCEL: BulkCancelForm,
    BulkJob.Action.NOTE: BulkNoteForm,
}
# action → the permission it needs (dashboard/permissions.py MINIMUM_ROLE), as for the single actions.
REQUIRED: dict[str, str] = {
    BulkJob.Action.STATUS: "update",
    BulkJob.Action.CANCEL: "cancel_refund",
    BulkJob.Action.NOTE: "update",
}
