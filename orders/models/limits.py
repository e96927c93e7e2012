"""Rate-limit counters and Idempotency-Key records."""

from datetime import timedelta

from django.db import models
from django.utils.timezone import now

from orders.models.stores import ApiKey, Store


class RateLimitCounter(models.Model):
    """Requests of one API key in one fixed window (orders/ratelimit.py).

    Incremented with one atomic upsert (INSERT … ON CONFLICT DO UPDATE … RETURNING) so the count is
    exact across processes and threads; old windows are pruned by `manage.py webhook_sweep`.
    """

    class Scope(models.TextChoices):
        MINUTE = "m"
        HOUR = "h"

    api_key = models.ForeignKey(ApiKey, on_delete=models.CASCADE, related_name="+")
    scope = models.CharField(max_length=1, choices=Scope.choices)
    # Unix seconds of the window's start (a multiple of 60 or 3600).
    window_start = models.BigIntegerField()
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["api_key", "scope", "window_start"], name="one_counter_per_key_and_window"
            )
        ]
        indexes = [models.Index(fields=["window_start"], name="ratelimit_window_start")]

    def __str__(self) -> str:
        return f"{self.api_key_id}/{self.scope}@{self.window_start}: {self.count}"


class IdempotencyRecord(models.Model):
    """The first response to an `Idempotency-Key`, replayed for 24 h (spec §2)."""

    # Replayed for this long; an older row counts as new, and `prune` deletes it.
    LIFETIME = timedelta(hours=24)

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=10)
    path = models.CharField(max_length=500)
    request_fingerprint = models.CharField(max_length=64)
    # None while the first request still runs (a retry then gets 409 IDEMPOTENCY_KEY_IN_USE).
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.BinaryField(null=True, blank=True)
    response_headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "key"], name="idempotency_key_unique_per_store")
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return self.key

    @classmethod
    def prune(cls, *, older_than: timedelta = LIFETIME) -> int:
        """Delete records past their lifetime; returns how many."""
        deleted, _ = cls.objects.filter(created_at__lt=now() - older_than).delete()
        return deleted
