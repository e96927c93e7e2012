"""Stores, their API keys and customers."""

import uuid

from django.db import models


class Store(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=64, default="UTC")
    # Last order number handed out (ORD-000123). Bumped by orders/services/order_numbers.py in a
    # statement of its own that commits at once, so creates of one store never wait for each other's
    # commit; a rolled-back create leaves a gap.
    last_order_number = models.PositiveBigIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class ApiKey(models.Model):
    class Kind(models.TextChoices):
        SECRET = "secret", "Private (sk_)"
        PUBLIC = "public", "Public (pk_)"

    class Tier(models.TextChoices):
        STANDARD = "standard"
        PREMIUM = "premium"
        CUSTOM = "custom"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100, default="Default key")
    kind = models.CharField(max_length=6, choices=Kind.choices, default=Kind.SECRET)
    # The visible start of the key (`sk_test_AbCd1234`); the key itself is never stored.
    prefix = models.CharField(max_length=24, unique=True)
    # HMAC-SHA256(API_KEY_HASH_SECRET, full key), hex. Looked up on every request, hence unique+indexed.
    key_hash = models.CharField(max_length=64, unique=True)
    tier = models.CharField(max_length=10, choices=Tier.choices, default=Tier.STANDARD)
    # Only for the custom tier: requests per minute / per hour.
    custom_limit_per_minute = models.PositiveIntegerField(null=True, blank=True)
    custom_limit_per_hour = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.prefix}… ({self.name})"


class Customer(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="customers")
    # Stored lowercased: customers are matched by email within a store.
    email = models.EmailField(max_length=254)
    phone_number = models.CharField(max_length=40, blank=True)
    first_name = models.CharField(max_length=100, blank=True)
    last_name = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "email"], name="customer_email_unique_per_store")
        ]
        indexes = [models.Index(fields=["store", "-created_at", "-id"], name="customer_store_created")]

    def __str__(self) -> str:
        return self.email

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()
