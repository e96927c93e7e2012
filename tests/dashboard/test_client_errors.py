"""The API client against httpx.MockTransport (and a closed port): errors, retries, timeouts."""

import json
import socket
from decimal import Decimal

import httpx
import pytest

from dashboard.client import ApiError, ApiTimeout, ApiUnavailable, OrdersApiClient

KEY = "sk_test_" + "k" * 32


# An order list row and an order as the API sends them (orders/serializers.py): every key, nulls included.
SUMMARY = {
    "id": "o1",
    "externalId": None,
    "platformName": None,
    "orderNumber": "ORD-000001",
    "status": "pending",
    "paymentStatus": "unpaid",
    "customerId": None,
    "customerEmail": "ann@example.com",
    "customerName": "Ann Example",
    "itemCount": 1,
    "total": 29.99,
    "refundedAmount": 0,
    "currency": "USD",
    "createdAt": "2024-01-15T10:30:00.000Z",
    "updatedAt": "2024-01-15T10:30:00.000Z",
}
DETAIL = {
    **SUMMARY,
    "customer": None,
    "shippingAddress": None,
    "billingAddress": None,
    "items": [],
    "subtotal": 29.99,
    "tax": 0,
    "shipping": 0,
    "discount": 0,
    "payment": {"method": None, "transactionId": None, "paidAt": None},
    "refunds": [],
    "metadata": {},
    "notes": None,
    "statusHistory": [],
    "allowedTransitions": ["confirmed", "cancelled"],
    "cancelledAt": None,
    "cancelReason": None,
}


def envelope_error(status, code, message="Nope.", **extra):
    return httpx.Response(status, json={"success": False, "message": message, "errorCode": code, **extra})


def make_client(handler, **kwargs):
    calls = []

    def recording(request):
        calls.append(request)
        return handler(request)

    kwargs.setdefault("sleep", lambda seconds: None)
    client = OrdersApiClient("https://api.test", KEY, transport=httpx.MockTransport(recording), **kwargs)
    return client, calls


def test_list_sends_key_and_camelcase_filters_and_parses_decimal_money():
    # given
    def handler(request):
        return httpx.Response(
            200,
            json={
                "success": True,
                "data": {
                    "orders": [SUMMARY],
                    "total": 1,
                    "totalIsCapped": False,
                    "limit": 25,
                    "offset": 0,
                    "hasMore": False,
                    "nextCursor": None,
                },
            },
        )

    client, calls = make_client(handler, on_behalf_of="Ann Staff")
    # when
    page = client.orders.list(
        status=["pending", "shipped"], date_from="2024-01-01", payment_status="paid", limit=25
    )
    # then
    request = calls[0]
    assert request.headers["X-API-Key"] == KEY
    assert request.headers["X-On-Behalf-Of"] == "Ann Staff"
    assert request.url.path == "/api/v1/orders"
    assert dict(request.url.params) == {
        "status": "pending,shipped",
        "dateFrom": "2024-01-01",
        "paymentStatus": "paid",
        "limit": "25",
    }
    assert page.orders[0].total == Decimal("29.99")
    assert isinstance(page.orders[0].total, Decimal)


def test_401_raises_api_error_with_code_and_message():
    client, calls = make_client(lambda r: envelope_error(401, "INVALID_API_KEY", "Bad key."))
    with pytest.raises(ApiError) as info:
        client.orders.get("o1")
    assert (info.value.status, info.value.error_code, info.value.message) == (
        401,
        "INVALID_API_KEY",
        "Bad key.",
    )
    assert len(calls) == 1  # a 4xx is never retried
    assert KEY not in str(info.value)
    assert KEY not in repr(client)


def test_404_raises_not_found():
    client, _ = make_client(lambda r: envelope_error(404, "ORDER_NOT_FOUND", "Order not found."))
    with pytest.raises(ApiError) as info:
        client.orders.get("missing")
    assert info.value.status == 404
    assert info.value.error_code == "ORDER_NOT_FOUND"


def test_409_on_a_write_is_raised_once_with_the_state_message():
    client, calls = make_client(
        lambda r: envelope_error(409, "ORDER_ALREADY_CANCELLED", "The order is cancelled.")
    )
    with pytest.raises(ApiError) as info:
        client.orders.update_status("o1", "shipped", idempotency_key="idem-1")
    assert info.value.status == 409
    assert info.value.error_code == "ORDER_ALREADY_CANCELLED"
    assert len(calls) == 1


