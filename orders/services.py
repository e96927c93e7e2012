"""Every write to an order (spec §3.1, §3.5–§3.10). The only code that changes `Order.status`.

Each public function is one transaction that first takes the order's row lock (`SELECT … FOR UPDATE`;
on SQLite the settings use IMMEDIATE transactions, which serialise writers instead), then checks the
rules against the locked row, writes the change, appends the history entry and records the outbox
events — so a rolled-back change leaves no trace, and two racing requests can never both pass a check.
Work that must not run for a rolled-back change (refund execution, customer email) is scheduled with
`transaction.on_commit`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from orders import errors, outbox
from orders.errors import FieldError
from orders.models import ZERO, Customer, HistoryEntry, LineItem, Order, Refund, Store, Variant
from orders.statuses import (
    CANCELLABLE,
    STATUSES_CREATABLE_FROM_PLATFORM,
    TRANSITIONS,
    OrderStatus,
    PaymentStatus,
    allowed_transitions,
    parse_status,
)

if TYPE_CHECKING:
    from orders.api.common import Actor

CENT = Decimal("0.01")
MAX_REASON = 500
MAX_METADATA_KEYS = 50
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_STRING = 500
MAX_ITEMS = 250


# ---------------------------------------------------------------------------------------------------
# Shared pieces


def _lock_order(*, order_id, store: Store) -> Order:
    """The order row, locked until the end of the caller's transaction. Another store's order is 404."""
    try:
        return Order.objects.select_for_update().get(pk=order_id, store=store)
    except (Order.DoesNotExist, DjangoValidationError, ValueError):
        raise errors.OrderNotFound() from None


def _history(
    order: Order,
    *,
    kind: str,
    from_status: str | None,
    actor: Actor,
    note: str = "",
    metadata: dict | None = None,
) -> HistoryEntry:
    return HistoryEntry.objects.create(
        store_id=order.store_id,
        order=order,
        kind=kind,
        from_status=from_status,
        to_status=order.status,
        changed_at=order.updated_at,
        actor_type=actor.type,
        actor_name=actor.name,
        actor_api_key_prefix=actor.api_key_prefix,
        note=note,
        metadata=metadata or {},
    )


def _payment_status_for(order: Order) -> str:
    """paymentStatus follows the refunded sum (spec §3.6); an order never paid stays unpaid."""
    if order.paid_at is None:
        return PaymentStatus.UNPAID
    if order.refunded_amount <= ZERO:
        return PaymentStatus.PAID
    if order.refunded_amount >= order.total:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


def _money_json(value: Decimal) -> float:
    # JSONField cannot hold Decimal; a 2-place amount round-trips exactly through float's shortest repr.
    return float(value)


def _validate_reason(reason: str | None, *, field: str, required: bool) -> str:
    reason = (reason or "").strip()
    if required and not reason:
        raise errors.ValidationFailed(
            "A reason is required.", errors=[FieldError(field, "Give a reason (1–500 characters).")]
        )
    if len(reason) > MAX_REASON:
        raise errors.ValidationFailed(
            f"{field} is too long.", errors=[FieldError(field, f"At most {MAX_REASON} characters.")]
        )
    return reason


def validate_metadata(patch: Any, *, field: str = "metadata") -> dict:
    """Check a metadata object against spec §3.10 and return it with numbers made JSON-storable.

    Keys: 1–40 characters. Values: a string of ≤500 characters, a finite number, a boolean, or null
    (null removes the key when merged). The ≤50-keys limit applies to the merged result (`merge_metadata`).
    """
    if not isinstance(patch, dict):
        raise errors.ValidationFailed(errors=[FieldError(field, "Must be an object of key/value pairs.")])
    problems: list[FieldError] = []
    clean: dict[str, Any] = {}
    for key, value in patch.items():
        where = f"{field}.{key}"
        if not isinstance(key, str) or not 1 <= len(key) <= MAX_METADATA_KEY_LENGTH:
            problems.append(FieldError(where, f"Keys must be 1–{MAX_METADATA_KEY_LENGTH} characters."))
            continue
        if value is None or isinstance(value, bool):
            clean[key] = value
        elif isinstance(value, str):
            if len(value) > MAX_METADATA_STRING:
                problems.append(
                    FieldError(where, f"Strings may be at most {MAX_METADATA_STRING} characters.")
                )
            clean[key] = value
        elif isinstance(value, int):
            clean[key] = value
        elif isinstance(value, float | Decimal):
            if not math.isfinite(value):
                problems.append(FieldError(where, "Numbers must be finite."))
                continue
            clean[key] = int(value) if value == int(value) and isinstance(value, Decimal) else float(value)
        else:
            problems.append(FieldError(where, "Values must be a string, number, boolean or null."))
    if len(patch) > MAX_METADATA_KEYS:
        problems.append(FieldError(field, f"At most {MAX_METADATA_KEYS} keys."))
    if problems:
        raise errors.ValidationFailed(
            f"Invalid metadata: {', '.join(p.field for p in problems)}.", errors=problems
        )
    return clean


def merge_metadata(current: dict, patch: dict, *, field: str = "metadata") -> dict:
    """`current` with `patch` merged in; a key set to null is removed. The result keeps ≤50 keys."""
    merged = dict(current or {})
    for key, value in patch.items():
        if value is None:
            merged.pop(key, None)
        else:
            merged[key] = value
    if len(merged) > MAX_METADATA_KEYS:
        raise errors.ValidationFailed(
            f"An order holds at most {MAX_METADATA_KEYS} metadata keys.",
            errors=[
                FieldError(
                    field, f"The merged metadata would have {len(merged)} keys; at most {MAX_METADATA_KEYS}."
                )
            ],
        )
    return merged


def _parse_target_status(value: str) -> OrderStatus:
    status = parse_status(value or "")
    if status is None:
        raise errors.InvalidStatus(
            f"Unknown status '{value}'. Use one of: {', '.join(s.value for s in OrderStatus)}."
        )
    return status


# ---------------------------------------------------------------------------------------------------
# Status (§3.1)


def order_set_status(
    *,
    order_id,
    store: Store,
    to: str,
    actor: Actor,
    metadata: dict | None = None,
    note: str = "",
) -> Order:
    """Move the order to `to` if the transition table allows it, merging `metadata`.

    Locks the order row. Moving to `cancelled` is a cancel without refund (the §3.5 rules apply).
    Moving to `confirmed` marks an unpaid order paid. Raises InvalidStatus, InvalidStatusTransition,
    OrderAlreadyCancelled, OrderNotFound, ValidationFailed (metadata, note).
    """
    target = _parse_target_status(to)
    patch = validate_metadata(metadata) if metadata is not None else {}
    note = _validate_reason(note, field="note", required=False)
    with transaction.atomic():
        order = _lock_order(order_id=order_id, store=store)
        current = OrderStatus(order.status)
        if current == OrderStatus.CANCELLED:
            raise errors.OrderAlreadyCancelled(
                f"Order {order.display_number} is cancelled; its status can no longer change."
            )
        if target not in TRANSITIONS[current]:
            allowed = ", ".join(allowed_transitions(current)) or "none — it is final"
            raise errors.InvalidStatusTransition(
                f"Cannot move order {order.display_number} from '{current}' to '{target}'. "
                f"Allowed from '{current}': {allowed}."
            )
        order.metadata = merge_metadata(order.metadata, patch)
        if target == OrderStatus.CANCELLED:
            _cancel_locked(order, reason=note, notify_customer=False, actor=actor, attached=patch)
            return order
        now = timezone.now()
        order.status = target
        order.updated_at = now
        if target == OrderStatus.CONFIRMED and order.paid_at is None:
            order.paid_at = now
        order.payment_status = _payment_status_for(order)
        order.save(update_fields=["status", "payment_status", "paid_at", "metadata", "updated_at"])
        _history(
            order, kind=HistoryEntry.Kind.STATUS, from_status=current, actor=actor, note=note, metadata=patch
        )
        outbox.record_order_events(
            order=order, change="status", actor=actor, previous_status=current, reason=note
        )
    return order


# ---------------------------------------------------------------------------------------------------
# Cancel (§3.5) and refunds (§3.6)


def order_cancel(
    *,
    order_id,
    store: Store,
    reason: str,
    actor: Actor,
    refund_amount: Decimal | None = None,
    notify_customer: bool = False,
) -> Order:
    """Cancel the order, restore its tracked inventory and optionally refund part of what was paid.

    Locks the order row. The refund (if any) is created in the same transaction and carried out after
    commit; the customer email (if asked for) is sent after commit. Raises OrderAlreadyCancelled,
    InvalidCancellation, InvalidRefundAmount, ValidationFailed, OrderNotFound.
    """
    reason = _validate_reason(reason, field="reason", required=True)
    if refund_amount is not None:
        _check_refund_amount_shape(refund_amount)
    with transaction.atomic():
        order = _lock_order(order_id=order_id, store=store)
        _check_cancellable(order)
        if refund_amount is not None:
            _check_refundable(order, refund_amount)
        _cancel_locked(order, reason=reason, notify_customer=notify_customer, actor=actor)
        if refund_amount is not None:
            # The cancel email already tells the customer; no second email for its refund.
            _refund_locked(order, amount=refund_amount, reason=reason, notify_customer=False, actor=actor)
    return order


def _check_cancellable(order: Order) -> None:
    if order.status == OrderStatus.CANCELLED:
        raise errors.OrderAlreadyCancelled(f"Order {order.display_number} is already cancelled.")
    if order.status not in CANCELLABLE:
        raise errors.InvalidCancellation(
            f"Order {order.display_number} is {order.status} and can no longer be cancelled; "
            "refund it instead (POST …/refunds)."
        )


def _cancel_locked(
    order: Order, *, reason: str, notify_customer: bool, actor: Actor, attached: dict | None = None
) -> None:
    """Cancel a locked order whose status allows it (the caller checked). Call inside the transaction."""
    _check_cancellable(order)
    previous = order.status
    now = timezone.now()
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.cancel_reason = reason
    order.updated_at = now
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "metadata", "updated_at"])
    _restore_inventory(order)
    history_metadata = {**(attached or {}), "notifyCustomer": notify_customer}
    _history(
        order,
        kind=HistoryEntry.Kind.CANCEL,
        from_status=previous,
        actor=actor,
        note=reason,
        metadata=history_metadata,
    )
    outbox.record_order_events(
        order=order, change="cancel", actor=actor, previous_status=previous, reason=reason
    )
    if notify_customer:
        order_id = order.id
        transaction.on_commit(lambda: _send_email("send_order_cancelled", order_id))


def _restore_inventory(order: Order) -> None:
    quantities: dict[Any, int] = defaultdict(int)
    for variant_id, quantity in order.items.filter(variant__isnull=False).values_list(
        "variant_id", "quantity"
    ):
        quantities[variant_id] += quantity
    # Fixed (id) order of row updates, so two concurrent cancels touching the same variants cannot deadlock.
    for variant_id in sorted(quantities, key=str):
        Variant.objects.filter(pk=variant_id, track_inventory=True).update(
            inventory_quantity=F("inventory_quantity") + quantities[variant_id]
        )


def refund_create(
    *,
    order_id,
    store: Store,
    amount: Decimal,
    actor: Actor,
    reason: str = "",
    notify_customer: bool = False,
) -> tuple[Refund, Order]:
    """Refund `amount` of a paid order. The refund is `pending` until the gateway task runs (after commit).

    Locks the order row, so concurrent refunds are checked one after another against the refundable
    amount (total minus every refund so far, pending ones included) and can never exceed the total.
    A delivered order refunded in full becomes `refunded`; a cancelled order stays cancelled.
    Raises InvalidRefundAmount, ValidationFailed, OrderNotFound.
    """
    reason = _validate_reason(reason, field="reason", required=False)
    _check_refund_amount_shape(amount)
    with transaction.atomic():
        order = _lock_order(order_id=order_id, store=store)
        _check_refundable(order, amount)
        refund = _refund_locked(
            order, amount=amount, reason=reason, notify_customer=notify_customer, actor=actor
        )
    return refund, order


def _check_refund_amount_shape(amount: Decimal) -> None:
    if amount <= ZERO or amount != amount.quantize(CENT):
        raise errors.InvalidRefundAmount(
            f"The refund amount must be greater than 0 with at most 2 decimals (got {amount})."
        )


def _check_refundable(order: Order, amount: Decimal) -> None:
    if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
        what = "unpaid" if order.payment_status == PaymentStatus.UNPAID else "already refunded in full"
        raise errors.InvalidRefundAmount(f"Nothing can be refunded: order {order.display_number} is {what}.")
    refundable = order.total - order.refunded_amount
    if amount > refundable:
        raise errors.InvalidRefundAmount(
            f"The refund amount {amount} exceeds the refundable amount {refundable} {order.currency} "
            f"(total {order.total} minus {order.refunded_amount} already refunded)."
        )


def _refund_locked(
    order: Order, *, amount: Decimal, reason: str, notify_customer: bool, actor: Actor
) -> Refund:
    """Create a pending refund on a locked order whose refundable amount was checked."""
    previous = order.status
    now = timezone.now()
    refund = Refund.objects.create(
        store_id=order.store_id, order=order, amount=amount, reason=reason, notify_customer=notify_customer
    )
    order.refunded_amount += amount
    order.payment_status = _payment_status_for(order)
    if order.status == OrderStatus.DELIVERED and order.refunded_amount >= order.total:
        order.status = OrderStatus.REFUNDED
    order.updated_at = now
    order.save(update_fields=["refunded_amount", "payment_status", "status", "updated_at"])
    _history(
        order,
        kind=HistoryEntry.Kind.REFUND,
        from_status=previous,
        actor=actor,
        note=reason,
        metadata={
            "refundId": str(refund.id),
            "amount": _money_json(amount),
            "notifyCustomer": notify_customer,
        },
    )
    outbox.record_order_events(
        order=order,
        change="refund",
        actor=actor,
        previous_status=previous,
        reason=reason,
        extra={"refund": {"id": str(refund.id), "amount": str(amount), "reason": reason or None}},
    )
    refund_id = refund.id
    transaction.on_commit(lambda: _enqueue_refund(refund_id))
    if notify_customer:
        transaction.on_commit(lambda: _send_email("send_refund_issued", refund_id))
    return refund


def _enqueue_refund(refund_id) -> None:
    from orders.tasks import process_refund

    process_refund.enqueue(str(refund_id))


def _send_email(function_name: str, object_id) -> None:
    from orders import emails

    getattr(emails, function_name)(object_id)


def refund_process(*, refund_id) -> Refund | None:
    """Carry out a pending refund through the payment gateway: pending → succeeded | failed.

    Runs in the background task. The refund row is locked for the gateway call, so a task that runs
    twice calls the gateway once; a refund no longer pending is left alone. On failure the amount goes
    back to the refundable sum (paymentStatus recomputed; a fully refunded delivered order becomes
    delivered again) with a history entry.
    """
    from orders.api.common import SYSTEM_ACTOR
    from orders.payments import get_gateway

    gateway = get_gateway()
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id).first()
        if refund is None or refund.status != Refund.Status.PENDING:
            return refund
        result = gateway.refund(refund)
        order = Order.objects.select_for_update().get(pk=refund.order_id)
        now = timezone.now()
        refund.processed_at = now
        refund.gateway = gateway.name
        if result.succeeded:
            refund.status = Refund.Status.SUCCEEDED
            refund.gateway_reference = result.reference[:255]
            refund.save(update_fields=["status", "processed_at", "gateway", "gateway_reference"])
            return refund
        refund.status = Refund.Status.FAILED
        refund.failure_reason = (result.failure_reason or "The payment gateway refused the refund.")[:500]
        refund.gateway_reference = result.reference[:255]
        refund.save(
            update_fields=["status", "processed_at", "gateway", "gateway_reference", "failure_reason"]
        )
        previous = order.status
        order.refunded_amount -= refund.amount
        order.payment_status = _payment_status_for(order)
        if order.status == OrderStatus.REFUNDED and order.refunded_amount < order.total:
            order.status = OrderStatus.DELIVERED
        order.updated_at = now
        order.save(update_fields=["refunded_amount", "payment_status", "status", "updated_at"])
        _history(
            order,
            kind=HistoryEntry.Kind.REFUND,
            from_status=previous,
            actor=SYSTEM_ACTOR,
            note=f"Refund failed: {refund.failure_reason}",
            metadata={"refundId": str(refund.id), "amount": _money_json(-refund.amount), "failed": True},
        )
        outbox.record_order_events(
            order=order,
            change="refund_failed",
            actor=SYSTEM_ACTOR,
            previous_status=previous,
            reason=refund.failure_reason,
        )
    return refund


# ---------------------------------------------------------------------------------------------------
# Link (§3.9) and metadata (§3.10)


def order_link(*, order_id, store: Store, external_order_id: str, platform_name: str, actor: Actor) -> Order:
    """Set the order's external ID and platform once. The same pair again is a no-op.

    Locks the order row. Raises OrderAlreadyLinked, ExternalIdExists, ValidationFailed, OrderNotFound.
    """
    external_order_id = (external_order_id or "").strip()
    platform_name = (platform_name or "").strip()
    problems = []
    if not 1 <= len(external_order_id) <= 255:
        problems.append(FieldError("externalOrderId", "Give the platform's order ID (1–255 characters)."))
    if not 1 <= len(platform_name) <= 100:
        problems.append(FieldError("platformName", "Give the platform's name (1–100 characters)."))
    if problems:
        raise errors.ValidationFailed(errors=problems)
    with transaction.atomic():
        order = _lock_order(order_id=order_id, store=store)
        if order.external_id == external_order_id and order.platform_name == platform_name:
            return order
        if order.external_id:
            raise errors.OrderAlreadyLinked(
                f"Order {order.display_number} is already linked to {order.platform_name or 'a platform'} "
                f"order '{order.external_id}'."
            )
        if Order.objects.filter(store=store, external_id=external_order_id).exists():
            raise errors.ExternalIdExists(
                f"The external ID '{external_order_id}' already belongs to another order of this store."
            )
        order.external_id = external_order_id
        order.platform_name = platform_name
        order.updated_at = timezone.now()
        try:
            # A concurrent link of another order to the same ID passes the check above; the partial unique
            # constraint stops it here (savepoint, so the outer transaction stays usable).
            with transaction.atomic():
                order.save(update_fields=["external_id", "platform_name", "updated_at"])
        except IntegrityError:
            raise errors.ExternalIdExists(
                f"The external ID '{external_order_id}' already belongs to another order of this store."
            ) from None
        _history(
            order,
            kind=HistoryEntry.Kind.LINK,
            from_status=order.status,
            actor=actor,
            metadata={"externalOrderId": external_order_id, "platformName": platform_name},
        )
        outbox.record_order_events(order=order, change="link", actor=actor, previous_status=order.status)
    return order


def order_update_metadata(*, order_id, store: Store, metadata: dict, actor: Actor) -> Order:
    """Merge `metadata` into the order's (null removes a key). Locks the order row."""
    patch = validate_metadata(metadata)
    with transaction.atomic():
        order = _lock_order(order_id=order_id, store=store)
        order.metadata = merge_metadata(order.metadata, patch)
        order.updated_at = timezone.now()
        order.save(update_fields=["metadata", "updated_at"])
        _history(
            order, kind=HistoryEntry.Kind.METADATA, from_status=order.status, actor=actor, metadata=patch
        )
        outbox.record_order_events(order=order, change="metadata", actor=actor, previous_status=order.status)
    return order


