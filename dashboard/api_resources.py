"""The API client's resources: one class per part of the Orders API (orders, history, customers,
webhooks), reached as `client.orders`, `client.history`, … Each operation knows its path, its body and
the type of its answer (dashboard/api_types.py); sending, retrying and reading answers is
`OrdersApiClient`'s (dashboard/client.py), which the resources know only as a `Sender`. No Django imports.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager
from decimal import Decimal
from typing import Any, Protocol
from urllib.parse import quote

import httpx

from dashboard.api_types import (
    Customer,
    CustomerPage,
    DeliveryPage,
    EventType,
    EventTypeList,
    HistoryEntry,
    HistoryPage,
    Order,
    OrderHistory,
    OrderPage,
    RefundResult,
    Stats,
    StatusTable,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookTestResult,
)


class Sender(Protocol):
    """What a resource needs of the client (OrdersApiClient): send, retry, read the answer as `shape`."""

    def get(self, path: str, *, shape: Any = None, **filters: Any) -> Any: ...

    def write(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        shape: Any = None,
        idempotency_key: str | None = None,
    ) -> Any: ...

    def stream(
        self, path: str, *, media_type: str, **filters: Any
    ) -> AbstractContextManager[ExportStream]: ...


# Aliases: inside the resources `list` is a method name.
HistoryList = list[HistoryEntry]
WebhookList = list[WebhookEndpoint]
DeliveryList = list[WebhookDelivery]
EventTypeCatalogue = list[EventType]


def without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


def segment(value: str) -> str:
    """One path segment, percent-encoded: an external ID like `shop/123` must not become two."""
    return quote(str(value), safe="")


# What an export is asked for in, and the media type its answer must have (anything else is refused).
EXPORT_MEDIA_TYPES = {"csv": "text/csv", "ndjson": "application/x-ndjson"}


class ExportStream:
    """An open export response of the media type asked for (the client checked it): iterate `chunks()`
    to stream it; headers tell type, charset and file name."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.content_type = response.headers.get("Content-Type", "")
        # Passed on in the dashboard's own Content-Type: only a plain charset name, else the API's UTF-8.
        charset = (response.charset_encoding or "").lower()
        self.charset = charset if re.fullmatch(r"[a-z0-9._-]{1,40}", charset) else "utf-8"
        self.content_disposition = response.headers.get("Content-Disposition", "")

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield from self._response.iter_bytes(chunk_size)


class Resource:
    def __init__(self, client: Sender) -> None:
        self._c = client


