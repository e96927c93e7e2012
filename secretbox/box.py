"""Encryption of secrets that must be read back (they cannot be hashed: the worker signs with them).

Fernet (AES-128-CBC + HMAC-SHA256, authenticated) in a MultiFernet over settings.FIELD_ENCRYPTION_KEYS,
newest key first. Each key is any long random string; the Fernet key is derived from it by HKDF with the
purpose in the info, so one setting feeds differently-labelled keys and no two uses share one.

- New values are always written under the newest key with the current derivation.
- Reading accepts every key in the list, and also the derivations used before this box
  (secretbox/legacy.py), so data already stored keeps working until `reencrypt_secrets` moves it.
- Rotating: put the new key first (FIELD_ENCRYPTION_KEYS=new,old), deploy, run
  `manage.py reencrypt_secrets`, then drop the old key.

Nothing here logs; error messages never carry a plaintext or a token.
"""

import base64
import functools
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from secretbox.legacy import LEGACY_DERIVATIONS

_HKDF_INFO_PREFIX = b"vesuvio secretbox v1\x00"


class SecretBoxError(ValueError):
    """A stored value does not decrypt with the keys in FIELD_ENCRYPTION_KEYS (a key was removed or
    changed) or is damaged. The message says what to do and names the purpose, never the value."""


@dataclass(frozen=True)
class _Box:
    newest: Fernet  # the newest key, current derivation: what `encrypt` writes
    readable: MultiFernet  # newest first, then older keys, then the legacy derivations


def _derive(material: str, purpose: str) -> bytes:
    hkdf = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_HKDF_INFO_PREFIX + purpose.encode())
    return hkdf.derive(material.encode())


def _fernet(key: bytes) -> Fernet:
    return Fernet(base64.urlsafe_b64encode(key))


# Keyed on the key materials themselves, so a changed setting (a deploy, a test's override) builds new
# Fernets instead of reusing stale ones.
@functools.lru_cache(maxsize=64)
def _box_for(keys: tuple[str, ...], purpose: str) -> _Box:
    fernets = [_fernet(_derive(material, purpose)) for material in keys]
    legacy = LEGACY_DERIVATIONS.get(purpose)
    if legacy is not None:
        fernets += [_fernet(legacy(material.encode())) for material in keys]
    return _Box(newest=fernets[0], readable=MultiFernet(fernets))


def _box(purpose: str) -> _Box:
    if not isinstance(purpose, str) or not purpose:
        raise TypeError("purpose must be a non-empty string")
    keys = getattr(settings, "FIELD_ENCRYPTION_KEYS", None)
    # A bare string would be read as a list of one-character keys.
    if isinstance(keys, str) or not keys or not all(isinstance(key, str) and key.strip() for key in keys):
        raise ImproperlyConfigured(
            "FIELD_ENCRYPTION_KEYS must be a non-empty list of non-empty key strings, newest first."
        )
    return _box_for(tuple(keys), purpose)


def _error(purpose: str) -> SecretBoxError:
    return SecretBoxError(
        f"Cannot decrypt a stored secret ({purpose}): no key in FIELD_ENCRYPTION_KEYS opens it, or it is "
        "damaged. If the key was changed, list the previous key after the new one "
        "(FIELD_ENCRYPTION_KEYS=new,old) and run `manage.py reencrypt_secrets`; "
        "otherwise set the secret again."
    )


def encrypt(plaintext: str, *, purpose: str) -> str:
    """A Fernet token of `plaintext` under the newest key, labelled with `purpose`."""
    return _box(purpose).newest.encrypt(plaintext.encode()).decode("ascii")


def decrypt(token: str, *, purpose: str) -> str:
    """The plaintext of a token written by `encrypt` (any listed key) or by a legacy derivation of the
    same purpose. Raises SecretBoxError (a ValueError) when none opens it."""
    box = _box(purpose)
    try:
        return box.readable.decrypt(token.encode()).decode()
    except (InvalidToken, UnicodeError):
        # `from None`: InvalidToken carries nothing useful, and the message above says what to do.
        raise _error(purpose) from None


def is_current(token: str, *, purpose: str) -> bool:
    """True when the token is already under the newest key with the current derivation."""
    try:
        _box(purpose).newest.decrypt(token.encode())
    except (InvalidToken, UnicodeError):
        return False
    return True


def reencrypt(token: str, *, purpose: str) -> str:
    """The same secret under the newest key and the current derivation (MultiFernet.rotate). A token
    already there is returned unchanged, so re-encrypting twice rewrites nothing the second time.
    Raises SecretBoxError when no listed key opens the token."""
    if is_current(token, purpose=purpose):
        return token
    try:
        return _box(purpose).readable.rotate(token.encode()).decode("ascii")
    except (InvalidToken, UnicodeError):
        raise _error(purpose) from None
