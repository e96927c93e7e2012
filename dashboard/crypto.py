"""Encryption at rest for the store connections' API keys (Fernet: AES-128-CBC + HMAC-SHA256).

The Fernet key is derived from settings.FIELD_ENCRYPTION_KEY with a purpose label, so the same setting
can feed other uses (the API's webhook secrets) without two uses ever sharing a key.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings

PURPOSE = b"dashboard.store-connection.api-key.v1"


class DecryptionFailed(Exception):
    """The ciphertext was made with other key material (FIELD_ENCRYPTION_KEY changed) or is damaged."""


def _fernet() -> Fernet:
    material = hashlib.sha256(PURPOSE + b"\x00" + settings.FIELD_ENCRYPTION_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(material))


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode("ascii")


def decrypt(ciphertext: str) -> str:
    try:
        return _fernet().decrypt(ciphertext.encode("ascii")).decode()
    except (InvalidToken, ValueError):
        raise DecryptionFailed(
            "The stored API key cannot be decrypted: FIELD_ENCRYPTION_KEY changed or the value is damaged. "
            "Set the key again with `manage.py connectstore`."
        ) from None