# ---------------------------------------------------------------------------------------------------
# Create from platform (§3.8)


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
    """Create an order imported from a platform; returns (order, created).

    Idempotent on (store, externalOrderId): the same content again returns the existing order with
    created=False and writes nothing; different content raises ExternalOrderIdExists. Fifty identical
    concurrent requests create one order: the store row lock serialises creates of one store (it also
    hands out the sequential order number) and the partial unique constraint is the last line.
    Raises ValidationFailed, VariantNotFound, CustomerNotFound, InsufficientInventory, ExternalOrderIdExists.
    """
    status, currency, subtotal, metadata = _validate_platform_order(store, data)
    fingerprint = _fingerprint(data, currency)
    if data.external_order_id:
        existing = _existing_import(store, data.external_order_id, fingerprint)
        if existing is not None:
            return existing, False
    try:
        with transaction.atomic():
            return _create_locked(
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
        # Lost a race on (store, externalOrderId) that the store lock did not cover (e.g. a concurrent
        # link of another order to this ID). The transaction is rolled back; answer from the winner.
        if data.external_order_id:
            existing = _existing_import(store, data.external_order_id, fingerprint)
            if existing is not None:
                return existing, False
        raise


def _existing_import(store: Store, external_order_id: str, fingerprint: str) -> Order | None:
    existing = Order.objects.filter(store=store, external_id=external_order_id).first()
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
    money_fields = {
        "tax": data.tax,
        "shipping": data.shipping,
        "discount": data.discount,
        "total": data.total,
    }
    if data.subtotal is not None:
        money_fields["subtotal"] = data.subtotal
    for i, item in enumerate(data.items):
        money_fields[f"items[{i}].price"] = item.price
        if item.quantity < 1:
            problems.append(FieldError(f"items[{i}].quantity", "Must be at least 1."))
    for name, value in money_fields.items():
        if value < ZERO or value != value.quantize(CENT):
            problems.append(FieldError(name, "Must be an amount ≥ 0 with at most 2 decimals."))
    currency = (data.currency or store.currency).strip().upper()
    if len(currency) != 3 or not currency.isalpha():
        problems.append(FieldError("currency", "Use a 3-letter ISO 4217 code such as USD."))
    if problems:
        raise errors.ValidationFailed(
            f"Invalid value for: {', '.join(p.field for p in problems)}.", errors=problems
        )
    subtotal = sum((item.price * item.quantity for item in data.items), ZERO).quantize(CENT)
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


def _create_locked(
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
    locked_store = Store.objects.select_for_update().get(pk=store.pk)
    if data.external_order_id:
        # Under the store lock every earlier create of this store has committed: this sees the winner.
        existing = _existing_import(store, data.external_order_id, fingerprint)
        if existing is not None:
            return existing, False
    customer = _resolve_customer(store, data)
    variants = _lock_and_take_inventory(store, data.items)
    now = timezone.now()
    placed_at = data.placed_at
    if placed_at is not None and timezone.is_naive(placed_at):
        placed_at = placed_at.replace(tzinfo=UTC)
    created_at = placed_at or now
    locked_store.last_order_number += 1
    Store.objects.filter(pk=store.pk).update(last_order_number=locked_store.last_order_number)
    order = Order.objects.create(
        store=store,
        order_number=locked_store.last_order_number,
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
    LineItem.objects.bulk_create(
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
    _history(order, kind=HistoryEntry.Kind.CREATED, from_status=None, actor=actor)
    outbox.record_order_events(order=order, change="created", actor=actor)
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


def _lock_and_take_inventory(store: Store, items: list[ItemInput]) -> dict[str, Variant]:
    """Lock the items' variants (in id order, so concurrent imports cannot deadlock), check that each
    belongs to the named product, check tracked stock and decrement it. Returns variants by external ID."""
    wanted = {item.external_variant_id for item in items}
    variants = {
        v.external_id: v
        for v in Variant.objects.select_for_update()
        .select_related("product")
        .filter(store=store, external_id__in=wanted)
        .order_by("id")
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
    short = [
        FieldError(
            f"items[{next(i for i, it in enumerate(items) if it.external_variant_id == ext)}].quantity",
            f"Only {variants[ext].inventory_quantity} of '{variants[ext].sku or ext}' in stock; {qty} requested.",
        )
        for ext, qty in needed.items()
        if variants[ext].track_inventory and variants[ext].inventory_quantity < qty
    ]
    if short:
        raise errors.InsufficientInventory(
            "Not enough stock for: " + "; ".join(e.message for e in short), errors=short
        )
    for ext in sorted(needed, key=lambda e: str(variants[e].id)):
        variant = variants[ext]
        if variant.track_inventory:
            Variant.objects.filter(pk=variant.pk).update(
                inventory_quantity=F("inventory_quantity") - needed[ext]
            )
    return variants
