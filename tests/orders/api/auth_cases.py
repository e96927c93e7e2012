"""Shared authentication cases: every read operation refuses a missing, wrong, revoked or public key."""

import pytest

from orders.auth import api_key_create, api_key_revoke
from tests.conftest import ApiClient

REFUSALS = {
    "missing": (401, "INVALID_API_KEY"),
    "wrong": (401, "INVALID_API_KEY"),
    "malformed": (401, "INVALID_API_KEY"),
    "revoked": (401, "INVALID_API_KEY"),
    "public": (403, "INSUFFICIENT_PERMISSIONS"),
}

key_kinds = pytest.mark.parametrize("key_kind", list(REFUSALS))


def client_with(key_kind: str, store) -> ApiClient:
    if key_kind == "missing":
        return ApiClient(None)
    if key_kind == "wrong":
        return ApiClient("sk_test_" + "x" * 32)
    if key_kind == "malformed":
        return ApiClient("not-a-key")
    if key_kind == "revoked":
        issued = api_key_create(store=store, name="Revoked")
        api_key_revoke(prefix=issued.api_key.prefix)
        return ApiClient(issued.plaintext)
    return ApiClient(api_key_create(store=store, name="Public", public=True).plaintext)


def assert_refused(response, key_kind: str) -> None:
    status, code = REFUSALS[key_kind]
    assert response.status_code == status
    body = response.json()
    assert body["success"] is False
    assert body["errorCode"] == code
    assert "data" not in body


def assert_validation_error(response, field: str) -> None:
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["errorCode"] == "VALIDATION_ERROR"
    assert field in [e["field"] for e in body["errors"]], body
