"""Bodies a careless or hostile client can send (issue 10, spec §7): each gets a 4xx in the error envelope
that says what to fix — never a 500, never a framework page, never a half-written change."""

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.core.handlers.asgi import ASGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import override_settings

from orders.models import HistoryEntry, Order, WebhookEndpoint
from orders.statuses import OrderStatus
from tests.factories import CustomerFactory, VariantFactory, make_order
from tests.orders.webhooks.conftest import make_endpoint

pytestmark = pytest.mark.django_db

TOO_BIG_INT = 18446744073709551616  # 2**64: beyond what orjson (and JavaScript) can carry
INT_HELP = (
    "Integers must be within ±9007199254740992 (2**53), the range every JSON client reads exactly; "
    "send a larger number as a string."
)
NUMBER_HELP = (
    "Numbers must be within ±9007199254740992 (2**53), the range every JSON client reads exactly; "
    "send a larger number as a string."
)
DEPTH_MESSAGE = "The JSON body is nested more than 32 levels deep (objects and arrays); flatten it."
NOT_AN_OBJECT = "The body must be a JSON object ({{...}}), not {what}."


def too_large(limit: int) -> str:
    return f"The request body is larger than {limit} bytes, the most the API accepts; send less per request."


SURROGATE_HELP = "Lone UTF-16 surrogates (\\ud800–\\udfff without their pair) are not allowed."


def assert_envelope(response, status: int, code: str, message: str | None = None) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["success"] is False
    assert body["errorCode"] == code
    if message is not None:
        assert body["message"] == message
    return body


def assert_order_reads_fine(api, order) -> None:
    for path in (f"/api/v1/orders/{order.id}", f"/api/v1/orders/{order.id}/history", "/api/v1/history"):
        assert api.get(path).status_code == 200, path


@pytest.fixture
def variant(store):
    return VariantFactory(product__store=store, product__external_id="prod_1", external_id="var_1")


def create_body(customer, **overrides) -> dict:
    body = {
        "externalOrderId": "shop_1",
        "customerId": str(customer.id),
        "items": [{"externalProductId": "prod_1", "externalVariantId": "var_1", "quantity": 1, "price": 10}],
        "total": 10,
    }
    body.update(overrides)
    return body


# ---- 1. metadata integers beyond 64 (and 53) bits ---------------------------------------------------


def test_metadata_integer_beyond_64_bits_in_patch_is_400_and_nothing_is_written(api, store):
    # given
    order = make_order(store, metadata={"carrier": "UPS"})
    entries_before = HistoryEntry.objects.filter(order=order).count()

    # when
    response = api.patch_json(f"/api/v1/orders/{order.id}/metadata", {"metadata": {"n": TOO_BIG_INT}})

    # then
    body = assert_envelope(response, 400, "VALIDATION_ERROR", f"Invalid value for: metadata.n. {INT_HELP}")
    assert body["errors"] == [{"field": "metadata.n", "message": INT_HELP}]
    order.refresh_from_db()
    assert order.metadata == {"carrier": "UPS"}
    assert HistoryEntry.objects.filter(order=order).count() == entries_before
    assert_order_reads_fine(api, order)


def test_metadata_integer_beyond_64_bits_in_a_status_update_is_400_and_the_status_stays(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)

    # when
    response = api.put_json(
        f"/api/v1/orders/{order.id}/status", {"status": "processing", "metadata": {"n": -TOO_BIG_INT}}
    )

    # then
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "metadata.n", "message": INT_HELP}]
    order.refresh_from_db()
    assert (order.status, order.metadata) == (OrderStatus.CONFIRMED, {})
    assert_order_reads_fine(api, order)


def test_metadata_integer_beyond_64_bits_in_a_create_is_400_and_no_order_exists(api, store, variant):
    # when
    response = api.post_json(
        "/api/v1/orders", create_body(CustomerFactory(store=store), metadata={"n": TOO_BIG_INT})
    )

    # then
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "metadata.n", "message": INT_HELP}]
    assert not Order.objects.filter(store=store).exists()
    assert api.get("/api/v1/history").status_code == 200


