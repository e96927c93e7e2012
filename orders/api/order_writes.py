"""Write operations on orders (spec §3.1, §3.5–§3.10). They decorate the orders router.

Each operation parses its body (ninja schema: shape errors are 400 VALIDATION_ERROR naming the field),
resolves the order with the store-scoped selector (UUID or external ID; another store's order is 404),
calls one service (the rules, the row lock, history and outbox live there) and answers with the order's
detail. Every one honours `Idempotency-Key` (orders/api/idempotency.py).
"""

from datetime import datetime
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse
from ninja import Field, Schema

from orders import errors, money, selectors, serializers, services
from orders.api import openapi, schemas
from orders.api.common import CamelSchema, actor_of, store_of
from orders.api.idempotency import REPLAYED_HEADER, idempotent
from orders.api.openapi import documented, respond
from orders.api.orders import router
from orders.models import Order
from orders.statuses import OrderStatus

__all__ = ["router"]

# Every write may answer these besides its own codes.
WRITE_ERROR_CODES = (
    *openapi.BODY_ERROR_CODES,
    "IDEMPOTENCY_KEY_IN_USE",
    "IDEMPOTENCY_KEY_REUSED",
)
IDEMPOTENCY_HELP = (
    " Send an `Idempotency-Key` header (≤255 characters) to make retries safe: the first response is "
    "replayed for 24 h with `Idempotent-Replayed: true`."
)
METADATA_HELP = (
    "Merged into the order's metadata; a key set to null is removed. ≤50 keys in total, keys ≤40 "
    "characters, values a string (≤500 characters), number, boolean or null."
)
Money = Decimal


# ---------------------------------------------------------------------------------------------------
# Bodies


class StatusUpdateIn(CamelSchema):
    status: str = Field(..., description="The new status (any case).", examples=["shipped"])
    metadata: dict[str, Any] | None = Field(None, description=METADATA_HELP)
    note: str | None = Field(None, description="Why; kept in the history entry (≤500 characters).")


class CancelIn(CamelSchema):
    reason: str = Field(..., description="Required, ≤500 characters; kept in the history entry.")
    refund_amount: Money | None = Field(
        None, description="Refund this much now (>0, ≤ the refundable amount), in the same transaction."
    )
    notify_customer: bool = Field(False, description="Email the customer that the order is cancelled.")


class RefundIn(CamelSchema):
    amount: Money = Field(..., description="> 0 and ≤ the refundable amount (total minus refunds so far).")
    reason: str | None = Field(None, description="≤500 characters.")
    notify_customer: bool = Field(False, description="Email the customer about the refund.")


class LinkIn(CamelSchema):
    external_order_id: str = Field(..., examples=["shop_order_456"])
    platform_name: str = Field(..., examples=["WooCommerce"])


class MetadataIn(CamelSchema):
    metadata: dict[str, Any] = Field(..., description=METADATA_HELP)


class ItemIn(CamelSchema):
    external_product_id: str = Field(..., min_length=1, max_length=255, examples=["prod_123"])
    external_variant_id: str = Field(..., min_length=1, max_length=255, examples=["var_456"])
    quantity: int = Field(..., ge=1, le=1_000_000)
    price: Money = Field(..., ge=0, max_digits=12, decimal_places=2, examples=[29.99])
    name: str | None = Field(None, max_length=255, description="Defaults to the product's name.")
    sku: str | None = Field(None, max_length=100, description="Defaults to the variant's SKU.")


class CustomerInfoIn(CamelSchema):
    email: str = Field(..., min_length=3, max_length=254)
    phone_number: str | None = Field(None, max_length=40)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)


class AddressIn(CamelSchema):
    name: str | None = Field(None, max_length=200)
    line1: str | None = Field(None, max_length=200)
    line2: str | None = Field(None, max_length=200)
    city: str | None = Field(None, max_length=100)
    region: str | None = Field(None, max_length=100)
    postal_code: str | None = Field(None, max_length=20)
    country: str | None = Field(None, max_length=2, description="ISO 3166-1 alpha-2.")


class PaymentIn(CamelSchema):
    method: str | None = Field(None, max_length=100)
    transaction_id: str | None = Field(None, max_length=255)


def _amount(**kwargs):
    return Field(max_digits=12, decimal_places=2, ge=0, **kwargs)


