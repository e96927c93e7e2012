"""Orders created from an external platform (spec §3.8): validation, idempotent import, stock."""

import contextlib
import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import Case, F, Value, When
from django.utils import timezone

from orders import errors, money
from orders.actors import Actor
from orders.errors import FieldError
from orders.models import ZERO, Customer, HistoryEntry, LineItem, Order, Store, Variant
from orders.selectors import keep_written_rows
from orders.services.common import CENT, record_history
from orders.services.metadata import merge_metadata, validate_metadata
from orders.services.order_numbers import order_number_next
from orders.statuses import STATUSES_CREATABLE_FROM_PLATFORM, OrderStatus, PaymentStatus, parse_status
from orders.webhooks import outbox

MAX_ITEMS = 250


@dataclass(frozen=True)
class ItemInput:
    external_product_id: str
    external_variant_id: str
    quantity: int
    price: Decimal
    name: str | None = None
    sku: str | None = None


@dataclass(frozen=True)
class CustomerInfo:
    email: str
    phone_number: str = ""
    first_name: str = ""
    last_name: str = ""


@dataclass(frozen=True)
class PlatformOrderInput:
    """A create-from-platform request, already shape-checked by the API schema."""

    items: list[ItemInput]
    total: Decimal
    external_order_id: str | None = None
    platform_name: str = ""
    customer_id: str | None = None
    customer_info: CustomerInfo | None = None
    subtotal: Decimal | None = None
    tax: Decimal = ZERO
    shipping: Decimal = ZERO
    discount: Decimal = ZERO
    currency: str | None = None
    status: str = OrderStatus.CONFIRMED
    shipping_address: dict | None = None
    billing_address: dict | None = None
    payment_method: str = ""
    payment_transaction_id: str = ""
    metadata: dict | None = None
    placed_at: datetime | None = None
    notes: str = ""


def order_create_from_platform(*, store: Store, data: PlatformOrderInput, actor: Actor) -> tuple[Order, bool]:
    """Create an order imported from a platform; returns (order, created). A created order comes with
    its customer, items, refunds and history loaded; an existing one as read.

    Idempotent on (store, externalOrderId): the same content again returns the existing order with
    created=False and writes nothing; different content raises ExternalOrderIdExists. Creates of one
    store run in parallel (no store-wide lock; the order number comes from order_numbers.py). Fifty
    identical concurrent requests still create one order: the partial unique constraint on (store,
    externalOrderId) makes every insert but the first wait for it and fail, and each of those rolls
    back and answers with the winner's order.
    Raises ValidationFailed, VariantNotFound, CustomerNotFound, InsufficientInventory, ExternalOrderIdExists.
    """
    status, currency, subtotal, metadata = _validate_platform_order(store, data)
    data = _normalized_money(data)
    fingerprint = _fingerprint(data, currency)
    if data.external_order_id:
        existing = _existing_import(store, data.external_order_id, fingerprint)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            return _create(
                store,
                data,
                status=status,
                currency=currency,
                subtotal=subtotal,
                metadata=metadata,
                fingerprint=fingerprint,
                actor=actor,
            )
    except IntegrityError:
        # Lost a race on (store, externalOrderId): a concurrent create of the same order (or a link of
        # another order to this ID) committed first. The transaction is rolled back (the order number
        # it took stays unused); answer from the winner.
        if data.external_order_id:
            existing = _existing_import(store, data.external_order_id, fingerprint)
            if existing is not None:
                return existing, False
        raise


def _existing_import(store: Store, external_order_id: str, fingerprint: str) -> Order | None:
    existing = (
        Order.objects.select_related("customer").filter(store=store, external_id=external_order_id).first()
    )
    if existing is None:
        return None
    if existing.import_fingerprint != fingerprint:
        raise errors.ExternalOrderIdExists(
            f"Order {existing.display_number} already has externalOrderId '{external_order_id}' with different "
            "content. Use a new externalOrderId, or resend exactly the original request."
        )
    return existing


