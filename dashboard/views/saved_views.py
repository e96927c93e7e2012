"""Saved views of the orders list (dashboard/saved_views.py has the rules): admins manage the store's
views here; every member picks their own default. Each POST redirects (POST → redirect → GET)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from dashboard.api import client_for
from dashboard.filters import OrderFilterSet, describe_view_query
from dashboard.models import SavedView
from dashboard.permissions import StoreAccess, store_view
from dashboard.saved_view_forms import SavedViewForm
from dashboard.saved_views import (
    default_view_set,
    list_url,
    saved_view_create,
    saved_view_get,
    saved_view_list,
    saved_view_move,
)
from dashboard.vocabulary import status_table

FORM_TEMPLATE = "dashboard/saved_views/saved_view_form.html"
MOVES = {"left": -1, "right": 1}


@store_view("manage_views")
def saved_view_manage(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    views = [
        {"view": v, "filters": describe_view_query(v.query)} for v in saved_view_list(store=access.store)
    ]
    return render(request, "dashboard/saved_views/saved_view_list.html", {"views": views})


@store_view("manage_views")
def saved_view_create_page(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    """New view; opened from the list with its current query, so its filters start as the list's."""
    form = _form(request, access, view=None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        view = saved_view_create(
            store=access.store, name=data["name"], description=data["description"], query=data["query"]
        )
        messages.success(request, f"View “{view.name}” saved. Everyone in {access.store.name} sees it.")
        return redirect(list_url(access.store, view.query))
    return render(request, FORM_TEMPLATE, {"form": form, "view": None})


@store_view("manage_views")
def saved_view_edit(request: HttpRequest, access: StoreAccess, view_id: int) -> HttpResponse:
    view = saved_view_get(store=access.store, view_id=view_id)
    form = _form(request, access, view=view)
    if request.method == "POST" and form.is_valid():
        view.name = form.cleaned_data["name"]
        view.description = form.cleaned_data["description"]
        view.query = form.cleaned_data["query"]
        view.save(update_fields=["name", "description", "query", "updated_at"])
        messages.success(request, f"View “{view.name}” saved.")
        return redirect("dashboard:saved_view_manage", access.store.slug)
    return render(request, FORM_TEMPLATE, {"form": form, "view": view})


def _form(request: HttpRequest, access: StoreAccess, view: SavedView | None) -> SavedViewForm:
    if request.method == "POST":
        data = request.POST
    elif view is not None:
        data = QueryDict(view.query)
    else:
        data = request.GET
    table = status_table(access.store, client_for(access.store, request.user))
    filterset = OrderFilterSet(data, statuses=table.statuses, payment_statuses=table.payment_statuses)
    return SavedViewForm(
        request.POST if request.method == "POST" else None, store=access.store, filterset=filterset, view=view
    )


@store_view("manage_views")
def saved_view_delete(request: HttpRequest, access: StoreAccess, view_id: int) -> HttpResponse:
    """GET asks to confirm (the view is everyone's); POST deletes."""
    view = saved_view_get(store=access.store, view_id=view_id)
    if request.method != "POST":
        return render(request, "dashboard/saved_views/saved_view_delete.html", {"view": view})
    view.delete()  # users who had it as their default open "All orders" again (DefaultSavedView cascade)
    messages.success(request, f"View “{view.name}” deleted.")
    return redirect("dashboard:saved_view_manage", access.store.slug)


@store_view("manage_views")
@require_POST
def saved_view_move_page(request: HttpRequest, access: StoreAccess, view_id: int) -> HttpResponse:
    view = saved_view_get(store=access.store, view_id=view_id)
    offset = MOVES.get(request.POST.get("direction", ""))
    if offset is not None:  # anything else (a hand-made form) does nothing
        saved_view_move(view=view, offset=offset)
    return redirect("dashboard:saved_view_manage", access.store.slug)


@store_view("view")
@require_POST
def saved_view_default(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    """Any member: the list opens on this view for me (`view=all`: on All orders)."""
    choice = request.POST.get("view", "")
    if not choice:  # a hand-made form: nothing to do
        return redirect("dashboard:order_list", access.store.slug)
    view = None if choice == "all" else saved_view_get(store=access.store, view_id=choice)
    default_view_set(user=request.user, store=access.store, view=view)
    name = view.name if view else "All orders"
    messages.success(request, f"“{name}” is now the view your orders list opens on.")
    return redirect(list_url(access.store, view.query if view else ""))
