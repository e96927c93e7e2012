"""The webhook event catalogue (spec §4): one registry entry per event type, read by the outbox (which
events an order change fires, and what each carries), by endpoint validation (what may be subscribed
to) and by `GET /api/v1/webhooks/event-types` (what the dashboard offers).

A new event type is one `register(...)` call here: a name, a description, when it fires and what it
adds to the common payload (orders/webhooks/outbox.py builds the keys every order event carries).
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from orders.models import Order

# History kinds (orders/services) whose change may move the status; link and metadata never fire events.
STATUS_CHANGES = frozenset({"status", "cancel", "refund", "refund_failed"})


@dataclass(frozen=True)
class OrderChange:
    """One committed-to-be order change, as the outbox sees it."""

    order: Order
    change: str  # the history kind: created, status, cancel, refund, refund_failed, link, metadata
    previous_status: str | None
    reason: str
    occurred_at: str | None

    @property
    def status_changed(self) -> bool:
        return self.change in STATUS_CHANGES and self.previous_status != self.order.status


def _never(change: OrderChange) -> bool:
    return False


def _nothing(change: OrderChange) -> dict:
    return {}


@dataclass(frozen=True)
class EventType:
    name: str
    description: str
    # Whether an order change fires this event; event types that no order change fires (webhook.test)
    # keep the default.
    fires: Callable[[OrderChange], bool] = field(default=_never, compare=False)
    # Keys this event adds to the common order payload.
    payload: Callable[[OrderChange], dict] = field(default=_nothing, compare=False)


# Name → event type, in catalogue order (which is also the order events of one change are recorded in).
REGISTRY: dict[str, EventType] = {}
TEST_EVENT = "webhook.test"


def register(event_type: EventType) -> EventType:
    REGISTRY[event_type.name] = event_type
    return event_type


def event_types() -> list[EventType]:
    return list(REGISTRY.values())


def is_known(name: str) -> bool:
    return name in REGISTRY


def fired_by(change: OrderChange) -> list[EventType]:
    return [event_type for event_type in REGISTRY.values() if event_type.fires(change)]


# ---- the catalogue ------------------------------------------------------------------------------


def _status_updated_payload(change: OrderChange) -> dict:
    return {
        "previousStatus": change.previous_status,
        "newStatus": change.order.status,
        "statusUpdatedAt": change.occurred_at,
        "statusChangeReason": change.reason or None,
    }


def _tracking_payload(change: OrderChange) -> dict:
    meta = change.order.metadata or {}
    return {
        "trackingInfo": {
            "trackingNumber": meta.get("trackingNumber"),
            "carrier": meta.get("carrier"),
            "trackingUrl": meta.get("trackingUrl"),
        }
    }


def _reason_payload(change: OrderChange) -> dict:
    return {"reason": change.reason} if change.reason else {}


def _entered(status: str) -> Callable[[OrderChange], bool]:
    def fires(change: OrderChange) -> bool:
        return change.status_changed and change.order.status == status

    return fires


def _refunded(change: OrderChange) -> bool:
    # A refund that leaves the status as it is still announces itself; a failed refund gives the money
    # back and is announced only through the status change it may cause (refunded → delivered).
    return _entered("refunded")(change) or (change.change == "refund" and not change.status_changed)


register(EventType("order.created", "Order created", fires=lambda c: c.change == "created"))
register(
    EventType(
        "order.status_updated",
        "Status updated (any change)",
        fires=lambda c: c.status_changed,
        payload=_status_updated_payload,
    )
)
register(EventType("order.confirmed", "Confirmed", fires=_entered("confirmed")))
register(EventType("order.shipped", "Shipped", fires=_entered("shipped"), payload=_tracking_payload))
register(EventType("order.partially_shipped", "Partially shipped", fires=_entered("partially_shipped")))
register(EventType("order.delivered", "Delivered", fires=_entered("delivered")))
register(EventType("order.partially_delivered", "Partially delivered", fires=_entered("partially_delivered")))
register(EventType("order.cancelled", "Cancelled", fires=_entered("cancelled"), payload=_reason_payload))
register(EventType("order.refunded", "Refunded", fires=_refunded, payload=_reason_payload))
register(EventType(TEST_EVENT, "Test events (sent from the endpoint's Send test)"))
