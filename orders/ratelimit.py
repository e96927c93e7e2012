"""Rate limits per API key (spec §5), exact across processes and threads.

Counting: fixed windows — one per minute and one per hour — keyed (api key, window start). Each request
increments both counters with ONE atomic statement and reads the new values back:

    INSERT … VALUES (key, 'm', minute_start, 1), (key, 'h', hour_start, 1)
    ON CONFLICT (api_key_id, scope, window_start) DO UPDATE SET count = count + 1 RETURNING scope, count

(PostgreSQL, and SQLite ≥ 3.35). The database serialises the increments on the counter row, so of N
concurrent requests exactly `limit` see a count ≤ limit, whichever process or thread they run in — the
guarantee a per-process cache or a read-then-write cannot give. When settings.REDIS_URL is set the same
counters live in Redis (one script, COUNT_SCRIPT, atomic there too: one round trip), which takes
the load off the database when many web processes run. A rejected request gives its increment back, so
hammering past the limit does not consume the next requests' quota.

Tiers (settings.RATE_LIMIT_TIERS): standard 100/min and 5,000/h with burst 150; premium 1,000/min and
50,000/h; custom from ApiKey.custom_limit_per_minute/hour.

Burst — our reading of "100/min, burst 150": the sustained rate is 100 a minute, and any two consecutive
minute windows total at most 200 (= 100/min on average), while a single minute may reach the burst. So
a minute allows 200 minus what the previous minute used, capped at 150: a key that was idle may send 150
at once; one that used 80 last minute may send 120 now; one that used 100 gets 100; one that used 150
gets 50. The burst never raises the sustained rate. The hourly limit applies on top.

Degrade, don't fall over: when the shared cache (Redis) cannot be reached, the counters fall back to
the database's for that request (exact as well), and the outage is logged — the API keeps answering.

Headers: `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` (Unix seconds) describe the
window that binds first (normally the minute; the hour when less is left of it). A 429 adds
`Retry-After` and `X-RateLimit-Retry-After` (seconds until the exceeded window resets).
"""

import contextlib
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NamedTuple, cast

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.db.models import F

from orders import errors
from orders.models import ApiKey, RateLimitCounter

logger = logging.getLogger("orders.ratelimit")

MINUTE = 60
HOUR = 3600
# Counter rows older than this are pruned (the previous minute is still read for the burst).
KEEP_SECONDS = 2 * HOUR


@dataclass(frozen=True)
class Limits:
    per_minute: int
    per_hour: int
    burst: int  # the most a single minute can allow, with carried-over capacity


@dataclass(frozen=True)
class RateLimitState:
    limit: int
    remaining: int
    reset: int  # Unix seconds
    retry_after: int | None = None  # set when the request was refused

    @property
    def allowed(self) -> bool:
        return self.retry_after is None

    def headers(self) -> dict[str, str]:
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset),
        }
        if self.retry_after is not None:
            headers["X-RateLimit-Retry-After"] = str(self.retry_after)
            headers["Retry-After"] = str(self.retry_after)
        return headers


def limits_for(api_key: ApiKey) -> Limits:
    tiers = settings.RATE_LIMIT_TIERS
    if api_key.tier == ApiKey.Tier.CUSTOM:
        standard = tiers[ApiKey.Tier.STANDARD]
        per_minute = api_key.custom_limit_per_minute or standard["per_minute"]
        per_hour = api_key.custom_limit_per_hour or standard["per_hour"]
        return Limits(per_minute=per_minute, per_hour=per_hour, burst=per_minute)
    tier = tiers.get(api_key.tier, tiers[ApiKey.Tier.STANDARD])
    return Limits(
        per_minute=tier["per_minute"],
        per_hour=tier["per_hour"],
        burst=max(tier.get("burst", tier["per_minute"]), tier["per_minute"]),
    )


# ---- counters ---------------------------------------------------------------------------------------