@pytest.mark.parametrize("value", [2**53 + 1, -(2**53) - 1])
def test_metadata_integer_just_beyond_2_to_the_53_is_refused(api, store, value):
    order = make_order(store)
    response = api.patch_json(f"/api/v1/orders/{order.id}/metadata", {"metadata": {"n": value}})
    assert_envelope(response, 400, "VALIDATION_ERROR", f"Invalid value for: metadata.n. {INT_HELP}")


def test_metadata_numbers_within_range_are_kept_exactly(api, store):
    # given
    order = make_order(store)
    # when
    response = api.patch(
        f"/api/v1/orders/{order.id}/metadata",
        '{"metadata": {"max": 9007199254740992, "min": -9007199254740992, "w": 1.5, "tiny": 1e-300, '
        '"whole": 2.0}}',
        content_type="application/json",
    )
    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"]["metadata"] == {
        "max": 9007199254740992,
        "min": -9007199254740992,
        "w": 1.5,
        "tiny": 1e-300,
        "whole": 2,
    }
    assert_order_reads_fine(api, order)


@pytest.mark.parametrize("literal", ["1e20", "-9007199254740993.5", "1.5e300"])
def test_metadata_fraction_beyond_2_to_the_53_is_refused(api, store, literal):
    # PostgreSQL's jsonb would hand 1e20 back as the integer 100000000000000000000, which orjson (and
    # JavaScript) cannot carry: every later read of the order would fail.
    order = make_order(store)
    response = api.patch(
        f"/api/v1/orders/{order.id}/metadata",
        f'{{"metadata": {{"big": {literal}}}}}',
        content_type="application/json",
    )
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == [{"field": "metadata.big", "message": NUMBER_HELP}]
    order.refresh_from_db()
    assert order.metadata == {}
    assert_order_reads_fine(api, order)


@pytest.mark.parametrize("literal", ["1e400", "-1e400", "NaN", "Infinity", "-Infinity"])
def test_metadata_number_that_is_not_finite_is_400_naming_the_key(api, store, literal):
    # given
    order = make_order(store)
    # when
    response = api.patch(
        f"/api/v1/orders/{order.id}/metadata",
        f'{{"metadata": {{"x": {literal}}}}}',  # a raw JSON literal
        content_type="application/json",
    )
    # then
    body = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == [
        {
            "field": "metadata.x",
            "message": "Numbers must be finite (NaN, Infinity and beyond ±1.8e308 are not).",
        }
    ]
    order.refresh_from_db()
    assert order.metadata == {}


# ---- 2. nesting depth --------------------------------------------------------------------------------


def test_deep_nesting_with_a_nul_inside_is_400_quickly(api, store):
    # given a body 1,000 levels deep with a NUL at the bottom (the NUL walk used to recurse and crash)
    order = make_order(store)
    deep = '{"metadata": {"x": ' + "[" * 1000 + '"\\u0000"' + "]" * 1000 + "}}"

    # when
    started = time.monotonic()
    response = api.patch(f"/api/v1/orders/{order.id}/metadata", deep, content_type="application/json")

    # then
    assert time.monotonic() - started < 1
    assert_envelope(response, 400, "INVALID_REQUEST", DEPTH_MESSAGE)
    assert_order_reads_fine(api, order)


def test_nesting_of_a_hundred_thousand_levels_is_400(api):
    response = api.post("/api/v1/orders", "[" * 100_000, content_type="application/json")
    assert_envelope(response, 400, "INVALID_REQUEST", DEPTH_MESSAGE)


