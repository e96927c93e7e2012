"""Status changes (spec §3.1) and cancellation (§3.5): the only code that moves `Order.status` forward."""

from collections import defaultdict
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from orders import errors
from orders.actors import Actor
from orders.models import HistoryEntry, Order, Store, Variant
from orders.services.common import clean_reason, lock_order, payment_status_for, record_history, send_email
from orders.services.metadata import merge_metadata, validate_metadata
from orders.services.refunds import check_refund_amount_shape, check_refundable, refund_locked
from orders.statuses import CANCELLABLE, TRANSITIONS, OrderStatus, allowed_transitions, parse_status
from orders.webhooks import outbox


def _parse_target_status(value: str) -> OrderStatus:
    status = parse_status(value or "")
    if status is None:
        raise errors.InvalidStatus(
            f"Unknown status '{value}'. Use one of: {', '.join(s.value for s in OrderStatus)}."
        )
    return status


def order_set_status(
    *,
    order_id,
    store: Store,
    to: str,
    actor: Actor,
    metadata: dict | None = None,
    note: str = "",
) -> Order:
    """Move the order to `to` if the transition table allows it, merging `metadata`. `order_id` is the
    order's UUID or external ID. Returns the order as saved, with its customer.

    Locks the order row. Moving to `cancelled` is a cancel without refund (the §3.5 rules apply).
    Moving to `confirmed` marks an unpaid order paid. Raises InvalidStatus, InvalidStatusTransition,
    OrderAlreadyCancelled, OrderNotFound, ValidationFailed (metadata, note).
    """
    target = _parse_target_status(to)
    patch = validate_metadata(metadata) if metadata is not None else {}
    note = clean_reason(note, field="note", required=False)
    with transaction.atomic():
        order = lock_order(order_id=order_id, store=store)
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
            cancel_locked(order, reason=note, notify_customer=False, actor=actor, attached=patch)
            return order
        now = timezone.now()
        order.status = target
        order.updated_at = now
        if target == OrderStatus.CONFIRMED and order.paid_at is None:
            order.paid_at = now
        order.payment_status = payment_status_for(order)
        order.save(update_fields=["status", "payment_status", "paid_at", "metadata", "updated_at"])
        record_history(
            order, kind=HistoryEntry.Kind.STATUS, from_status=current, actor=actor, note=note, metadata=patch
        )
        outbox.record_order_events(
            order=order, change="status", actor=actor, previous_status=current, reason=note
        )
    return order


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
    reason = clean_reason(reason, field="reason", required=True)
    if refund_amount is not None:
        check_refund_amount_shape(refund_amount)
    with transaction.atomic():
        order = lock_order(order_id=order_id, store=store)
        check_cancellable(order)
        if refund_amount is not None:
            check_refundable(order, refund_amount)
        cancel_locked(order, reason=reason, notify_customer=notify_customer, actor=actor)
        if refund_amount is not None:
            # The cancel email already tells the customer; no second email for its refund.
            refund_locked(order, amount=refund_amount, reason=reason, notify_customer=False, actor=actor)
    return order


def check_cancellable(order: Order) -> None:
    if order.status == OrderStatus.CANCELLED:
        raise errors.OrderAlreadyCancelled(f"Order {order.display_number} is already cancelled.")
    if order.status not in CANCELLABLE:
        raise errors.InvalidCancellation(
            f"Order {order.display_number} is {order.status} and can no longer be cancelled; "
            "refund it instead (POST …/refunds)."
        )


def cancel_locked(
    order: Order, *, reason: str, notify_customer: bool, actor: Actor, attached: dict | None = None
) -> None:
    """Cancel a locked order whose status allows it (the caller checked). Call inside the transaction."""
    check_cancellable(order)
    previous = order.status
    now = timezone.now()
    order.status = OrderStatus.CANCELLED
    order.cancelled_at = now
    order.cancel_reason = reason
    order.updated_at = now
    order.save(update_fields=["status", "cancelled_at", "cancel_reason", "metadata", "updated_at"])
    _restore_inventory(order)
    history_metadata = {**(attached or {}), "notifyCustomer": notify_customer}
    record_history(
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
        transaction.on_commit(lambda: send_email("send_order_cancelled", order_id), robust=True)


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
