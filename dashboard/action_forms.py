"""Forms of the order action dialogs (spec/dashboard.md §2 "Actions"): status update, cancel, refund,
link to platform, edit metadata.

The forms parse what a person typed; the business rules (which moves are allowed, how much may be
refunded, metadata limits, unique external IDs) live in the Orders API, and its refusals come back onto
the form with `add_api_error`: at the field the API names (or the field its error code is about), else
at the top. Each form carries an Idempotency-Key minted when the form is rendered, so submitting the
same rendered form twice acts once (the API replays the first answer).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any, ClassVar, cast

from django import forms
from django.core.exceptions import ValidationError
from django.http import QueryDict

from dashboard.api_types import Order
from dashboard.client import ApiError
from dashboard.errors import failure_for
from dashboard.templatetags.dashboard_tags import money_plain
from dashboard.tracking import CARRIER_KEY, TRACKING_NUMBER_KEY, known_carriers
from dashboard.vocabulary import status_choices, status_label

# The status dialog never offers `cancelled`: cancelling goes through the cancel dialog, which needs
# the admin role (a support member must not cancel by way of a status update).
NOT_A_STATUS_UPDATE = frozenset({"cancelled"})
# Blank key/value rows offered for new metadata; "Add row" adds more (ADD_ROW).
NEW_METADATA_ROWS = 1
# The name of the "Add row" submit button: without JavaScript the form comes back with one more blank
# row and what was typed (nothing is sent to the API); app.js adds the row in place instead.
ADD_ROW = "add_row"
METADATA_PREFIX = "meta"
# More rows than the API's 50 keys plus the blank ones is a forged form, refused before any work.
MAX_ROWS = 60
# The API's text limits (spec §3.5, §3.10): reasons and notes, metadata keys and values. Given to the
# browser as `maxlength` only: the API checks them and its refusal lands at the field.
MAX_REASON = 500
MAX_METADATA_KEY = 40
MAX_METADATA_VALUE = 500


def new_idempotency_key() -> str:
    return str(uuid.uuid4())


def metadata_text(value: Any) -> str:
    """A metadata value as staff read and edit it: JSON spelling for booleans and null."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    return str(value)


def money_text(amount: Any, currency: str) -> str:
    return money_plain(amount, currency)


def check_refund_amount(amount: Decimal | None, order: Order) -> None:
    """The API's refund rules (spec §3.6), said with the order's currency before anything is sent; the
    API checks them again."""
    if amount is None:
        return
    if amount <= 0:
        raise ValidationError(f"Enter an amount greater than {money_text(0, order.currency)}.")
    if amount > order.refundable_amount:
        raise ValidationError(
            f"{money_text(amount, order.currency)} is more than can be refunded: at most "
            f"{money_text(order.refundable_amount, order.currency)}."
        )


class StatusChoiceField(forms.ChoiceField):
    """Offers the order's allowed moves but accepts any status a status update may name (`targets`: the
    API's statuses but `cancelled`): whether the move is allowed is the API's decision. Checking it here
    against the order as it is now would refuse the second send of a double submit (the order has moved
    already) instead of letting the API replay the first answer."""

    targets: frozenset[str] = frozenset()

    def valid_value(self, value: Any) -> bool:
        return value in self.targets


