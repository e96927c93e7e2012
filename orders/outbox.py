"""The webhook outbox: events are rows written in the same transaction as the order change.

Services call `record_order_events` inside their `transaction.atomic` block; a rolled-back change
therefore leaves no event. The delivery worker (orders/webhooks.py) only reads these rows.
"""

import secrets

from django.db import transaction

from orders.api.common import Actor
from orders.models import Order, WebhookDelivery, WebhookEndpoint, WebhookEvent

# The event types a change fires (spec §4). A status change fires `order.status_updated` plus the
# per-status event when the catalogue has one.
PER_STATUS_EVENTS = {
    "confirmed": "order.confirmed",
    "shipped": "order.shipped",
    "partially_shipped": "order.partially_shipped",
    "delivered": "order.delivered",
    "partially_delivered": "order.partially_delivered",
    "cancelled": "order.cancelled",
    "refunded": "order.refunded",
}
EVENT_TYPES = (
    "order.created",
    "order.status_updated",
    "order.confirmed",
    "order.shipped",
    "order.partially_shipped",
    "order.delivered",
    "order.partially_delivered",
    "order.cancelled",
    "order.refunded",
    "webhook.test",
)


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(16)}"


def record_event(*, order: Order | None, store_id, event_type: str, data: dict) -> WebhookEvent:
    """Write one event and a pending delivery for each enabled endpoint subscribed to its type.

    Call inside the transaction of the change. Deliveries are dispatched after commit.
    """
    event = WebhookEvent.objects.create(
        id=new_event_id(), store_id=store_id, order=order, type=event_type, payload={}
    )
    event.payload = {"id": event.id, "type": event_type, "created_at": None, "data": data}
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(store_id=store_id, enabled=True)
        if event_type in e.event_types
    ]
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=event, endpoint=endpoint, next_attempt_at=event.created_at)
        for endpoint in endpoints
    )
    from orders.api.common import iso

    event.payload["created_at"] = iso(event.created_at)
    event.save(update_fields=["payload"])
    if endpoints:
        transaction.on_commit(lambda: _dispatch(event.id))
    return event


def _dispatch(event_id: str) -> None:
    """Hand the event's deliveries to the worker. Replaced by orders.webhooks once delivery exists."""
    try:
        from orders.webhooks import enqueue_event_deliveries
    except ImportError:  # delivery not built yet: the periodic sweep picks the rows up
        return
    enqueue_event_deliveries(event_id)


def record_order_events(
    *,
    order: Order,
    change: str,
    actor: Actor,
    previous_status: str | None = None,
    reason: str = "",
    extra: dict | None = None,
) -> list[WebhookEvent]:
    """The events of one order change. `change` is the history kind: created, status, cancel, refund,
    link or metadata (link/metadata fire no event of the catalogue)."""
    base = {
        "storeId": str(order.store_id),
        "customerId": str(order.customer_id) if order.customer_id else None,
        "occurredAt": None,
        "externalReference": order.external_id,
        "orderId": str(order.id),
        "orderNumber": order.display_number,
        "status": order.status,
        "paymentStatus": order.payment_status,
        "total": str(order.total),
        "currency": order.currency,
        "source": actor.as_source(),
        **(extra or {}),
    }
    from django.utils import timezone

    from orders.api.common import iso

    base["occurredAt"] = iso(timezone.now())
    types: list[str] = []
    if change == "created":
        types = ["order.created"]
    elif change in {"status", "cancel", "refund"} and previous_status != order.status:
        types = ["order.status_updated"]
        if order.status in PER_STATUS_EVENTS:
            types.append(PER_STATUS_EVENTS[order.status])
    elif change == "refund":
        types = ["order.refunded"]
    events = []
    for event_type in types:
        data = dict(base)
        if event_type == "order.status_updated":
            data.update(
                previousStatus=previous_status,
                newStatus=order.status,
                statusUpdatedAt=base["occurredAt"],
                statusChangeReason=reason or None,
            )
        if event_type == "order.shipped":
            meta = order.metadata or {}
            data["trackingInfo"] = {
                "trackingNumber": meta.get("trackingNumber"),
                "carrier": meta.get("carrier"),
            }
        events.append(record_event(order=order, store_id=order.store_id, event_type=event_type, data=data))
    return events
