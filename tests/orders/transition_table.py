"""The transition table of spec §3.1 (shared/spec/orders-api.md), written out literally for the tests.

Tests compare the API with this table, never with orders.statuses (the code under test): a change to the
production table must fail them until this copy, and so the spec, is changed on purpose.
"""

STATUSES = (
    "pending",
    "confirmed",
    "processing",
    "partially_shipped",
    "shipped",
    "partially_delivered",
    "delivered",
    "cancelled",
    "refunded",
)
PAYMENT_STATUSES = ("unpaid", "paid", "partially_refunded", "refunded")

# Row: the order's status; column: the status asked for by PUT …/status, in STATUSES order.
# 1: the move is made (200). 0: refused — 409 ORDER_ALREADY_CANCELLED from cancelled, else 400
# INVALID_STATUS_TRANSITION. All 81 pairs, allowed or not.
# fmt: off
TABLE: dict[str, tuple[int, ...]] = {
    #                      pend conf proc psh  ship pdel deli canc refu
    "pending":             (0,   1,   0,   0,   0,   0,   0,   1,   0),
    "confirmed":           (0,   0,   1,   0,   0,   0,   0,   1,   0),
    "processing":          (0,   0,   0,   1,   1,   0,   0,   1,   0),
    "partially_shipped":   (0,   0,   0,   0,   1,   0,   0,   1,   0),
    "shipped":             (0,   0,   0,   0,   0,   1,   1,   1,   0),
    "partially_delivered": (0,   0,   0,   0,   0,   0,   1,   0,   0),
    "delivered":           (0,   0,   0,   0,   0,   0,   0,   0,   0),
    "cancelled":           (0,   0,   0,   0,   0,   0,   0,   0,   0),
    "refunded":            (0,   0,   0,   0,   0,   0,   0,   0,   0),
}
# fmt: on

# Spec §3.5: PUT …/cancel is allowed from exactly these; §3.1: these never move through PUT …/status.
CANCELLABLE = ("pending", "confirmed", "processing", "partially_shipped", "shipped")
TERMINAL = ("delivered", "cancelled", "refunded")


def allowed(from_status: str) -> list[str]:
    """The statuses the table allows from `from_status`, in STATUSES order (as the API lists them)."""
    return [to for to, ok in zip(STATUSES, TABLE[from_status], strict=True) if ok]


# (from, to, allowed) for all 81 pairs.
PAIRS = [(f, t, bool(ok)) for f in STATUSES for t, ok in zip(STATUSES, TABLE[f], strict=True)]
