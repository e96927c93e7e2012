"""Typed results of the Orders API client (spec/orders-api.md §3.2, §3.4, §3.7, §4).

Pydantic models of the API's camelCase JSON, as orders/serializers.py and orders/api/schemas.py
shape it. Money is `Decimal`: the client parses JSON numbers with `parse_float=Decimal` and validates
the Python values, so no amount ever passes through a float (pydantic's own JSON parser would).
Timestamps are aware datetimes; a naive one is an error.

A key the API always sends is required, even when its value may be null; keys it adds later are
ignored. A missing key or a wrong type raises `pydantic.ValidationError`, which the client reports as
`ApiBadAnswer`. Text the API sends as null when blank (`platformName`, `notes`, …) is "" here, so
callers and templates test one thing. No Django imports: the client is usable from a plain script.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

ZERO = Decimal("0")
# Payment states in which money was taken and not all of it given back (spec §3.2 paymentStatus).
REFUNDABLE_PAYMENT_STATUSES = frozenset({"paid", "partially_refunded"})


def _blank(value: Any) -> Any:
    return "" if value is None else value


# A string the API sends as null when it is blank.
Text = Annotated[str, BeforeValidator(_blank)]


class ApiModel(BaseModel):
    """camelCase on the wire, snake_case in Python (both accepted when building one by hand)."""

    model_config = ConfigDict(
        alias_generator=to_camel, validate_by_name=True, validate_by_alias=True, frozen=True, extra="ignore"
    )


class Actor(ApiModel):
    type: str  # api_key | user | system
    name: Text
    api_key_prefix: Text

    @property
    def display(self) -> str:
        """Who acted, as staff read it: a person's name, else the key's prefix, else "system"."""
        if self.type == "user" and self.name:
            return self.name
        if self.type == "api_key":
            return f"API key {self.api_key_prefix}…" if self.api_key_prefix else (self.name or "API key")
        return self.name or self.type or "system"


class HistoryEntry(ApiModel):
    id: int
    kind: str
    from_status: str | None  # null for the creation entry
    to_status: str
    changed_at: AwareDatetime
    actor: Actor
    note: Text
    metadata: dict[str, Any]
    order_id: str | None = None  # only in the store-wide feed (GET /history)
    order_number: str | None = None


class OrderSummary(ApiModel):
    id: str
    order_number: str
    external_id: str | None
    platform_name: Text
    status: str
    payment_status: str
    customer_id: str | None
    customer_email: Text
    customer_name: Text
    item_count: int
    total: Decimal
    refunded_amount: Decimal
    currency: str
    created_at: AwareDatetime
    updated_at: AwareDatetime
    # metadata.trackingNumber and .carrier; absent from APIs that do not send them in list rows.
    tracking_number: Text = ""
    carrier: Text = ""


class Address(ApiModel):
    name: Text
    line1: Text
    line2: Text
    city: Text
    region: Text
    postal_code: Text
    country: Text


class Customer(ApiModel):
    id: str
    email: str
    phone_number: Text
    first_name: Text
    last_name: Text

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


class LineItemProduct(ApiModel):
    """The product as it was when the order was placed."""

    name: str
    sku: Text


class LineItem(ApiModel):
    id: str
    product: LineItemProduct
    quantity: int
    price: Decimal
    subtotal: Decimal
    product_id: str | None
    variant_id: str | None
    external_product_id: Text
    external_variant_id: Text

    @property
    def name(self) -> str:
        return self.product.name

    @property
    def sku(self) -> str:
        return self.product.sku


class Payment(ApiModel):
    method: Text
    transaction_id: Text
    paid_at: AwareDatetime | None


class Refund(ApiModel):
    id: str
    amount: Decimal
    reason: Text
    status: str
    created_at: AwareDatetime
    processed_at: AwareDatetime | None


class Order(OrderSummary):
    """The detail representation: a summary plus everything an order page shows."""

    customer: Customer | None
    shipping_address: Address | None
    billing_address: Address | None
    items: list[LineItem]
    subtotal: Decimal
    tax: Decimal
    shipping: Decimal
    discount: Decimal
    payment: Payment
    refunds: list[Refund]
    metadata: dict[str, Any]
    notes: Text
    status_history: list[HistoryEntry]
    allowed_transitions: list[str]
    cancelled_at: AwareDatetime | None
    cancel_reason: Text

    @property
    def net(self) -> Decimal:
        return self.total - self.refunded_amount

    @property
    def refundable_amount(self) -> Decimal:
        if self.payment_status in REFUNDABLE_PAYMENT_STATUSES:
            return self.total - self.refunded_amount
        return ZERO


class RefundResult(ApiModel):
    """`POST /orders/{id}/refunds`: the new refund and the order as it is now."""

    refund: Refund
    order: Order


class _Paging(ApiModel):
    total: int
    total_is_capped: bool  # the API stopped counting: `total` is the cap, or the estimate below
    total_is_estimate: bool = False  # `total` is the API's estimate of a count above its cap ("about N")
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None


class OrderPage(_Paging):
    """One page of `GET /orders` (§3.4)."""

    orders: list[OrderSummary]


class HistoryPage(_Paging):
    """One page of the store-wide feed, `GET /history`, newest first."""

    entries: list[HistoryEntry]


class OrderHistory(ApiModel):
    """`GET /orders/{id}/history`, oldest first."""

    order_id: str
    order_number: str
    entries: list[HistoryEntry]


class DayStats(ApiModel):
    date: str  # YYYY-MM-DD, a day in the store's timezone
    count: int
    revenue: Decimal


class StatsTotals(ApiModel):
    orders: int
    revenue: Decimal


class Stats(ApiModel):
    """`GET /orders/stats`: counts per status (every status, zeros included), totals, per-day series."""

    by_status: dict[str, int]
    totals: StatsTotals
    per_day: list[DayStats] = Field(alias="days")
    currency: str

    @property
    def total_orders(self) -> int:
        return self.totals.orders

    @property
    def total_revenue(self) -> Decimal:
        return self.totals.revenue


class StatusTable(ApiModel):
    """`GET /orders/statuses`: the API's vocabulary of statuses and its transition table."""

    statuses: list[str]
    payment_statuses: list[str]
    transitions: dict[str, list[str]]
    cancellable: list[str]
    terminal: list[str]