class ActionForm(forms.Form):
    """Base of every action form: the Idempotency-Key field and the mapping of API refusals."""

    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=255)

    # API field name (camelCase, as in the API's `errors[].field`) → form field.
    api_fields: ClassVar[Mapping[str, str]] = {}
    # API error code without a field (e.g. INVALID_REFUND_AMOUNT) → the form field it is about.
    api_codes: ClassVar[Mapping[str, str]] = {}
    # Whether the form takes `statuses=`, the API's statuses (dashboard/vocabulary.py).
    needs_statuses: ClassVar[bool] = False

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        self.order = order
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())
        self.rows: BaseMetadataRowFormSet | None = None

    def is_valid(self) -> bool:
        valid = super().is_valid()
        return (self.rows.is_valid() if self.rows is not None else True) and valid

    def renew_idempotency_key(self) -> None:
        """Use a fresh key for the next submit. Called after the API answered a refusal: that answer is
        stored under the old key, so a corrected form with the old key would be refused as a reuse."""
        data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
        data["idempotency_key"] = new_idempotency_key()
        self.data = data

    def add_api_error(self, exc: ApiError) -> None:
        """Show an API refusal where the person can act on it."""
        for error in exc.field_errors:
            if not self._place_field_error(error.field, error.message):
                self.add_error(None, f"{error.field}: {error.message}")
        if exc.error_code == "IDEMPOTENCY_KEY_REUSED":
            self.add_error(
                None, "This form was already sent with other values. Check the order and send it again."
            )
        elif not exc.field_errors:
            field = self.api_codes.get(exc.error_code)
            # A field the form left out (the cancel form without a refund) takes it at the top.
            self.add_error(field if field in self.fields else None, failure_for(exc).message)

    def _place_field_error(self, api_field: str, message: str) -> bool:
        name = self.api_fields.get(api_field)
        if name is not None and name in self.fields:
            self.add_error(name, message)
            return True
        if self.rows is not None and api_field.startswith("metadata."):
            return self.rows.add_key_error(api_field.removeprefix("metadata."), message)
        return False


class MetadataRowForm(forms.Form):
    """One key/value row. `original_key`/`original_value` (hidden) say what the row showed, so only
    real changes are sent: an unchanged number or boolean keeps its type."""

    original_key = forms.CharField(widget=forms.HiddenInput, required=False)
    original_value = forms.CharField(widget=forms.HiddenInput, required=False, strip=False)
    key = forms.CharField(
        label="Key", required=False, widget=forms.TextInput(attrs={"maxlength": MAX_METADATA_KEY})
    )
    value = forms.CharField(
        label="Value",
        required=False,
        strip=False,
        widget=forms.TextInput(attrs={"maxlength": MAX_METADATA_VALUE}),
    )
    remove = forms.BooleanField(label="Remove", required=False)

    def mark_row_error(self) -> None:
        error_id = f"{self.prefix}-error"
        for name in ("key", "value"):
            self.fields[name].widget.attrs.update({"aria-invalid": "true", "aria-describedby": error_id})


class BaseMetadataRowFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        if any(self.errors):
            return
        seen: set[str] = set()
        for row in self.forms:
            key = (row.cleaned_data.get("key") or "").strip()
            removed = row.cleaned_data.get("remove")
            if not key:
                if row.cleaned_data.get("value") and not removed:
                    row.add_error("key", "Give a key for this value.")
                continue
            if removed:
                continue
            if key in seen:
                row.add_error("key", f"The key “{key}” appears twice.")
            seen.add(key)
        if any(self.errors):
            raise ValidationError("Some metadata rows need fixing.")

    def patch(self) -> dict[str, Any]:
        """The metadata patch of the API (spec §3.10): changed keys with their text, removed keys null."""
        patch: dict[str, Any] = {}
        for row in self.forms:
            data = row.cleaned_data
            key = (data.get("key") or "").strip()
            original = data.get("original_key") or ""
            value = data.get("value") or ""
            if not original:
                if key:
                    patch[key] = value
                continue
            if data.get("remove") or not key:
                patch.setdefault(original, None)
            elif key != original:
                patch.setdefault(original, None)
                patch[key] = value
            elif value != (data.get("original_value") or ""):
                patch[key] = value
        return patch

    def add_key_error(self, key: str, message: str) -> bool:
        """Put the API's error about metadata key `key` on the row that holds it."""
        for row in self.forms:
            cleaned = getattr(row, "cleaned_data", {}) or {}
            if (cleaned.get("key") or "").strip() == key or (
                cleaned.get("remove") and cleaned.get("original_key") == key
            ):
                row.add_error(None, message)
                row.mark_row_error()
                return True
        return False