class DatabaseCounters:
    """Counters in RateLimitCounter rows, incremented by an atomic upsert."""

    table = RateLimitCounter._meta.db_table

    def increment(self, key_id: int, minute: int, hour: int) -> tuple[int, int]:
        sql = (
            f"INSERT INTO {self.table} (api_key_id, scope, window_start, count) "  # noqa: S608 - constant
            "VALUES (%s, 'm', %s, 1), (%s, 'h', %s, 1) "
            "ON CONFLICT (api_key_id, scope, window_start) "
            f"DO UPDATE SET count = {self.table}.count + 1 "
            "RETURNING scope, count"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [key_id, minute, key_id, hour])
            counts = dict(cursor.fetchall())
        return counts["m"], counts["h"]

    def give_back(self, key_id: int, minute: int, hour: int) -> None:
        # One row per statement (autocommit): a statement that locked both rows in index order could
        # deadlock with the upsert, which locks minute then hour.
        for scope, start in (("m", minute), ("h", hour)):
            RateLimitCounter.objects.filter(api_key_id=key_id, scope=scope, window_start=start).update(
                count=F("count") - 1
            )

    def count(self, key_id: int, minute: int, hour: int) -> tuple[int, int, int]:
        """(the previous minute's count, this minute's and this hour's after counting this request)."""
        row = RateLimitCounter.objects.filter(
            api_key_id=key_id, scope="m", window_start=minute - MINUTE
        ).first()
        return (row.count if row else 0, *self.increment(key_id, minute, hour))

    def prune(self, now: float) -> int:
        deleted, _ = RateLimitCounter.objects.filter(window_start__lt=int(now) - KEEP_SECONDS).delete()
        return deleted


class CacheCounters:
    """Counters in the shared cache (Redis when REDIS_URL is set); keys expire by themselves.

    On Redis, one round trip per request: a script (COUNT_SCRIPT, atomic there) reads the previous
    minute and increments both windows, on a client kept per process. Django's cache API would take five
    round trips and build a client object for each (together the largest cost of a small API request,
    bench/compare.py). Other caches (local memory in development) go through the cache API."""

    @staticmethod
    def _key(key_id: int, scope: str, start: int) -> str:
        return f"ratelimit:{key_id}:{scope}:{start}"

    def keys(self, key_id: int, minute: int, hour: int) -> list[str]:
        """COUNT_SCRIPT's keys: the previous minute's, this minute's and this hour's counters."""
        return [
            self._key(key_id, "m", minute - MINUTE),
            self._key(key_id, "m", minute),
            self._key(key_id, "h", hour),
        ]

    def count(self, key_id: int, minute: int, hour: int) -> tuple[int, int, int]:
        previous_key, minute_key, hour_key = self.keys(key_id, minute, hour)
        redis = _redis()
        if redis is None:
            previous = int(cache.get(previous_key, 0))
            return previous, self._incr(minute_key, MINUTE_TTL), self._incr(hour_key, HOUR_TTL)
        previous, minute_count, hour_count = redis.count_script(
            keys=[previous_key, minute_key, hour_key], args=[MINUTE_TTL, HOUR_TTL]
        )
        return previous, minute_count, hour_count

    def _incr(self, key: str, ttl: int) -> int:
        cache.add(key, 0, timeout=ttl)
        try:
            return cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.add(key, 0, timeout=ttl)
            return cache.incr(key)

    def give_back(self, key_id: int, minute: int, hour: int) -> None:
        keys = [self._key(key_id, "m", minute), self._key(key_id, "h", hour)]
        redis = _redis()
        if redis is None:
            for key in keys:
                with contextlib.suppress(ValueError):  # expired meanwhile: nothing to give back
                    cache.decr(key)
            return
        pipe = redis.client.pipeline(transaction=False)
        for key in keys:
            pipe.decr(key)
        pipe.execute()

    def prune(self, now: float) -> int:
        return 0  # keys expire


# The counters' keys outlive their window by a little: the previous minute is read for the burst.
MINUTE_TTL = 2 * MINUTE + 5
HOUR_TTL = HOUR + 5
# KEYS: the previous minute, this minute, this hour; ARGV: their TTLs. Returns the previous minute's
# count and both counts after this request. A window's key gets its expiry when it is created.
COUNT_SCRIPT = """
local previous = tonumber(redis.call('GET', KEYS[1]) or '0')
local minute = redis.call('INCR', KEYS[2])
if minute == 1 then redis.call('EXPIRE', KEYS[2], ARGV[1]) end
local hour = redis.call('INCR', KEYS[3])
if hour == 1 then redis.call('EXPIRE', KEYS[3], ARGV[2]) end
return {previous, minute, hour}
"""


