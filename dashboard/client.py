"""The Orders API client (spec/orders-api.md). No Django imports: usable from a plain script.

    client = OrdersApiClient("https://orders.example.com", "sk_live_…")
    page = client.orders.list(status=["pending", "confirmed"], limit=25)
    order = client.orders.get(page.orders[0].id)

Guarantees:
- every call has a timeout (`timeout=`, default 10 s read / 3 s connect);
- reads (GET) are retried on connection errors and 5xx with capped exponential backoff;
- writes are retried only when the caller passes `idempotency_key=` (the API then replays the first
  response instead of acting twice); without one a write is sent exactly once;
- every API failure raises `ApiError` (status, error_code, message, field_errors, retry_after); a
  server that cannot be reached raises `ApiUnavailable`, one that does not answer in time `ApiTimeout`.
The API key is sent only in the `X-API-Key` header and never appears in an error message or repr.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from dashboard.api_types import (
    Customer,
    CustomerPage,
    HistoryEntry,
    HistoryPage,
    Order,
    OrderPage,
    Stats,
    StatusTable,
    WebhookDelivery,
    WebhookEndpoint,
)

# Aliases: inside the namespaces `list` is a method name.
HistoryList = list[HistoryEntry]
WebhookList = list[WebhookEndpoint]
DeliveryList = list[WebhookDelivery]

API_PREFIX = "/api/v1"
DEFAULT_TIMEOUT = httpx.Timeout(10.0, connect=3.0)
BACKOFF_BASE_SECONDS = 0.2
BACKOFF_CAP_SECONDS = 2.0
USER_AGENT = "vesuvio-dashboard/1.0 (+httpx)"
# 5xx answers worth another try: the server (or a proxy in front of it) may be restarting.
RETRYABLE_STATUSES = frozenset({500, 502, 503, 504})


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


class ApiError(Exception):
    """The API answered with an error (or could not be reached: see the subclasses)."""

    def __init__(
        self,
        status: int | None,
        error_code: str,
        message: str,
        field_errors: list[FieldError] | None = None,
        retry_after: int | None = None,
        request_id: str | None = None,
    ) -> None:
        self.status = status
        self.error_code = error_code
        self.message = message
        self.field_errors = field_errors or []
        self.retry_after = retry_after
        self.request_id = request_id
        super().__init__(f"{status} {error_code}: {message}")


class ApiUnavailable(ApiError):
    """No connection to the API (refused, DNS, reset): nothing was answered."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "API_UNAVAILABLE", message)


class ApiTimeout(ApiError):
    """The API did not answer within the timeout."""

    def __init__(self, message: str) -> None:
        super().__init__(None, "API_TIMEOUT", message)


