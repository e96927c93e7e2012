"""Who may do what (spec/dashboard.md §1) — the one role table — and the decorator every store view uses.

A store the user is not a member of is a 404 (indistinguishable from a store that does not exist); a
member whose role is too low gets 403. Templates hide buttons with the same `StoreAccess` flags, but the
server check here is what counts.
"""

from __future__ import annotations

import functools
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass

from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render, resolve_url
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect

from dashboard.errors import api_errors_as_pages
from dashboard.models import Membership, Role, StoreConnection

RANK = {Role.VIEWER: 1, Role.SUPPORT: 2, Role.ADMIN: 3}

# action → the lowest role allowed to do it.
MINIMUM_ROLE: dict[str, Role] = {
    "view": Role.VIEWER,  # lists, details, history, audit view, overview
    "export": Role.SUPPORT,
    "update": Role.SUPPORT,  # status, metadata, link to platform
    "cancel_refund": Role.ADMIN,
    "manage_webhooks": Role.ADMIN,  # and see deliveries
    "manage_views": Role.ADMIN,  # the store's shared saved views (dashboard/saved_views.py)
}


def role_allows(role: str, action: str) -> bool:
    return RANK[Role(role)] >= RANK[MINIMUM_ROLE[action]]


@dataclass(frozen=True)
class StoreAccess:
    """The signed-in user's membership in the current store, with the role table applied."""

    store: StoreConnection
    role: Role

    @property
    def can_export(self) -> bool:
        return role_allows(self.role, "export")

    @property
    def can_update(self) -> bool:
        return role_allows(self.role, "update")

    @property
    def can_cancel_refund(self) -> bool:
        return role_allows(self.role, "cancel_refund")

    @property
    def can_manage_webhooks(self) -> bool:
        return role_allows(self.role, "manage_webhooks")

    @property
    def can_manage_views(self) -> bool:
        return role_allows(self.role, "manage_views")


def store_access(user, store_slug: str) -> StoreAccess:
    """The user's access to the store with this slug; Http404 when not a member (or no such store)."""
    membership = (
        Membership.objects.select_related("store").filter(user=user, store__slug=store_slug).first()
        if user.is_authenticated
        else None
    )
    if membership is None:
        raise Http404("No such store.")
    return StoreAccess(store=membership.store, role=Role(membership.role))


def store_view(action: str) -> Callable:
    """Decorate `view(request, access, **kwargs)` reached as `<store_slug>/…`: signed in (else the
    sign-in page, see `_sign_in`), member (else the styled 404), role allows `action` (else 403). Runs
    the view in the store's time zone, turns API failures into pages (dashboard/errors.py) and marks
    HTMX fragments as such for caches (`_vary_on_htmx`)."""
    if action not in MINIMUM_ROLE:
        raise ValueError(f"Unknown action {action!r}; add it to MINIMUM_ROLE.")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapper(request: HttpRequest, store_slug: str, **kwargs) -> HttpResponse:
            if not request.user.is_authenticated:
                return _sign_in(request)
            try:
                access = store_access(request.user, store_slug)
            except Http404:
                # Rendered here, not raised: with DEBUG on, Django would show its technical 404 page.
                return _vary_on_htmx(request, render(request, "404.html", status=404))
            if not role_allows(access.role, action):
                # A rendered page, not PermissionDenied: a refused click is not worth a logged traceback.
                return render(
                    request,
                    "403.html",
                    {
                        "message": f"Your role in {access.store.name} ({access.role.label}) does not allow this."
                    },
                    status=403,
                )
            request.store_access = access  # type: ignore[attr-defined]  # for the base template
            with timezone.override(zoneinfo.ZoneInfo(access.store.timezone)):
                return _vary_on_htmx(request, api_errors_as_pages(view)(request, access, **kwargs))

        wrapper.required_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorator


def _sign_in(request: HttpRequest) -> HttpResponse:
    """The sign-in page, coming back here afterwards. An HTMX request (a dialog, a table swap) would get
    the sign-in page inside the region it swaps, and `next` would be a URL that may be POST-only: send
    the whole window to the sign-in page instead (HX-Redirect), returning to the page the person was
    on (htmx's HX-Current-URL)."""
    if not request.htmx:  # type: ignore[attr-defined]
        return redirect_to_login(request.get_full_path())
    # django-htmx keeps HX-Current-URL only when it is on this host (None otherwise).
    current = request.htmx.current_url_abs_path or resolve_url("dashboard:home")  # type: ignore[attr-defined]
    return HttpResponseClientRedirect(redirect_to_login(current).url)


def _vary_on_htmx(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """The same URL answers a full page or, for HTMX, a fragment: tell caches the answer depends on
    HX-Request, and never store a fragment. The browser's Back button would otherwise show the cached
    fragment of a pushed URL as the whole page."""
    patch_vary_headers(response, ("HX-Request",))
    if request.htmx:  # type: ignore[attr-defined]
        patch_cache_control(response, no_store=True, private=True)
    return response
