"""secretbox: one key list for every secret stored encrypted, rotation by `reencrypt_secrets`, values of
the three derivations used before it, the settings that feed it and the error a wrong key gives."""

import base64
import hashlib
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.core.management import CommandError, call_command

import secretbox
from config.settings import field_encryption_keys
from dashboard.models import Membership, Role, StoreConnection
from dashboard.webhook_forms import SECRET_PURPOSE as SHOWN_ONCE_PURPOSE
from dashboard.webhook_forms import pop_secret, stash_secret
from orders.models import WebhookEndpoint
from secretbox.box import is_current
from tests.orders.webhooks.conftest import receiver  # noqa: F401 - the fixture
from tests.orders.webhooks.signing_checks import assert_verifies

ROOT = Path(__file__).resolve().parent.parent
OLD = "old-key-material-" + "o" * 40
NEW = "new-key-material-" + "n" * 40
WEBHOOKS = "/api/v1/webhooks"


# ---- helpers ----------------------------------------------------------------------------------------


def create_endpoint(api, url: str) -> dict:
    """Through the API, as an integrator would: the answer holds the id and the secret (shown once)."""
    response = api.post_json(WEBHOOKS, {"url": url, "eventTypes": ["order.created"]})
    assert response.status_code == 201, response.content
    return response.json()["data"]


def connect_store(store, plaintext: str) -> StoreConnection:
    """As the dashboard's `connectstore` does."""
    connection = StoreConnection(name=store.name, slug="acme", timezone=store.timezone)
    connection.set_api_key(plaintext)
    connection.save()
    return connection


def endpoint_secret(endpoint_id) -> str:
    stored = WebhookEndpoint.objects.get(id=endpoint_id).secret_encrypted
    return secretbox.decrypt(stored, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)


def reencrypt(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("reencrypt_secrets", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def assert_test_send_verifies(api, endpoint: dict, receiver) -> None:  # noqa: F811
    """A test event sent through the API arrives signed with the endpoint's secret."""
    hits_before = len(receiver.hits)
    response = api.post_json(f"{WEBHOOKS}/{endpoint['id']}/test")
    assert response.status_code == 200, response.content
    assert len(receiver.hits) == hits_before + 1
    assert assert_verifies(receiver.hits[-1], endpoint["secret"])["type"] == "webhook.test"


# The derivations used before secretbox, written out here as they were (orders/crypto.py,
# dashboard/crypto.py, dashboard/webhook_forms.py), so the test does not lean on secretbox's own copy.
def legacy_orders_token(plaintext: str, material: str) -> str:
    key = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"vesuvio-orders field encryption v1"
    ).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key)).encrypt(plaintext.encode()).decode()


def legacy_dashboard_fernet(label: bytes, material: str) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(label + b"\x00" + material.encode()).digest()))


STORE_KEY_LABEL = b"dashboard.store-connection.api-key.v1"
SHOWN_ONCE_LABEL = b"dashboard.webhook-secret-shown-once.v1"


# ---- (a) rotation -----------------------------------------------------------------------------------


def test_rotation_moves_every_secret_to_the_new_key_and_the_old_one_can_go(
    settings,
    api,
    store,
    issued_key,
    receiver,  # noqa: F811
):
    # given: an endpoint made through the API and a store connection, both written under the old key
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    endpoint = create_endpoint(api, receiver.url)
    connection = connect_store(store, issued_key.plaintext)
    # when: a new key is put first
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    # then: both still decrypt, and --check sees them waiting to be re-encrypted
    assert endpoint_secret(endpoint["id"]) == endpoint["secret"]
    assert StoreConnection.objects.get().get_api_key() == issued_key.plaintext
    out, _ = reencrypt("--check")
    assert "orders.WebhookEndpoint.secret_encrypted: 0 under the newest key, 1 to re-encrypt" in out
    assert "dashboard.StoreConnection.api_key_encrypted: 0 under the newest key, 1 to re-encrypt" in out
    # when: re-encrypted, and the old key dropped
    out, err = reencrypt()
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    # then: each column reports its one rewrite, and everything still works under the new key alone
    assert "orders.WebhookEndpoint.secret_encrypted: 1 rewritten, 0 already under the newest key" in out
    assert "dashboard.StoreConnection.api_key_encrypted: 1 rewritten, 0 already under the newest key" in out
    assert err == ""
    assert endpoint_secret(endpoint["id"]) == endpoint["secret"]
    assert_test_send_verifies(api, endpoint, receiver)
    assert StoreConnection.objects.get(pk=connection.pk).get_api_key() == issued_key.plaintext
    assert endpoint["secret"] not in out
    assert issued_key.plaintext not in out
    # and a second run rewrites nothing; --check passes
    out, _ = reencrypt()
    assert "orders.WebhookEndpoint.secret_encrypted: 0 rewritten, 1 already under the newest key" in out
    assert "dashboard.StoreConnection.api_key_encrypted: 0 rewritten, 1 already under the newest key" in out
    out, _ = reencrypt("--check")
    assert "dashboard.StoreConnection.api_key_encrypted: 1 under the newest key, 0 to re-encrypt" in out