def _validate_platform_order(
    store: Store, data: PlatformOrderInput
) -> tuple[OrderStatus, str, Decimal, dict]:
    problems: list[FieldError] = []
    status = parse_status(data.status or "")
    if status not in STATUSES_CREATABLE_FROM_PLATFORM:
        problems.append(FieldError("status", "An imported order starts as 'pending' or 'confirmed'."))
    if bool(data.customer_id) == (data.customer_info is not None):
        problems.append(FieldError("customerId", "Give either customerId or customerInfo (exactly one)."))
    if data.customer_info is not None:
        try:
            validate_email(data.customer_info.email.strip())
        except DjangoValidationError:
            problems.append(FieldError("customerInfo.email", "Enter a valid email address."))
    if not 1 <= len(data.items) <= MAX_ITEMS:
        problems.append(FieldError("items", f"Give 1–{MAX_ITEMS} items."))
    for i, item in enumerate(data.items):
        if item.quantity < 1:
            problems.append(FieldError(f"items[{i}].quantity", "Must be at least 1."))
    currency = (data.currency or store.currency).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.append(FieldError("currency", "Use a 3-letter ISO 4217 code such as USD."))
    for name, value in _money_fields(data).items():
        problem = money.amount_problem(value, currency=currency, minimum=ZERO)
        if problem is not None:
            problems.append(FieldError(name, problem))
    if problems:
        raise errors.ValidationFailed(
            f"Invalid value for: {', '.join(p.field for p in problems)}.", errors=problems
        )
    subtotal = sum((item.price * item.quantity for item in data.items), ZERO).quantize(CENT)
    if subtotal > money.MAX_AMOUNT:
        # Each price fits, their sum does not: the order's (and a line's) subtotal could not be stored.
        raise errors.ValidationFailed(
            "Invalid value for: items.",
            errors=[
                FieldError(
                    "items",
                    f"The sum of quantity × price is {subtotal}, over the maximum {money.MAX_AMOUNT}.",
                )
            ],
        )
    if data.subtotal is not None and data.subtotal != subtotal:
        problems.append(FieldError("subtotal", f"Expected {subtotal} (the sum of quantity × price)."))
    expected_total = (subtotal + data.tax + data.shipping - data.discount).quantize(CENT)
    if data.total != expected_total:
        problems.append(
            FieldError(
                "total",
                f"Expected {expected_total} = subtotal {subtotal} + tax {data.tax} + shipping {data.shipping} "
                f"− discount {data.discount}; got {data.total}.",
            )
        )
    if problems:
        raise errors.ValidationFailed(
            f"Invalid value for: {', '.join(p.field for p in problems)}.", errors=problems
        )
    metadata = merge_metadata({}, validate_metadata(data.metadata)) if data.metadata else {}
    return OrderStatus(str(status)), currency, subtotal, metadata


def _money_fields(data: PlatformOrderInput) -> dict[str, Decimal]:
    """Every amount of the request by its field name (`items[0].price`), in the body's order."""
    fields = {f"items[{i}].price": item.price for i, item in enumerate(data.items)}
    if data.subtotal is not None:
        fields["subtotal"] = data.subtotal
    fields.update(tax=data.tax, shipping=data.shipping, discount=data.discount, total=data.total)
    return fields


def _normalized_money(data: PlatformOrderInput) -> PlatformOrderInput:
    """`data` with negative zeros made zero (a checked amount is finite), so `-0.00` reaches no row,
    fingerprint or response."""
    return replace(
        data,
        items=[replace(item, price=money.normalized(item.price)) for item in data.items],
        subtotal=money.normalized(data.subtotal) if data.subtotal is not None else None,
        tax=money.normalized(data.tax),
        shipping=money.normalized(data.shipping),
        discount=money.normalized(data.discount),
        total=money.normalized(data.total),
    )


def _fingerprint(data: PlatformOrderInput, currency: str) -> str:
    """SHA-256 of what makes two imports "the same order": items, total, currency and customer."""
    customer = data.customer_id or (data.customer_info.email.strip().lower() if data.customer_info else "")
    items = sorted(
        [i.external_product_id, i.external_variant_id, i.quantity, str(i.price.quantize(CENT))]
        for i in data.items
    )
    normalised = {
        "items": items,
        "total": str(data.total.quantize(CENT)),
        "currency": currency,
        "customer": customer,
    }
    return hashlib.sha256(json.dumps(normalised, sort_keys=True).encode()).hexdigest()


def _create(
    store: Store,
    data: PlatformOrderInput,
    *,
    status: OrderStatus,
    currency: str,
    subtotal: Decimal,
    metadata: dict,
    fingerprint: str,
    actor: Actor,
) -> tuple[Order, bool]:
    """Write the order, its items, history entry and events. Call inside `transaction.atomic`."""
    customer = _resolve_customer(store, data)
    variants = _take_inventory(store, data.items)
    now = timezone.now()
    placed_at = data.placed_at
    if placed_at is not None and timezone.is_naive(placed_at):
        placed_at = placed_at.replace(tzinfo=UTC)
    created_at = placed_at or now
    # Taken after every check that can refuse the request, so a refused create leaves no gap.
    order_number = order_number_next(store_id=store.pk)
    order = Order.objects.create(
        store=store,
        order_number=order_number,
        external_id=data.external_order_id or None,
        platform_name=(data.platform_name or "").strip(),
        status=status,
        payment_status=PaymentStatus.PAID if status == OrderStatus.CONFIRMED else PaymentStatus.UNPAID,
        paid_at=created_at if status == OrderStatus.CONFIRMED else None,
        customer=customer,
        customer_email=customer.email,
        customer_name=customer.full_name,
        item_count=sum(item.quantity for item in data.items),
        subtotal=subtotal,
        tax=data.tax,
        shipping=data.shipping,
        discount=data.discount,
        total=data.total,
        currency=currency,
        shipping_address=data.shipping_address,
        billing_address=data.billing_address,
        payment_method=data.payment_method,
        payment_transaction_id=data.payment_transaction_id,
        metadata=metadata,
        notes=data.notes,
        import_fingerprint=fingerprint if data.external_order_id else "",
        created_at=created_at,
        updated_at=now,
    )
    items = LineItem.objects.bulk_create(
        LineItem(
            order=order,
            product=variants[item.external_variant_id].product,
            variant=variants[item.external_variant_id],
            external_product_id=item.external_product_id,
            external_variant_id=item.external_variant_id,
            name=(item.name or "").strip() or variants[item.external_variant_id].product.name,
            sku=(item.sku or "").strip() or variants[item.external_variant_id].sku,
            quantity=item.quantity,
            price=item.price,
            subtotal=(item.price * item.quantity).quantize(CENT),
            position=position,
        )
        for position, item in enumerate(data.items)
    )
    entry = record_history(order, kind=HistoryEntry.Kind.CREATED, from_status=None, actor=actor)
    outbox.record_order_events(order=order, change="created", actor=actor)
    # Everything the order's detail shows is in hand: the answer needs no read.
    keep_written_rows(order, items=items, refunds=[], history=[entry])
    return order, True


