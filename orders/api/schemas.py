"""Schemas of the read side: query parameters (validated by ninja) and the documented response shapes
(the wire types and `documented(...)`, which lists every status and error code, are in openapi.py).

The response schemas document the wire format for OpenAPI; the endpoints build the same dicts with
orders/serializers.py and return them through `respond` without validating every row again (a
50-row page through pydantic costs more than the queries). tests/orders/api check the two agree, and
tests/orders/api/test_schemathesis.py checks every operation's answers against the served document.
Field names are the camelCase wire names on purpose: they are documentation of the JSON. Vocabularies
(statuses, event types, sorts, error codes) are read from the modules that define them, at import.
"""

import uuid
from datetime import date
from typing import Any, Literal

from ninja import Field, Schema

from orders.api.openapi import (
    MAX_OFFSET,
    ActorType,
    HistoryKind,
    Money,
    QueryDate,
    QueryPaymentStatuses,
    QuerySort,
    QueryStatuses,
    QueryText,
    QueryUuid,
    RefundStatus,
    Timestamp,
    envelope,
)
from orders.statuses import OrderStatus, PaymentStatus

# ---------------------------------------------------------------------------------------------------
# Query parameters. Free-form values are strings here and parsed in orders/api/params.py, which
# reports every bad field at once with a message that says what is accepted.

STATUS_HELP = (
    "One status or several comma-separated (any case): " + ", ".join(OrderStatus) + ". Blank: no filter."
)
PAYMENT_STATUS_HELP = (
    "One payment status or several comma-separated (any case): " + ", ".join(PaymentStatus) + "."
)
DATE_HELP = (
    "`YYYY-MM-DD` is a whole day in the store's timezone (dateFrom: from its 00:00, dateTo: through "
    "its end); an ISO 8601 datetime with an offset (`2024-01-31T23:00:00Z`) is taken exactly; a "
    "datetime without an offset is read in the store's timezone. Years 1900–9000."
)


class OrderFilterQuery(Schema):
    status: QueryStatuses = Field(None, description=STATUS_HELP)
    dateFrom: QueryDate = Field(None, description="Created at or after. " + DATE_HELP)
    dateTo: QueryDate = Field(None, description="Created at or before. " + DATE_HELP)
    updatedFrom: QueryDate = Field(None, description="Updated at or after (incremental sync). " + DATE_HELP)
    updatedTo: QueryDate = Field(None, description="Updated at or before. " + DATE_HELP)
    customerId: QueryUuid = Field(None, description="The customer's UUID.")
    externalId: QueryText = Field(None, description="The platform's order id, exact.")
    platformName: QueryText = Field(None, description="Exact platform name, e.g. `shopify`.")
    search: QueryText = Field(
        None,
        max_length=200,
        description="Part (any case) of the customer's email or name, of the external ID or of the "
        "tracking number (metadata `trackingNumber`), or the order number (`ORD-000123`, `123`: "
        "exact).",
    )
    paymentStatus: QueryPaymentStatuses = Field(None, description=PAYMENT_STATUS_HELP)
    sort: QuerySort = Field(None, description="Ties are broken by id in the same direction.")


class OrderListQuery(OrderFilterQuery):
    limit: int = Field(50, ge=1, le=50, description="Page size, 1–50.")
    offset: int = Field(
        0,
        ge=0,
        le=MAX_OFFSET,
        description="Rows to skip (for shallow page-number UIs; use `cursor` to page deep or to sync).",
    )
    cursor: QueryText = Field(
        None,
        description="`nextCursor` of the previous page, with the same filters and sort. Continues a "
        "keyset walk that never skips or repeats an order while new orders arrive.",
    )


class ExportQuery(OrderFilterQuery):
    format: Literal["csv", "ndjson"] = Field("csv", description="`csv` (default) or `ndjson`.")


class HistoryFeedQuery(Schema):
    dateFrom: QueryDate = Field(None, description="Changed at or after. " + DATE_HELP)
    dateTo: QueryDate = Field(None, description="Changed at or before. " + DATE_HELP)
    status: QueryStatuses = Field(None, description="The status changed to. " + STATUS_HELP)
    actor: QueryText = Field(
        None, max_length=150, description="Part of the actor's name (staff name or API key name), any case."
    )
    limit: int = Field(50, ge=1, le=50, description="Page size, 1–50.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Entries to skip.")
    cursor: QueryText = Field(None, description="`nextCursor` of the previous page, same filters.")


class CustomerListQuery(Schema):
    search: QueryText = Field(None, max_length=200, description="Part of the email, first or last name.")
    limit: int = Field(50, ge=1, le=50, description="Page size, 1–50.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Customers to skip.")


# ---------------------------------------------------------------------------------------------------
# Response shapes (documentation of what orders/serializers.py produces)


class HistoryActorOut(Schema):
    type: ActorType
    name: str
    apiKeyPrefix: str | None


class HistoryEntryOut(Schema):
    id: int
    kind: HistoryKind
    fromStatus: OrderStatus | None = Field(..., description="null for the creation entry.")
    toStatus: OrderStatus
    changedAt: Timestamp
    actor: HistoryActorOut
    note: str | None
    reason: str | None = Field(..., description="The same text as `note`.")
    metadata: dict[str, Any]


class HistoryFeedEntryOut(HistoryEntryOut):
    orderId: uuid.UUID
    orderNumber: str