def test_without_re_encrypting_dropping_the_old_key_loses_the_secrets(
    settings,
    api,
    store,
    issued_key,
    receiver,  # noqa: F811
):
    # given: the same secrets under the old key, and the rotation started but never re-encrypted
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    endpoint = create_endpoint(api, receiver.url)
    connection = connect_store(store, issued_key.plaintext)
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    # when: the old key is dropped
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    # then: nothing decrypts any more
    with pytest.raises(secretbox.SecretBoxError):
        endpoint_secret(endpoint["id"])
    with pytest.raises(secretbox.SecretBoxError):
        StoreConnection.objects.get().get_api_key()
    # and --check fails, naming model, field and pk, without printing a secret
    out, err = StringIO(), StringIO()
    with pytest.raises(CommandError, match="2 stored secret"):
        call_command("reencrypt_secrets", "--check", stdout=out, stderr=err)
    assert f"orders.WebhookEndpoint.secret_encrypted pk={endpoint['id']}:" in err.getvalue()
    assert f"dashboard.StoreConnection.api_key_encrypted pk={connection.pk}:" in err.getvalue()
    printed = out.getvalue() + err.getvalue()
    assert endpoint["secret"] not in printed
    assert issued_key.plaintext[16:] not in printed
    # and re-encrypting now cannot help: the unreadable rows are reported and left untouched
    stored = WebhookEndpoint.objects.get(id=endpoint["id"]).secret_encrypted
    with pytest.raises(CommandError):
        call_command("reencrypt_secrets", stdout=StringIO(), stderr=StringIO())
    assert WebhookEndpoint.objects.get(id=endpoint["id"]).secret_encrypted == stored


def test_re_encrypting_works_in_batches_smaller_than_the_table(settings, store):
    # given: five connections under the old key
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    for number in range(5):
        connection = StoreConnection(name=f"Store {number}", slug=f"store-{number}")
        connection.set_api_key(f"sk_test_{number:032d}")
        connection.save()
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    # when
    out, _ = reencrypt("--batch-size", "2")
    # then: every row was reached, across three batches
    assert "dashboard.StoreConnection.api_key_encrypted: 5 rewritten" in out
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    keys = sorted(c.get_api_key() for c in StoreConnection.objects.all())
    assert keys == [f"sk_test_{number:032d}" for number in range(5)]


# ---- (b) values written before secretbox ------------------------------------------------------------


def test_values_of_the_three_old_derivations_decrypt_and_are_re_encrypted(settings, store):
    # given: one value of each old derivation, written under what FIELD_ENCRYPTION_KEY held
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    endpoint = WebhookEndpoint.objects.create(
        store=store,
        url="https://hooks.example.com/x",
        event_types=["order.created"],
        secret_encrypted=legacy_orders_token("whsec_legacy", OLD),
    )
    store_key_fernet = legacy_dashboard_fernet(STORE_KEY_LABEL, OLD)
    connection = StoreConnection.objects.create(
        name="Acme",
        slug="acme",
        api_key_encrypted=store_key_fernet.encrypt(b"sk_test_legacy").decode(),
        api_key_prefix="sk_test_legacy",
    )
    session = SessionStore()
    session["webhook-secret:w1"] = (
        legacy_dashboard_fernet(SHOWN_ONCE_LABEL, OLD).encrypt(b"whsec_shown_once").decode()
    )
    # then: each is read by the code that owns it
    assert endpoint_secret(endpoint.id) == "whsec_legacy"
    assert connection.get_api_key() == "sk_test_legacy"
    assert pop_secret(session, "w1") == "whsec_shown_once"
    # when: a new key comes first and the stored columns are re-encrypted
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    out, _ = reencrypt()
    # then: both columns were rewritten to the current derivation under the new key
    assert "orders.WebhookEndpoint.secret_encrypted: 1 rewritten" in out
    assert "dashboard.StoreConnection.api_key_encrypted: 1 rewritten" in out
    stored_key = StoreConnection.objects.get(pk=connection.pk).api_key_encrypted
    with pytest.raises(InvalidToken):
        store_key_fernet.decrypt(stored_key.encode())
    assert is_current(stored_key, purpose=StoreConnection.ENCRYPTION_PURPOSE)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert endpoint_secret(endpoint.id) == "whsec_legacy"
    assert StoreConnection.objects.get(pk=connection.pk).get_api_key() == "sk_test_legacy"


def test_a_value_of_the_old_derivation_does_not_open_under_another_purpose(settings):
    # given: a store key of the old dashboard derivation
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = legacy_dashboard_fernet(STORE_KEY_LABEL, OLD).encrypt(b"sk_test_legacy").decode()
    # then: only its own purpose reads it (purposes never share a key, old or new)
    assert secretbox.decrypt(token, purpose=StoreConnection.ENCRYPTION_PURPOSE) == "sk_test_legacy"
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.decrypt(token, purpose=SHOWN_ONCE_PURPOSE)
    with pytest.raises(secretbox.SecretBoxError):
        secretbox.decrypt(token, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)


