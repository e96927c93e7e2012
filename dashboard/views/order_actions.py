"""The order action dialogs (spec/dashboard.md §2 "Actions"): status update, cancel, refund, link to
platform, edit metadata. One flow for all five (`_run`); each action only says which form, which client
call and what to tell the person.

- GET renders the form (into the page's <dialog> for htmx, as a page of its own without JavaScript) with a
  fresh Idempotency-Key; a GET for an action that no longer applies explains why instead.
- POST validates the form and calls the API with that key and the signed-in person in `X-On-Behalf-Of`
  (`client_for`), so a double submit or a retry acts once and the history names the person.
- Success, htmx: the dialog's content becomes a short confirmation, the changed regions of the order page
  come back as out-of-band swaps (header and badges, actions, totals, history, platform, metadata,
  refunds — all from the order the API answered with, no second call), the confirmation goes into the
  page's live region, and `HX-Trigger: order-changed` / `action-succeeded` let the page react (app.js
  closes the dialog). Without htmx: a django.contrib.messages message and a redirect to the order.
- Refusal: the API's message at the field it names (or the field its error code is about), else at the
  top; re-rendered with status 200 (the dashboard's convention for invalid forms). A 409 also brings the
  order page regions up to date, since the order changed under the person's feet.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from dashboard.action_forms import (
    NOT_A_STATUS_UPDATE,
    ActionForm,
    CancelForm,
    LinkForm,
    MetadataForm,
    RefundForm,
    StatusUpdateForm,
    money_text,
)
from dashboard.api import client_for
from dashboard.api_types import Order
from dashboard.client import ApiError, OrdersApiClient
from dashboard.errors import failure_for
from dashboard.permissions import StoreAccess, store_view
from dashboard.tracking import shipping_statuses
from dashboard.views.notes import timeline_context
from dashboard.vocabulary import status_table

TEMPLATES = "dashboard/orders/actions"
ORDER_CHANGED = "order-changed"
ACTION_SUCCEEDED = "action-succeeded"
# Refusals after which the outcome is unknown (the first send may still act): keep the key, so sending
# the same form again is answered from the API's stored response instead of acting twice.
OUTCOME_UNKNOWN_CODES = frozenset({"IDEMPOTENCY_KEY_IN_USE", "RATE_LIMIT_EXCEEDED"})
# Refusals that mean the order is not in the state the page showed: the page regions are refreshed.
STATE_CHANGED_CODES = frozenset({"INVALID_STATUS_TRANSITION"})


@dataclass(frozen=True)
class Action:
    name: str  # template name and the id of the page button that opens it
    form_class: type[ActionForm]
    title: str
    submit_label: str
    perform: Callable[[OrdersApiClient, Order, Any], Order]  # (client, order, the valid form)
    confirmation: Callable[[Order], str]
    unavailable: Callable[[Order], str | None] = lambda order: None  # why it does not apply now


def _update_status(client: OrdersApiClient, order: Order, form: StatusUpdateForm) -> Order:
    return client.orders.update_status(
        order.id,
        form.cleaned_data["status"],
        note=form.cleaned_data["note"] or None,
        metadata=form.metadata(),
        idempotency_key=form.cleaned_data["idempotency_key"],
    )


def _cancel(client: OrdersApiClient, order: Order, form: ActionForm) -> Order:
    return client.orders.cancel(
        order.id,
        reason=form.cleaned_data["reason"],
        refund_amount=form.cleaned_data.get("refund_amount"),  # no field when nothing is refundable
        notify_customer=form.cleaned_data["notify_customer"],
        idempotency_key=form.cleaned_data["idempotency_key"],
    )


def _refund(client: OrdersApiClient, order: Order, form: ActionForm) -> Order:
    result = client.orders.refund(
        order.id,
        amount=form.cleaned_data["amount"],
        reason=form.cleaned_data["reason"] or None,
        notify_customer=form.cleaned_data["notify_customer"],
        idempotency_key=form.cleaned_data["idempotency_key"],
    )
    return result.order


def _link(client: OrdersApiClient, order: Order, form: ActionForm) -> Order:
    return client.orders.link_to_platform(
        order.id,
        external_order_id=form.cleaned_data["external_order_id"],
        platform_name=form.cleaned_data["platform_name"],
        idempotency_key=form.cleaned_data["idempotency_key"],
    )


def _edit_metadata(client: OrdersApiClient, order: Order, form: MetadataForm) -> Order:
    return client.orders.update_metadata(
        order.id, form.metadata(), idempotency_key=form.cleaned_data["idempotency_key"]
    )


def _status_targets(order: Order) -> list[str]:
    return [s for s in order.allowed_transitions if s not in NOT_A_STATUS_UPDATE]


STATUS = Action(
    name="status",
    form_class=StatusUpdateForm,
    title="Update status",
    submit_label="Update status",
    perform=_update_status,
    confirmation=lambda o: f"{o.order_number} is now {o.status.replace('_', ' ')}.",
    unavailable=lambda o: (
        None
        if _status_targets(o)
        else f"{o.order_number} is {o.status.replace('_', ' ')}; its status can no longer change."
    ),
)
CANCEL = Action(
    name="cancel",
    form_class=CancelForm,
    title="Cancel order",
    submit_label="Cancel order",
    perform=_cancel,
    confirmation=lambda o: (
        f"{o.order_number} is cancelled."
        + (f" Refunded so far: {money_text(o.refunded_amount, o.currency)}." if o.refunded_amount else "")
    ),
    unavailable=lambda o: (
        None
        if "cancelled" in o.allowed_transitions
        else f"{o.order_number} is {o.status.replace('_', ' ')} and can no longer be cancelled."
    ),
)
REFUND = Action(
    name="refund",
    form_class=RefundForm,
    title="Refund",
    submit_label="Refund",
    perform=_refund,
    confirmation=lambda o: (
        f"Refund recorded on {o.order_number}: {money_text(o.refunded_amount, o.currency)} refunded in total."
    ),
    unavailable=lambda o: (
        None
        if o.refundable_amount > 0
        else f"Nothing can be refunded on {o.order_number}: it is {o.payment_status.replace('_', ' ')}."
    ),
)
LINK = Action(
    name="link",
    form_class=LinkForm,
    title="Link to platform",
    submit_label="Link order",
    perform=_link,
    confirmation=lambda o: f"{o.order_number} is linked to {o.platform_name} order {o.external_id}.",
    unavailable=lambda o: (
        None
        if not o.external_id
        else f"{o.order_number} is already linked to {o.platform_name or 'a platform'} order {o.external_id}."
    ),
)
METADATA = Action(
    name="metadata",
    form_class=MetadataForm,
    title="Edit metadata",
    submit_label="Save metadata",
    perform=_edit_metadata,
    confirmation=lambda o: f"Metadata of {o.order_number} saved.",
)


@store_view("update")
def order_status_update(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    return _run(request, access, order_id, STATUS)


@store_view("cancel_refund")
def order_cancel(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    return _run(request, access, order_id, CANCEL)


@store_view("cancel_refund")
def order_refund(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    return _run(request, access, order_id, REFUND)


@store_view("update")
def order_link(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    return _run(request, access, order_id, LINK)


@store_view("update")
def order_metadata_edit(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    return _run(request, access, order_id, METADATA)


def _run(request: HttpRequest, access: StoreAccess, order_id: str, action: Action) -> HttpResponse:
    client = client_for(access.store, request.user)
    try:
        order = client.orders.get(order_id)
        # The status form accepts the API's statuses: fetched (cached) only for the form that needs them.
        kwargs: dict[str, Any] = {}
        if action.form_class.needs_statuses:
            table = status_table(access.store, client)
            kwargs = {"statuses": table.statuses, "shipping_statuses": shipping_statuses(table)}
    except ApiError as exc:
        if not request.htmx:  # type: ignore[attr-defined]
            raise  # a page of its own: the one failure mapper renders it
        return _render(request, access, action, order=None, form=None, failure=failure_for(exc).message)
    if request.method != "POST":
        form = action.form_class(order=order, initial={"status": request.GET.get("status")}, **kwargs)
        return _render(request, access, action, order=order, form=form, failure=action.unavailable(order))
    form = action.form_class(request.POST, order=order, **kwargs)
    if getattr(form, "adding_row", False):  # "Add row" without JavaScript: the form again, one more row
        return _render(request, access, action, order=order, form=form)
    if not form.is_valid():
        return _render(request, access, action, order=order, form=form)
    try:
        changed = action.perform(client, order, form)
    except ApiError as exc:
        if exc.status is not None and exc.status < 500 and exc.error_code not in OUTCOME_UNKNOWN_CODES:
            form.renew_idempotency_key()  # the API answered for good; the next submit is a new request
        form.add_api_error(exc)
        if exc.status != 409 and exc.error_code not in STATE_CHANGED_CODES:
            return _render(request, access, action, order=order, form=form)
        # The order is not in the state the page showed: show the person where it is now.
        return _render(request, access, action, order=client.orders.get(order.id), form=form, refresh=True)
    return _succeeded(request, access, changed, action.confirmation(changed))


def _render(
    request: HttpRequest,
    access: StoreAccess,
    action: Action,
    *,
    order: Order | None,
    form: ActionForm | None,
    failure: str | None = None,
    refresh: bool = False,
) -> HttpResponse:
    in_dialog = bool(request.htmx)  # type: ignore[attr-defined]
    context = {
        "action": action,
        "order": order,
        "form": form,
        "failure": failure,
        "in_dialog": in_dialog,
        "action_url": request.path,
        "order_url": reverse("dashboard:order_detail", args=[access.store.slug, order.id])
        if order
        else reverse("dashboard:order_list", args=[access.store.slug]),
        "refresh": refresh and in_dialog,
        "oob": True,
        **(timeline_context(request, access, order) if refresh and in_dialog and order else {}),
    }
    template = f"{TEMPLATES}/{action.name}.html"
    if not in_dialog:
        context["form_template"] = template
        template = f"{TEMPLATES}/action_page.html"
    response = render(request, template, context)
    if refresh and in_dialog:
        response["HX-Trigger"] = json.dumps({ORDER_CHANGED: {"orderId": order.id if order else None}})
    return response


def _succeeded(request: HttpRequest, access: StoreAccess, order: Order, message: str) -> HttpResponse:
    if not request.htmx:  # type: ignore[attr-defined]
        messages.success(request, message)
        return redirect("dashboard:order_detail", access.store.slug, order.id)
    context = {"order": order, "message": message, "oob": True, **timeline_context(request, access, order)}
    response = render(request, f"{TEMPLATES}/_succeeded.html", context)
    response["HX-Trigger"] = json.dumps({ORDER_CHANGED: {"orderId": order.id}})
    # After the swaps have settled, so the focus can go back to the (new) button that opened the dialog.
    response["HX-Trigger-After-Settle"] = json.dumps({ACTION_SUCCEEDED: {"message": message}})
    return response