class PlatformOrderIn(CamelSchema):
    external_order_id: str | None = Field(
        None, min_length=1, max_length=255, description="Makes the create idempotent per store."
    )
    platform_name: str | None = Field(None, max_length=100, examples=["Shopify"])
    customer_id: str | None = Field(None, description="An existing customer; or send customerInfo.")
    customer_info: CustomerInfoIn | None = Field(None, description="Matched by email, else created.")
    items: list[ItemIn] = Field(..., min_length=1, max_length=250)  # services.MAX_ITEMS
    subtotal: Money | None = _amount(default=None, description="If given, must equal Σ quantity × price.")
    tax: Money = _amount(default=Decimal("0"))
    shipping: Money = _amount(default=Decimal("0"))
    discount: Money = _amount(default=Decimal("0"))
    total: Money = _amount(description="Must equal subtotal + tax + shipping − discount, to the cent.")
    currency: str | None = Field(None, min_length=3, max_length=3, description="Defaults to the store's.")
    status: str = Field(OrderStatus.CONFIRMED.value, description="pending or confirmed (confirmed = paid).")
    shipping_address: AddressIn | None = None
    billing_address: AddressIn | None = None
    payment: PaymentIn | None = None
    metadata: dict[str, Any] | None = Field(None, description=METADATA_HELP)
    placed_at: datetime | None = Field(None, description="When the platform took the order (createdAt).")

    def to_input(self) -> "services.PlatformOrderInput":
        def address(value: AddressIn | None) -> dict | None:
            return value.model_dump(by_alias=True) if value is not None else None

        info = self.customer_info
        platform_name = self.platform_name or ""
        if not platform_name and isinstance((self.metadata or {}).get("platformName"), str):
            # The seed's SDK example names the platform in metadata only.
            platform_name = self.metadata["platformName"][:100]  # type: ignore[index]
        return services.PlatformOrderInput(
            items=[
                services.ItemInput(
                    external_product_id=i.external_product_id,
                    external_variant_id=i.external_variant_id,
                    quantity=i.quantity,
                    price=i.price,
                    name=i.name,
                    sku=i.sku,
                )
                for i in self.items
            ],
            total=self.total,
            external_order_id=self.external_order_id,
            platform_name=platform_name,
            customer_id=self.customer_id,
            customer_info=services.CustomerInfo(
                email=info.email,
                phone_number=info.phone_number or "",
                first_name=info.first_name or "",
                last_name=info.last_name or "",
            )
            if info is not None
            else None,
            subtotal=self.subtotal,
            tax=self.tax,
            shipping=self.shipping,
            discount=self.discount,
            currency=self.currency,
            status=self.status,
            shipping_address=address(self.shipping_address),
            billing_address=address(self.billing_address),
            payment_method=(self.payment.method or "") if self.payment else "",
            payment_transaction_id=(self.payment.transaction_id or "") if self.payment else "",
            metadata=self.metadata,
            placed_at=self.placed_at,
        )


class RefundCreatedOut(Schema):
    refund: schemas.RefundOut
    order: schemas.OrderDetailOut


RefundCreatedEnvelope = openapi.envelope("RefundCreatedEnvelope", RefundCreatedOut)


def _refund_amount(amount: Decimal, *, field: str, currency: str) -> Decimal:
    """The amount if it is finite, within the money columns and in the order's currency's decimals
    (orders/money.py), else 400 INVALID_REFUND_AMOUNT naming the field. The service checks > 0 and
    ≤ refundable under the order's lock."""
    return money.check_amount(amount, field=field, currency=currency, error=errors.InvalidRefundAmount)


def _detail(request: HttpRequest, order_id) -> dict:
    return serializers.order_detail(
        selectors.order_get_for_detail(store=store_of(request), order_ref=str(order_id))
    )


def _detail_of(order: Order) -> dict:
    """The detail of an order a service has just written and returned: the service read its row (and
    customer) under the lock and saved it, so only the related rows are read (`load_detail_rows`)."""
    selectors.load_detail_rows(order)
    return serializers.order_detail(order)


# ---------------------------------------------------------------------------------------------------
# Operations


@router.post(
    "",
    operation_id="create_order_from_platform",
    summary="Create an order from an external platform",
    description=(
        "Spec §3.8. Idempotent on `externalOrderId`: the same content again answers 200 with "
        "`Idempotent-Replayed: true` and the existing order; different items/total/currency/customer "
        "→ 409 `EXTERNAL_ORDER_ID_EXISTS`. Tracked stock is decremented. `orderNumber` is unique per store "
        "and increases with each create; a create that fails after taking its number (e.g. a concurrent "
        "create with the same `externalOrderId` that commits first) leaves that number unused."
        + IDEMPOTENCY_HELP
    ),
    **documented(
        201,
        schemas.OrderDetailEnvelope,
        *WRITE_ERROR_CODES,
        "INSUFFICIENT_INVENTORY",
        "VARIANT_NOT_FOUND",
        "CUSTOMER_NOT_FOUND",
        "EXTERNAL_ORDER_ID_EXISTS",
    ),
)
@idempotent
def create_order_from_platform(request: HttpRequest, payload: PlatformOrderIn) -> HttpResponse:
    order, created = services.order_create_from_platform(
        store=store_of(request), data=payload.to_input(), actor=actor_of(request)
    )
    response = respond(_detail_of(order), status=201 if created else 200)
    response["Location"] = f"/api/v1/orders/{order.id}"
    if not created:
        response[REPLAYED_HEADER] = "true"
    return response


