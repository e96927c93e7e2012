"""Orders, history entries, customers and products as the API shows them (spec §3.2, §3.7).

Plain functions returning dicts with camelCase keys, so a list of 50 rows costs no schema validation
(the API package's pydantic schemas document the same shapes for OpenAPI). Money stays
`Decimal` here; the API's renderer writes it as a JSON number. Timestamps go through `iso` (UTC, ms, Z).

Blank optional strings (`platformName`, `notes`, …) are `null` on the wire: a client can test one
thing (`is null`) instead of two.
"""

from typing import TYPE_CHECKING, Any

from orders.models import Customer, HistoryEntry, LineItem, Order, Product, Refund, Variant
from orders.statuses import allowed_transitions
from orders.timestamps import iso

ADDRESS_KEYS = ("name", "line1", "line2", "city", "region", "postalCode", "country")

# The Order columns a summary needs: lists read exactly these with `.values(*SUMMARY_FIELDS)`.
SUMMARY_FIELDS = (
    "id",
    "external_id",
    "platform_name",
    "order_number",
    "status",
    "payment_status",
    "customer_id",
    "customer_email",
    "customer_name",
    "item_count",
    "total",
    "refunded_amount",
    "currency",
    "created_at",
    "updated_at",
    "metadata",  # for the tracking number and carrier only (the detail carries the whole object)
)

if TYPE_CHECKING:
    from orders.pagination import Page


# What an export row carries: the summary plus the money breakdown (the CSV columns of
# spec/dashboard.md §2 and the NDJSON objects). Read with `.values_list(*EXPORT_FIELDS)`.
EXPORT_FIELDS = (*SUMMARY_FIELDS, "subtotal", "tax", "shipping", "discount")

HISTORY_FIELDS = (
    "id",
    "kind",
    "from_status",
    "to_status",
    "changed_at",
    "actor_type",
    "actor_name",
    "actor_api_key_prefix",
    "note",
    "metadata",
)
# The store-wide feed also says which order an entry belongs to.
HISTORY_FEED_FIELDS = (*HISTORY_FIELDS, "order_id", "order__order_number")


def order_number(number: int) -> str:
    """The displayed order number: `ORD-000123` (wider numbers keep all their digits)."""
    return f"ORD-{number:06d}"


def _blank_to_none(value: str | None) -> str | None:
    return value or None


def order_summary_row(row: dict[str, Any]) -> dict[str, Any]:
    """A list row from `Order.objects.values(*SUMMARY_FIELDS)` (or the same keys from a model)."""
    customer_id = row["customer_id"]
    return {
        "id": str(row["id"]),
        "externalId": row["external_id"],
        "platformName": _blank_to_none(row["platform_name"]),
        "orderNumber": order_number(row["order_number"]),
        "status": row["status"],
        "paymentStatus": row["payment_status"],
        "customerId": str(customer_id) if customer_id else None,
        "customerEmail": _blank_to_none(row["customer_email"]),
        "customerName": _blank_to_none(row["customer_name"]),
        "itemCount": row["item_count"],
        "total": row["total"],
        "refundedAmount": row["refunded_amount"],
        "currency": row["currency"],
        "createdAt": iso(row["created_at"]),
        "updatedAt": iso(row["updated_at"]),
        # Shipment tracking as the status updates and the seed store it (metadata.trackingNumber, .carrier).
        "trackingNumber": _metadata_text(row["metadata"], "trackingNumber"),
        "carrier": _metadata_text(row["metadata"], "carrier"),
    }


def _metadata_text(metadata: Any, key: str) -> str | None:
    value = metadata.get(key) if isinstance(metadata, dict) else None
    return None if value is None or value == "" else str(value)


def order_summary(order: Order) -> dict[str, Any]:
    return order_summary_row({field: getattr(order, field) for field in SUMMARY_FIELDS})


def address(value: dict | None) -> dict[str, Any] | None:
    """A stored address with exactly the spec's keys (missing ones null, unknown ones dropped)."""
    if not value:
        return None
    return {key: value.get(key) for key in ADDRESS_KEYS}


def customer_brief(customer: Customer | None) -> dict[str, Any] | None:
    if customer is None:
        return None
    return {
        "id": str(customer.id),
        "email": customer.email,
        "phoneNumber": _blank_to_none(customer.phone_number),
        "firstName": _blank_to_none(customer.first_name),
        "lastName": _blank_to_none(customer.last_name),
    }


def customer_detail(customer: Customer) -> dict[str, Any]:
    """A customer; `ordersCount` when the selector annotated `orders_count`."""
    data = {
        "id": str(customer.id),
        "email": customer.email,
        "phoneNumber": _blank_to_none(customer.phone_number),
        "firstName": _blank_to_none(customer.first_name),
        "lastName": _blank_to_none(customer.last_name),
        "createdAt": iso(customer.created_at),
    }
    orders_count = getattr(customer, "orders_count", None)
    if orders_count is not None:
        data["ordersCount"] = orders_count
    return data


