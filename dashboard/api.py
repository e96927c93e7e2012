"""The API client for a store connection, acting as the signed-in person."""

import httpx
from django.conf import settings

from dashboard.client import OrdersApiClient
from dashboard.models import StoreConnection
from dashboard.transport import transport_for


def client_for(store: StoreConnection, user=None) -> OrdersApiClient:
    base_url, transport = transport_for(store.api_base_url)
    on_behalf_of = None
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
