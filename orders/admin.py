"""Django admin for the orders domain: for looking things up, not for changing orders.

Order state changes go through the services (rules, row lock, history, outbox); the admin never
bypasses them, so orders, their items, refunds and history are read-only here. History is append-only:
no add, change or delete permission for anyone, superusers included.
"""

from django.contrib import admin
from django.http import HttpRequest

from orders.models import (
    ApiKey,
    Customer,
    HistoryEntry,
    IdempotencyRecord,
    LineItem,
    Order,
    Product,
    Refund,
    Store,
    Variant,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class ReadOnlyMixin:
    """View permission only: the change view renders read-only and refuses POSTs (403)."""

    def has_add_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ReadOnlyInline(ReadOnlyMixin, admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False


class LineItemInline(ReadOnlyInline):
    model = LineItem
    fields = ("position", "name", "sku", "quantity", "price", "subtotal", "external_variant_id")
    readonly_fields = fields


class RefundInline(ReadOnlyInline):
    model = Refund
    fields = (
        "amount",
        "status",
        "reason",
        "created_at",
        "processed_at",
        "gateway_reference",
        "failure_reason",
    )
    readonly_fields = fields


class HistoryInline(ReadOnlyInline):
    model = HistoryEntry
    fields = (
        "changed_at",
        "kind",
        "from_status",
        "to_status",
        "actor_type",
        "actor_name",
        "note",
        "metadata",
    )
    readonly_fields = fields
    ordering = ("changed_at", "id")


@admin.register(Store)
class StoreAdmin(admin.ModelAdmin):
    list_display = ("name", "currency", "timezone", "last_order_number", "created_at")
    search_fields = ("name", "id")
    readonly_fields = ("id", "last_order_number", "created_at")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    """Keys are issued by `manage.py createapikey` (the plaintext is shown once there); here they can be
    renamed, re-tiered or revoked."""

    list_display = ("prefix", "name", "store", "kind", "tier", "created_at", "last_used_at", "revoked_at")
    list_filter = ("kind", "tier")
    search_fields = ("prefix", "name")
    readonly_fields = ("store", "prefix", "kind", "key_hash", "created_at", "last_used_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ("email", "first_name", "last_name", "store", "created_at")
    search_fields = ("email", "first_name", "last_name")
    list_select_related = ("store",)


class VariantInline(admin.TabularInline):
    model = Variant
    extra = 0
    fields = ("external_id", "sku", "name", "price", "inventory_quantity", "track_inventory")


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("name", "external_id", "store")
    search_fields = ("name", "external_id")
    inlines = [VariantInline]


@admin.register(Order)
class OrderAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = (
        "__str__",
        "store",
        "status",
        "payment_status",
        "customer_email",
        "total",
        "currency",
        "created_at",
    )
    list_filter = ("status", "payment_status")
    search_fields = ("id", "external_id", "customer_email", "customer_name")
    list_select_related = ("store",)
    show_full_result_count = False  # exact counts of huge tables are slow
    inlines = [LineItemInline, RefundInline, HistoryInline]


@admin.register(HistoryEntry)
class HistoryEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("changed_at", "order", "kind", "from_status", "to_status", "actor_type", "actor_name")
    list_filter = ("kind", "actor_type")
    search_fields = ("actor_name", "note")
    list_select_related = ("order",)
    show_full_result_count = False
    actions = None  # no bulk delete

    def get_readonly_fields(self, request: HttpRequest, obj=None):
        return [field.name for field in self.model._meta.fields]


@admin.register(Refund)
class RefundAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "order", "amount", "status", "created_at", "processed_at")
    list_filter = ("status",)
    list_select_related = ("order",)


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ("url", "store", "enabled", "disabled_reason", "created_at")
    list_filter = ("enabled",)
    exclude = ("secret_encrypted",)  # never shown; rotate it through the API


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("id", "type", "store", "created_at")
    list_filter = ("type",)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("event", "endpoint", "status", "attempt_count", "next_attempt_at", "last_status_code")
    list_filter = ("status",)


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ("key", "store", "method", "path", "response_status", "created_at")
    exclude = ("response_body",)
