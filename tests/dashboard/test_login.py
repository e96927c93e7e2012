"""Sign in, sign out, throttling, the store picker."""

import pytest
from django.contrib.auth import get_user_model
from django.core.cache import cache

from dashboard.models import Membership
from tests.dashboard.conftest import PASSWORD, make_member


@pytest.fixture(autouse=True)
def clear_cache():
    cache.clear()


def test_sign_in_with_one_store_goes_straight_to_its_orders(client, viewer):
    response = client.post("/login/", {"username": viewer.username, "password": PASSWORD}, follow=True)
    assert response.redirect_chain[-1][0] == "/stores/acme/orders/"


def test_wrong_password_shows_an_error(client, viewer):
    response = client.post("/login/", {"username": viewer.username, "password": "nope"})
    assert response.status_code == 200
    # the page asks for an Email: the error names the same field, not Django's "username"
    html = response.content.decode()
    assert "Enter a correct email and password" in html
    assert "username and password" not in html


def test_five_failures_lock_the_account_from_that_address(client, viewer):
    for _ in range(5):
        client.post("/login/", {"username": viewer.username, "password": "wrong"})
    # even the right password is refused while locked
    response = client.post("/login/", {"username": viewer.username, "password": PASSWORD})
    assert response.status_code == 200
    assert "Too many failed sign-ins" in response.content.decode()
    # another address is not locked out
    other = client.post(
        "/login/", {"username": viewer.username, "password": PASSWORD}, REMOTE_ADDR="10.0.0.9"
    )
    assert other.status_code == 302


def test_sign_out_needs_post_and_ends_the_session(viewer_client):
    assert viewer_client.get("/logout/").status_code == 405
    assert viewer_client.post("/logout/").status_code == 302
    assert viewer_client.get("/stores/acme/orders/").status_code == 302


def test_picker_lists_every_store_of_the_user(client, connection, other_connection):
    user = make_member("multi@example.com", connection, "viewer")
    Membership.objects.create(user=user, store=other_connection, role="admin")
    client.force_login(user)
    html = client.get("/").content.decode()
    assert "/stores/acme/orders/" in html
    assert "/stores/other/orders/" in html
    # the header switcher too, on a store page
    page = client.get("/stores/acme/orders/").content.decode()
    assert 'class="switcher"' in page
    assert "/stores/other/orders/" in page


def test_picker_without_stores_explains(client, db):
    user = get_user_model().objects.create_user("lonely@example.com", password=PASSWORD)
    client.force_login(user)
    assert "not a member of any store" in client.get("/").content.decode()
