"""The Orders API's data. Domain rules live in services.py; reads go through selectors.py.

Money is Decimal (12 digits, 2 places). Timestamps are aware UTC. Every row that belongs to a store
carries `store` directly, so every read can be scoped with one indexed equality.
"""

import uuid
from datetime import timedelta
from decimal import Decimal

from django.db import models
from django.db.models import Q
from django.utils.timezone import now

from orders.statuses import OrderStatus, PaymentStatus


def money_field(**kwargs) -> models.DecimalField:
    """Money in major units: up to 9,999,999,999.99."""
    return models.DecimalField(max_digits=12, decimal_places=2, **kwargs)


ZERO = Decimal("0.00")


class Store(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    currency = models.CharField(max_length=3, default="USD")
    timezone = models.CharField(max_length=64, default="UTC")
    # Last order number handed out; incremented under the store's row lock by the create service
    # (orders/services/imports.py).
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


class Product(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="products")
    external_id = models.CharField(max_length=255)
    name = models.CharField(max_length=255)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], name="product_external_id_unique_per_store"
            )
        ]

    def __str__(self) -> str:
        return self.name


class Variant(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="variants")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, related_name="variants")
    external_id = models.CharField(max_length=255)
    sku = models.CharField(max_length=100, blank=True)
    name = models.CharField(max_length=255, blank=True)
    price = money_field()
    inventory_quantity = models.IntegerField(default=0)
    track_inventory = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["store", "external_id"], name="variant_external_id_unique_per_store"
            )
        ]

    def __str__(self) -> str:
        return self.sku or self.external_id


class Order(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="orders")
    # Per-store, sequential, shown as ORD-000123.
    order_number = models.PositiveBigIntegerField()
    # The platform's order id (Shopify, WooCommerce, …); unique per store when set.
    external_id = models.CharField(max_length=255, null=True, blank=True)
    platform_name = models.CharField(max_length=100, blank=True)
    status = models.CharField(max_length=20, choices=[(s.value, s.value) for s in OrderStatus])
    payment_status = models.CharField(max_length=20, choices=[(s.value, s.value) for s in PaymentStatus])

    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, null=True, blank=True, related_name="orders"
    )
    # Denormalised from the customer at creation so lists, search and export need no join.
    customer_email = models.CharField(max_length=254, blank=True)
    customer_name = models.CharField(max_length=201, blank=True)

    item_count = models.PositiveIntegerField(default=0)
    subtotal = money_field(default=ZERO)
    tax = money_field(default=ZERO)
    shipping = money_field(default=ZERO)
    discount = money_field(default=ZERO)
    total = money_field(default=ZERO)
    refunded_amount = money_field(default=ZERO)
    currency = models.CharField(max_length=3)

    shipping_address = models.JSONField(null=True, blank=True)
    billing_address = models.JSONField(null=True, blank=True)
    payment_method = models.CharField(max_length=100, blank=True)
    payment_transaction_id = models.CharField(max_length=255, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    metadata = models.JSONField(default=dict, blank=True)
    notes = models.TextField(blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=500, blank=True)
    # SHA-256 of the normalised create-from-platform body: a retry with the same content is a replay,
    # different content is a conflict (spec §3.8).
    import_fingerprint = models.CharField(max_length=64, blank=True)

    created_at = models.DateTimeField(db_index=False)
    updated_at = models.DateTimeField(db_index=False)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["store", "order_number"], name="order_number_unique_per_store"),
            models.UniqueConstraint(
                fields=["store", "external_id"],
                condition=Q(external_id__isnull=False),
                name="order_external_id_unique_per_store",
            ),
        ]
        # One composite index per list filter/sort of spec §3.4: equality columns first, then the sort
        # column, then the unique tie-breaker, so every page is an ordered index scan that stops at LIMIT.
        indexes = [
            models.Index(fields=["store", "-created_at", "-id"], name="order_store_created"),
            models.Index(fields=["store", "status", "-created_at", "-id"], name="order_store_status_created"),
            models.Index(fields=["store", "-updated_at", "-id"], name="order_store_updated"),
            models.Index(fields=["store", "-total", "-id"], name="order_store_total"),
            models.Index(
                fields=["store", "payment_status", "-created_at", "-id"], name="order_store_payment_created"
            ),
            models.Index(
                fields=["store", "customer", "-created_at", "-id"], name="order_store_customer_created"
            ),
            models.Index(
                fields=["store", "platform_name", "-created_at", "-id"], name="order_store_platform_created"
            ),
            models.Index(fields=["store", "customer_email"], name="order_store_customer_email"),
        ]

    def __str__(self) -> str:
        return self.display_number

    @property
    def display_number(self) -> str:
        return f"ORD-{self.order_number:06d}"

    @property
    def refundable_amount(self) -> Decimal:
        if self.payment_status == PaymentStatus.UNPAID:
            return ZERO
        return self.total - self.refunded_amount


