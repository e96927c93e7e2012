import pytest
from django.db import connection
from django.test import Client

from orders.auth import IssuedKey, api_key_create, forget_cached_keys
from orders.pagination import forget_estimates
from orders.ratelimit import forget_room
from tests import requirements
from tests.factories import StoreFactory


def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        reason = (
            "needs PostgreSQL (row locks and real concurrency); set DATABASE_URL to a PostgreSQL database"
        )
        requirements.mark_missing(items, "postgres", reason)


def pytest_runtest_setup(item):
    requirements.fail_missing_parts(item)
    # A test's rolled-back (or flushed) keys and stores must not be served from the API key cache to the
    # next test: a rollback sends no signal.
    forget_cached_keys()
    forget_estimates()
    forget_room()


class ApiClient(Client):
    """Django's test client speaking JSON to the API with one key."""

    def __init__(self, key: str | None, **defaults):
        if key is not None:
            defaults["HTTP_X_API_KEY"] = key
        super().__init__(**defaults)

    def _json(self, method, path, data=None, **extra):
        import json

        body = json.dumps(data, default=str) if data is not None else ""
        return getattr(super(), method)(path, body, content_type="application/json", **extra)

    def post_json(self, path, data=None, **extra):
        return self._json("post", path, data, **extra)

    def put_json(self, path, data=None, **extra):
        return self._json("put", path, data, **extra)

    def patch_json(self, path, data=None, **extra):
        return self._json("patch", path, data, **extra)


@pytest.fixture
def store(db):
    return StoreFactory(name="Acme", currency="USD", timezone="UTC")


@pytest.fixture
def other_store(db):
    return StoreFactory(name="Other", currency="EUR", timezone="Europe/Berlin")


@pytest.fixture
def issued_key(store) -> IssuedKey:
    return api_key_create(store=store, name="Test key")


@pytest.fixture
def api(issued_key) -> ApiClient:
    return ApiClient(issued_key.plaintext)


@pytest.fixture
def other_api(other_store) -> ApiClient:
    return ApiClient(api_key_create(store=other_store, name="Other key").plaintext)


@pytest.fixture
def anon_api() -> ApiClient:
    return ApiClient(None)
