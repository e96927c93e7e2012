"""connectstore, grant and setup_demo_dashboard."""

import json

import pytest
from django.contrib.auth import authenticate
from django.core.management import CommandError, call_command

from dashboard.models import Membership, StoreConnection
from orders.auth import api_key_create
from tests.factories import StoreFactory


def test_connectstore_creates_then_updates(db, capsys):
    key = "sk_test_" + "a" * 32
    call_command("connectstore", "Acme", slug="acme", api_key=key, timezone="Europe/Berlin")
    call_command("connectstore", "Acme Shop", slug="acme", api_key=key, base_url="https://api.example.com")
    conn = StoreConnection.objects.get()
    assert (conn.name, conn.api_base_url, conn.get_api_key()) == ("Acme Shop", "https://api.example.com", key)
    output = capsys.readouterr().out
    assert key[16:] not in output
    assert "sk_test_aaaaaaaa" in output


def test_connectstore_refuses_public_keys_and_bad_timezones(db):
    with pytest.raises(CommandError, match="private key"):
        call_command("connectstore", "Acme", slug="acme", api_key="pk_test_" + "a" * 32)
    with pytest.raises(CommandError, match="time zone"):
        call_command("connectstore", "Acme", slug="acme", api_key="sk_test_" + "a" * 32, timezone="Mars/Base")


def test_grant_creates_the_user_and_changes_the_role(db):
    call_command("connectstore", "Acme", slug="acme", api_key="sk_test_" + "a" * 32)
    call_command("grant", "Ann@Example.com", "acme", "viewer", password="s3cret-pass-word")
    call_command("grant", "ann@example.com", "acme", "admin")
    membership = Membership.objects.get()
    assert (membership.user.username, membership.role) == ("ann@example.com", "admin")
    assert authenticate(username="ann@example.com", password="s3cret-pass-word") is not None


def test_grant_unknown_store_fails(db):
    with pytest.raises(CommandError, match="connectstore"):
        call_command("grant", "ann@example.com", "nope", "viewer")


def test_setup_demo_dashboard_is_idempotent(db, tmp_path, capsys):
    # given the seeder's credentials file for two stores
    stores = []
    for name, tz in (("Demo Coffee", "Europe/Rome"), ("Demo Books", "America/New_York")):
        store = StoreFactory(name=name, timezone=tz)
        key = api_key_create(store=store).plaintext
        stores.append(
            {
                "storeId": str(store.id),
                "name": name,
                "slug": "",
                "timezone": tz,
                "currency": "EUR",
                "apiKey": key,
            }
        )
    path = tmp_path / "demo-credentials.json"
    path.write_text(json.dumps({"stores": stores}))
    # when run twice
    call_command("setup_demo_dashboard", credentials=str(path))
    call_command("setup_demo_dashboard", credentials=str(path))
    # then
    assert StoreConnection.objects.count() == 2
    roles = {
        (m.user.username, m.store.name, m.role) for m in Membership.objects.select_related("user", "store")
    }
    assert roles == {
        ("admin@demo.test", "Demo Coffee", "admin"),
        ("admin@demo.test", "Demo Books", "admin"),
        ("support@demo.test", "Demo Coffee", "support"),
        ("viewer@demo.test", "Demo Coffee", "viewer"),
    }
    assert authenticate(username="viewer@demo.test", password="demo-password-123") is not None
    assert "viewer@demo.test" in capsys.readouterr().out


def test_setup_demo_dashboard_without_file_says_what_to_do(db, tmp_path):
    with pytest.raises(CommandError, match="seed_demo"):
        call_command("setup_demo_dashboard", credentials=str(tmp_path / "missing.json"))
