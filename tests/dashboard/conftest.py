"""Dashboard fixtures: a store of the real API (tests may use orders' factories to make API-side data),
its connection in the dashboard (embedded: the client calls the API in-process), and one user per role."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from dashboard.models import Membership, Role, StoreConnection
from orders.auth import api_key_create

PASSWORD = "correct-horse-battery"


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test starts with an empty cache: the API vocabulary one test cached (dashboard/vocabulary.py),
    keyed by connection id, must not answer for the next test's API."""
    cache.clear()


@pytest.fixture
def connection(store, issued_key) -> StoreConnection:
    conn = StoreConnection(name=store.name, slug="acme", timezone=store.timezone)
    conn.set_api_key(issued_key.plaintext)
    conn.save()
    return conn


@pytest.fixture
def other_connection(other_store) -> StoreConnection:
    conn = StoreConnection(name=other_store.name, slug="other", timezone=other_store.timezone)
    conn.set_api_key(api_key_create(store=other_store, name="Other dashboard key").plaintext)
    conn.save()
    return conn


def make_member(email: str, connection: StoreConnection | None, role: str | None):
    user = get_user_model().objects.create_user(username=email, email=email, password=PASSWORD)
    if connection is not None and role is not None:
        Membership.objects.create(user=user, store=connection, role=role)
    return user


@pytest.fixture
def viewer(connection):
    return make_member("viewer@example.com", connection, Role.VIEWER)


@pytest.fixture
def support(connection):
    return make_member("support@example.com", connection, Role.SUPPORT)


@pytest.fixture
def admin_member(connection):
    return make_member("admin@example.com", connection, Role.ADMIN)


@pytest.fixture
def outsider(other_connection):
    """Signed in, member of another store only."""
    return make_member("outsider@example.com", other_connection, Role.ADMIN)


@pytest.fixture
def viewer_client(client, viewer):
    client.force_login(viewer)
    return client


@pytest.fixture
def support_client(client, support):
    client.force_login(support)
    return client


@pytest.fixture
def admin_client_member(client, admin_member):
    client.force_login(admin_member)
    return client