def metadata_rows(
    data: Any, *, existing: Mapping[str, Any] | None = None, extra: int
) -> BaseMetadataRowFormSet:
    """The rows of `existing` metadata (editable, removable) and `extra` blank rows for new keys."""
    initial = [
        {"original_key": k, "key": k, "original_value": metadata_text(v), "value": metadata_text(v)}
        for k, v in (existing or {}).items()
    ]
    formset_class = forms.formset_factory(
        MetadataRowForm, formset=BaseMetadataRowFormSet, extra=extra, max_num=MAX_ROWS, validate_max=True
    )
    return cast(BaseMetadataRowFormSet, formset_class(data, initial=initial, prefix=METADATA_PREFIX))


class StatusUpdateForm(ActionForm):
    status = StatusChoiceField(label="New status")
    # Asked only for a move to a shipping status (tracking.shipping_statuses); the API checks the length.
    tracking_number = forms.CharField(label="Tracking number", required=False)
    carrier = forms.CharField(
        label="Carrier",
        required=False,
        widget=forms.TextInput(attrs={"list": "carrier-names", "autocomplete": "off"}),
    )
    note = forms.CharField(
        label="Note",
        required=False,
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_REASON}),
        help_text="Kept in the history.",
    )

    api_fields: ClassVar[Mapping[str, str]] = {
        "status": "status",
        "note": "note",
        f"metadata.{TRACKING_NUMBER_KEY}": "tracking_number",
        f"metadata.{CARRIER_KEY}": "carrier",
    }
    api_codes: ClassVar[Mapping[str, str]] = {
        "INVALID_STATUS_TRANSITION": "status",
        "INVALID_STATUS": "status",
    }
    needs_statuses = True

    def __init__(
        self,
        *args: Any,
        order: Order,
        statuses: Sequence[str],
        shipping_statuses: frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        """`statuses`: every status of the API (dashboard/vocabulary.py); `shipping_statuses`: those a
        move to asks for tracking (tracking.shipping_statuses); both passed in by the view."""
        super().__init__(*args, order=order, **kwargs)
        field = cast(StatusChoiceField, self.fields["status"])
        field.targets = frozenset(statuses) - NOT_A_STATUS_UPDATE
        self.offered = [s for s in order.allowed_transitions if s not in NOT_A_STATUS_UPDATE]
        field.choices = status_choices(self.offered)
        self.shipping_statuses = shipping_statuses
        self.carriers = known_carriers()
        self.rows = self.extra_metadata = metadata_rows(self.data if self.is_bound else None, extra=2)

    @property
    def offers_tracking(self) -> bool:
        """Whether any move offered ships the order (else the tracking fields are not shown at all)."""
        return any(status in self.shipping_statuses for status in self.offered)

    @property
    def ships(self) -> bool:
        """Whether the chosen (or preselected) status is a shipping one: the tracking fields show."""
        return self["status"].value() in self.shipping_statuses

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        status = cleaned.get("status")
        if (
            status
            and status not in self.shipping_statuses
            and (cleaned.get("tracking_number") or cleaned.get("carrier"))
        ):
            # At the top: for such a move the tracking fields are not on the form at all.
            shipping = ", ".join(status_label(s) for s in sorted(self.shipping_statuses)) or "none"
            self.add_error(
                None,
                f"A tracking number and carrier go only with a move that ships the order ({shipping}).",
            )
        return cleaned

    def metadata(self) -> dict[str, Any] | None:
        patch = self.extra_metadata.patch()
        if tracking := self.cleaned_data.get("tracking_number"):
            patch[TRACKING_NUMBER_KEY] = tracking
        if carrier := self.cleaned_data.get("carrier"):
            patch[CARRIER_KEY] = carrier
        return patch or None


class CancelForm(ActionForm):
    reason = forms.CharField(
        label="Reason",
        widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_REASON}),
        help_text="Required; kept in the history.",
    )
    refund_amount = forms.DecimalField(
        label="Refund now (optional)", required=False, max_digits=12, decimal_places=2
    )
    notify_customer = forms.BooleanField(
        label="Email the customer that the order is cancelled", required=False
    )

    api_fields: ClassVar[Mapping[str, str]] = {
        "reason": "reason",
        "refundAmount": "refund_amount",
        "notifyCustomer": "notify_customer",
    }
    api_codes: ClassVar[Mapping[str, str]] = {"INVALID_REFUND_AMOUNT": "refund_amount"}

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, order=order, **kwargs)
        if order.refundable_amount <= 0:
            # Nothing was paid (or all of it was refunded): there is nothing to offer.
            del self.fields["refund_amount"]
            return
        self.fields[
            "refund_amount"
        ].help_text = f"Up to {money_text(order.refundable_amount, order.currency)} can be refunded."
        self.fields["refund_amount"].widget.attrs.update(
            {"min": "0.01", "step": "0.01", "inputmode": "decimal"}
        )

    def clean_refund_amount(self) -> Decimal | None:
        amount = self.cleaned_data["refund_amount"]
        check_refund_amount(amount, self.order)
        return amount