def test_brackets_inside_strings_do_not_count_as_nesting(api, store):
    # given a string full of brackets and escaped quotes: text, not structure
    order = make_order(store)
    text = '[{"\\"' * 60
    # when
    response = api.patch_json(f"/api/v1/orders/{order.id}/metadata", {"metadata": {"note": text}})
    # then
    assert response.status_code == 200, response.content
    assert response.json()["data"]["metadata"] == {"note": text}


def test_depth_of_32_passes_the_body_check_and_33_does_not(api):
    # 32 levels reach the API (which refuses the shape); 33 are refused before any parsing.
    at_limit = api.post("/api/v1/orders", "[" * 32 + "]" * 32, content_type="application/json")
    over = api.post("/api/v1/orders", "[" * 33 + "]" * 33, content_type="application/json")
    assert_envelope(at_limit, 400, "INVALID_REQUEST", NOT_AN_OBJECT.format(what="an array"))
    assert_envelope(over, 400, "INVALID_REQUEST", DEPTH_MESSAGE)


# ---- 3. body size ------------------------------------------------------------------------------------


def test_body_over_the_limit_is_413_in_the_envelope(api, store):
    # given a body one byte over Django's DATA_UPLOAD_MAX_MEMORY_SIZE (2.5 MB)
    order = make_order(store)
    body = '{"metadata": {"x": "' + "a" * (2_621_440 - 22) + '"}}'
    assert len(body) == 2_621_441

    # when
    response = api.patch(f"/api/v1/orders/{order.id}/metadata", body, content_type="application/json")

    # then
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE", too_large(2_621_440))
    order.refresh_from_db()
    assert order.metadata == {}


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
@pytest.mark.parametrize(
    ("method", "path", "content_type"),
    [
        ("post", "/api/v1/orders", "application/json"),
        ("post", "/api/v1/orders", "text/plain"),
        ("post", "/api/v1/orders", "application/x-www-form-urlencoded"),
        ("put", "/api/v1/webhooks/00000000-0000-0000-0000-000000000000", "application/json"),
        ("post", "/api/v1/sdk/products/sync", "multipart/form-data; boundary=xyz"),
        ("post", "/api/v1/no-such-route", "application/json"),
        ("post", "/api/v2/orders", "application/json"),
    ],
)
def test_body_over_the_limit_is_413_for_every_api_route_and_content_type(api, method, path, content_type):
    response = getattr(api, method)(path, "x" * 1001, content_type=content_type)
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE", too_large(1000))


@override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=1000)
def test_body_over_the_limit_without_content_length_is_413_while_reading(db):
    # given a chunked body (no Content-Length) through the real ASGI handler, as an ASGI server sends it
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/orders",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"host", b"testserver")],
    }
    chunks = [b'{"metadata": {"x": "', b"a" * 1500, b'"}}']
    messages = [{"type": "http.request", "body": c, "more_body": i < 2} for i, c in enumerate(chunks)]
    sent: list[dict] = []

    async def receive():
        if messages:
            return messages.pop(0)
        await asyncio.sleep(60)  # the client stays connected; Django stops listening once it answered
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    # when (the test client's trick: no connection handling on request start/finish inside the test's
    # transaction)
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        async_to_sync(ASGIHandler())(scope, receive, send)
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)

    # then
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert start["status"] == 413
    assert json.loads(body) == {
        "success": False,
        "message": too_large(1000),
        "errorCode": "PAYLOAD_TOO_LARGE",
    }


# ---- 5. lone surrogates ------------------------------------------------------------------------------


def test_lone_surrogate_in_a_reason_is_400_naming_the_field(api, store):
    # given
    order = make_order(store, status=OrderStatus.CONFIRMED)
    # when
    response = api.put(
        f"/api/v1/orders/{order.id}/cancel", '{"reason": "oops \\ud83d"}', content_type="application/json"
    )
    # then
    body = assert_envelope(response, 400, "VALIDATION_ERROR", f"Invalid value for: reason. {SURROGATE_HELP}")
    assert body["errors"] == [{"field": "reason", "message": SURROGATE_HELP}]
    order.refresh_from_db()
    assert order.status == OrderStatus.CONFIRMED
    assert_order_reads_fine(api, order)


