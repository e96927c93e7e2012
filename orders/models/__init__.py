"""The Orders API's data, one module per part. Domain rules live in orders/services/; reads go through
orders/selectors.py.

Money is Decimal (12 digits, 2 places). Timestamps are aware UTC. Every row that belongs to a store
carries `store` directly, so every read can be scoped with one indexed equality.
"""

from orders.models.catalog import Product, Variant
from orders.models.fields import ZERO, money_field
from orders.models.limits import IdempotencyRecord, RateLimitCounter
from orders.models.orders import HistoryEntry, LineItem, Order, Refund, SearchedText
from orders.models.stores import ApiKey, Customer, Store
from orders.models.webhooks import WebhookAttempt, WebhookDelivery, WebhookEndpoint, WebhookEvent

__all__ = [
    "ZERO",
    "ApiKey",
    "Customer",
    "HistoryEntry",
    "IdempotencyRecord",
    "LineItem",
    "Order",
    "Product",
    "RateLimitCounter",
    "Refund",
    "SearchedText",
    "Store",
    "Variant",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
    "WebhookEvent",
    "money_field",
]
