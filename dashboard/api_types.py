"""Typed results of the Orders API client (spec/orders-api.md §3.2, §3.4, §3.7, §4).

Plain dataclasses built from the API's camelCase JSON: money as Decimal (the client parses JSON numbers
as Decimal, never float), timestamps as aware datetimes. No Django imports: the client is usable from a
plain script. Each result keeps the JSON it was built from in `raw`, so fields the API adds later are
still reachable without a client release.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

JSON = dict[str, Any]
ZERO = Decimal("0")


def parse_datetime(value: str | None) -> datetime | None:
    """`2024-01-15T10:30:00.000Z` → aware datetime (UTC); None stays None."""
    if not value:
        return None
    return datetime.fromisoformat(value)


def _money(value: Any) -> Decimal:
    if value is None:
        return ZERO
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _str(value: Any) -> str:
    return "" if value is None else str(value)


@dataclass(frozen=True)
class Actor:
    type: str  # api_key | user | system
    name: str
    api_key_prefix: str

    @classmethod
    def from_api(cls, data: JSON | None) -> Actor:
        data = data or {}
        return cls(
            type=_str(data.get("type")),
            name=_str(data.get("name")),
            api_key_prefix=_str(data.get("apiKeyPrefix")),
        )

    @property
    def display(self) -> str:
        """Who acted, as staff read it: a person's name, else the key's prefix, else "system"."""
        if self.type == "user" and self.name:
            return self.name
        if self.type == "api_key":
            return f"API key {self.api_key_prefix}…" if self.api_key_prefix else (self.name or "API key")
        return self.name or self.type or "system"


@dataclass(frozen=True)
class HistoryEntry:
    id: str
    kind: str
    from_status: str | None
    to_status: str
    changed_at: datetime | None
    actor: Actor
    note: str
    metadata: dict[str, Any]
    order_id: str | None = None  # only in the store-wide feed (GET /history)
    order_number: str | None = None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: JSON) -> HistoryEntry:
        return cls(
            id=_str(data.get("id")),
            kind=_str(data.get("kind")) or "status",
            from_status=data.get("fromStatus"),
            to_status=_str(data.get("toStatus")),
            changed_at=parse_datetime(data.get("changedAt")),
            actor=Actor.from_api(data.get("actor")),
            note=_str(data.get("note") or data.get("reason")),
            metadata=data.get("metadata") or {},
            order_id=data.get("orderId"),
            order_number=data.get("orderNumber"),
            raw=data,
        )


@dataclass(frozen=True)
class OrderSummary:
    id: str
    order_number: str
    external_id: str | None
    platform_name: str
    status: str
    payment_status: str
    customer_id: str | None
    customer_email: str
    customer_name: str
    item_count: int
    total: Decimal
    refunded_amount: Decimal
    currency: str
    created_at: datetime | None
    updated_at: datetime | None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _summary_fields(cls, data: JSON) -> dict[str, Any]:
        return {
            "id": _str(data.get("id")),
            "order_number": _str(data.get("orderNumber")),
            "external_id": data.get("externalId"),
            "platform_name": _str(data.get("platformName")),
            "status": _str(data.get("status")),
            "payment_status": _str(data.get("paymentStatus")),
            "customer_id": data.get("customerId"),
            "customer_email": _str(data.get("customerEmail")),
            "customer_name": _str(data.get("customerName")),
            "item_count": int(data.get("itemCount") or 0),
            "total": _money(data.get("total")),
            "refunded_amount": _money(data.get("refundedAmount")),
            "currency": _str(data.get("currency")),
            "created_at": parse_datetime(data.get("createdAt")),
            "updated_at": parse_datetime(data.get("updatedAt")),
            "raw": data,
        }

    @classmethod
    def from_api(cls, data: JSON) -> OrderSummary:
        return cls(**cls._summary_fields(data))


@dataclass(frozen=True)
class Address:
    name: str
    line1: str
    line2: str
    city: str
    region: str
    postal_code: str
    country: str

    @classmethod
    def from_api(cls, data: JSON | None) -> Address | None:
        if not data:
            return None
        return cls(
            name=_str(data.get("name")),
            line1=_str(data.get("line1")),
            line2=_str(data.get("line2")),
            city=_str(data.get("city")),
            region=_str(data.get("region")),
            postal_code=_str(data.get("postalCode")),
            country=_str(data.get("country")),
        )


@dataclass(frozen=True)
class Customer:
    id: str
    email: str
    phone_number: str
    first_name: str
    last_name: str
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: JSON | None) -> Customer | None:
        if not data:
            return None
        return cls(
            id=_str(data.get("id")),
            email=_str(data.get("email")),
            phone_number=_str(data.get("phoneNumber")),
            first_name=_str(data.get("firstName")),
            last_name=_str(data.get("lastName")),
            raw=data,
        )

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass(frozen=True)
class LineItem:
    id: str
    name: str
    sku: str
    quantity: int
    price: Decimal
    subtotal: Decimal
    product_id: str | None
    variant_id: str | None
    external_product_id: str
    external_variant_id: str

    @classmethod
    def from_api(cls, data: JSON) -> LineItem:
        product = data.get("product") or {}
        return cls(
            id=_str(data.get("id")),
            name=_str(product.get("name") or data.get("name")),
            sku=_str(product.get("sku") or data.get("sku")),
            quantity=int(data.get("quantity") or 0),
            price=_money(data.get("price")),
            subtotal=_money(data.get("subtotal")),
            product_id=data.get("productId"),
            variant_id=data.get("variantId"),
            external_product_id=_str(data.get("externalProductId")),
            external_variant_id=_str(data.get("externalVariantId")),
        )


@dataclass(frozen=True)
class Payment:
    method: str
    transaction_id: str
    paid_at: datetime | None

    @classmethod
    def from_api(cls, data: JSON | None) -> Payment:
        data = data or {}
        return cls(
            method=_str(data.get("method")),
            transaction_id=_str(data.get("transactionId")),
            paid_at=parse_datetime(data.get("paidAt")),
        )


@dataclass(frozen=True)
class Refund:
    id: str
    amount: Decimal
    reason: str
    status: str
    created_at: datetime | None
    processed_at: datetime | None

    @classmethod
    def from_api(cls, data: JSON) -> Refund:
        return cls(
            id=_str(data.get("id")),
            amount=_money(data.get("amount")),
            reason=_str(data.get("reason")),
            status=_str(data.get("status")),
            created_at=parse_datetime(data.get("createdAt")),
            processed_at=parse_datetime(data.get("processedAt")),
        )


@dataclass(frozen=True)
class Order(OrderSummary):
    """The detail representation: a summary plus everything an order page shows."""

    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    items: list[LineItem] = field(default_factory=list)
    subtotal: Decimal = ZERO
    tax: Decimal = ZERO
    shipping: Decimal = ZERO
    discount: Decimal = ZERO
    payment: Payment | None = None
    refunds: list[Refund] = field(default_factory=list)
    metadata: dict[str, Any] = field(default_factory=dict)
    notes: str = ""
    status_history: list[HistoryEntry] = field(default_factory=list)
    allowed_transitions: list[str] = field(default_factory=list)
    cancelled_at: datetime | None = None
    cancel_reason: str = ""

    @classmethod
    def from_api(cls, data: JSON) -> Order:
        return cls(
            **cls._summary_fields(data),
            customer=Customer.from_api(data.get("customer")),
            shipping_address=Address.from_api(data.get("shippingAddress")),
            billing_address=Address.from_api(data.get("billingAddress")),
            items=[LineItem.from_api(item) for item in data.get("items") or []],
            subtotal=_money(data.get("subtotal")),
            tax=_money(data.get("tax")),
            shipping=_money(data.get("shipping")),
            discount=_money(data.get("discount")),
            payment=Payment.from_api(data.get("payment")),
            refunds=[Refund.from_api(r) for r in data.get("refunds") or []],
            metadata=data.get("metadata") or {},
            notes=_str(data.get("notes")),
            status_history=[HistoryEntry.from_api(h) for h in data.get("statusHistory") or []],
            allowed_transitions=list(data.get("allowedTransitions") or []),
            cancelled_at=parse_datetime(data.get("cancelledAt")),
            cancel_reason=_str(data.get("cancelReason")),
        )

    @property
    def net(self) -> Decimal:
        return self.total - self.refunded_amount

    @property
    def refundable_amount(self) -> Decimal:
        if self.payment_status in {"paid", "partially_refunded"}:
            return self.total - self.refunded_amount
        return ZERO


@dataclass(frozen=True)
class OrderPage:
    """One page of `GET /orders` (§3.4). `total_is_capped`: the API stopped counting at `total`."""

    orders: list[OrderSummary]
    total: int
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None
    total_is_capped: bool = False

    @classmethod
    def from_api(cls, data: JSON) -> OrderPage:
        return cls(
            orders=[OrderSummary.from_api(o) for o in data.get("orders") or []],
            total=int(data.get("total") or 0),
            limit=int(data.get("limit") or 0),
            offset=int(data.get("offset") or 0),
            has_more=bool(data.get("hasMore")),
            next_cursor=data.get("nextCursor"),
            total_is_capped=bool(data.get("totalIsCapped")),
        )


@dataclass(frozen=True)
class HistoryPage:
    entries: list[HistoryEntry]
    total: int
    limit: int
    offset: int
    has_more: bool
    next_cursor: str | None
    total_is_capped: bool = False

    @classmethod
    def from_api(cls, data: JSON) -> HistoryPage:
        rows = data.get("entries") or data.get("history") or data.get("items") or []
        return cls(
            entries=[HistoryEntry.from_api(e) for e in rows],
            total=int(data.get("total") or 0),
            limit=int(data.get("limit") or 0),
            offset=int(data.get("offset") or 0),
            has_more=bool(data.get("hasMore")),
            next_cursor=data.get("nextCursor"),
            total_is_capped=bool(data.get("totalIsCapped")),
        )


@dataclass(frozen=True)
class DayStats:
    date: str
    count: int
    revenue: Decimal


@dataclass(frozen=True)
class Stats:
    """`GET /orders/stats`: counts per status and per-day count and revenue."""

    by_status: dict[str, int]
    per_day: list[DayStats]
    total_orders: int
    total_revenue: Decimal
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: JSON) -> Stats:
        by_status = data.get("byStatus") or data.get("countsByStatus") or data.get("statusCounts") or {}
        if isinstance(by_status, list):  # [{"status": "pending", "count": 3}, …]
            by_status = {row.get("status"): int(row.get("count") or 0) for row in by_status}
        days = data.get("perDay") or data.get("daily") or data.get("days") or []
        totals = data.get("totals") or {}
        return cls(
            by_status={str(k): int(v or 0) for k, v in by_status.items()},
            per_day=[
                DayStats(
                    date=_str(d.get("date") or d.get("day")),
                    count=int(d.get("count") or d.get("orders") or 0),
                    revenue=_money(d.get("revenue")),
                )
                for d in days
            ],
            total_orders=int(totals.get("orders") or data.get("totalOrders") or 0),
            total_revenue=_money(totals.get("revenue") or data.get("totalRevenue")),
            raw=data,
        )


@dataclass(frozen=True)
class StatusTable:
    """`GET /orders/statuses`: every status and the statuses each may move to."""

    statuses: list[str]
    transitions: dict[str, list[str]]
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: JSON) -> StatusTable:
        transitions = data.get("transitions") or {}
        if isinstance(transitions, list):  # [{"from": "pending", "to": [...]}, …]
            transitions = {row.get("from"): list(row.get("to") or []) for row in transitions}
        statuses = data.get("statuses") or list(transitions)
        return cls(statuses=list(statuses), transitions=dict(transitions), raw=data)


@dataclass(frozen=True)
class CustomerPage:
    customers: list[Customer]
    total: int
    has_more: bool

    @classmethod
    def from_api(cls, data: JSON) -> CustomerPage:
        rows = data.get("customers") or data.get("items") or []
        return cls(
            customers=[c for c in (Customer.from_api(r) for r in rows) if c is not None],
            total=int(data.get("total") or 0),
            has_more=bool(data.get("hasMore")),
        )


@dataclass(frozen=True)
class WebhookEndpoint:
    id: str
    url: str
    event_types: list[str]
    description: str
    enabled: bool
    created_at: datetime | None
    secret: str | None  # only in the responses to create and rotate-secret
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: JSON) -> WebhookEndpoint:
        return cls(
            id=_str(data.get("id")),
            url=_str(data.get("url")),
            event_types=list(data.get("eventTypes") or []),
            description=_str(data.get("description")),
            enabled=bool(data.get("enabled", True)),
            created_at=parse_datetime(data.get("createdAt")),
            secret=data.get("secret"),
            raw=data,
        )


@dataclass(frozen=True)
class WebhookDelivery:
    id: str
    event_id: str
    event_type: str
    status: str
    attempt_count: int
    last_status_code: int | None
    created_at: datetime | None
    raw: JSON = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_api(cls, data: JSON) -> WebhookDelivery:
        return cls(
            id=_str(data.get("id")),
            event_id=_str(data.get("eventId")),
            event_type=_str(data.get("eventType")),
            status=_str(data.get("status")),
            attempt_count=int(data.get("attemptCount") or data.get("attempts_count") or 0),
            last_status_code=data.get("lastStatusCode"),
            created_at=parse_datetime(data.get("createdAt")),
            raw=data,
        )
