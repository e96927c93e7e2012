"""Pieces every order service shares: the row lock, the history entry, payment status, reasons, emails.

Each public service is one transaction that first takes the order's row lock (`SELECT … FOR UPDATE`;
on SQLite the settings use IMMEDIATE transactions, which serialise writers instead), then checks the
rules against the locked row, writes the change, appends the history entry and records the outbox
events — so a rolled-back change leaves no trace, and two racing requests can never both pass a check.
Work that must not run for a rolled-back change (refund execution, customer email) is scheduled with
`transaction.on_commit`.
"""

from decimal import Decimal

from orders import emails, errors
from orders.actors import Actor
from orders.errors import FieldError
from orders.models import ZERO, HistoryEntry, Order, Store
from orders.selectors import order_ref_filter
from orders.statuses import PaymentStatus

CENT = Decimal("0.01")
MAX_REASON = 500


def lock_order(*, order_id, store: Store) -> Order:
    """The store's order, its row locked until the end of the caller's transaction, with its customer.

    `order_id` is the order's UUID or, as in the API's paths, its external (platform) ID: one query finds
    and locks it, so an API write needs no lookup before the service. Another store's order is 404.
    """
    ref = str(order_id).strip()
    matches: list[Order] = []
    if "\x00" not in ref:  # PostgreSQL text cannot hold NUL: no order has such a reference
        matches = list(
            Order.objects.select_for_update(of=("self",))
            .select_related("customer")
            .filter(order_ref_filter(ref), store=store)
            .order_by("id")[:2]
        )
    if not matches:
        raise errors.OrderNotFound(f"No order {ref!r} in this store (looked up by id and external id).")
    # Own id before external id when a UUID-shaped reference matched two orders (as selectors.order_get).
    return min(matches, key=lambda o: 0 if str(o.id) == ref.lower() else 1)


def record_history(
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


def payment_status_for(order: Order) -> str:
    """paymentStatus follows the refunded sum (spec §3.6); an order never paid stays unpaid."""
    if order.paid_at is None:
        return PaymentStatus.UNPAID
    if order.refunded_amount <= ZERO:
        return PaymentStatus.PAID
    if order.refunded_amount >= order.total:
        return PaymentStatus.REFUNDED
    return PaymentStatus.PARTIALLY_REFUNDED


def money_json(value: Decimal) -> float:
    # JSONField cannot hold Decimal; a 2-place amount round-trips exactly through float's shortest repr.
    return float(value)


def clean_reason(reason: str | None, *, field: str, required: bool) -> str:
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


def send_email(function_name: str, object_id) -> None:
    """Send one of orders/emails.py's customer emails (call it from `transaction.on_commit`)."""
    getattr(emails, function_name)(object_id)