class CustomerPage(ApiModel):
    customers: list[Customer]
    total: int
    has_more: bool


class EventType(ApiModel):
    """One entry of the webhook event catalogue (`GET /webhooks/event-types`)."""

    name: str
    description: str


class EventTypeList(ApiModel):
    event_types: list[EventType]


class WebhookStatistics(ApiModel):
    total: int
    pending: int
    succeeded: int
    failed: int
    cancelled: int
    success_rate: Decimal | None  # succeeded / (succeeded + failed); null before any
    last_delivery_at: AwareDatetime | None


class WebhookEndpoint(ApiModel):
    id: str
    url: str
    event_types: list[str]
    description: Text
    enabled: bool
    disabled_reason: Text
    created_at: AwareDatetime
    secret: str | None = None  # only in the answers to create and rotate-secret
    statistics: WebhookStatistics | None = None  # only in the answer to get


class DeliveryAttempt(ApiModel):
    attempt_number: int
    attempted_at: AwareDatetime
    status_code: int | None
    duration_ms: int
    response_body: Text
    error: Text


class WebhookDelivery(ApiModel):
    id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    last_status_code: int | None
    last_error: Text
    created_at: AwareDatetime
    next_attempt_at: AwareDatetime | None
    attempts: list[DeliveryAttempt]

    @property
    def answer_code(self) -> int | None:
        """The receiver's last status code; a test send records its answer on the attempt only."""
        if self.last_status_code is None and self.attempts:
            return self.attempts[-1].status_code
        return self.last_status_code


class DeliveryPage(ApiModel):
    deliveries: list[WebhookDelivery]
    total: int
    has_more: bool


class WebhookTestResult(ApiModel):
    """`POST /webhooks/{id}/test`: what the receiver answered to a signed `webhook.test`."""

    success: bool
    status_code: int | None
    duration_ms: int
    error: Text
    response_body: Text
    delivery_id: str
    event_id: str