class LineItem(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="items")
    product = models.ForeignKey(Product, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    variant = models.ForeignKey(Variant, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    external_product_id = models.CharField(max_length=255, blank=True)
    external_variant_id = models.CharField(max_length=255, blank=True)
    # Snapshot at order time: later catalogue changes never alter an order.
    name = models.CharField(max_length=255)
    sku = models.CharField(max_length=100, blank=True)
    quantity = models.PositiveIntegerField()
    price = money_field()
    subtotal = money_field()
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["position"]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.name}"


class Refund(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="refunds")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="refunds")
    amount = money_field()
    reason = models.CharField(max_length=500, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    notify_customer = models.BooleanField(default=False)
    gateway = models.CharField(max_length=50, blank=True)
    gateway_reference = models.CharField(max_length=255, blank=True)
    failure_reason = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    # The task last queued to carry it out (orders/taskqueue.py): the recovery sweep asks the backend
    # about it before queueing another.
    task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "id"]
        indexes = [models.Index(fields=["status", "created_at"], name="refund_status_created")]

    def __str__(self) -> str:
        return f"Refund {self.amount} ({self.status})"


class HistoryEntry(models.Model):
    """One entry of an order's append-only audit trail (spec §3.7). Never updated, never deleted."""

    class Kind(models.TextChoices):
        CREATED = "created"
        STATUS = "status"
        CANCEL = "cancel"
        REFUND = "refund"
        LINK = "link"
        METADATA = "metadata"

    class ActorType(models.TextChoices):
        API_KEY = "api_key"
        USER = "user"
        SYSTEM = "system"

    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="history")
    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="history")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    from_status = models.CharField(max_length=20, null=True, blank=True)
    to_status = models.CharField(max_length=20)
    changed_at = models.DateTimeField()
    actor_type = models.CharField(max_length=10, choices=ActorType.choices)
    actor_name = models.CharField(max_length=150, blank=True)
    actor_api_key_prefix = models.CharField(max_length=24, blank=True)
    note = models.TextField(blank=True)
    metadata = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name_plural = "history entries"
        indexes = [
            models.Index(fields=["order", "changed_at", "id"], name="history_order_changed"),
            models.Index(fields=["store", "-changed_at", "-id"], name="history_store_changed"),
            models.Index(fields=["store", "to_status", "-changed_at", "-id"], name="history_store_status"),
            models.Index(fields=["store", "actor_name", "-changed_at", "-id"], name="history_store_actor"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_status} → {self.to_status}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValueError("History entries are append-only; they cannot be changed.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValueError("History entries are append-only; they cannot be deleted.")


class WebhookEndpoint(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_endpoints")
    url = models.URLField(max_length=2000)
    event_types = models.JSONField(default=list)
    description = models.CharField(max_length=500, blank=True)
    enabled = models.BooleanField(default=True)
    # `whsec_…`, encrypted by secretbox under ENCRYPTION_PURPOSE: it must be readable to sign, so it
    # cannot be hashed. Registered in OrdersConfig.ready(), so `manage.py reencrypt_secrets` rotates it.
    ENCRYPTION_PURPOSE = "orders.webhook-endpoint.secret"
    secret_encrypted = models.TextField()
    disabled_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        indexes = [models.Index(fields=["store", "created_at"], name="webhook_endpoint_store")]

    def __str__(self) -> str:
        return self.url


class WebhookEvent(models.Model):
    """The outbox: written in the same transaction as the order change that caused it."""

    id = models.CharField(primary_key=True, max_length=40)  # evt_<32 hex>
    store = models.ForeignKey(Store, on_delete=models.CASCADE, related_name="webhook_events")
    order = models.ForeignKey(Order, on_delete=models.SET_NULL, null=True, blank=True, related_name="+")
    type = models.CharField(max_length=40)
    payload = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["store", "-created_at"], name="webhook_event_store_created")]

    def __str__(self) -> str:
        return f"{self.type} {self.id}"


class WebhookDelivery(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        CANCELLED = "cancelled"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempt_count = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    completed_at = models.DateTimeField(null=True, blank=True)
    # The task last handed to the backend for this delivery, and when (orders/taskqueue.py): the sweep
    # queues another only when that one is gone, so a slow or stopped worker never piles up tasks.
    task_id = models.CharField(max_length=64, blank=True)
    enqueued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="one_delivery_per_event_and_endpoint")
        ]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="webhook_delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="webhook_delivery_endpoint"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id} → {self.endpoint_id} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempts")
    attempt_number = models.PositiveIntegerField()
    attempted_at = models.DateTimeField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    duration_ms = models.PositiveIntegerField(default=0)
    response_body = models.CharField(max_length=500, blank=True)
    error = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["attempt_number"]
        constraints = [
            models.UniqueConstraint(fields=["delivery", "attempt_number"], name="one_row_per_attempt")
        ]

    def __str__(self) -> str:
        return f"attempt {self.attempt_number}: {self.status_code or self.error}"


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
