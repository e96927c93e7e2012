"""The envelope and request id hold for responses the framework makes itself."""

import pytest

pytestmark = pytest.mark.django_db


def test_unknown_route_under_api_is_enveloped_404(api):
    response = api.get("/api/v1/nope")
    assert response.status_code == 404
    assert response.json() == {
        "success": False,
        "message": "No API route matches /api/v1/nope. See /api/v1/docs.",
        "errorCode": "NOT_FOUND",
    }


def test_request_id_is_echoed_or_generated(api):
    echoed = api.get("/api/v1/nope", HTTP_X_REQUEST_ID="abc-123")
    generated = api.get("/api/v1/nope")
    assert echoed["X-Request-Id"] == "abc-123"
    assert len(generated["X-Request-Id"]) == 32


def test_openapi_document_is_served(api):
    response = api.get("/api/v1/openapi.json")
    assert response.status_code == 200
    assert response.json()["info"]["title"] == "Orders API"


def test_nul_characters_in_a_body_are_a_validation_error_naming_the_field(api):
    # given a write whose body carries NUL characters (PostgreSQL text cannot store them)
    body = {"externalOrderId": "x\u0000y", "items": [{"name": "a\u0000"}], "total": 1}
    # when
    response = api.post_json("/api/v1/orders", body)
    # then a 400 naming each field, never a 500
    assert response.status_code == 400
    payload = response.json()
    assert payload["errorCode"] == "VALIDATION_ERROR"
    assert [e["field"] for e in payload["errors"]] == ["externalOrderId", "items[0].name"]


def test_nul_characters_in_queries_and_paths_never_reach_the_database(api):
    assert api.get("/api/v1/orders", {"search": "a\x00b"}).status_code == 400
    assert api.get("/api/v1/orders/abc%00").status_code == 404


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api):
    # "\\u0000" in JSON is a backslash followed by the letters u0000, not a NUL: the request goes through.
    response = api.post(
        "/api/v1/sdk/products/sync", '{"products": [], "x": "\\\\u0000"}', content_type="application/json"
    )
    assert response.status_code == 200
