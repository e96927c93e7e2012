"""Forms of the webhooks pages, the API's field errors mapped onto them, and the two rules that keep
webhook POSTs safe:

- Submitted once. Every form render carries a fresh Idempotency-Key. The API replays update, test and
  retry for the same key, but not create and rotate (their answers hold the secret, which the API
  never stores in clear), and a repeated DELETE is a 404. So the dashboard claims each key in the
  cache before acting (`claim`), and a second submit of the same form acts not at all. The claim is
  released when the API refused or failed, so "try again" with the same form still works. With the
  default per-process cache the claim covers one process; a shared cache (Redis, as the scale-out
  settings configure) covers all.
- Secret shown once. After create and rotate the view redirects to the endpoint's page (a reload must
  not post again); the secret rides along in the session, encrypted with a key of its own, and is
  removed by the first page that shows it (`pop_secret`).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Iterable
from typing import Any, cast

from django import forms
from django.contrib.sessions.backends.base import SessionBase
from django.core.cache import cache

import secretbox
from dashboard.api_types import EventType
from dashboard.client import ApiError
from dashboard.vocabulary import event_type_choices

CLAIM_SECONDS = 24 * 60 * 60  # as long as the API keeps an Idempotency-Key
SECRET_PURPOSE = "dashboard.webhook-secret-shown-once"  # noqa: S105 - the secretbox purpose label, not a secret


def new_idempotency_key() -> str:
    return uuid.uuid4().hex


class OnceForm(forms.Form):
    """A POST form with the hidden Idempotency-Key; on its own the form of the one-button actions
    (rotate, test, retry, delete)."""

    idempotency_key = forms.CharField(
        max_length=255, widget=forms.HiddenInput, error_messages={"required": "The form expired; try again."}
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not self.is_bound:
            self.initial.setdefault("idempotency_key", new_idempotency_key())


class ToggleForm(OnceForm):
    enabled = forms.BooleanField(required=False, widget=forms.HiddenInput)


class WebhookForm(OnceForm):
    url = forms.CharField(
        label="Endpoint URL",
        max_length=2000,
        widget=forms.TextInput(
            attrs={"placeholder": "https://example.com/webhooks/orders", "inputmode": "url"}
        ),
        help_text="https:// and reachable from the Orders API.",
    )
    event_types = forms.MultipleChoiceField(
        label="Events",
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose at least one event."},
    )
    description = forms.CharField(label="Description", max_length=500, required=False)
    enabled = forms.BooleanField(label="Enabled: send events to this endpoint", required=False, initial=True)

    def __init__(self, *args: Any, event_types: Iterable[EventType], **kwargs: Any) -> None:
        """`event_types`: the API's catalogue (dashboard/vocabulary.py), passed in by the view; the
        API validates the choice again, and its answer is shown at the field."""
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["event_types"]).choices = event_type_choices(event_types)

    def api_fields(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "url": data["url"].strip(),
            "event_types": list(data["event_types"]),
            "description": data.get("description") or "",
            "enabled": bool(data.get("enabled")),
        }


# The API's field names → the form's.
API_FIELD_TO_FORM = {"url": "url", "eventTypes": "event_types", "description": "description"}


def show_api_error(form: forms.Form, exc: ApiError) -> None:
    """A refused request (4xx with a message) at the field the API names, else at the top. Raises what
    is not a refusal (5xx, unreachable, key rejected): the failure mapper renders those."""
    if exc.status is None or exc.status >= 500 or exc.status in {401, 403, 404, 429}:
        raise exc
    placed = False
    for error in exc.field_errors:
        field = API_FIELD_TO_FORM.get(error.field)
        if field in form.fields:
            form.add_error(field, error.message)
            placed = True
    if not placed:
        form.add_error(None, exc.message)


# ---- submitted once ------------------------------------------------------------------------------


def _claim_key(store_slug: str, idempotency_key: str) -> str:
    digest = hashlib.sha256(f"{store_slug}|{idempotency_key}".encode()).hexdigest()
    return f"dashboard:webhook-form:{digest}"


def claim(store_slug: str, idempotency_key: str) -> bool:
    """True the first time this form is submitted; False for a repeat (double click, resubmit)."""
    return cache.add(_claim_key(store_slug, idempotency_key), 1, CLAIM_SECONDS)


def release(store_slug: str, idempotency_key: str) -> None:
    """The API did not act (refused or failed): the same form may be sent again."""
    cache.delete(_claim_key(store_slug, idempotency_key))


# ---- secret shown once ---------------------------------------------------------------------------


def _session_key(webhook_id: str) -> str:
    return f"webhook-secret:{webhook_id}"


def stash_secret(session: SessionBase, webhook_id: str, secret: str) -> None:
    session[_session_key(webhook_id)] = secretbox.encrypt(secret, purpose=SECRET_PURPOSE)


def pop_secret(session: SessionBase, webhook_id: str) -> str | None:
    """The secret waiting to be shown for this endpoint, removed from the session; None when none is."""
    token = session.pop(_session_key(webhook_id), None)
    if not token:
        return None
    try:
        return secretbox.decrypt(token, purpose=SECRET_PURPOSE)
    except secretbox.SecretBoxError:  # stashed under a key that has since been dropped
        return None
