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


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/v1/orders?search=a%00b", None),
        ("/api/v1/orders/abc%00", None),
        ("/api/v1/orders", {"externalOrderId": "x\u0000y"}),
    ],
)
def test_nul_characters_are_a_validation_error_not_a_500(api, path, body):
    response = api.get(path) if body is None else api.post_json(path, body)
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"


def test_an_escaped_backslash_before_u0000_is_ordinary_text(api):
    # "\\u0000" in JSON is a backslash followed by the letters u0000, not a NUL: the request goes through.
    response = api.post(
        "/api/v1/sdk/products/sync", '{"products": [], "x": "\\\\u0000"}', content_type="application/json"
    )
    assert response.status_code == 200
