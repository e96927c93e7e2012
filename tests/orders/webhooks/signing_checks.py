"""How a receiver checks a delivery: the two schemes of spec §4, as integrators would write them."""

import hashlib
import hmac

from standardwebhooks import Webhook


def plain_hmac_ok(secret: str, body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


def assert_verifies(hit, secret: str) -> dict:
    """Both schemes accept the delivery; returns the parsed payload."""
    assert plain_hmac_ok(secret, hit.body, hit.headers["x-webhook-signature"])
    return Webhook(secret).verify(hit.body, hit.headers)
