"""One box for the secrets this project stores encrypted and must read back (webhook signing secrets,
the dashboard's store keys, a secret waiting in the session to be shown once).

`encrypt`/`decrypt`/`reencrypt` take a purpose label; each app registers its encrypted columns with
`register` from its AppConfig.ready(), and `manage.py reencrypt_secrets` moves them all to the newest
key of settings.FIELD_ENCRYPTION_KEYS. This package imports neither `orders` nor `dashboard`.
"""

from secretbox.box import SecretBoxError, decrypt, encrypt, reencrypt
from secretbox.registry import EncryptedField, register, registered

__all__ = [
    "EncryptedField",
    "SecretBoxError",
    "decrypt",
    "encrypt",
    "reencrypt",
    "register",
    "registered",
]