def _query_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, list | tuple | set | frozenset):
        return ",".join(_query_value(v) for v in value)
    return str(value)


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def _params(filters: Mapping[str, Any]) -> dict[str, str]:
    """snake_case keyword filters → the API's camelCase query parameters; None and empty are dropped."""
    params: dict[str, str] = {}
    for name, value in filters.items():
        if value is None or value == "" or (isinstance(value, list | tuple | set) and not value):
            continue
        params[_camel(name)] = _query_value(value)
    return params


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        # The API parses JSON numbers as Decimal; a str() keeps every digit the caller gave.
        return float(value) if value == value.quantize(Decimal("0.01")) else str(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    raise TypeError(f"Cannot send {type(value).__name__} as JSON")


def _error_from_response(response: httpx.Response) -> ApiError:
    try:
        body = json.loads(response.content)
    except ValueError:
        body = None
    if not isinstance(body, dict):
        body = {}
    retry_after = body.get("retryAfter") or response.headers.get("Retry-After")
    try:
        retry_after_int = int(retry_after) if retry_after is not None else None
    except (TypeError, ValueError):
        retry_after_int = None
    return ApiError(
        status=response.status_code,
        error_code=str(body.get("errorCode") or f"HTTP_{response.status_code}"),
        message=str(body.get("message") or response.reason_phrase or "The API returned an error."),
        field_errors=[
            FieldError(field=str(e.get("field", "")), message=str(e.get("message", "")))
            for e in body.get("errors") or []
            if isinstance(e, dict)
        ],
        retry_after=retry_after_int,
        request_id=response.headers.get("X-Request-Id"),
    )


class ExportStream:
    """An open export response: iterate `chunks()` to stream it; headers tell type and file name."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.content_type = response.headers.get("Content-Type", "text/csv")
        self.content_disposition = response.headers.get("Content-Disposition", "")

    def chunks(self, chunk_size: int | None = None) -> Iterator[bytes]:
        yield from self._response.iter_bytes(chunk_size)


class OrdersApiClient:
    """One store's view of the Orders API (the key decides the store)."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        transport: httpx.BaseTransport | None = None,
        timeout: httpx.Timeout | float = DEFAULT_TIMEOUT,
        on_behalf_of: str | None = None,
        retries: int = 3,
        backoff: float = BACKOFF_BASE_SECONDS,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        headers = {"X-API-Key": api_key, "Accept": "application/json", "User-Agent": USER_AGENT}
        if on_behalf_of:
            headers["X-On-Behalf-Of"] = on_behalf_of[:150]
        self._http = httpx.Client(
            base_url=base_url.rstrip("/") + API_PREFIX,
            headers=headers,
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
        )
        self.retries = max(0, retries)
        self.backoff = backoff
        self._sleep = sleep
        self.orders = _Orders(self)
        self.history = _History(self)
        self.customers = _Customers(self)
        self.webhooks = _Webhooks(self)

    def __repr__(self) -> str:  # never the key
        return f"OrdersApiClient({str(self._http.base_url)!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OrdersApiClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- transport with retries -------------------------------------------------------------------

    def _delay(self, attempt: int) -> float:
        # Exponential with full jitter, capped: 0.2, 0.4, 0.8 … ≤ 2 s, so a page never hangs long.
        return random.uniform(0, min(BACKOFF_CAP_SECONDS, self.backoff * (2**attempt)))  # noqa: S311

    def _send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        body: Any = None,
        idempotency_key: str | None = None,
        stream: bool = False,
    ) -> httpx.Response:
        """Send with retries per the module rules; returns a 2xx response or raises ApiError."""
        headers = {}
        content = None
        if body is not None:
            content = json.dumps(body, default=_json_default).encode()
            headers["Content-Type"] = "application/json"
        if idempotency_key:
            headers["Idempotency-Key"] = idempotency_key
        retryable = method == "GET" or bool(idempotency_key)
        attempts = 1 + (self.retries if retryable else 0)
        request = self._http.build_request(method, path, params=params, content=content, headers=headers)
        for attempt in range(attempts):
            last = attempt == attempts - 1
            try:
                response = self._http.send(request, stream=stream)
            except httpx.TimeoutException as exc:
                # A connect timeout means nothing reached the server: safe to retry. A read timeout is
                # not retried: a slow API does not get faster, and the user is waiting.
                if isinstance(exc, httpx.ConnectTimeout) and not last:
                    self._sleep(self._delay(attempt))
                    continue
                raise ApiTimeout(
                    f"The Orders API did not answer within the timeout ({method} {path})."
                ) from None
            except (httpx.ConnectError, httpx.RemoteProtocolError, httpx.ReadError) as exc:
                if not last:
                    self._sleep(self._delay(attempt))
                    continue
                raise ApiUnavailable(
                    f"The Orders API could not be reached ({type(exc).__name__}: {method} {path})."
                ) from None
            if response.is_success:
                return response
            if stream:
                response.read()
                response.close()
            retry_status = response.status_code in RETRYABLE_STATUSES or (
                response.status_code == 409 and b"IDEMPOTENCY_KEY_IN_USE" in response.content
            )
            if retry_status and not last:
                self._sleep(self._delay(attempt))
                continue
            raise _error_from_response(response)
        raise AssertionError("unreachable")  # pragma: no cover

    def _data(self, response: httpx.Response) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        body = json.loads(response.content, parse_float=Decimal)
        return body.get("data") if isinstance(body, dict) else body

    def get(self, path: str, **filters: Any) -> Any:
        return self._data(self._send("GET", path, params=_params(filters)))

    def write(self, method: str, path: str, body: Any = None, *, idempotency_key: str | None = None) -> Any:
        return self._data(self._send(method, path, body=body, idempotency_key=idempotency_key))

    @contextmanager
    def stream(self, path: str, **filters: Any) -> Iterator[ExportStream]:
        response = self._send("GET", path, params=_params(filters), stream=True)
        try:
            yield ExportStream(response)
        finally:
            response.close()