class Orders(Resource):
    def list(self, **filters: Any) -> OrderPage:
        """Filters of spec §3.4 in snake_case: status (str or list), date_from, date_to, updated_from,
        updated_to, customer_id, external_id, platform_name, search, payment_status, sort, limit,
        offset, cursor."""
        return self._c.get("/orders", shape=OrderPage, **filters)

    def iterate(self, **filters: Any) -> Iterator[Any]:
        """Every matching order, walking the keyset cursor page by page (never skips or repeats)."""
        filters = {**filters, "offset": None}
        while True:
            page = self.list(**filters)
            yield from page.orders
            if not page.next_cursor:
                return
            filters["cursor"] = page.next_cursor

    def get(self, order_id: str) -> Order:
        """By UUID or external ID."""
        return self._c.get(f"/orders/{segment(order_id)}", shape=Order)

    def history(self, order_id: str) -> HistoryList:
        """The order's history, oldest first."""
        return self._c.get(f"/orders/{segment(order_id)}/history", shape=OrderHistory).entries

    def statuses(self) -> StatusTable:
        """The API's statuses, payment statuses and transition table."""
        return self._c.get("/orders/statuses", shape=StatusTable)

    def stats(self, **filters: Any) -> Stats:
        return self._c.get("/orders/stats", shape=Stats, **filters)

    @contextmanager
    def export(self, *, format: str = "csv", **filters: Any) -> Iterator[ExportStream]:  # noqa: A002
        """Stream every matching row: `with client.orders.export(status="shipped") as e: for chunk in
        e.chunks(): …`. Memory stays flat whatever the size. An answer that is not of the format's
        media type (EXPORT_MEDIA_TYPES) raises ApiBadAnswer before a byte of it is read."""
        if format not in EXPORT_MEDIA_TYPES:
            raise ValueError(f"Unknown export format {format!r}; one of {', '.join(EXPORT_MEDIA_TYPES)}.")
        media_type = EXPORT_MEDIA_TYPES[format]
        with self._c.stream("/orders/export", media_type=media_type, format=format, **filters) as export:
            yield export

    def update_status(
        self,
        order_id: str,
        status: str,
        *,
        note: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        idempotency_key: str | None = None,
    ) -> Order:
        body = without_none({"status": status, "note": note, "metadata": metadata})
        path = f"/orders/{segment(order_id)}/status"
        return self._c.write("PUT", path, body, shape=Order, idempotency_key=idempotency_key)

    def cancel(
        self,
        order_id: str,
        *,
        reason: str,
        refund_amount: Decimal | None = None,
        notify_customer: bool = False,
        idempotency_key: str | None = None,
    ) -> Order:
        body = without_none(
            {"reason": reason, "refundAmount": refund_amount, "notifyCustomer": notify_customer}
        )
        path = f"/orders/{segment(order_id)}/cancel"
        return self._c.write("PUT", path, body, shape=Order, idempotency_key=idempotency_key)

    def refund(
        self,
        order_id: str,
        *,
        amount: Decimal,
        reason: str | None = None,
        notify_customer: bool = False,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        body = without_none({"amount": amount, "reason": reason, "notifyCustomer": notify_customer})
        path = f"/orders/{segment(order_id)}/refunds"
        return self._c.write("POST", path, body, shape=RefundResult, idempotency_key=idempotency_key)

    def create_from_platform(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Order:
        return self._c.write("POST", "/orders", dict(payload), shape=Order, idempotency_key=idempotency_key)

    def link_to_platform(
        self, order_id: str, *, external_order_id: str, platform_name: str, idempotency_key: str | None = None
    ) -> Order:
        body = {"externalOrderId": external_order_id, "platformName": platform_name}
        path = f"/orders/{segment(order_id)}/link"
        return self._c.write("PUT", path, body, shape=Order, idempotency_key=idempotency_key)

    def update_metadata(
        self, order_id: str, metadata: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Order:
        """Merge `metadata` into the order's; a key set to None is removed (spec §3.10)."""
        body = {"metadata": dict(metadata)}
        path = f"/orders/{segment(order_id)}/metadata"
        return self._c.write("PATCH", path, body, shape=Order, idempotency_key=idempotency_key)


class History(Resource):
    def list(self, **filters: Any) -> HistoryPage:
        """Store-wide feed, newest first: date_from, date_to, status, actor, limit, offset, cursor."""
        return self._c.get("/history", shape=HistoryPage, **filters)


class Customers(Resource):
    def get(self, customer_id: str) -> Customer:
        return self._c.get(f"/customers/{segment(customer_id)}", shape=Customer)

    def get_by_email(self, email: str) -> Customer:
        return self._c.get(f"/customers/by-email/{segment(email)}", shape=Customer)

    def list(self, **filters: Any) -> CustomerPage:
        return self._c.get("/customers", shape=CustomerPage, **filters)


class Webhooks(Resource):
    def list(self) -> WebhookList:
        return self._c.get("/webhooks", shape=WebhookList)

    def get(self, webhook_id: str) -> WebhookEndpoint:
        """With its delivery `statistics`."""
        return self._c.get(f"/webhooks/{segment(webhook_id)}", shape=WebhookEndpoint)

    def event_types(self) -> EventTypeCatalogue:
        """The event types an endpoint may subscribe to, in the API's catalogue order."""
        return self._c.get("/webhooks/event-types", shape=EventTypeList).event_types

    def create(
        self,
        *,
        url: str,
        event_types: Iterable[str],
        description: str = "",
        enabled: bool = True,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        body = {"url": url, "eventTypes": list(event_types), "description": description, "enabled": enabled}
        return self._c.write(
            "POST", "/webhooks", body, shape=WebhookEndpoint, idempotency_key=idempotency_key
        )

    def update(
        self,
        webhook_id: str,
        *,
        url: str | None = None,
        event_types: Iterable[str] | None = None,
        description: str | None = None,
        enabled: bool | None = None,
        idempotency_key: str | None = None,
    ) -> WebhookEndpoint:
        """Change only what is given (None leaves a field as it is)."""
        body = without_none(
            {
                "url": url,
                "eventTypes": None if event_types is None else list(event_types),
                "description": description,
                "enabled": enabled,
            }
        )
        path = f"/webhooks/{segment(webhook_id)}"
        return self._c.write("PUT", path, body, shape=WebhookEndpoint, idempotency_key=idempotency_key)

    def delete(self, webhook_id: str) -> None:
        self._c.write("DELETE", f"/webhooks/{segment(webhook_id)}")

    def test(self, webhook_id: str, *, idempotency_key: str | None = None) -> WebhookTestResult:
        """Send a signed `webhook.test` now; the receiver's answer (success, status code, duration,
        error, response body). With `idempotency_key` a repeat replays the first answer."""
        path = f"/webhooks/{segment(webhook_id)}/test"
        return self._c.write("POST", path, {}, shape=WebhookTestResult, idempotency_key=idempotency_key)

    def rotate_secret(self, webhook_id: str, *, idempotency_key: str | None = None) -> WebhookEndpoint:
        path = f"/webhooks/{segment(webhook_id)}/rotate-secret"
        return self._c.write("POST", path, {}, shape=WebhookEndpoint, idempotency_key=idempotency_key)

    def deliveries(self, webhook_id: str, **filters: Any) -> DeliveryList:
        """Newest first: limit, offset, status."""
        path = f"/webhooks/{segment(webhook_id)}/deliveries"
        return self._c.get(path, shape=DeliveryPage, **filters).deliveries

    def retry_delivery(self, delivery_id: str, *, idempotency_key: str | None = None) -> WebhookDelivery:
        path = f"/webhooks/deliveries/{segment(delivery_id)}/retry"
        return self._c.write("POST", path, {}, shape=WebhookDelivery, idempotency_key=idempotency_key)