def test_new_values_use_the_newest_key_and_the_current_derivation(settings):
    # given
    settings.FIELD_ENCRYPTION_KEYS = [NEW, OLD]
    # when
    session = SessionStore()
    stash_secret(session, "w1", "whsec_new")
    token = session["webhook-secret:w1"]
    # then: the old derivation under either key does not open it; the newest key alone does
    for material in (NEW, OLD):
        with pytest.raises(InvalidToken):
            legacy_dashboard_fernet(SHOWN_ONCE_LABEL, material).decrypt(token.encode())
    assert is_current(token, purpose=SHOWN_ONCE_PURPOSE)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    assert pop_secret(session, "w1") == "whsec_new"
    assert pop_secret(session, "w1") is None  # shown once


# ---- (c) settings -----------------------------------------------------------------------------------


def test_keys_are_comma_separated_newest_first_with_blanks_dropped():
    env = {"FIELD_ENCRYPTION_KEYS": " new-key , ,old-key,", "FIELD_ENCRYPTION_KEY": "single"}
    assert field_encryption_keys(env, "the-secret-key") == ["new-key", "old-key"]


def test_the_single_old_variable_still_works_and_secret_key_stays_the_default():
    assert field_encryption_keys({"FIELD_ENCRYPTION_KEY": "single"}, "the-secret-key") == ["single"]
    assert field_encryption_keys({"FIELD_ENCRYPTION_KEYS": " , "}, "the-secret-key") == ["the-secret-key"]
    assert field_encryption_keys({}, "the-secret-key") == ["the-secret-key"]
    # set but empty is unset, not an empty key
    assert field_encryption_keys({"FIELD_ENCRYPTION_KEY": " "}, "the-secret-key") == ["the-secret-key"]


def test_data_written_under_the_single_old_variable_decrypts_after_the_upgrade(settings):
    # given: a webhook secret written by the old code with FIELD_ENCRYPTION_KEY=OLD
    token = legacy_orders_token("whsec_before", OLD)
    # when: the same environment is read by the new settings
    settings.FIELD_ENCRYPTION_KEYS = field_encryption_keys({"FIELD_ENCRYPTION_KEY": OLD}, "unused")
    # then
    assert secretbox.decrypt(token, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE) == "whsec_before"


def test_settings_read_the_environment_variables():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "FIELD_ENCRYPTION_KEY": "single-key"}
    env.pop("FIELD_ENCRYPTION_KEYS", None)
    code = "from django.conf import settings; print(settings.FIELD_ENCRYPTION_KEYS)"
    for extra, expected in (({}, "['single-key']"), ({"FIELD_ENCRYPTION_KEYS": "b, a"}, "['b', 'a']")):
        result = subprocess.run(  # noqa: S603 - this interpreter, fixed arguments
            [sys.executable, "manage.py", "shell", "-c", code],
            cwd=ROOT,
            env={**env, **extra},
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stderr
        assert result.stdout.strip().splitlines()[-1] == expected


# ---- (d) a wrong key --------------------------------------------------------------------------------


def test_a_wrong_key_gives_one_clear_error_without_the_fernet_traceback(settings):
    # given
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    token = secretbox.encrypt("whsec_abc", purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    # when
    with pytest.raises(secretbox.SecretBoxError) as caught:
        secretbox.decrypt(token, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)
    # then: it says what to do, names the purpose, holds neither value nor token, chains nothing
    message = str(caught.value)
    assert "FIELD_ENCRYPTION_KEYS=new,old" in message
    assert "manage.py reencrypt_secrets" in message
    assert WebhookEndpoint.ENCRYPTION_PURPOSE in message
    assert "whsec_abc" not in message
    assert token not in message
    assert isinstance(caught.value, ValueError)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__ is True
    # and damaged values give the same error
    for damaged in ("", "not a token", token[:-4] + "AAAA"):
        with pytest.raises(secretbox.SecretBoxError):
            secretbox.decrypt(damaged, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)


def test_a_wrong_key_shows_staff_a_page_that_says_what_to_do(client, settings, store, issued_key):
    # given: a member of a store whose key was written under a key since dropped
    settings.FIELD_ENCRYPTION_KEYS = [OLD]
    connection = connect_store(store, issued_key.plaintext)
    user = get_user_model().objects.create_user("ann@example.com", "ann@example.com", "pw-123456789")
    Membership.objects.create(user=user, store=connection, role=Role.ADMIN)
    settings.FIELD_ENCRYPTION_KEYS = [NEW]
    client.force_login(user)
    # when
    response = client.get("/stores/acme/orders/")
    # then: the failure page, not a server error
    assert response.status_code == 502
    page = response.content.decode()
    assert "reencrypt_secrets" in page
    assert "connectstore" in page
    assert "InvalidToken" not in page
    assert "Traceback" not in page


def test_an_empty_or_string_key_setting_is_refused(settings):
    from django.core.exceptions import ImproperlyConfigured

    for bad in ([], "a-single-string-not-a-list", [""], ["new-key", "  "]):
        settings.FIELD_ENCRYPTION_KEYS = bad
        with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS"):
            secretbox.encrypt("x", purpose="test")