class _Redis(NamedTuple):
    client: Any  # redis.Redis: thread-safe, pooled
    count_script: Any  # COUNT_SCRIPT registered on it (EVALSHA, loaded on first use)


_redis_by_location: dict[tuple[str, str], _Redis] = {}


def _redis() -> _Redis | None:
    """The default cache's Redis, made once per process and location; None when that cache is not Redis."""
    config = settings.CACHES["default"]
    if config["BACKEND"] != "django.core.cache.backends.redis.RedisCache":
        return None
    location = config["LOCATION"]
    location = location if isinstance(location, str) else location[0]  # the primary, which takes writes
    options = cast(dict[str, Any], config.get("OPTIONS", {}))
    memo = (location, repr(sorted(options.items())))
    found = _redis_by_location.get(memo)
    if found is None:
        import redis

        client = redis.Redis.from_url(location, **options)
        found = _redis_by_location.setdefault(memo, _Redis(client, client.register_script(COUNT_SCRIPT)))
    return found


def counters() -> DatabaseCounters | CacheCounters:
    if settings.RATE_LIMIT_BACKEND == "cache":
        return CacheCounters()
    return DatabaseCounters()


# ---- the check --------------------------------------------------------------------------------------


def _minute_limit(limits: Limits, previous_minute_count: int) -> int:
    """This minute's allowance: two consecutive minutes total at most twice the rate, one at most the burst."""
    if limits.burst <= limits.per_minute:
        return limits.per_minute
    return max(0, min(limits.burst, 2 * limits.per_minute - previous_minute_count))


_last_outage_log = 0.0


def _log_cache_outage(exc: Exception) -> None:
    """At most one log line a minute while the cache is down (every request would hit it)."""
    global _last_outage_log
    now = time.monotonic()
    if now - _last_outage_log >= MINUTE:
        _last_outage_log = now
        logger.warning("Rate-limit cache unreachable (%s): counting in the database meanwhile", exc)


def check(api_key: ApiKey, *, now: float | None = None) -> RateLimitState:
    """Count one request of this key and say whether it may proceed."""
    now = time.time() if now is None else now
    minute, hour = _windows(now)
    store = counters()
    try:
        counts = store.count(api_key.pk, minute, hour)
    except Exception as exc:
        if isinstance(store, DatabaseCounters):
            raise
        _log_cache_outage(exc)
        store = DatabaseCounters()
        counts = store.count(api_key.pk, minute, hour)
    return _state(api_key, store, now, counts)


def _windows(now: float) -> tuple[int, int]:
    return int(now) // MINUTE * MINUTE, int(now) // HOUR * HOUR