def _resolve_customer(store: Store, data: PlatformOrderInput) -> Customer:
    if data.customer_id:
        customer = None
        with contextlib.suppress(DjangoValidationError, ValueError):  # not a UUID: no such customer
            customer = Customer.objects.filter(store=store, pk=data.customer_id).first()
        if customer is None:
            raise errors.CustomerNotFound(
                f"No customer with id '{data.customer_id}' in this store. Send customerInfo to create one."
            )
        return customer
    info = data.customer_info
    if info is None:  # unreachable: validation requires exactly one of customerId / customerInfo
        raise errors.ValidationFailed(errors=[FieldError("customerInfo", "Give customerId or customerInfo.")])
    # get_or_create on the (store, email) unique constraint: a concurrent insert of the same customer
    # fails the constraint inside get_or_create's savepoint, which then reads the winner's row.
    customer, _ = Customer.objects.get_or_create(
        store=store,
        email=info.email.strip().lower(),
        defaults={
            "phone_number": (info.phone_number or "").strip(),
            "first_name": (info.first_name or "").strip(),
            "last_name": (info.last_name or "").strip(),
        },
    )
    return customer


def _take_inventory(store: Store, items: list[ItemInput]) -> dict[str, Variant]:
    """Check that each item's variant belongs to the named product and that tracked stock suffices, and
    take the tracked stock. Returns the variants by external ID.

    Only variants that track inventory are locked, until the create commits: creates sharing a tracked
    variant wait for each other, creates sharing only untracked ones do not."""
    wanted = {item.external_variant_id for item in items}
    variants = {
        v.external_id: v
        for v in Variant.objects.select_related("product").filter(store=store, external_id__in=wanted)
    }
    needed: dict[str, int] = defaultdict(int)
    for i, item in enumerate(items):
        variant = variants.get(item.external_variant_id)
        if variant is None or variant.product.external_id != item.external_product_id:
            raise errors.VariantNotFound(
                f"items[{i}]: no variant '{item.external_variant_id}' of product '{item.external_product_id}' "
                "in this store. Sync the product first (POST /api/v1/sdk/products/sync).",
                errors=[FieldError(f"items[{i}].externalVariantId", "Unknown variant for this product.")],
            )
        needed[item.external_variant_id] += item.quantity
    tracked = {variants[ext].pk: qty for ext, qty in needed.items() if variants[ext].track_inventory}
    in_stock = _take_stock(tracked)
    short = [
        FieldError(
            f"items[{next(i for i, it in enumerate(items) if it.external_variant_id == ext)}].quantity",
            f"Only {in_stock[variants[ext].pk]} of '{variants[ext].sku or ext}' in stock; {qty} requested.",
        )
        for ext, qty in needed.items()
        if in_stock.get(variants[ext].pk, qty) < qty
    ]
    if short:
        raise errors.InsufficientInventory(
            "Not enough stock for: " + "; ".join(e.message for e in short), errors=short
        )
    return variants


def _take_stock(quantities: dict[Any, int]) -> dict[Any, int]:
    """Decrement tracked variants (id → quantity) if every one has enough stock, locking their rows until
    the create commits. Returns {} when the stock was taken, else the stock (id → quantity) it found."""
    if len(quantities) == 1:
        # One row: a conditional decrement locks it, checks the stock and takes it in one statement.
        ((pk, quantity),) = quantities.items()
        taken = Variant.objects.filter(pk=pk, inventory_quantity__gte=quantity).update(
            inventory_quantity=F("inventory_quantity") - quantity
        )
        return {} if taken else dict(Variant.objects.filter(pk=pk).values_list("id", "inventory_quantity"))
    if not quantities:
        return {}
    # Several rows: lock them in id order first (an UPDATE locks rows in whatever order it visits them,
    # and two creates sharing variants could deadlock), then check and take them in one statement.
    in_stock = dict(
        Variant.objects.select_for_update()
        .filter(pk__in=quantities)
        .order_by("id")
        .values_list("id", "inventory_quantity")
    )
    if any(in_stock[pk] < quantity for pk, quantity in quantities.items()):
        return in_stock
    Variant.objects.filter(pk__in=quantities).update(
        inventory_quantity=F("inventory_quantity")
        - Case(*(When(pk=pk, then=Value(quantity)) for pk, quantity in quantities.items()))
    )
    return {}
