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
