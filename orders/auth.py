"""API keys: generation, keyed hashing, lookup. Only the prefix and the HMAC of a key are stored.

The check runs on every request, so the hash is a fast keyed HMAC-SHA256 (the key is 190 random bits;
a slow password hasher buys nothing and costs ~300 ms a request), and the key's row is read from the
database at most once per `API_KEY_CACHE_SECONDS` per process: that round trip was the largest single
cost of a small API request (bench/compare.py). Revoking or saving a key or store in this process drops
the cached rows at once; other processes stop accepting a revoked key within `API_KEY_CACHE_SECONDS`.
"""

import hashlib
import hmac
import secrets
import string
import threading
import time
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Model
from django.db.models.base import ModelState
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


# key hash → (monotonic expiry, the key with its store). Only found keys are kept: an unknown key is
# looked up every time, so a flood of made-up keys cannot fill the memory.
_cache: dict[str, tuple[float, ApiKey]] = {}
_cache_lock = threading.Lock()


def forget_cached_keys(**_: object) -> None:
    """Drop every cached key (connected to ApiKey and Store saves and deletes in OrdersConfig.ready)."""
    with _cache_lock:
        _cache.clear()


def _lookup(key_hash: str) -> ApiKey | None:
    ttl = settings.API_KEY_CACHE_SECONDS
    cached = _cache.get(key_hash)
    if cached is not None and cached[0] > time.monotonic():
        return cached[1]
    api_key = ApiKey.objects.select_related("store").filter(key_hash=key_hash, revoked_at=None).first()
    if api_key is not None and ttl > 0:
        with _cache_lock:
            _cache[key_hash] = (time.monotonic() + ttl, api_key)
    return api_key


def _private_copy(api_key: ApiKey) -> ApiKey:
    """A copy for one request: callers may change their key or store without touching the cached ones
    (or another thread's)."""
    mine = _shallow_copy(api_key)
    mine.store = _shallow_copy(api_key.store)
    return mine


def _shallow_copy[M: Model](instance: M) -> M:
    """What copy.copy makes of a saved model instance (the same field values, its own state with an
    empty cache of related objects), without the pickling protocol copy.copy goes through: a good part of a small
    request's time outside the view."""
    clone = object.__new__(type(instance))
    clone.__dict__.update(instance.__dict__)
    clone._state = ModelState()
    clone._state.db = instance._state.db
    clone._state.adding = False
    return clone


def api_key_authenticate(plaintext: str | None) -> ApiKey | None:
    """The active key for this plaintext (with its store loaded), or None if missing/unknown/revoked."""
    if not plaintext or not looks_like_key(plaintext.strip()):
        return None
    shared = _lookup(hash_key(plaintext.strip()))
    if shared is None:
        return None
    now = timezone.now()
    if (
        shared.last_used_at is None
        or (now - shared.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiKey.objects.filter(pk=shared.pk).update(last_used_at=now)
        shared.last_used_at = now
    return _private_copy(shared)


def api_key_revoke(*, prefix: str) -> int:
    """Revoke the key with this prefix; returns how many keys were revoked (0 or 1)."""
    revoked = ApiKey.objects.filter(prefix=prefix, revoked_at=None).update(revoked_at=timezone.now())
    forget_cached_keys()
    return revoked