@router.put(
    "/{order_id}/status",
    operation_id="update_order_status",
    summary="Change an order's status",
    description=(
        "Spec §3.1: only moves of the transition table (`GET /api/v1/orders/statuses`; each order's "
        "`allowedTransitions`). `cancelled` here is a cancel without refund. Moving to `confirmed` marks "
        "the order paid. `metadata` is merged into the order's." + IDEMPOTENCY_HELP
    ),
    **documented(
        200,
        schemas.OrderDetailEnvelope,
        *WRITE_ERROR_CODES,
        "INVALID_STATUS",
        "INVALID_STATUS_TRANSITION",
        "ORDER_NOT_FOUND",
        "ORDER_ALREADY_CANCELLED",
    ),
)
@idempotent
def update_order_status(request: HttpRequest, order_id: str, payload: StatusUpdateIn) -> HttpResponse:
    order = services.order_set_status(
        order_id=order_id,
        store=store_of(request),
        to=payload.status,
        actor=actor_of(request),
        metadata=payload.metadata,
        note=payload.note or "",
    )
    return respond(_detail_of(order))


@router.put(
    "/{order_id}/cancel",
    operation_id="cancel_order",
    summary="Cancel an order, optionally refunding",
    description=(
        "Spec §3.5: from pending, confirmed, processing, partially_shipped or shipped. Restores tracked "
        "stock. `refundAmount` creates a refund in the same transaction. `notifyCustomer` emails the "
        "customer after the change is committed." + IDEMPOTENCY_HELP
    ),
    **documented(
        200,
        schemas.OrderDetailEnvelope,
        *WRITE_ERROR_CODES,
        "INVALID_REFUND_AMOUNT",
        "ORDER_NOT_FOUND",
        "ORDER_ALREADY_CANCELLED",
        "INVALID_CANCELLATION",
    ),
)
@idempotent
def cancel_order(request: HttpRequest, order_id: str, payload: CancelIn) -> HttpResponse:
    order = selectors.order_get(store=store_of(request), order_ref=order_id)
    refund_amount = payload.refund_amount
    if refund_amount is not None:
        refund_amount = _refund_amount(refund_amount, field="refundAmount", currency=order.currency)
    services.order_cancel(
        order_id=order.id,
        store=store_of(request),
        reason=payload.reason,
        refund_amount=refund_amount,
        notify_customer=payload.notify_customer,
        actor=actor_of(request),
    )
    return respond(_detail(request, order.id))


@router.post(
    "/{order_id}/refunds",
    operation_id="create_refund",
    summary="Refund part or all of an order",
    description=(
        "Spec §3.6: allowed when paymentStatus is paid or partially_refunded; the amount must be > 0 and "
        "≤ the refundable amount, also under concurrent requests. The refund is `pending` until the "
        "payment gateway has carried it out in the background (→ `succeeded` or `failed`). A delivered "
        "order refunded in full becomes `refunded`." + IDEMPOTENCY_HELP
    ),
    **documented(201, RefundCreatedEnvelope, *WRITE_ERROR_CODES, "INVALID_REFUND_AMOUNT", "ORDER_NOT_FOUND"),
)
@idempotent
def create_refund(request: HttpRequest, order_id: str, payload: RefundIn) -> HttpResponse:
    order = selectors.order_get(store=store_of(request), order_ref=order_id)
    refund, _ = services.refund_create(
        order_id=order.id,
        store=store_of(request),
        amount=_refund_amount(payload.amount, field="amount", currency=order.currency),
        reason=payload.reason or "",
        notify_customer=payload.notify_customer,
        actor=actor_of(request),
    )
    detail = _detail(request, order.id)
    refund_data = next(r for r in detail["refunds"] if r["id"] == str(refund.id))
    return respond({"refund": refund_data, "order": detail}, status=201)


@router.put(
    "/{order_id}/link",
    operation_id="link_order",
    summary="Link an order to an external platform order",
    description=(
        "Spec §3.9: sets `externalId` and `platformName` on an order that has none; the same pair again "
        "is a no-op (200)." + IDEMPOTENCY_HELP
    ),
    **documented(
        200,
        schemas.OrderDetailEnvelope,
        *WRITE_ERROR_CODES,
        "ORDER_NOT_FOUND",
        "ORDER_ALREADY_LINKED",
        "EXTERNAL_ID_EXISTS",
    ),
)
@idempotent
def link_order(request: HttpRequest, order_id: str, payload: LinkIn) -> HttpResponse:
    order = selectors.order_get(store=store_of(request), order_ref=order_id)
    services.order_link(
        order_id=order.id,
        store=store_of(request),
        external_order_id=payload.external_order_id,
        platform_name=payload.platform_name,
        actor=actor_of(request),
    )
    return respond(_detail(request, order.id))


@router.patch(
    "/{order_id}/metadata",
    operation_id="update_order_metadata",
    summary="Merge keys into an order's metadata",
    description=(
        'Spec §3.10: body `{"metadata": {...}}`; keys are merged, a key set to null is removed.'
        + IDEMPOTENCY_HELP
    ),
    **documented(200, schemas.OrderDetailEnvelope, *WRITE_ERROR_CODES, "ORDER_NOT_FOUND"),
)
@idempotent
def update_order_metadata(request: HttpRequest, order_id: str, payload: MetadataIn) -> HttpResponse:
    order = selectors.order_get(store=store_of(request), order_ref=order_id)
    services.order_update_metadata(
        order_id=order.id, store=store_of(request), metadata=payload.metadata, actor=actor_of(request)
    )
    return respond(_detail(request, order.id))
