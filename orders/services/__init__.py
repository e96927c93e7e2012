"""Every write to the store's data (spec §3), by sub-domain. Callers import from this package:

    from orders import services
    services.order_set_status(order_id=…, store=…, to="shipped", actor=…)

- lifecycle.py — status changes and cancellation: the only code that moves `Order.status`;
- refunds.py — refunds and the background task that carries them out;
- imports.py — orders created from an external platform;
- order_numbers.py — a store's next order number, handed out without a store-wide lock;
- metadata.py — metadata and linking to a platform order;
- catalog.py — the product catalogue (sync, inventory);
- common.py — the row lock, history entries and payment status the others share.

Functions are keyword-only and named `entity_verb`; each is one transaction (see common.py).
"""

from orders.services.catalog import MAX_PRODUCTS_PER_SYNC, ProductData, SyncResult, VariantData, product_sync
from orders.services.imports import (
    MAX_ITEMS,
    CustomerInfo,
    ItemInput,
    PlatformOrderInput,
    order_create_from_platform,
)
from orders.services.lifecycle import order_cancel, order_set_status
from orders.services.metadata import merge_metadata, order_link, order_update_metadata, validate_metadata
from orders.services.refunds import process_refund, refund_create, refund_process, refunds_sweep_lost

__all__ = [
    "MAX_ITEMS",
    "CustomerInfo",
    "ItemInput",
    "PlatformOrderInput",
    "MAX_PRODUCTS_PER_SYNC",
    "ProductData",
    "SyncResult",
    "VariantData",
    "merge_metadata",
    "order_cancel",
    "order_create_from_platform",
    "order_link",
    "order_set_status",
    "order_update_metadata",
    "process_refund",
    "product_sync",
    "refund_create",
    "refund_process",
    "refunds_sweep_lost",
    "validate_metadata",
]
