"""Schemas of the read side: query parameters (validated by ninja) and the documented response shapes.

The response schemas document the wire format for OpenAPI; the endpoints build the same dicts with
orders/serializers.py and return them through `respond` without validating every row again (a
50-row page through pydantic costs more than the queries). tests/orders/api check the two agree.
Field names are the camelCase wire names on purpose: they are documentation of the JSON.
"""

from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpResponse
from ninja import Field, Schema

from orders import errors
from orders.encoding import dumps

MAX_OFFSET = 1_000_000_000

# ---------------------------------------------------------------------------------------------------
# Errors


class FieldErrorOut(Schema):
    field: str = Field(..., examples=["limit"])
    message: str = Field(..., examples=["Input should be less than or equal to 50"])


class ErrorEnvelope(Schema):
    """Every failure (spec §1): `errorCode` is stable, `message` says what to fix."""

    success: Literal[False] = False
    message: str
    errorCode: str
    errors: list[FieldErrorOut] | None = Field(None, description="Only for VALIDATION_ERROR.")
    retryAfter: int | None = Field(None, description="Only for RATE_LIMIT_EXCEEDED: seconds to wait.")


def _codes_by_status() -> dict[str, int]:
    found: dict[str, int] = {}
    pending = list(errors.ApiError.__subclasses__())
    while pending:
        cls = pending.pop()
        found[cls.error_code] = cls.status
        pending.extend(cls.__subclasses__())
    return found


# errorCode → HTTP status, read from orders/errors.py so the docs cannot drift from the code.
STATUS_OF_CODE = _codes_by_status()
# Every operation behind the key can answer these.
COMMON_ERROR_CODES = (
    "INVALID_API_KEY",
    "INSUFFICIENT_PERMISSIONS",
    "NO_STORE_ACCESS",
    "RATE_LIMIT_EXCEEDED",
    "INTERNAL_ERROR",
)


def documented(ok_status: int, ok_schema: Any, *error_codes: str) -> dict[str, Any]:
    """`response=` and `openapi_extra=` for an operation: the success schema plus, per HTTP status,
    the ErrorEnvelope with a description listing the error codes it may carry.

        @router.get("/x", **documented(200, XEnvelope, "ORDER_NOT_FOUND"))
    """
    by_status: dict[int, list[str]] = {}
    for code in (*error_codes, *COMMON_ERROR_CODES):
        by_status.setdefault(STATUS_OF_CODE[code], []).append(code)
    # ok_schema None: the success body is not JSON (the export); describe it in openapi_extra.
    response: dict[int, Any] = {} if ok_schema is None else {ok_status: ok_schema}
    descriptions: dict[int, Any] = {}
    for status, codes in sorted(by_status.items()):
        response[status] = ErrorEnvelope
        descriptions[status] = {"description": "errorCode: " + ", ".join(f"`{c}`" for c in codes)}
    return {"response": response, "openapi_extra": {"responses": descriptions}}


def respond(data: Any, status: int = 200, message: str | None = None) -> HttpResponse:
    """The success envelope, rendered with orjson (Decimal → JSON number) and no re-validation."""
    body: dict[str, Any] = {"success": True, "data": data}
    if message:
        body["message"] = message
    return HttpResponse(dumps(body), status=status, content_type="application/json")


# ---------------------------------------------------------------------------------------------------
# Query parameters. Free-form values are strings here and parsed in orders/api/params.py, which
# reports every bad field at once with a message that says what is accepted.

STATUS_HELP = (
    "One status or several comma-separated (any case): pending, confirmed, processing, "
    "partially_shipped, shipped, partially_delivered, delivered, cancelled, refunded."
)
DATE_HELP = (
    "`YYYY-MM-DD` is a whole day in the store's timezone (dateFrom: from its 00:00, dateTo: through "
    "its end); an ISO 8601 datetime with an offset (`2024-01-31T23:00:00Z`) is taken exactly; a "
    "datetime without an offset is read in the store's timezone."
)


class OrderFilterQuery(Schema):
    status: str | None = Field(None, description=STATUS_HELP)
    dateFrom: str | None = Field(None, description="Created at or after. " + DATE_HELP)
    dateTo: str | None = Field(None, description="Created at or before. " + DATE_HELP)
    updatedFrom: str | None = Field(None, description="Updated at or after (incremental sync). " + DATE_HELP)
    updatedTo: str | None = Field(None, description="Updated at or before. " + DATE_HELP)
    customerId: str | None = Field(None, description="The customer's UUID.")
    externalId: str | None = Field(None, description="The platform's order id, exact.")
    platformName: str | None = Field(None, description="Exact platform name, e.g. `shopify`.")
    search: str | None = Field(
        None,
        max_length=200,
        description="Order number (`ORD-000123` or `123`), external ID (exact), or part of the "
        "customer's email or name.",
    )
    paymentStatus: str | None = Field(
        None, description="unpaid, paid, partially_refunded or refunded; several comma-separated."
    )
    sort: str | None = Field(
        None,
        description="-createdAt (default), createdAt, -updatedAt, updatedAt, -total, total, "
        "-orderNumber, orderNumber. Ties are broken by id in the same direction.",
    )


class OrderListQuery(OrderFilterQuery):
    limit: int = Field(50, ge=1, le=50, description="Page size, 1–50.")
    offset: int = Field(
        0,
        ge=0,
        le=MAX_OFFSET,
        description="Rows to skip (for shallow page-number UIs; use `cursor` to page deep or to sync).",
    )
    cursor: str | None = Field(
        None,
        description="`nextCursor` of the previous page, with the same filters and sort. Continues a "
        "keyset walk that never skips or repeats an order while new orders arrive.",
    )


