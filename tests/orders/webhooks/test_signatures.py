import time

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

import secretbox
from orders.models import WebhookEndpoint
from orders.webhooks import attempt_delivery
from orders.webhooks.outbox import record_event
from orders.webhooks.signing import generate_secret, signed_headers
from tests.orders.webhooks.conftest import make_endpoint
from tests.orders.webhooks.signing_checks import assert_verifies, plain_hmac_ok


@pytest.fixture
def delivered(store, receiver):
    """One real delivery to the local receiver: (hit, secret, event)."""
    endpoint, secret = make_endpoint(store, receiver.url)
    event = record_event(order=None, store_id=store.id, event_type="order.created", data={"orderId": "o1"})
    attempt_delivery(event.deliveries.get().id)
    assert len(receiver.hits) == 1
    return receiver.hits[0], secret, event


def test_delivery_verifies_with_standardwebhooks_and_plain_hmac(delivered):
    # given
    hit, secret, event = delivered
    # when
    payload = assert_verifies(hit, secret)
    # then
    assert payload["id"] == event.id
    assert payload["type"] == "order.created"
    assert hit.headers["webhook-id"] == event.id
    assert hit.headers["x-webhook-event"] == "order.created"
    assert hit.headers["user-agent"] == "VesuvioPay-Webhooks/1.0"
    assert hit.headers["content-type"] == "application/json"


def test_changed_body_fails_both_checks(delivered):
    # given
    hit, secret, _ = delivered
    tampered = hit.body.replace(b"order.created", b"order.refunded")
    # when / then
    assert not plain_hmac_ok(secret, tampered, hit.headers["x-webhook-signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(secret).verify(tampered, hit.headers)


def test_timestamp_six_minutes_off_fails_standard_verification(delivered):
    # given: the same delivery correctly signed, but stamped 6 minutes in the past or future
    hit, secret, event = delivered
    for offset in (-360, 360):
        headers = signed_headers(
            secret=secret,
            event_id=event.id,
            event_type="order.created",
            timestamp=int(time.time()) + offset,
            body=hit.body,
        )
        # when / then
        with pytest.raises(WebhookVerificationError):
            Webhook(secret).verify(hit.body, headers)
    # and the same signing with a current timestamp passes (only the time was wrong)
    fresh = signed_headers(
        secret=secret,
        event_id=event.id,
        event_type="order.created",
        timestamp=int(time.time()),
        body=hit.body,
    )
    assert Webhook(secret).verify(hit.body, fresh)["id"] == event.id


def test_wrong_secret_fails_both_checks(delivered):
    # given
    hit, _, _ = delivered
    other = generate_secret()
    # when / then
    assert not plain_hmac_ok(other, hit.body, hit.headers["x-webhook-signature"])
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(hit.body, hit.headers)


def test_secret_format_and_encryption_at_rest(store):
    # given
    secret = generate_secret()
    # when
    endpoint, _ = make_endpoint(store, "https://hooks.invalid/x", secret=secret)
    stored = WebhookEndpoint.objects.get(id=endpoint.id).secret_encrypted
    # then
    assert secret.startswith("whsec_")
    assert len(Webhook(secret)._whsecret) == 32
    assert secret not in stored
    assert secretbox.decrypt(stored, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE) == secret


def test_decrypt_with_other_key_material_fails(settings):
    # given
    token = secretbox.encrypt("whsec_abc", purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)
    # when
    settings.FIELD_ENCRYPTION_KEYS = ["another-key-material-entirely-0123456789"]
    # then
    with pytest.raises(secretbox.SecretBoxError, match="Cannot decrypt"):
        secretbox.decrypt(token, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE)
