"""Order statuses and the one transition table (spec §3.1). No queries here.

Everything that needs to know which move is allowed — the status service, `allowedTransitions` in the
API, `GET /api/v1/orders/statuses`, the dashboard's buttons (through the API) — reads this table.
"""

from enum import StrEnum


class OrderStatus(StrEnum):
    PENDING = "pending"
    CONFIRMED = "confirmed"
    PROCESSING = "processing"
    PARTIALLY_SHIPPED = "partially_shipped"
    SHIPPED = "shipped"
    PARTIALLY_DELIVERED = "partially_delivered"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"
    REFUNDED = "refunded"


class PaymentStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"


S = OrderStatus

# from → the statuses `PUT …/status` may move to. Moving to `cancelled` is a cancel without refund.
TRANSITIONS: dict[OrderStatus, tuple[OrderStatus, ...]] = {
    S.PENDING: (S.CONFIRMED, S.CANCELLED),
    S.CONFIRMED: (S.PROCESSING, S.CANCELLED),
    S.PROCESSING: (S.PARTIALLY_SHIPPED, S.SHIPPED, S.CANCELLED),
    S.PARTIALLY_SHIPPED: (S.SHIPPED, S.CANCELLED),
    S.SHIPPED: (S.PARTIALLY_DELIVERED, S.DELIVERED, S.CANCELLED),
    S.PARTIALLY_DELIVERED: (S.DELIVERED,),
    S.DELIVERED: (),
    S.CANCELLED: (),
    S.REFUNDED: (),
}

# Cancel (§3.5) is allowed from exactly the statuses whose row lists `cancelled`.
CANCELLABLE: frozenset[OrderStatus] = frozenset(
    s for s, targets in TRANSITIONS.items() if S.CANCELLED in targets
)
# Statuses a status update can never leave; only refunds still apply to them.
TERMINAL: frozenset[OrderStatus] = frozenset(s for s, targets in TRANSITIONS.items() if not targets)
# The statuses an order created from a platform (POST /api/v1/orders, spec §3.8) may start in.
STATUSES_CREATABLE_FROM_PLATFORM: tuple[OrderStatus, ...] = (S.PENDING, S.CONFIRMED)


def parse_status(value: str) -> OrderStatus | None:
    """Any case accepted on input; None for an unknown value."""
    try:
        return OrderStatus(value.strip().lower())
    except ValueError:
        return None


def allowed_transitions(status: str) -> list[str]:
    return [str(s) for s in TRANSITIONS[OrderStatus(status)]]