class OrderSummaryOut(Schema):
    id: uuid.UUID
    externalId: str | None
    platformName: str | None
    orderNumber: str = Field(..., examples=["ORD-000123"])
    status: OrderStatus
    paymentStatus: PaymentStatus
    customerId: uuid.UUID | None
    customerEmail: str | None
    customerName: str | None
    itemCount: int
    total: Money
    refundedAmount: Money
    currency: str = Field(..., examples=["USD"], description="ISO 4217.")
    createdAt: Timestamp
    updatedAt: Timestamp
    trackingNumber: str | None = Field(..., description="`metadata.trackingNumber`, when set.")
    carrier: str | None = Field(..., description="`metadata.carrier`, when set.")


class CustomerBriefOut(Schema):
    id: uuid.UUID
    email: str
    phoneNumber: str | None
    firstName: str | None
    lastName: str | None


class AddressOut(Schema):
    name: str | None
    line1: str | None
    line2: str | None
    city: str | None
    region: str | None
    postalCode: str | None
    country: str | None


class LineItemProductOut(Schema):
    name: str
    sku: str | None


class LineItemOut(Schema):
    id: uuid.UUID
    productId: uuid.UUID | None
    variantId: uuid.UUID | None
    externalProductId: str | None
    externalVariantId: str | None
    quantity: int
    price: Money
    subtotal: Money
    product: LineItemProductOut


class PaymentOut(Schema):
    method: str | None
    transactionId: str | None
    paidAt: Timestamp | None


class RefundOut(Schema):
    id: uuid.UUID
    amount: Money
    reason: str | None
    status: RefundStatus
    createdAt: Timestamp
    processedAt: Timestamp | None


class OrderDetailOut(OrderSummaryOut):
    customer: CustomerBriefOut | None
    shippingAddress: AddressOut | None
    billingAddress: AddressOut | None
    items: list[LineItemOut]
    subtotal: Money
    tax: Money
    shipping: Money
    discount: Money
    payment: PaymentOut
    refunds: list[RefundOut]
    metadata: dict[str, Any]
    notes: str | None
    statusHistory: list[HistoryEntryOut]
    allowedTransitions: list[OrderStatus]
    cancelledAt: Timestamp | None
    cancelReason: str | None


class PageOut(Schema):
    total: int = Field(
        ...,
        description="How many rows match: exact up to the count cap (see totalIsCapped, totalIsEstimate).",
    )
    totalIsCapped: bool = Field(
        ...,
        description="true when more rows match than the cap: `total` is then not an exact count but the "
        "cap, or the estimate when totalIsEstimate is true.",
    )
    totalIsEstimate: bool = Field(
        False,
        description="true when `total` is the database's estimate of a count above the cap (shown as "
        '"about N"); it is never less than the rows up to this page. Page with `hasMore`/`nextCursor`, '
        "not with the total.",
    )
    limit: int
    offset: int
    hasMore: bool
    nextCursor: str | None = Field(..., description="Pass as `cursor` for the next page; null at the end.")


class OrderListOut(PageOut):
    orders: list[OrderSummaryOut]


class HistoryFeedOut(PageOut):
    entries: list[HistoryFeedEntryOut]


class OrderHistoryOut(Schema):
    orderId: uuid.UUID
    orderNumber: str
    entries: list[HistoryEntryOut] = Field(..., description="Oldest first.")


class StatusesOut(Schema):
    statuses: list[OrderStatus]
    paymentStatuses: list[PaymentStatus] = Field(
        ..., description="Every value of an order's `paymentStatus`."
    )
    transitions: dict[OrderStatus, list[OrderStatus]] = Field(
        ..., description="from → the statuses PUT …/status may move to."
    )
    cancellable: list[OrderStatus] = Field(..., description="Statuses from which PUT …/cancel is allowed.")
    terminal: list[OrderStatus] = Field(
        ..., description="Statuses no status update can leave (refunds still apply)."
    )


class StatsDayOut(Schema):
    date: date
    count: int
    revenue: Money


class StatsTotalsOut(Schema):
    orders: int
    revenue: Money


class StatsOut(Schema):
    byStatus: dict[OrderStatus, int] = Field(..., description="Every status, zeros included.")
    totals: StatsTotalsOut
    days: list[StatsDayOut] = Field(..., description="Every local day of the window, oldest first.")
    dateFrom: date
    dateTo: date
    timezone: str
    currency: str


class CustomerOut(CustomerBriefOut):
    createdAt: Timestamp
    ordersCount: int


class CustomerListOut(Schema):
    customers: list[CustomerOut]
    total: int
    totalIsCapped: bool
    limit: int
    offset: int
    hasMore: bool


class VariantOut(Schema):
    id: uuid.UUID
    externalVariantId: str
    sku: str | None
    name: str | None
    price: Money
    inventoryQuantity: int
    trackInventory: bool


class ProductOut(Schema):
    id: uuid.UUID
    externalProductId: str
    name: str
    variants: list[VariantOut]
    createdAt: Timestamp
    updatedAt: Timestamp


class ProductSyncOut(Schema):
    created: int
    updated: int
    products: list[ProductOut]


OrderListEnvelope = envelope("OrderListEnvelope", OrderListOut)
OrderDetailEnvelope = envelope("OrderDetailEnvelope", OrderDetailOut)
OrderHistoryEnvelope = envelope("OrderHistoryEnvelope", OrderHistoryOut)
StatusesEnvelope = envelope("StatusesEnvelope", StatusesOut)
StatsEnvelope = envelope("StatsEnvelope", StatsOut)
HistoryFeedEnvelope = envelope("HistoryFeedEnvelope", HistoryFeedOut)
CustomerEnvelope = envelope("CustomerEnvelope", CustomerOut)
CustomerListEnvelope = envelope("CustomerListEnvelope", CustomerListOut)
ProductEnvelope = envelope("ProductEnvelope", ProductOut)
ProductSyncEnvelope = envelope("ProductSyncEnvelope", ProductSyncOut)