class RefundForm(ActionForm):
    amount = forms.DecimalField(label="Amount", max_digits=12, decimal_places=2)
    reason = forms.CharField(
        label="Reason", required=False, widget=forms.Textarea(attrs={"rows": 2, "maxlength": MAX_REASON})
    )
    notify_customer = forms.BooleanField(label="Email the customer about the refund", required=False)

    api_fields: ClassVar[Mapping[str, str]] = {
        "amount": "amount",
        "reason": "reason",
        "notifyCustomer": "notify_customer",
    }
    api_codes: ClassVar[Mapping[str, str]] = {"INVALID_REFUND_AMOUNT": "amount"}

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, order=order, **kwargs)
        self.fields[
            "amount"
        ].help_text = f"Up to {money_text(order.refundable_amount, order.currency)} can be refunded."
        self.fields["amount"].widget.attrs.update({"min": "0.01", "step": "0.01", "inputmode": "decimal"})
        self.fields["amount"].label = f"Amount ({order.currency})"

    def clean_amount(self) -> Decimal:
        amount = self.cleaned_data["amount"]
        check_refund_amount(amount, self.order)
        return amount


class LinkForm(ActionForm):
    external_order_id = forms.CharField(
        label="External order ID", max_length=255, help_text="The order's ID on the platform."
    )
    platform_name = forms.CharField(
        label="Platform", max_length=100, help_text="For example Shopify or WooCommerce."
    )

    api_fields: ClassVar[Mapping[str, str]] = {
        "externalOrderId": "external_order_id",
        "platformName": "platform_name",
    }
    api_codes: ClassVar[Mapping[str, str]] = {"EXTERNAL_ID_EXISTS": "external_order_id"}


class MetadataForm(ActionForm):
    """The order's metadata as editable rows plus blank rows for new keys."""

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, order=order, **kwargs)
        # "Add row" sent without JavaScript: the same rows and one more blank one; nothing is saved.
        self.adding_row = self.is_bound and ADD_ROW in self.data
        if self.adding_row:
            data = self.data.copy() if isinstance(self.data, QueryDict) else dict(self.data)
            total = f"{METADATA_PREFIX}-TOTAL_FORMS"
            data[total] = str(min(int(data.get(total) or 0) + 1, MAX_ROWS))
            self.data = data
        self.rows = self.metadata_rows = metadata_rows(
            self.data if self.is_bound else None, existing=order.metadata, extra=NEW_METADATA_ROWS
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if self.adding_row:
            return cleaned  # not a save: "nothing changed" is no error yet
        if self.metadata_rows.is_valid() and not self.metadata_rows.patch():
            raise ValidationError("Nothing changed: edit a value, remove a row or add a key.")
        return cleaned

    def metadata(self) -> dict[str, Any]:
        return self.metadata_rows.patch()
