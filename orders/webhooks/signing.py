"""Webhook secrets and the two signature schemes of spec §4.

- `X-Webhook-Signature: sha256=<hex>`: HMAC-SHA256 of the raw body, keyed with the secret string as
  shown to the user (`whsec_…`, UTF-8). The simple check most integrations already have.
- Standard Webhooks (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64>`): HMAC-SHA256
  of `id.timestamp.body`, keyed with the base64-decoded bytes after `whsec_`, exactly as the
  `standardwebhooks` libraries verify it. The timestamp lets receivers refuse replays (their default
  tolerance is 5 minutes); the id is the event id, stable across retries, so receivers can deduplicate.
"""

import base64
import hashlib
import hmac
import secrets

SECRET_PREFIX = "whsec_"  # noqa: S105 - a prefix, not a secret
SECRET_BYTES = 32
USER_AGENT = "VesuvioPay-Webhooks/1.0"


def generate_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(SECRET_BYTES)).decode()


def _secret_bytes(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(SECRET_PREFIX))


def body_signature(secret: str, body: bytes) -> str:
    """The value of `X-Webhook-Signature`."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def standard_signature(secret: str, *, msg_id: str, timestamp: int, body: bytes) -> str:
    """The value of `webhook-signature`."""
    signed = f"{msg_id}.{timestamp}.".encode() + body
    digest = hmac.new(_secret_bytes(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signed_headers(*, secret: str, event_id: str, event_type: str, timestamp: int, body: bytes) -> dict:
    return {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        "X-Webhook-Event": event_type,
        "X-Webhook-Signature": body_signature(secret, body),
        "webhook-id": event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": standard_signature(secret, msg_id=event_id, timestamp=timestamp, body=body),
    }
