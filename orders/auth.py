"""API keys: generation, keyed hashing, lookup. Only the prefix and the HMAC of a key are stored.

The check runs on every request, so the hash is a fast keyed HMAC-SHA256 (the key is 190 random bits;
a slow password hasher buys nothing and costs ~300 ms a request).
"""

import hashlib
import hmac
import secrets
import string
from dataclasses import dataclass

from django.conf import settings
from django.utils import timezone

from orders.models import ApiKey, Store

KEY_ALPHABET = string.ascii_letters + string.digits
KEY_RANDOM_LENGTH = 32
VISIBLE_RANDOM_CHARS = 8
KEY_KINDS = {"sk": ApiKey.Kind.SECRET, "pk": ApiKey.Kind.PUBLIC}
KEY_MODES = ("live", "test")
# Avoid a write per request: last_used_at is refreshed at most once a minute.
LAST_USED_RESOLUTION_SECONDS = 60


@dataclass(frozen=True)
class IssuedKey:
    api_key: ApiKey
    plaintext: str  # shown once, never stored


def hash_key(plaintext: str) -> str:
    return hmac.new(settings.API_KEY_HASH_SECRET.encode(), plaintext.encode(), hashlib.sha256).hexdigest()


def looks_like_key(plaintext: str) -> bool:
    parts = plaintext.split("_")
    return (
        len(parts) == 3
        and parts[0] in KEY_KINDS
        and parts[1] in KEY_MODES
        and len(parts[2]) == KEY_RANDOM_LENGTH
        and all(c in KEY_ALPHABET for c in parts[2])
    )


def api_key_create(
    *,
    store: Store,
    name: str = "Default key",
    public: bool = False,
    live: bool = False,
    tier: str = ApiKey.Tier.STANDARD,
) -> IssuedKey:
    kind = "pk" if public else "sk"
    mode = "live" if live else "test"
    random_part = "".join(secrets.choice(KEY_ALPHABET) for _ in range(KEY_RANDOM_LENGTH))
    plaintext = f"{kind}_{mode}_{random_part}"
    api_key = ApiKey.objects.create(
        store=store,
        name=name,
        kind=KEY_KINDS[kind],
        prefix=plaintext[: len(kind) + len(mode) + 2 + VISIBLE_RANDOM_CHARS],
        key_hash=hash_key(plaintext),
        tier=tier,
    )
    return IssuedKey(api_key=api_key, plaintext=plaintext)


def api_key_authenticate(plaintext: str | None) -> ApiKey | None:
    """The active key for this plaintext (with its store loaded), or None if missing/unknown/revoked."""
    if not plaintext or not looks_like_key(plaintext.strip()):
        return None
    api_key = (
        ApiKey.objects.select_related("store")
        .filter(key_hash=hash_key(plaintext.strip()), revoked_at=None)
        .first()
    )
    if api_key is None:
        return None
    now = timezone.now()
    if (
        api_key.last_used_at is None
        or (now - api_key.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
        api_key.last_used_at = now
    return api_key


def api_key_revoke(*, prefix: str) -> int:
    """Revoke the key with this prefix; returns how many keys were revoked (0 or 1)."""
    return ApiKey.objects.filter(prefix=prefix, revoked_at=None).update(revoked_at=timezone.now())
