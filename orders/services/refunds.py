"""Refunds (spec §3.6): created pending inside the order's transaction, carried out by a background task."""

from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.tasks import task
from django.utils import timezone

from orders import errors, money, taskqueue
from orders.actors import SYSTEM_ACTOR, Actor
from orders.models import ZERO, HistoryEntry, Order, Refund, Store
from orders.payments import get_gateway
from orders.services.common import (
    CENT,
    clean_reason,
    lock_order,
    money_json,
    payment_status_for,
    record_history,
    send_email,
)
from orders.statuses import OrderStatus, PaymentStatus
from orders.webhooks import outbox


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
    reason = clean_reason(reason, field="reason", required=False)
    check_refund_amount_shape(amount)
    with transaction.atomic():
        order = lock_order(order_id=order_id, store=store)
        check_refundable(order, amount)
        refund = refund_locked(
            order, amount=amount, reason=reason, notify_customer=notify_customer, actor=actor
        )
    return refund, order


def check_refund_amount_shape(amount: Decimal) -> None:
    money.check_amount(amount, field="amount", error=errors.InvalidRefundAmount)
    if amount <= ZERO or amount != amount.quantize(CENT):
        raise errors.InvalidRefundAmount(
            f"The refund amount must be greater than 0 with at most 2 decimals (got {amount})."
        )


def check_refundable(order: Order, amount: Decimal) -> None:
    if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
        what = "unpaid" if order.payment_status == PaymentStatus.UNPAID else "already refunded in full"
        raise errors.InvalidRefundAmount(f"Nothing can be refunded: order {order.display_number} is {what}.")
    refundable = order.total - order.refunded_amount
    if amount > refundable:
        raise errors.InvalidRefundAmount(
            f"The refund amount {amount} exceeds the refundable amount {refundable} {order.currency} "
            f"(total {order.total} minus {order.refunded_amount} already refunded)."
        )


def refund_locked(
    order: Order, *, amount: Decimal, reason: str, notify_customer: bool, actor: Actor
) -> Refund:
    """Create a pending refund on a locked order whose refundable amount was checked."""
    previous = order.status
    now = timezone.now()
    refund = Refund.objects.create(
        store_id=order.store_id, order=order, amount=amount, reason=reason, notify_customer=notify_customer
    )
    order.refunded_amount += amount
    order.payment_status = payment_status_for(order)
    if order.status == OrderStatus.DELIVERED and order.refunded_amount >= order.total:
        order.status = OrderStatus.REFUNDED
    order.updated_at = now
    order.save(update_fields=["refunded_amount", "payment_status", "status", "updated_at"])
    record_history(
        order,
        kind=HistoryEntry.Kind.REFUND,
        from_status=previous,
        actor=actor,
        note=reason,
        metadata={
            "refundId": str(refund.id),
            "amount": money_json(amount),
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
    transaction.on_commit(lambda: _enqueue_refund(refund_id), robust=True)
    if notify_customer:
        transaction.on_commit(lambda: send_email("send_refund_issued", refund_id), robust=True)
    return refund


@task(queue_name=taskqueue.REFUNDS_QUEUE)
def process_refund(refund_id: str) -> str | None:
    """The background task: carry out one pending refund; returns its final status. The argument is a
    plain string so every task backend can serialise it."""
    refund = refund_process(refund_id=refund_id)
    return refund.status if refund is not None else None


def _enqueue_refund(refund_id) -> None:
    # Written before the task exists (an immediate backend runs it inside `enqueue`), then given its id.
    Refund.objects.filter(pk=refund_id).update(enqueued_at=timezone.now(), task_id="")
    task_id = taskqueue.enqueue(process_refund, refund_id=str(refund_id))
    if task_id:
        Refund.objects.filter(pk=refund_id, task_id="", status=Refund.Status.PENDING).update(task_id=task_id)


def refunds_sweep_lost(*, limit: int = 1000) -> int:
    """Queue again the pending refunds whose task is lost: never queued (the hand-off after commit
    failed), finished without settling the refund, or running past its lease (the worker died during
    the gateway call). Safe to run anywhere, any number of times: `refund_process` locks the refund and
    the gateway deduplicates by the refund id. Returns how many were queued."""
    cutoff = timezone.now() - timedelta(seconds=settings.REFUND_SWEEP_GRACE_SECONDS)
    lease = timedelta(seconds=settings.REFUND_TASK_LEASE_SECONDS)
    candidates = (
        Refund.objects.filter(status=Refund.Status.PENDING, created_at__lte=cutoff)
        .exclude(enqueued_at__gt=cutoff)
        .order_by("created_at")
        .values_list("id", "task_id")[:limit]
    )
    lost = [
        refund_id
        for refund_id, task_id in candidates
        if not taskqueue.is_in_hand(process_refund, task_id, lease=lease)
    ]
    for refund_id in lost:
        _enqueue_refund(refund_id)
    return len(lost)


def refund_process(*, refund_id) -> Refund | None:
    """Carry out a pending refund through the payment gateway: pending → succeeded | failed.

    Runs in the background task. The refund row is locked for the gateway call, so a task that runs
    twice calls the gateway once; a refund no longer pending is left alone. On failure the amount goes
    back to the refundable sum (paymentStatus recomputed; a fully refunded delivered order becomes
    delivered again) with a history entry.
    """
    gateway = get_gateway()
    with transaction.atomic():
        refund = Refund.objects.select_for_update().filter(pk=refund_id).first()
        if refund is None or refund.status != Refund.Status.PENDING:
            return refund
        result = gateway.refund(refund, idempotency_key=str(refund.id))
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
        order.payment_status = payment_status_for(order)
        if order.status == OrderStatus.REFUNDED and order.refunded_amount < order.total:
            order.status = OrderStatus.DELIVERED
        order.updated_at = now
        order.save(update_fields=["refunded_amount", "payment_status", "status", "updated_at"])
        record_history(
            order,
            kind=HistoryEntry.Kind.REFUND,
            from_status=previous,
            actor=SYSTEM_ACTOR,
            note=f"Refund failed: {refund.failure_reason}",
            metadata={"refundId": str(refund.id), "amount": money_json(-refund.amount), "failed": True},
        )
        outbox.record_order_events(
            order=order,
            change="refund_failed",
            actor=SYSTEM_ACTOR,
            previous_status=previous,
            reason=refund.failure_reason,
        )
    return refund