def test_400_carries_field_errors():
    client, _ = make_client(
        lambda r: envelope_error(
            400,
            "VALIDATION_ERROR",
            "Invalid value for: limit.",
            errors=[{"field": "limit", "message": "≤ 50"}],
        )
    )
    with pytest.raises(ApiError) as info:
        client.orders.list(limit=51)
    assert [(e.field, e.message) for e in info.value.field_errors] == [("limit", "≤ 50")]


def test_429_carries_retry_after():
    client, calls = make_client(
        lambda r: httpx.Response(
            429,
            headers={"Retry-After": "17"},
            json={
                "success": False,
                "message": "Slow down.",
                "errorCode": "RATE_LIMIT_EXCEEDED",
                "retryAfter": 17,
            },
        )
    )
    with pytest.raises(ApiError) as info:
        client.orders.list()
    assert info.value.status == 429
    assert info.value.retry_after == 17
    assert len(calls) == 1


def test_500_on_a_read_is_retried_then_raised():
    client, calls = make_client(lambda r: envelope_error(500, "INTERNAL_ERROR"), retries=3)
    with pytest.raises(ApiError) as info:
        client.orders.list()
    assert info.value.status == 500
    assert len(calls) == 4  # the first try and three retries


def test_500_then_success_on_a_read_returns_the_success():
    answers = iter(
        [
            envelope_error(503, "SERVICE_UNAVAILABLE"),
            httpx.Response(
                200,
                json={"success": True, "data": {"orderId": "o1", "orderNumber": "ORD-000001", "entries": []}},
            ),
        ]
    )
    client, calls = make_client(lambda r: next(answers))
    assert client.orders.history("o1") == []
    assert len(calls) == 2


def test_write_without_idempotency_key_is_never_retried():
    client, calls = make_client(lambda r: envelope_error(500, "INTERNAL_ERROR"))
    with pytest.raises(ApiError):
        client.orders.cancel("o1", reason="Customer asked")
    assert len(calls) == 1


def test_write_with_idempotency_key_is_retried_with_the_same_key_and_body():
    client, calls = make_client(lambda r: envelope_error(502, "BAD_GATEWAY"), retries=2)
    with pytest.raises(ApiError):
        client.orders.refund("o1", amount=Decimal("5.00"), reason="Damaged", idempotency_key="idem-42")
    assert len(calls) == 3
    assert {c.headers["Idempotency-Key"] for c in calls} == {"idem-42"}
    assert {c.content for c in calls} == {calls[0].content}
    assert json.loads(calls[0].content) == {"amount": 5.0, "reason": "Damaged", "notifyCustomer": False}


def test_read_timeout_raises_api_timeout():
    def handler(request):
        raise httpx.ReadTimeout("slow", request=request)

    client, calls = make_client(handler)
    with pytest.raises(ApiTimeout) as info:
        client.orders.list()
    assert info.value.status is None
    assert len(calls) == 1  # a slow API is not asked again while the user waits


def test_connection_errors_are_retried_then_raise_api_unavailable():
    def handler(request):
        raise httpx.ConnectError("refused", request=request)

    client, calls = make_client(handler, retries=2)
    with pytest.raises(ApiUnavailable):
        client.orders.list()
    assert len(calls) == 3


def test_connection_refused_by_a_real_closed_port_raises_api_unavailable():
    # given a port nobody listens on
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    client = OrdersApiClient(f"http://127.0.0.1:{port}", KEY, retries=1, sleep=lambda s: None, timeout=2)
    # when / then
    with pytest.raises(ApiUnavailable) as info:
        client.orders.list()
    assert KEY not in str(info.value)


def test_export_streams_chunks_and_raises_before_streaming_on_error():
    # given
    body = b"order number,order id\n" + b"ORD-000001,o1\n" * 1000
    client, _ = make_client(lambda r: httpx.Response(200, content=body, headers={"Content-Type": "text/csv"}))
    # when
    with client.orders.export(status="shipped") as export:
        received = b"".join(export.chunks())
    # then
    assert received == body
    failing, _ = make_client(lambda r: envelope_error(401, "INVALID_API_KEY"))
    with pytest.raises(ApiError), failing.orders.export() as export:
        pass


def test_path_segments_are_encoded():
    client, calls = make_client(lambda r: httpx.Response(200, json={"success": True, "data": DETAIL}))
    client.orders.get("shop/123")
    assert calls[0].url.raw_path == b"/api/v1/orders/shop%2F123"