def _state(
    api_key: ApiKey, store: DatabaseCounters | CacheCounters, now: float, counts: tuple[int, int, int]
) -> RateLimitState:
    """The verdict on a counted request (its count given back when refused), with its headers' figures."""
    limits = limits_for(api_key)
    minute, hour = _windows(now)
    previous_count, minute_count, hour_count = counts
    minute_limit = _minute_limit(limits, previous_count)
    minute_reset, hour_reset = minute + MINUTE, hour + HOUR

    retry_at = None
    if minute_count > minute_limit:
        retry_at = minute_reset
    if hour_count > limits.per_hour:
        retry_at = hour_reset
    if retry_at is not None:
        try:
            store.give_back(api_key.pk, minute, hour)
        except Exception as exc:  # the cache went away in between: the request is refused all the same
            _log_cache_outage(exc)
    minute_left = max(0, minute_limit - minute_count)
    hour_left = max(0, limits.per_hour - hour_count)
    if hour_left < minute_left or hour_count > limits.per_hour:
        limit, remaining, reset = limits.per_hour, hour_left, hour_reset
    else:
        limit, remaining, reset = minute_limit, minute_left, minute_reset
    retry_after = None if retry_at is None else max(1, math.ceil(retry_at - now))
    state = RateLimitState(limit=limit, remaining=remaining, reset=reset, retry_after=retry_after)
    if len(_room) >= 10_000:  # far more keys than a process serves in a minute; never a leak
        _room.clear()
    _room[api_key.pk] = (minute, state.remaining > state.limit // 2)
    return state


def exceeded(state: RateLimitState) -> errors.ApiError:
    return errors.RateLimitExceeded(
        f"Rate limit of {state.limit} requests exceeded for this API key; retry in {state.retry_after} s.",
        retryAfter=state.retry_after,
    )


def enforce(request, api_key: ApiKey) -> None:
    """Count the request; keep the state on the request for the headers (orders.middleware) and raise
    429 RATE_LIMIT_EXCEEDED when over the limit."""
    if not settings.RATE_LIMIT_ENABLED:
        return
    state = check(api_key)
    request.rate_limit = state
    if not state.allowed:
        raise exceeded(state)


# ---- counting while the request runs ----------------------------------------------------------------
# A read (GET, HEAD) of a key with plenty of room left is counted while it runs: its count is sent to
# Redis before the view, and the reply read after it (orders/middleware.py, RateLimitHeadersMiddleware),
# before anything is answered. The answer is the same as when counting first — over the limit it is the
# 429 with its headers, and the count is given back — but the round trip to Redis overlaps the view's
# work instead of the request waiting for it on its own (that wait cost a sixth of a list page's
# throughput: bench/compare.py). Writes, and keys near their limit (half their allowance used, as this
# process last saw them), are counted first, so that a refused request costs no work.

_room: dict[int, tuple[int, bool]] = {}  # key id → (minute window, more than half the allowance left)


def forget_room() -> None:
    """Forget what this process saw of every key's room (tests start from nothing)."""
    _room.clear()


def count_during(api_key: ApiKey, *, now: float | None = None) -> Callable[[], RateLimitState] | None:
    """Send this request's count to Redis now and return what reads its verdict (call it once, after the
    view). None when the request must be counted first (`check`): no Redis, or a key near its limit or
    not seen this minute by this process."""
    now = time.time() if now is None else now
    minute, hour = _windows(now)
    redis = _redis() if settings.RATE_LIMIT_BACKEND == "cache" else None
    if redis is None or _room.get(api_key.pk) != (minute, True):
        return None
    store = CacheCounters()
    keys = store.keys(api_key.pk, minute, hour)
    pool = redis.client.connection_pool
    try:
        connection = pool.get_connection()
    except Exception:
        return None  # counted first instead, with its fallback to the database
    try:
        connection.send_command("EVALSHA", redis.count_script.sha, len(keys), *keys, MINUTE_TTL, HOUR_TTL)
    except Exception:
        pool.release(connection)
        return None

    def verdict() -> RateLimitState:
        try:
            counts = connection.read_response()
        except Exception as exc:
            # Redis went away, or lost the script (a restart): counted again, as `check` counts (the count
            # sent may or may not have been made, as when `check` loses a reply).
            logger.info("Rate-limit count sent during the request got no answer (%s): counting again", exc)
            connection.disconnect()
            return check(api_key, now=now)
        finally:
            pool.release(connection)
        return _state(api_key, store, now, (int(counts[0]), int(counts[1]), int(counts[2])))

    return verdict


def prune(*, now: float | None = None) -> int:
    return counters().prune(time.time() if now is None else now)


# Shown in the OpenAPI document's description.
OPENAPI_NOTE = (
    "\n\n**Rate limits** are per API key: standard 100 requests/minute and 5,000/hour, premium 1,000/minute "
    "and 50,000/hour, or custom limits per key. *Burst*: capacity a key left unused in the previous minute "
    "carries over into the current minute up to the tier's burst (standard: 150), so an idle standard key "
    "may send 150 requests at once, and any two consecutive minutes total at most 200. Every "
    "authenticated response carries `X-RateLimit-Limit`, `X-RateLimit-Remaining` and `X-RateLimit-Reset` "
    "(Unix seconds) for the window that binds first; a refused request gets 429 `RATE_LIMIT_EXCEEDED` with "
    "`Retry-After` and `X-RateLimit-Retry-After` (seconds) and `retryAfter` in the body, and does not use "
    "up quota. Counts are exact across all server processes."
)
