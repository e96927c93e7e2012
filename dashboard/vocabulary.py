"""What the Orders API tells the dashboard about its own words: the order statuses, the payment
statuses (`GET /orders/statuses`) and the webhook event catalogue (`GET /webhooks/event-types`).

The dashboard never lists them itself, so a status or an event type added to the API shows up in the
filters and forms without a dashboard change. The answers are cached per store connection and API base
URL for a few minutes (Django's cache: shared between processes when it is Redis). Fetching goes through
the client, so an API failure is an `ApiError` that the view's failure mapper renders as a page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable

from django.core.cache import cache

from dashboard.api_types import EventType, StatusTable
from dashboard.client import OrdersApiClient
from dashboard.models import StoreConnection

CACHE_SECONDS = 5 * 60
KINDS = ("statuses", "event-types")

Choices = list[tuple[str, str]]


def status_label(value: str) -> str:
    """A status (or payment status) as a label: `partially_shipped` → `Partially shipped`."""
    return value.replace("_", " ").capitalize()


def status_choices(values: Iterable[str]) -> Choices:
    return [(value, status_label(value)) for value in values]


def event_type_choices(event_types: Iterable[EventType]) -> Choices:
    return [(event_type.name, event_type.description) for event_type in event_types]


def status_table(store: StoreConnection, client: OrdersApiClient) -> StatusTable:
    """The API's statuses, payment statuses and transition table (cached)."""
    return _cached(store, "statuses", client.orders.statuses)


def event_types(store: StoreConnection, client: OrdersApiClient) -> list[EventType]:
    """The webhook event types endpoints may subscribe to, in the API's order (cached)."""
    return _cached(store, "event-types", client.webhooks.event_types)


def forget(store: StoreConnection) -> None:
    """Drop the cached vocabulary of `store` (e.g. after its API base URL or key changed)."""
    cache.delete_many([_key(store, kind) for kind in KINDS])


def _key(store: StoreConnection, kind: str) -> str:
    # The base URL is part of the key: pointing a connection at another API must not reuse the old words.
    digest = hashlib.sha256(f"{store.pk}|{store.api_base_url or ''}".encode()).hexdigest()[:32]
    return f"dashboard:vocabulary:v1:{kind}:{digest}"


def _cached[T](store: StoreConnection, kind: str, fetch: Callable[[], T]) -> T:
    key = _key(store, kind)
    value = cache.get(key)
    if value is None:
        value = fetch()  # an ApiError propagates: nothing is cached, the next page asks again
        cache.set(key, value, CACHE_SECONDS)
    return value
