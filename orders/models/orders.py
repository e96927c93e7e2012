"""Orders, their line items, refunds and the append-only history."""

import uuid
from decimal import Decimal

from django.db import models
from django.db.models import Q

from orders.models.catalog import Product, Variant
from orders.models.fields import ZERO, money_field
from orders.models.stores import Customer, Store
from orders.statuses import OrderStatus, PaymentStatus


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
            # A search's name arm, `customer_name IN (the names containing the term)` (selectors.search_filter).
            models.Index(fields=["store", "customer_name"], name="order_store_customer_name"),
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


class SearchedText(models.Model):
    """Every distinct customer email and name that an order carries, once per (field, value).

    A search by substring matches these values first, then the orders by equality: a customer's
    email repeats on each of their orders, so the trigram index here covers fewer entries than the
    one on the orders' column (in the 1M-order bench store, 50,000 emails for 1,000,000 orders; the
    scan took a tenth of the time). See `selectors.search_filter`.

    PostgreSQL only, filled by triggers on orders_order (migration 0006), never by the code: every
    insert and every change of either column adds its values, whatever wrote them (the API, the
    dashboard, bulk jobs, seed_demo). A value no order carries any more stays; it matches no order.
    """

    class Field(models.TextChoices):
        EMAIL = "email"
        NAME = "name"

    pk = models.CompositePrimaryKey("value", "field")
    field = models.CharField(max_length=5, choices=Field.choices)
    value = models.CharField(max_length=254)

    def __str__(self) -> str:
        return f"{self.field}: {self.value}"


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
