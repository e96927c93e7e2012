"""Encryption of secrets the API must read back (webhook signing secrets).

They cannot be hashed like API keys: the worker needs the plaintext to sign. Fernet (AES-128-CBC +
HMAC-SHA256, authenticated) with a key derived by HKDF from settings.FIELD_ENCRYPTION_KEY, so the
setting can be any long random string and one setting can feed differently-labelled keys.
"""

import base64
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings

_HKDF_INFO = b"vesuvio-orders field encryption v1"


@cache
def _fernet(material: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO).derive(material.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def encrypt(plaintext: str) -> str:
    return _fernet(settings.FIELD_ENCRYPTION_KEY).encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The plaintext; raises ValueError when the token was not made with the current key material."""
    try:
        return _fernet(settings.FIELD_ENCRYPTION_KEY).decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ValueError("Cannot decrypt: FIELD_ENCRYPTION_KEY changed or the value is corrupt.") from exc
