"""What every dashboard page's header needs: the user's stores (for the switcher) and the current one."""

from django.http import HttpRequest

from dashboard.models import Membership


def stores(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or request.path.startswith("/api/"):
        return {}
    memberships = Membership.objects.filter(user=user).select_related("store").order_by("store__name")
    return {
        "my_memberships": memberships,
        "store_access": getattr(request, "store_access", None),
    }