def line_item(item: LineItem) -> dict[str, Any]:
    return {
        "id": str(item.id),
        "productId": str(item.product_id) if item.product_id else None,
        "variantId": str(item.variant_id) if item.variant_id else None,
        "externalProductId": _blank_to_none(item.external_product_id),
        "externalVariantId": _blank_to_none(item.external_variant_id),
        "quantity": item.quantity,
        "price": item.price,
        "subtotal": item.subtotal,
        # The snapshot taken when the order was placed, not the catalogue's current values.
        "product": {"name": item.name, "sku": _blank_to_none(item.sku)},
    }


def refund(value: Refund) -> dict[str, Any]:
    return {
        "id": str(value.id),
        "amount": value.amount,
        "reason": _blank_to_none(value.reason),
        "status": value.status,
        "createdAt": iso(value.created_at),
        "processedAt": iso(value.processed_at),
    }


def history_entry_row(row: dict[str, Any]) -> dict[str, Any]:
    """One audit entry (spec §3.7) from `.values(*HISTORY_FIELDS)`. The note is also given as
    `reason`: the spec names it both ways."""
    note = _blank_to_none(row["note"])
    return {
        "id": row["id"],
        "kind": row["kind"],
        "fromStatus": row["from_status"],
        "toStatus": row["to_status"],
        "changedAt": iso(row["changed_at"]),
        "actor": {
            "type": row["actor_type"],
            "name": row["actor_name"],
            "apiKeyPrefix": _blank_to_none(row["actor_api_key_prefix"]),
        },
        "note": note,
        "reason": note,
        "metadata": row["metadata"] or {},
    }


def history_entry(entry: HistoryEntry) -> dict[str, Any]:
    return history_entry_row({field: getattr(entry, field) for field in HISTORY_FIELDS})


def history_feed_row(row: dict[str, Any]) -> dict[str, Any]:
    """A store-wide feed entry from `.values(*HISTORY_FEED_FIELDS)`: the entry plus its order."""
    data = history_entry_row(row)
    data["orderId"] = str(row["order_id"])
    data["orderNumber"] = order_number(row["order__order_number"])
    return data


def order_detail(order: Order) -> dict[str, Any]:
    """The full order. Expects the related rows `selectors.load_detail_rows` loads (else it queries)."""
    data = order_summary(order)
    data.update(
        {
            "customer": customer_brief(order.customer),
            "shippingAddress": address(order.shipping_address),
            "billingAddress": address(order.billing_address),
            "items": [line_item(item) for item in order.items.all()],
            "subtotal": order.subtotal,
            "tax": order.tax,
            "shipping": order.shipping,
            "discount": order.discount,
            "payment": {
                "method": _blank_to_none(order.payment_method),
                "transactionId": _blank_to_none(order.payment_transaction_id),
                "paidAt": iso(order.paid_at),
            },
            "refunds": [refund(r) for r in order.refunds.all()],
            "metadata": order.metadata or {},
            "notes": _blank_to_none(order.notes),
            "statusHistory": [history_entry(e) for e in order.history.all()],
            "allowedTransitions": allowed_transitions(order.status),
            "cancelledAt": iso(order.cancelled_at),
            "cancelReason": _blank_to_none(order.cancel_reason),
        }
    )
    return data


def variant(value: Variant) -> dict[str, Any]:
    return {
        "id": str(value.id),
        "externalVariantId": value.external_id,
        "sku": _blank_to_none(value.sku),
        "name": _blank_to_none(value.name),
        "price": value.price,
        "inventoryQuantity": value.inventory_quantity,
        "trackInventory": value.track_inventory,
    }


def product(value: Product) -> dict[str, Any]:
    """A product with its variants (expects `variants` prefetched)."""
    return {
        "id": str(value.id),
        "externalProductId": value.external_id,
        "name": value.name,
        "variants": [variant(v) for v in value.variants.all()],
        "createdAt": iso(value.created_at),
        "updatedAt": iso(value.updated_at),
    }


def page_body(items_key: str, items: list[dict[str, Any]], page: "Page", *, limit: int, offset: int) -> dict:
    """The `data` of a paged list (orders, history feed): the items under their key, then the paging."""
    return {
        items_key: items,
        "total": page.total,
        "totalIsCapped": page.total_is_capped,
        "totalIsEstimate": page.total_is_estimate,
        "limit": limit,
        "offset": offset,
        "hasMore": page.has_more,
        "nextCursor": page.next_cursor,
    }