def _without_none(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _Namespace:
    def __init__(self, client: OrdersApiClient) -> None:
        self._c = client


class _Orders(_Namespace):
    def list(self, **filters: Any) -> OrderPage:
        """Filters of spec §3.4 in snake_case: status (str or list), date_from, date_to, updated_from,
        updated_to, customer_id, external_id, platform_name, search, payment_status, sort, limit,
        offset, cursor."""
        return OrderPage.from_api(self._c.get("/orders", **filters))

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
        return Order.from_api(self._c.get(f"/orders/{_segment(order_id)}"))

    def history(self, order_id: str) -> HistoryList:
        data = self._c.get(f"/orders/{_segment(order_id)}/history")
        rows = (
            data
            if isinstance(data, list)
            else (data or {}).get("history") or (data or {}).get("entries") or []
        )
        return [HistoryEntry.from_api(row) for row in rows]

    def statuses(self) -> StatusTable:
        return StatusTable.from_api(self._c.get("/orders/statuses"))

    def stats(self, **filters: Any) -> Stats:
        return Stats.from_api(self._c.get("/orders/stats", **filters))

    @contextmanager
    def export(self, *, format: str = "csv", **filters: Any) -> Iterator[ExportStream]:  # noqa: A002
        """Stream every matching row: `with client.orders.export(status="shipped") as e: for chunk in
        e.chunks(): …`. Memory stays flat whatever the size."""
        with self._c.stream("/orders/export", format=format, **filters) as export:
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
        body = _without_none({"status": status, "note": note, "metadata": metadata})
        return Order.from_api(
            self._c.write(
                "PUT", f"/orders/{_segment(order_id)}/status", body, idempotency_key=idempotency_key
            )
        )

    def cancel(
        self,
        order_id: str,
        *,
        reason: str,
        refund_amount: Decimal | None = None,
        notify_customer: bool = False,
        idempotency_key: str | None = None,
    ) -> Order:
        body = _without_none(
            {"reason": reason, "refundAmount": refund_amount, "notifyCustomer": notify_customer}
        )
        return Order.from_api(
            self._c.write(
                "PUT", f"/orders/{_segment(order_id)}/cancel", body, idempotency_key=idempotency_key
            )
        )

    def refund(
        self,
        order_id: str,
        *,
        amount: Decimal,
        reason: str | None = None,
        notify_customer: bool = False,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = _without_none({"amount": amount, "reason": reason, "notifyCustomer": notify_customer})
        return self._c.write(
            "POST", f"/orders/{_segment(order_id)}/refunds", body, idempotency_key=idempotency_key
        )

    def create_from_platform(
        self, payload: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Order:
        return Order.from_api(
            self._c.write("POST", "/orders", dict(payload), idempotency_key=idempotency_key)
        )

    def link_to_platform(
        self, order_id: str, *, external_order_id: str, platform_name: str, idempotency_key: str | None = None
    ) -> Order:
        body = {"externalOrderId": external_order_id, "platformName": platform_name}
        return Order.from_api(
            self._c.write("PUT", f"/orders/{_segment(order_id)}/link", body, idempotency_key=idempotency_key)
        )

    def update_metadata(
        self, order_id: str, metadata: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Order:
        """Merge `metadata` into the order's; a key set to None is removed (spec §3.10)."""
        return Order.from_api(
            self._c.write(
                "PATCH",
                f"/orders/{_segment(order_id)}/metadata",
                {"metadata": dict(metadata)},
                idempotency_key=idempotency_key,
            )
        )


class _History(_Namespace):
    def list(self, **filters: Any) -> HistoryPage:
        """Store-wide feed, newest first: date_from, date_to, status, actor, limit, offset, cursor."""
        return HistoryPage.from_api(self._c.get("/history", **filters))


class _Customers(_Namespace):
    def get(self, customer_id: str) -> Customer | None:
        return Customer.from_api(self._c.get(f"/customers/{_segment(customer_id)}"))

    def get_by_email(self, email: str) -> Customer | None:
        return Customer.from_api(self._c.get(f"/customers/by-email/{_segment(email)}"))

    def list(self, **filters: Any) -> CustomerPage:
        return CustomerPage.from_api(self._c.get("/customers", **filters))


class _Webhooks(_Namespace):
    def list(self) -> WebhookList:
        data = self._c.get("/webhooks")
        rows = (
            data
            if isinstance(data, list)
            else (data or {}).get("webhooks") or (data or {}).get("endpoints") or []
        )
        return [WebhookEndpoint.from_api(row) for row in rows]

    def get(self, webhook_id: str) -> WebhookEndpoint:
        return WebhookEndpoint.from_api(self._c.get(f"/webhooks/{_segment(webhook_id)}"))

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
        return WebhookEndpoint.from_api(
            self._c.write("POST", "/webhooks", body, idempotency_key=idempotency_key)
        )

    def update(
        self, webhook_id: str, *, idempotency_key: str | None = None, **changes: Any
    ) -> WebhookEndpoint:
        body = {_camel(k): v for k, v in changes.items() if v is not None}
        return WebhookEndpoint.from_api(
            self._c.write("PUT", f"/webhooks/{_segment(webhook_id)}", body, idempotency_key=idempotency_key)
        )

    def delete(self, webhook_id: str) -> None:
        self._c.write("DELETE", f"/webhooks/{_segment(webhook_id)}")

    def test(self, webhook_id: str, *, idempotency_key: str | None = None) -> dict[str, Any]:
        """Send a signed `webhook.test` now; the receiver's answer (success, statusCode, durationMs,
        error, responseBody). With `idempotency_key` a repeat replays the first answer."""
        return self._c.write(
            "POST", f"/webhooks/{_segment(webhook_id)}/test", {}, idempotency_key=idempotency_key
        )

    def rotate_secret(self, webhook_id: str, *, idempotency_key: str | None = None) -> WebhookEndpoint:
        return WebhookEndpoint.from_api(
            self._c.write(
                "POST", f"/webhooks/{_segment(webhook_id)}/rotate-secret", {}, idempotency_key=idempotency_key
            )
        )

    def deliveries(self, webhook_id: str, **filters: Any) -> DeliveryList:
        data = self._c.get(f"/webhooks/{_segment(webhook_id)}/deliveries", **filters)
        rows = data if isinstance(data, list) else (data or {}).get("deliveries") or []
        return [WebhookDelivery.from_api(row) for row in rows]

    def retry_delivery(self, delivery_id: str, *, idempotency_key: str | None = None) -> WebhookDelivery:
        return WebhookDelivery.from_api(
            self._c.write(
                "POST",
                f"/webhooks/deliveries/{_segment(delivery_id)}/retry",
                {},
                idempotency_key=idempotency_key,
            )
        )


def _segment(value: str) -> str:
    """One path segment, percent-encoded: an external ID like `shop/123` must not become two."""
    return quote(str(value), safe="")
