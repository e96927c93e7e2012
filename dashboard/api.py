"""The API client for a store connection, acting as the signed-in person."""

import httpx
from django.conf import settings

from dashboard.client import OrdersApiClient
from dashboard.models import StoreConnection
from dashboard.transport import transport_for


def client_for(store: StoreConnection, user=None, *, on_behalf_of: str | None = None) -> OrdersApiClient:
    """`on_behalf_of` names the person when there is no request user (a background job acting for the
    person who started it)."""
    base_url, transport = transport_for(store.api_base_url)
    if user is not None and user.is_authenticated:
        on_behalf_of = user.get_full_name() or user.get_username()
    return OrdersApiClient(
        base_url,
        store.get_api_key(),
        transport=transport,
        timeout=httpx.Timeout(
            settings.DASHBOARD_API_TIMEOUT, connect=min(3.0, settings.DASHBOARD_API_TIMEOUT)
        ),
        retries=settings.DASHBOARD_API_RETRIES,
        on_behalf_of=on_behalf_of,
    )
