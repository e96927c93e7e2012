"""Webhooks pages (admins: `manage_webhooks`): endpoints, their deliveries, and the actions on them.

Every POST carries CSRF and a per-render Idempotency-Key and acts at most once (webhook_forms.py).
After an action the view redirects (POST → redirect → GET), so a reload never acts again; what the
next page must show once (a new secret, a test result) rides along in the session and is removed by
the page that shows it.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard.api import client_for
from dashboard.api_types import WebhookEndpoint
from dashboard.client import ApiError
from dashboard.permissions import StoreAccess, store_view
from dashboard.vocabulary import event_types
from dashboard.webhook_forms import (
    OnceForm,
    ToggleForm,
    WebhookForm,
    claim,
    pop_secret,
    release,
    show_api_error,
    stash_secret,
)

DELIVERIES_PER_PAGE = 20
TEST_RESULT_SESSION_KEY = "webhook-test-result:{}"
ALREADY_SENT = "That form was already sent; it acted once. Here is the current state."


def _detail_url(access: StoreAccess, webhook_id: str) -> str:
    return reverse("dashboard:webhook_detail", args=[access.store.slug, webhook_id])


@store_view("manage_webhooks")
def webhook_list(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    client = client_for(access.store, request.user)
    # The list answer has no delivery figures; an endpoint's own answer does (≤ 10 endpoints a store).
    endpoints = [client.webhooks.get(e.id) for e in client.webhooks.list()]
    rows = [{"endpoint": e, "success_rate": _success_rate(e), "toggle": ToggleForm()} for e in endpoints]
    return render(request, "dashboard/webhooks/webhook_list.html", {"rows": rows})


@store_view("manage_webhooks")
def webhook_create(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    client = client_for(access.store, request.user)
    form = WebhookForm(request.POST or None, event_types=event_types(access.store, client))
    if request.method == "POST" and form.is_valid():
        key = form.cleaned_data["idempotency_key"]
        if not claim(access.store.slug, key):
            messages.info(request, ALREADY_SENT)
            return redirect("dashboard:webhook_list", access.store.slug)
        try:
            created = client.webhooks.create(**form.api_fields())
        except ApiError as exc:
            release(access.store.slug, key)
            show_api_error(form, exc)
        else:
            stash_secret(request.session, created.id, created.secret or "")
            messages.success(request, "Endpoint created. Copy its signing secret now.")
            return redirect(_detail_url(access, created.id))
    return render(request, "dashboard/webhooks/webhook_form.html", {"form": form, "endpoint": None})


@store_view("manage_webhooks")
def webhook_detail(request: HttpRequest, access: StoreAccess, webhook_id: str) -> HttpResponse:
    client = client_for(access.store, request.user)
    endpoint = client.webhooks.get(webhook_id)
    page_number = _page_number(request)
    deliveries = client.webhooks.deliveries(
        webhook_id, limit=DELIVERIES_PER_PAGE, offset=(page_number - 1) * DELIVERIES_PER_PAGE
    )
    total = endpoint.statistics.total if endpoint.statistics else 0
    page_count = max(1, math.ceil(total / DELIVERIES_PER_PAGE))
    context = {
        "endpoint": endpoint,
        "statistics": endpoint.statistics,
        "success_rate": _success_rate(endpoint),
        "deliveries": [{"delivery": d, "retry_form": OnceForm()} for d in deliveries],
        "page_number": page_number,
        "page_count": page_count,
        "previous_url": f"?page={page_number - 1}" if page_number > 1 else None,
        "next_url": f"?page={page_number + 1}" if page_number < page_count else None,
        "secret": pop_secret(request.session, endpoint.id),
        "test_result": request.session.pop(TEST_RESULT_SESSION_KEY.format(endpoint.id), None),
        # One form, one Idempotency-Key: a key names one action, never two.
        "test_form": OnceForm(),
        "toggle_form": ToggleForm(),
    }
    response = render(request, "dashboard/webhooks/webhook_detail.html", context)
    # The page may hold a secret: never keep it in a cache or the browser's history store.
    response["Cache-Control"] = "no-store"
    return response


@store_view("manage_webhooks")
def webhook_edit(request: HttpRequest, access: StoreAccess, webhook_id: str) -> HttpResponse:
    client = client_for(access.store, request.user)
    endpoint = client.webhooks.get(webhook_id)
    initial = {
        "url": endpoint.url,
        "event_types": endpoint.event_types,
        "description": endpoint.description,
        "enabled": endpoint.enabled,
    }
    form = WebhookForm(request.POST or None, initial=initial, event_types=event_types(access.store, client))
    if request.method == "POST" and form.is_valid():
        key = form.cleaned_data["idempotency_key"]
        if not claim(access.store.slug, key):
            messages.info(request, ALREADY_SENT)
            return redirect(_detail_url(access, endpoint.id))
        try:
            client.webhooks.update(webhook_id, idempotency_key=key, **form.api_fields())
        except ApiError as exc:
            release(access.store.slug, key)
            show_api_error(form, exc)
        else:
            messages.success(request, "Endpoint saved.")
            return redirect(_detail_url(access, endpoint.id))
    return render(request, "dashboard/webhooks/webhook_form.html", {"form": form, "endpoint": endpoint})


@store_view("manage_webhooks")
def webhook_delete(request: HttpRequest, access: StoreAccess, webhook_id: str) -> HttpResponse:
    client = client_for(access.store, request.user)
    if request.method != "POST":
        endpoint = client.webhooks.get(webhook_id)
        return render(
            request, "dashboard/webhooks/webhook_delete.html", {"endpoint": endpoint, "form": OnceForm()}
        )

    def delete(key: str) -> str:
        client.webhooks.delete(webhook_id)
        messages.success(request, "Endpoint deleted; nothing more is sent to it.")
        return reverse("dashboard:webhook_list", args=[access.store.slug])

    return _once(request, access, webhook_id, OnceForm, delete)


@store_view("manage_webhooks")
@require_POST
def webhook_toggle(request: HttpRequest, access: StoreAccess, webhook_id: str) -> HttpResponse:
    def toggle(key: str, enabled: bool) -> None:
        client_for(access.store, request.user).webhooks.update(
            webhook_id, enabled=enabled, idempotency_key=key
        )
        messages.success(
            request,
            "Endpoint enabled." if enabled else "Endpoint disabled; pending deliveries are cancelled.",
        )

    return _once(request, access, webhook_id, ToggleForm, toggle)


@store_view("manage_webhooks")
def webhook_rotate_secret(request: HttpRequest, access: StoreAccess, webhook_id: str) -> HttpResponse:
    if request.method != "POST":  # the confirmation first: receivers break until they get the new secret
        endpoint = client_for(access.store, request.user).webhooks.get(webhook_id)
        return render(
            request, "dashboard/webhooks/webhook_rotate.html", {"endpoint": endpoint, "form": OnceForm()}
        )

    def rotate(key: str) -> None:
        # No Idempotency-Key to the API: it does not replay answers that hold a secret (claim() guards).
        rotated = client_for(access.store, request.user).webhooks.rotate_secret(webhook_id)
        stash_secret(request.session, rotated.id, rotated.secret or "")
        messages.success(request, "New signing secret made; the old one no longer signs anything.")

    return _once(request, access, webhook_id, OnceForm, rotate)


@store_view("manage_webhooks")
@require_POST
def webhook_test(request: HttpRequest, access: StoreAccess, webhook_id: str) -> HttpResponse:
    def send(key: str) -> None:
        result = client_for(access.store, request.user).webhooks.test(webhook_id, idempotency_key=key)
        request.session[TEST_RESULT_SESSION_KEY.format(webhook_id)] = {
            "success": result.success,
            "status_code": result.status_code,
            "duration_ms": result.duration_ms,
            "error": result.error,
            "body": result.response_body[:500],
        }

    return _once(request, access, webhook_id, OnceForm, send)


@store_view("manage_webhooks")
@require_POST
def webhook_delivery_retry(
    request: HttpRequest, access: StoreAccess, webhook_id: str, delivery_id: str
) -> HttpResponse:
    def retry(key: str) -> None:
        client_for(access.store, request.user).webhooks.retry_delivery(delivery_id, idempotency_key=key)
        messages.success(request, "Delivery queued to be sent again.")

    return _once(request, access, webhook_id, OnceForm, retry)


def _once(
    request: HttpRequest,
    access: StoreAccess,
    webhook_id: str,
    form_class: type[OnceForm],
    act: Callable[..., str | None],
) -> HttpResponse:
    """Validate the one-button form, act once per Idempotency-Key, then back to the endpoint's page (or
    where `act` says). A refusal by the API (e.g. retrying on a disabled endpoint) becomes a message."""
    form = form_class(request.POST)
    back = _detail_url(access, webhook_id)
    if not form.is_valid():
        messages.error(request, "The form expired; try again.")
        return redirect(back)
    key = form.cleaned_data["idempotency_key"]
    if not claim(access.store.slug, key):
        messages.info(request, ALREADY_SENT)
        return redirect(back)
    extra = {"enabled": form.cleaned_data["enabled"]} if isinstance(form, ToggleForm) else {}
    try:
        target = act(key, **extra)
    except ApiError as exc:
        release(access.store.slug, key)
        if exc.status is None or exc.status >= 500 or exc.status in {401, 403, 404, 429}:
            raise  # the failure mapper renders it as a page
        messages.error(request, exc.message)
        return redirect(back)
    return redirect(target or back)


def _page_number(request: HttpRequest) -> int:
    try:
        return max(1, min(100_000, int(request.GET.get("page", 1))))
    except ValueError:
        return 1


def _success_rate(endpoint: WebhookEndpoint) -> str:
    rate = endpoint.statistics.success_rate if endpoint.statistics else None
    return f"{rate * 100:.0f}%" if rate is not None else "—"