@pytest.mark.parametrize(
    ("path_suffix", "method", "body", "field"),
    [
        ("/status", "put", '{"status": "processing", "note": "\\udc00"}', "note"),
        ("/metadata", "patch", '{"metadata": {"k": "\\ud83d!"}}', "metadata.k"),
        ("/metadata", "patch", '{"metadata": {"\\ud83d": "v"}}', "metadata.\\ud83d"),
        ("/refunds", "post", '{"amount": 1, "reason": "\\udfff"}', "reason"),
    ],
)
def test_lone_surrogate_anywhere_in_the_body_is_400_naming_the_field(
    api, store, path_suffix, method, body, field
):
    order = make_order(store, status=OrderStatus.CONFIRMED)
    response = getattr(api, method)(
        f"/api/v1/orders/{order.id}{path_suffix}", body, content_type="application/json"
    )
    payload = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert payload["errors"] == [{"field": field, "message": SURROGATE_HELP}]
    assert HistoryEntry.objects.filter(order=order).count() == 1  # only the creation


def test_lone_surrogate_as_raw_utf8_bytes_is_refused_too(api, store):
    # given the surrogate U+D83D encoded as (invalid) UTF-8 bytes, which Python's JSON reader accepts
    order = make_order(store, status=OrderStatus.CONFIRMED)
    body = b'{"reason": "x\xed\xa0\xbd"}'
    # when
    response = api.put(f"/api/v1/orders/{order.id}/cancel", body, content_type="application/json")
    # then
    payload = assert_envelope(response, 400, "VALIDATION_ERROR")
    assert payload["errors"] == [{"field": "reason", "message": SURROGATE_HELP}]


def test_a_surrogate_pair_is_an_ordinary_character(api, store):
    order = make_order(store)
    response = api.patch(
        f"/api/v1/orders/{order.id}/metadata",
        '{"metadata": {"mood": "\\ud83d\\ude00"}}',
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["metadata"] == {"mood": "\U0001f600"}


# ---- 6. bodies that are not objects ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "what"),
    [
        ("[]", "an array"),
        ("[null,null]", "an array"),
        ("7", "a number"),
        ('"x"', "a string"),
        ("true", "true"),
        ("null", "null"),
    ],
)
def test_webhook_update_with_a_body_that_is_not_an_object_is_400_and_changes_nothing(api, store, raw, what):
    # given
    endpoint, _ = make_endpoint(store, "https://hooks.shop.example/x", event_types=["order.created"])
    before = WebhookEndpoint.objects.values().get(pk=endpoint.pk)
    # when
    response = api.put(f"/api/v1/webhooks/{endpoint.id}", raw, content_type="application/json")
    # then
    assert_envelope(response, 400, "INVALID_REQUEST", NOT_AN_OBJECT.format(what=what))
    assert WebhookEndpoint.objects.values().get(pk=endpoint.pk) == before


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("post", "/api/v1/orders"),
        ("put", "/api/v1/orders/{order}/status"),
        ("put", "/api/v1/orders/{order}/cancel"),
        ("post", "/api/v1/orders/{order}/refunds"),
        ("put", "/api/v1/orders/{order}/link"),
        ("patch", "/api/v1/orders/{order}/metadata"),
        ("post", "/api/v1/webhooks"),
        ("put", "/api/v1/sdk/stores/{store}/webhooks/{order}"),
        ("post", "/api/v1/sdk/products/sync"),
    ],
)
def test_every_write_refuses_a_body_that_is_not_an_object(api, store, method, path):
    order = make_order(store)
    url = path.format(order=order.id, store=store.id)
    response = getattr(api, method)(url, "[1, 2]", content_type="application/json")
    assert_envelope(response, 400, "INVALID_REQUEST", NOT_AN_OBJECT.format(what="an array"))
