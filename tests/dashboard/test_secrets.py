"""The store's API key: encrypted at rest, never in a page, an admin screen, an error page or a log line."""

import logging
import socket

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db

from dashboard.models import StoreConnection
from secretbox import SecretBoxError
from tests.factories import make_order


def test_key_is_stored_encrypted_with_only_the_prefix_visible(connection, issued_key):
    with db.cursor() as cursor:
        cursor.execute("SELECT api_key_encrypted, api_key_prefix FROM dashboard_storeconnection")
        ciphertext, prefix = cursor.fetchone()
    assert issued_key.plaintext not in ciphertext
    assert prefix == issued_key.plaintext[:16]
    assert StoreConnection.objects.get().get_api_key() == issued_key.plaintext
    assert issued_key.plaintext not in repr(connection)
    assert issued_key.plaintext not in str(connection)


def test_changed_encryption_key_fails_with_a_clear_error(connection, settings):
    settings.FIELD_ENCRYPTION_KEYS = ["another-key-material"]
    with pytest.raises(SecretBoxError, match="connectstore"):
        StoreConnection.objects.get().get_api_key()


def test_key_never_appears_in_pages_or_logs(client, connection, admin_member, issued_key, store, caplog):
    # given every kind of page a user or an admin can see, including failures
    caplog.set_level(logging.DEBUG)
    order = make_order(store, metadata={"note": "hello"})
    client.force_login(admin_member)
    pages = [
        client.get("/"),
        client.get("/stores/acme/orders/"),
        client.get(
            "/stores/acme/orders/",
            {"status": "shipped"},
            HTTP_HX_REQUEST="true",
            HTTP_HX_TARGET="orders-table",
        ),
        client.get(f"/stores/acme/orders/{order.id}/"),
        client.get("/stores/acme/orders/00000000-0000-0000-0000-000000000000/"),
        client.get("/stores/acme/orders/export.csv"),
    ]
    superuser = get_user_model().objects.create_superuser(
        "root@example.com", "root@example.com", "pw-123456789"
    )
    client.force_login(superuser)
    pages += [
        client.get("/admin/dashboard/storeconnection/"),
        client.get(f"/admin/dashboard/storeconnection/{connection.pk}/change/"),
    ]
    # and the API unreachable (error page and warning log)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    connection.api_base_url = f"http://127.0.0.1:{port}"
    connection.save()
    client.force_login(admin_member)
    pages.append(client.get("/stores/acme/orders/"))
    # then
    key = issued_key.plaintext
    secret_part = key[16:]  # beyond the visible prefix
    for response in pages:
        body = b"".join(response.streaming_content) if response.streaming else response.content
        assert secret_part.encode() not in body, response.request["PATH_INFO"]
    assert "sk_test_" in pages[-2].content.decode()  # the admin shows the prefix
    logged = "\n".join(f"{r.getMessage()} {r.args}" for r in caplog.records)
    assert caplog.records, "expected log lines to check"
    assert secret_part not in logged


def test_admin_sets_the_key_write_only(client, connection):
    # given
    superuser = get_user_model().objects.create_superuser(
        "root@example.com", "root@example.com", "pw-123456789"
    )
    client.force_login(superuser)
    new_key = "sk_test_" + "N" * 32
    url = f"/admin/dashboard/storeconnection/{connection.pk}/change/"
    # when: saved without a key, the old one stays; saved with one, it is replaced
    form = {
        "name": "Acme",
        "slug": "acme",
        "api_base_url": "",
        "timezone": "UTC",
        "api_key": "",
        "memberships-TOTAL_FORMS": "0",
        "memberships-INITIAL_FORMS": "0",
    }
    old = StoreConnection.objects.get().api_key_encrypted
    assert client.post(url, form).status_code == 302
    assert StoreConnection.objects.get().api_key_encrypted == old
    assert client.post(url, {**form, "api_key": new_key}).status_code == 302
    # then
    stored = StoreConnection.objects.get()
    assert stored.get_api_key() == new_key
    assert stored.api_key_prefix == new_key[:16]
    assert new_key not in client.get(url).content.decode()
