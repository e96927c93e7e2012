"""The store picker: the stores the user is a member of (skipped when there is exactly one)."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from dashboard.models import Membership


@login_required
def store_picker(request: HttpRequest) -> HttpResponse:
    # login_required guarantees a real user here.
    memberships = list(
        Membership.objects.filter(user=request.user)  # type: ignore[misc]
        .select_related("store")
        .order_by("store__name")
    )
    if len(memberships) == 1 and "all" not in request.GET:
        return redirect("dashboard:order_list", memberships[0].store.slug)
    return render(request, "dashboard/stores/store_picker.html", {"memberships": memberships})
