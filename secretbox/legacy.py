"""The key derivations used before secretbox (issue 9), by purpose, so that values they wrote still
decrypt and `manage.py reencrypt_secrets` can move them to the current derivation.

Each takes one key material (what FIELD_ENCRYPTION_KEY held) and returns the 32-byte Fernet key. They
are tried with every key in FIELD_ENCRYPTION_KEYS, after the current derivation. Remove an entry once
`manage.py reencrypt_secrets --check` reports nothing left to rewrite wherever the project runs (for the
session purpose: once sessions older than the upgrade have expired).
"""

import hashlib
from collections.abc import Callable

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

Derivation = Callable[[bytes], bytes]


def _hkdf(info: bytes) -> Derivation:
    """orders/crypto.py: HKDF-SHA256 with a fixed info label, no salt."""

    def derive(material: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(material)

    return derive


def _sha256_label(label: bytes) -> Derivation:
    """dashboard/crypto.py and dashboard/webhook_forms.py: sha256(label + NUL + material)."""

    def derive(material: bytes) -> bytes:
        return hashlib.sha256(label + b"\x00" + material).digest()

    return derive


LEGACY_DERIVATIONS: dict[str, Derivation] = {
    "orders.webhook-endpoint.secret": _hkdf(b"vesuvio-orders field encryption v1"),
    "dashboard.store-connection.api-key": _sha256_label(b"dashboard.store-connection.api-key.v1"),
    "dashboard.webhook-secret-shown-once": _sha256_label(b"dashboard.webhook-secret-shown-once.v1"),
}
