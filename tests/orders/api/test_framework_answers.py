"""Answers Django or the router make before an operation runs (issue 10, spec §1 and §5): under /api/
they are the error envelope, never an HTML page, and with a valid key they carry the rate-limit headers
and count against the key like any other request."""

from types import SimpleNamespace

import pytest
from django.middleware.clickjacking import XFrameOptionsMiddleware

from orders import ratelimit
from orders.auth import api_key_create
from orders.models import ApiKey, RateLimitCounter
from tests.conftest import ApiClient

pytestmark = pytest.mark.django_db

NOW = 1_800_000_000 // 3600 * 3600 + 1  # a second into a minute and an hour window
RESET = str(NOW - 1 + 60)


@pytest.fixture
def clock(monkeypatch):
    state = SimpleNamespace(now=float(NOW))
    monkeypatch.setattr(ratelimit, "time", SimpleNamespace(time=lambda: state.now))
    return state


def limited_client(store, per_minute: int, **defaults) -> ApiClient:
    issued = api_key_create(store=store, name="limited", tier=ApiKey.Tier.CUSTOM)
    ApiKey.objects.filter(pk=issued.api_key.pk).update(
        custom_limit_per_minute=per_minute, custom_limit_per_hour=1000
    )
    return ApiClient(issued.plaintext, **defaults)


def rate_headers(response) -> tuple[str | None, str | None, str | None]:
    return tuple(response.headers.get(f"X-RateLimit-{n}") for n in ("Limit", "Remaining", "Reset"))  # type: ignore[return-value]


def test_post_to_a_path_that_is_no_route_is_the_404_envelope_not_a_csrf_page(store):
    # given a client that enforces CSRF as a browser-less API client meets it (no token, no cookie)
    api = ApiClient(api_key_create(store=store).plaintext, enforce_csrf_checks=True)
    for path in ("/api/v1/no-such-route", "/api/v2/orders", "/api/"):
        # when
        response = api.post(path, "{}", content_type="application/json")
        # then
        assert response.status_code == 404, (path, response.content)
        assert response["Content-Type"] == "application/json"
        assert response.json() == {
            "success": False,
            "message": f"No API route matches {path}. See /api/v1/docs.",
            "errorCode": "NOT_FOUND",
        }


def test_api_writes_need_no_csrf_token(store):
    api = ApiClient(api_key_create(store=store).plaintext, enforce_csrf_checks=True)
    response = api.post("/api/v1/webhooks", '{"url": "x"}', content_type="application/json")
    assert response.status_code == 400  # a validation answer, not a CSRF refusal
    assert response.json()["errorCode"] in {"VALIDATION_ERROR", "INVALID_EVENT_TYPE"}


def test_405_is_the_envelope_with_allow_and_the_rate_limit_headers(store, clock):
    # given
    api = limited_client(store, per_minute=10)
    # when
    response = api.delete("/api/v1/orders")
    # then
    assert response.status_code == 405
    assert response.json() == {
        "success": False,
        "message": "DELETE is not allowed here. Allowed: GET, POST.",
        "errorCode": "METHOD_NOT_ALLOWED",
    }
    assert response["Allow"] == "GET, POST"
    assert rate_headers(response) == ("10", "9", RESET)


def test_unknown_routes_with_a_valid_key_carry_the_headers_and_are_counted(store, clock):
    # given
    api = limited_client(store, per_minute=10)
    # when
    responses = [
        api.get("/api/v1/nope"),
        api.get("/api/v2/x"),
        api.put("/api/v1/orders"),
        api.get("/api/v1/webhooks"),
    ]
    # then
    assert [r.status_code for r in responses] == [404, 404, 405, 200]
    assert [rate_headers(r) for r in responses] == [("10", str(9 - i), RESET) for i in range(4)]


def test_a_key_over_its_limit_gets_429_on_unknown_routes_and_405_too(store, clock):
    # given
    api = limited_client(store, per_minute=2)
    assert api.get("/api/v1/nope").status_code == 404
    assert api.delete("/api/v1/orders").status_code == 405
    # when
    over_unknown = api.get("/api/v1/nope")
    over_405 = api.delete("/api/v1/orders")
    # then
    for response in (over_unknown, over_405):
        assert response.status_code == 429
        assert response.json() == {
            "success": False,
            "message": "Rate limit of 2 requests exceeded for this API key; retry in 59 s.",
            "errorCode": "RATE_LIMIT_EXCEEDED",
            "retryAfter": 59,
        }
        assert response["Retry-After"] == "59"
        assert rate_headers(response) == ("2", "0", RESET)


def test_answers_refused_before_routing_carry_the_headers_too(store, clock):
    api = limited_client(store, per_minute=10)
    too_deep = api.post("/api/v1/orders", "[" * 40, content_type="application/json")
    not_object = api.put("/api/v1/webhooks/x", "7", content_type="application/json")
    assert [too_deep.status_code, not_object.status_code] == [400, 400]
    assert [rate_headers(too_deep), rate_headers(not_object)] == [("10", "9", RESET), ("10", "8", RESET)]


def test_unknown_or_missing_keys_on_unknown_routes_are_not_counted(anon_api, clock):
    wrong = ApiClient("sk_test_" + "x" * 32)
    for client in (anon_api, wrong):
        response = client.get("/api/v1/nope")
        assert response.status_code == 404
        assert "X-RateLimit-Limit" not in response.headers
    assert RateLimitCounter.objects.count() == 0


def test_a_request_counted_by_the_api_is_not_counted_again(store, clock):
    api = limited_client(store, per_minute=10)
    api.get("/api/v1/webhooks")
    api.get("/api/v1/orders/00000000-0000-0000-0000-000000000000")  # 404 from the operation
    assert rate_headers(api.get("/api/v1/webhooks")) == ("10", "7", RESET)


def test_a_framework_500_under_api_is_the_envelope(api, monkeypatch):
    # given a failure outside the API's own handlers (here: in one of Django's middleware)
    def explode(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(XFrameOptionsMiddleware, "process_response", explode)
    client = ApiClient(api.defaults["HTTP_X_API_KEY"], raise_request_exception=False)
    # when
    response = client.get("/api/v1/orders")
    # then
    assert response.status_code == 500
    assert response.json() == {
        "success": False,
        "message": "An internal error occurred.",
        "errorCode": "INTERNAL_ERROR",
    }


def test_pages_outside_the_api_are_left_alone(db):
    response = ApiClient(None).get("/no-such-page")
    assert response.status_code == 404
    assert not response["Content-Type"].startswith("application/json")
