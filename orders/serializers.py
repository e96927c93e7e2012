"""Orders, history entries, customers and products as the API shows them (spec §3.2, §3.7).

Plain functions returning dicts with camelCase keys, so a list of 50 rows costs no schema validation
(the API package's pydantic schemas document the same shapes for OpenAPI). Money stays
`Decimal` here; the API's renderer writes it as a JSON number. Timestamps go through `iso` (UTC, ms, Z).

Blank optional strings (`platformName`, `notes`, …) are `null` on the wire: a client can test one
thing (`is null`) instead of two.
"""

from typing import TYPE_CHECKING, Any

import orjson
from django.db.models import TextField
from django.db.models.expressions import RawSQL

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
    """A text the metadata holds under `key`: a non-empty string, or an integer's digits; else null
    (the rule order_summary_json's SQL follows too)."""
    value = metadata.get(key) if isinstance(metadata, dict) else None
    if isinstance(value, str):
        return value or None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


# ---------------------------------------------------------------------------------------------------
# The same summary written by PostgreSQL, for the order list's pages. Converting 50 rows to Python
# objects and back to JSON was a third of a list page's time in the Python process that serves it;
# json_build_object writes each row's JSON in the page query instead, for about half a millisecond of
# the database's time per page (bench/results/compare.md). Keys in order_summary_row's order.
# tests/orders/test_summary_json.py holds the two equal, field by field, over the cases that differ in
# form (blank and null text, wide order numbers, sub-millisecond times, tracking numbers of each JSON
# type).

_ORDER = '"orders_order"'


def _iso_sql(column: str) -> str:
    """iso() in SQL: UTC, milliseconds (truncated, as isoformat truncates them), Z."""
    return f"""to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"""


def _metadata_text_sql(key: str) -> str:
    """_metadata_text() in SQL: a non-empty string, or an integer's digits; else null."""
    value = f"{_ORDER}.\"metadata\" -> '{key}'"
    return (
        f"CASE jsonb_typeof({value}) WHEN 'string' THEN NULLIF({value} #>> '{{}}', '') "
        f"WHEN 'number' THEN substring({value} #>> '{{}}' FROM '^-?[0-9]+$') END"
    )


# Written out once (not built from ORM expressions, whose resolving and compiling cost more per page
# than the rows' conversion it saves), for a query of orders_order not aliased: the list's page query.
ORDER_SUMMARY_JSON_SQL = (
    "json_build_object("
    + ", ".join(
        f"'{key}', {sql}"
        for key, sql in {
            "id": f"{_ORDER}.id",
            "externalId": f"{_ORDER}.external_id",
            "platformName": f"NULLIF({_ORDER}.platform_name, '')",
            "orderNumber": (
                f"'ORD-' || CASE WHEN {_ORDER}.order_number < 1000000 "
                f"THEN lpad({_ORDER}.order_number::text, 6, '0') ELSE {_ORDER}.order_number::text END"
            ),
            "status": f"{_ORDER}.status",
            "paymentStatus": f"{_ORDER}.payment_status",
            "customerId": f"{_ORDER}.customer_id",
            "customerEmail": f"NULLIF({_ORDER}.customer_email, '')",
            "customerName": f"NULLIF({_ORDER}.customer_name, '')",
            "itemCount": f"{_ORDER}.item_count",
            "total": f"{_ORDER}.total",
            "refundedAmount": f"{_ORDER}.refunded_amount",
            "currency": f"{_ORDER}.currency",
            "createdAt": _iso_sql(f"{_ORDER}.created_at"),
            "updatedAt": _iso_sql(f"{_ORDER}.updated_at"),
            "trackingNumber": _metadata_text_sql("trackingNumber"),
            "carrier": _metadata_text_sql("carrier"),
        }.items()
    )
    + ")::text"
)


def order_summary_json() -> RawSQL:
    """order_summary_row(row) as a column of the page query: the row's JSON text."""
    return RawSQL(ORDER_SUMMARY_JSON_SQL, (), output_field=TextField())  # noqa: S611 (constants only)


def order_summary_items(rows: list[dict[str, Any]]) -> list[dict[str, Any]] | orjson.Fragment:
    """A list page's rows as the API answers them: each row's `summary` JSON (order_summary_json)
    joined as it is, or, for rows of SUMMARY_FIELDS, each serialized here."""
    if rows and "summary" in rows[0]:
        return orjson.Fragment("[" + ",".join(row["summary"] for row in rows) + "]")
    return [order_summary_row(row) for row in rows]


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


def page_body(
    items_key: str, items: list[dict[str, Any]] | orjson.Fragment, page: "Page", *, limit: int, offset: int
) -> dict:
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
