"""Saved views of the orders list: the rules, in one place.

- A view is a named filter set and sort (`SavedView.query`, the list's normalised query string) of one
  store, shared by every member of it. Admins create, edit, reorder and delete views (`manage_views`
  in dashboard/permissions.py); every member may use them and pick one as their own default.
- Each store connection starts with DEFAULT_VIEWS (created with the connection, and by migration 0003
  for connections that existed before); admins may change or delete them like any other view.
- Opening the list with no query at all applies the user's default view (a redirect to its URL, so the
  address stays shareable). "All orders" is `?view=all`: a query the filters ignore, which is never
  redirected.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction
from django.db.models import Max
from django.http import Http404
from django.urls import reverse

from dashboard.filters import OrderFilterSet
from dashboard.models import DefaultSavedView, SavedView, StoreConnection

# The list's query for "All orders": not empty, so a user's default view is not applied to it.
ALL_ORDERS_QUERY = "view=all"
# The tab bar stays usable on a phone.
MAX_VIEWS_PER_STORE = 20


@dataclass(frozen=True)
class ViewDefinition:
    name: str
    description: str
    query: str  # normalised: what OrderFilterSet.view_query() gives for these filters


# What the API's statuses mean for a support team (spec/orders-api.md §3.1: a pending order is unpaid
# and becomes paid when confirmed). The descriptions are the help text under the tabs.
DEFAULT_VIEWS = (
    ViewDefinition(
        "Unfulfilled",
        "Paid orders still to ship: status Confirmed, Processing or Partially shipped; oldest first.",
        "status=confirmed&status=partially_shipped&status=processing&sort=createdAt",
    ),
    ViewDefinition(
        "Unpaid",
        "Orders waiting for payment: payment Unpaid and status Pending (cancelled orders that were never"
        " paid are left out); oldest first.",
        "status=pending&payment_status=unpaid&sort=createdAt",
    ),
    ViewDefinition(
        "Needs attention",
        "Orders stuck part-way: status Partially shipped or Partially delivered; the ones untouched"
        " longest first.",
        "status=partially_delivered&status=partially_shipped&sort=updatedAt",
    ),
)


def saved_views_create_defaults(*, store: StoreConnection) -> None:
    """Give a new store connection the default views (called once, when the connection is created)."""
    SavedView.objects.bulk_create(
        SavedView(store=store, name=d.name, description=d.description, query=d.query, position=i)
        for i, d in enumerate(DEFAULT_VIEWS)
    )


def create_defaults_for_new_connection(sender, instance: StoreConnection, created: bool, **kwargs) -> None:
    """post_save receiver (dashboard/apps.py): every way a connection is made (admin, `connectstore`,
    the demo, tests) gets the defaults, and only once: a later save never brings deleted views back."""
    if created and not kwargs.get("raw"):
        saved_views_create_defaults(store=instance)


def saved_view_list(*, store: StoreConnection) -> list[SavedView]:
    return list(SavedView.objects.filter(store=store))


def saved_view_get(*, store: StoreConnection, view_id: int | str) -> SavedView:
    """The store's view with this id; Http404 for another store's view or no such view."""
    view = SavedView.objects.filter(store=store, pk=view_id).first() if str(view_id).isdigit() else None
    if view is None:
        raise Http404("No such saved view.")
    return view


def saved_view_create(*, store: StoreConnection, name: str, description: str, query: str) -> SavedView:
    """Adds the view at the end of the tab bar."""
    with transaction.atomic():
        last = SavedView.objects.filter(store=store).aggregate(last=Max("position"))["last"]
        return SavedView.objects.create(
            store=store, name=name, description=description, query=query, position=(last or 0) + 1
        )


def saved_view_move(*, view: SavedView, offset: int) -> None:
    """Move a view `offset` places along the tab bar (-1: left, 1: right); positions are renumbered
    0…n-1 under a lock of the store's views, so two admins reordering at once cannot tie them."""
    with transaction.atomic():
        views = list(SavedView.objects.select_for_update().filter(store_id=view.store_id))
        index = next(i for i, v in enumerate(views) if v.pk == view.pk)
        target = min(max(index + offset, 0), len(views) - 1)
        views.insert(target, views.pop(index))
        for position, each in enumerate(views):
            each.position = position
        SavedView.objects.bulk_update(views, ["position"])


def default_view_get(*, user, store: StoreConnection) -> SavedView | None:
    row = DefaultSavedView.objects.select_related("view").filter(user=user, store=store).first()
    return row.view if row else None


def default_view_set(*, user, store: StoreConnection, view: SavedView | None) -> None:
    """Make `view` (one of this store's; None: "All orders") the list `user` opens on in `store`."""
    if view is None:
        DefaultSavedView.objects.filter(user=user, store=store).delete()
        return
    if view.store_id != store.pk:
        raise ValueError("A default view must belong to the same store.")
    DefaultSavedView.objects.update_or_create(user=user, store=store, defaults={"view": view})


def default_view_url(*, user, store: StoreConnection) -> str | None:
    """Where the bare list sends `user`: their default view's URL, or None for "All orders"."""
    view = default_view_get(user=user, store=store)
    return list_url(store, view.query) if view else None


def list_url(store: StoreConnection, query: str) -> str:
    """The orders list at `query` (a view's query, or ALL_ORDERS_QUERY when empty)."""
    return f"{reverse('dashboard:order_list', args=[store.slug])}?{query or ALL_ORDERS_QUERY}"


@dataclass(frozen=True)
class Tab:
    id: int | None  # None: "All orders"
    name: str
    description: str
    url: str
    active: bool
    is_default: bool


def tabs(*, store: StoreConnection, user, current_query: str | None) -> list[Tab]:
    """The tab bar: "All orders" then the store's views. A tab is active when the list shows exactly its
    filters and sort (`current_query`, normalised; None when the filters are not valid)."""
    default = default_view_get(user=user, store=store)
    all_orders = Tab(
        id=None,
        name="All orders",
        description="Every order of the store, newest first.",
        url=list_url(store, ""),
        active=current_query == "",
        is_default=default is None,
    )
    return [all_orders] + [
        Tab(
            id=view.pk,
            name=view.name,
            description=view.description,
            url=list_url(store, view.query),
            active=current_query == view.query,
            is_default=default is not None and default.pk == view.pk,
        )
        for view in saved_view_list(store=store)
    ]


def tabs_context(*, store: StoreConnection, user, filterset: OrderFilterSet) -> dict:
    """What the list template needs for the tab bar: the tabs, the current one, and the list's
    normalised query (for "Save as view"; None while the filters are not valid)."""
    current_query = filterset.view_query() if filterset.is_valid() else None
    all_tabs = tabs(store=store, user=user, current_query=current_query)
    return {
        "tabs": all_tabs,
        "active_tab": next((tab for tab in all_tabs if tab.active), None),
        "current_view_query": current_query,
    }