class ExportQuery(OrderFilterQuery):
    format: Literal["csv", "ndjson"] = Field("csv", description="`csv` (default) or `ndjson`.")


class HistoryFeedQuery(Schema):
    dateFrom: str | None = Field(None, description="Changed at or after. " + DATE_HELP)
    dateTo: str | None = Field(None, description="Changed at or before. " + DATE_HELP)
    status: str | None = Field(None, description="The status changed to. " + STATUS_HELP)
    actor: str | None = Field(
        None, max_length=150, description="The actor's name (staff name or API key name), exact, any case."
    )
    limit: int = Field(50, ge=1, le=50, description="Page size, 1–50.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Entries to skip.")
    cursor: str | None = Field(None, description="`nextCursor` of the previous page, same filters.")


class CustomerListQuery(Schema):
    search: str | None = Field(None, max_length=200, description="Part of the email, first or last name.")
    limit: int = Field(50, ge=1, le=50, description="Page size, 1–50.")
    offset: int = Field(0, ge=0, le=MAX_OFFSET, description="Customers to skip.")


# ---------------------------------------------------------------------------------------------------
# Response shapes (documentation of what orders/serializers.py produces)


class HistoryActorOut(Schema):
    type: Literal["api_key", "user", "system"]
    name: str
    apiKeyPrefix: str | None


class HistoryEntryOut(Schema):
    id: int
    kind: Literal["created", "status", "cancel", "refund", "link", "metadata"]
    fromStatus: str | None = Field(..., description="null for the creation entry.")
    toStatus: str
    changedAt: str
    actor: HistoryActorOut
    note: str | None
    reason: str | None = Field(..., description="The same text as `note`.")
    metadata: dict[str, Any]


class HistoryFeedEntryOut(HistoryEntryOut):
    orderId: str
    orderNumber: str


class OrderSummaryOut(Schema):
    id: str
    externalId: str | None
    platformName: str | None
    orderNumber: str = Field(..., examples=["ORD-000123"])
    status: str
    paymentStatus: Literal["unpaid", "paid", "partially_refunded", "refunded"]
    customerId: str | None
    customerEmail: str | None
    customerName: str | None
    itemCount: int
    total: Decimal
    refundedAmount: Decimal
    currency: str
    createdAt: str
    updatedAt: str


class CustomerBriefOut(Schema):
    id: str
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
    id: str
    productId: str | None
    variantId: str | None
    externalProductId: str | None
    externalVariantId: str | None
    quantity: int
    price: Decimal
    subtotal: Decimal
    product: LineItemProductOut


class PaymentOut(Schema):
    method: str | None
    transactionId: str | None
    paidAt: str | None


class RefundOut(Schema):
    id: str
    amount: Decimal
    reason: str | None
    status: Literal["pending", "succeeded", "failed"]
    createdAt: str
    processedAt: str | None


class OrderDetailOut(OrderSummaryOut):
    customer: CustomerBriefOut | None
    shippingAddress: AddressOut | None
    billingAddress: AddressOut | None
    items: list[LineItemOut]
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal
    discount: Decimal
    payment: PaymentOut
    refunds: list[RefundOut]
    metadata: dict[str, Any]
    notes: str | None
    statusHistory: list[HistoryEntryOut]
    allowedTransitions: list[str]
    cancelledAt: str | None
    cancelReason: str | None


class PageOut(Schema):
    total: int = Field(..., description="Exact up to the count cap (see totalIsCapped).")
    totalIsCapped: bool = Field(
        ..., description="true when more rows match than the cap; `total` is then the cap, not the count."
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
    orderId: str
    orderNumber: str
    entries: list[HistoryEntryOut] = Field(..., description="Oldest first.")


class StatusesOut(Schema):
    statuses: list[str]
    paymentStatuses: list[str] = Field(..., description="Every value of an order's `paymentStatus`.")
    transitions: dict[str, list[str]] = Field(
        ..., description="from → the statuses PUT …/status may move to."
    )
    cancellable: list[str] = Field(..., description="Statuses from which PUT …/cancel is allowed.")
    terminal: list[str] = Field(..., description="Statuses no status update can leave (refunds still apply).")


class StatsDayOut(Schema):
    date: date
    count: int
    revenue: Decimal


class StatsTotalsOut(Schema):
    orders: int
    revenue: Decimal


class StatsOut(Schema):
    byStatus: dict[str, int] = Field(..., description="Every status, zeros included.")
    totals: StatsTotalsOut
    days: list[StatsDayOut] = Field(..., description="Every local day of the window, oldest first.")
    dateFrom: date
    dateTo: date
    timezone: str
    currency: str


class CustomerOut(CustomerBriefOut):
    createdAt: str
    ordersCount: int


class CustomerListOut(Schema):
    customers: list[CustomerOut]
    total: int
    totalIsCapped: bool
    limit: int
    offset: int
    hasMore: bool


class VariantOut(Schema):
    id: str
    externalVariantId: str
    sku: str | None
    name: str | None
    price: Decimal
    inventoryQuantity: int
    trackInventory: bool


class ProductOut(Schema):
    id: str
    externalProductId: str
    name: str
    variants: list[VariantOut]
    createdAt: str
    updatedAt: str


class ProductSyncOut(Schema):
    created: int
    updated: int
    products: list[ProductOut]


def envelope(name: str, data: Any) -> type[Schema]:
    """`{success: true, data: <data>}` as a named schema for the docs."""
    return type(name, (Schema,), {"__annotations__": {"success": Literal[True], "data": data}})


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
