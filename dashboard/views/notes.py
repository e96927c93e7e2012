"""Staff notes on the order page: add, edit, delete (the rules are dashboard/notes.py's).

Each is a POST from the order page's timeline. With htmx the answer is the refreshed timeline region
(and the outcome in the page's live region); without JavaScript a message and a redirect to the order.
The order is read through the API first: another store's order is a 404, and the note is keyed by the
order's UUID whatever the URL named it by.
"""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from dashboard import notes
from dashboard.api import client_for
from dashboard.api_types import Order
from dashboard.models import StaffNote
from dashboard.permissions import StoreAccess, store_view

TIMELINE = "dashboard/orders/order_detail.html#order-history"


@store_view(notes.WRITE_ACTION)
@require_POST
def note_add(request: HttpRequest, access: StoreAccess, order_id: str) -> HttpResponse:
    order = client_for(access.store, request.user).orders.get(order_id)
    form = notes.NoteForm(request.POST)
    if not form.is_valid():
        return _answer(request, access, order, form=form, error=" ".join(str(e) for e in form.errors["body"]))
    notes.add_note(
        access.store, order.id, request.user, form.cleaned_data["body"], order_number=order.order_number
    )
    return _answer(request, access, order, message="Note added.")


@store_view(notes.WRITE_ACTION)
@require_POST
def note_edit(request: HttpRequest, access: StoreAccess, order_id: str, note_id: int) -> HttpResponse:
    order, note = _order_and_note(request, access, order_id, note_id)
    form = notes.NoteForm(request.POST)
    if not form.is_valid():
        return _answer(request, access, order, error=" ".join(str(e) for e in form.errors["body"]))
    try:
        notes.edit_note(note, request.user, form.cleaned_data["body"])
    except notes.NoteRefused as exc:
        return _answer(request, access, order, error=str(exc))
    return _answer(request, access, order, message="Note saved.")


@store_view(notes.WRITE_ACTION)
@require_POST
def note_delete(request: HttpRequest, access: StoreAccess, order_id: str, note_id: int) -> HttpResponse:
    order, note = _order_and_note(request, access, order_id, note_id)
    try:
        notes.delete_note(note, request.user, access.role)
    except notes.NoteRefused as exc:
        return _answer(request, access, order, error=str(exc))
    return _answer(request, access, order, message="Note deleted.")


def _order_and_note(
    request: HttpRequest, access: StoreAccess, order_id: str, note_id: int
) -> tuple[Order, StaffNote]:
    order = client_for(access.store, request.user).orders.get(order_id)
    note = notes.order_notes(access.store, order.id).filter(pk=note_id).first()
    if note is None:
        raise Http404("No such note on this order.")
    return order, note


def _answer(
    request: HttpRequest,
    access: StoreAccess,
    order: Order,
    *,
    message: str = "",
    error: str = "",
    form: notes.NoteForm | None = None,
) -> HttpResponse:
    if not request.htmx:  # type: ignore[attr-defined]
        if error:
            messages.error(request, error)
        else:
            messages.success(request, message)
        url = reverse("dashboard:order_detail", args=[access.store.slug, order.id])
        return redirect(f"{url}#order-history")
    context = {
        "order": order,
        "store_access": access,
        **timeline_context(request, access, order, form=form),
        "note_error": error,
        "note_message": message,
    }
    return render(request, TIMELINE, context)


def timeline_context(
    request: HttpRequest, access: StoreAccess, order: Order, *, form: notes.NoteForm | None = None
) -> dict:
    """What the order page's timeline region needs, for the signed-in person: the API's history merged
    with the staff notes, and the note form when they may write one."""
    can_write = notes.can_write(access)
    return {
        "timeline": notes.order_timeline(
            order.status_history,
            notes.order_notes(access.store, order.id),
            user=request.user,
            role=access.role,
        ),
        "can_write_notes": can_write,
        "note_form": (form or notes.NoteForm()) if can_write else None,
    }
