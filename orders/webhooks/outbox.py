"""The webhook outbox: events are rows written in the same transaction as the order change.

Services call `record_order_events` inside their `transaction.atomic` block; a rolled-back change
therefore leaves no event and no delivery. The deliveries are written due now. With
settings.WEBHOOK_DELIVERY_TASKS (the RQ default) they are also handed to the task backend after commit,
one `deliver_webhook` task each (orders/webhooks/delivery.py); if that hand-off is lost (crash between
commit and enqueue, a broker outage), the periodic sweep (`manage.py recovery_sweep`) finds the due rows
and enqueues them again. Without it (the database backend's default) nothing is registered after commit:
`manage.py webhook_worker` claims the due rows from this outbox itself. Workers only read these rows.
"""

import functools
import secrets
import uuid
from datetime import date, datetime
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import transaction
from django.utils import timezone

from orders.actors import Actor
from orders.models import Order, WebhookDelivery, WebhookEndpoint, WebhookEvent
from orders.timestamps import iso
from orders.webhooks import events
from orders.webhooks.delivery import delivery_tasks, enqueue_event_deliveries


def new_event_id() -> str:
    return f"evt_{secrets.token_hex(16)}"


def _json_safe(value: Any) -> Any:
    """Payloads live in a JSONField: money as a JSON number (spec §1), times as ISO strings."""
    if isinstance(value, dict):
        return {str(k): _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date | uuid.UUID):
        return str(value)
    return value


def subscribed_endpoints(*, store_id, event_type: str) -> list[WebhookEndpoint]:
    return _subscribed(_enabled_endpoints(store_id), event_type)


def _enabled_endpoints(store_id) -> list[WebhookEndpoint]:
    return list(WebhookEndpoint.objects.filter(store_id=store_id, enabled=True))


def _subscribed(endpoints: list[WebhookEndpoint], event_type: str) -> list[WebhookEndpoint]:
    # ≤10 endpoints per store: filtering the JSON list in Python is portable and cheap.
    return [e for e in endpoints if event_type in e.event_types]


class _Pending(NamedTuple):
    """An event about to be written, when its deliveries fall due, and the endpoints they go to."""

    event: WebhookEvent
    due_at: datetime
    endpoints: list[WebhookEndpoint]


def _pending(
    *, order: Order | None, store_id, event_type: str, data: dict, endpoints: list[WebhookEndpoint]
) -> _Pending:
    """An unsaved event stamped now (each event of a change its own moment, so their deliveries fall due
    in the order the events are recorded in), with its deliveries' due time and endpoints."""
    now = timezone.now()
    event_id = new_event_id()
    payload = {"id": event_id, "type": event_type, "created_at": iso(now), "data": _json_safe(data)}
    event = WebhookEvent(id=event_id, store_id=store_id, order=order, type=event_type, payload=payload)
    return _Pending(event, now, endpoints)


def _write(pending: list[_Pending], *, dispatch: bool) -> None:
    """Insert the events, then a pending delivery per (event, endpoint): two INSERTs whatever the number
    of events. With `dispatch` and delivery tasks (settings.WEBHOOK_DELIVERY_TASKS), each event's
    deliveries are enqueued after commit; without delivery tasks nothing is registered: the batch sender
    claims them from the outbox."""
    WebhookEvent.objects.bulk_create([p.event for p in pending])
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(event=p.event, endpoint=endpoint, next_attempt_at=p.due_at)
        for p in pending
        for endpoint in p.endpoints
    )
    if dispatch and delivery_tasks():
        for p in pending:
            if p.endpoints:
                transaction.on_commit(functools.partial(enqueue_event_deliveries, p.event.id), robust=True)


def record_event(
    *,
    order: Order | None,
    store_id,
    event_type: str,
    data: dict,
    endpoints: list[WebhookEndpoint] | None = None,
    dispatch: bool = True,
) -> WebhookEvent:
    """Write one event and a pending delivery, due now, for each enabled endpoint subscribed to its type
    (or for exactly `endpoints` when given, as the test send does).

    Call inside the transaction of the change. With `dispatch`, deliveries are enqueued after commit (when
    there are delivery tasks: orders/webhooks/delivery.py).
    """
    if endpoints is None:
        endpoints = subscribed_endpoints(store_id=store_id, event_type=event_type)
    pending = _pending(order=order, store_id=store_id, event_type=event_type, data=data, endpoints=endpoints)
    _write([pending], dispatch=dispatch)
    return pending.event


def record_order_events(
    *,
    order: Order,
    change: str,
    actor: Actor,
    previous_status: str | None = None,
    reason: str = "",
    extra: dict | None = None,
) -> list[WebhookEvent]:
    """The events of one order change (spec §4), as the registry (orders/webhooks/events.py) says. `change`
    is the history kind: created, status, cancel, refund, refund_failed, link or metadata.

    Call inside the change's transaction, after the order row is saved. `data.source` names the actor so
    a receiver can skip its own changes; `extra` adds keys to `data` (e.g. the refund).
    """
    occurred_at = iso(timezone.now())
    base = {
        "storeId": str(order.store_id),
        "customerId": str(order.customer_id) if order.customer_id else None,
        "occurredAt": occurred_at,
        "externalReference": order.external_id,
        "platformName": order.platform_name or None,
        "orderId": str(order.id),
        "orderNumber": order.display_number,
        "status": order.status,
        "paymentStatus": order.payment_status,
        "total": order.total,
        "refundedAmount": order.refunded_amount,
        "currency": order.currency,
        "source": actor.as_source(),
        **(extra or {}),
    }
    change_seen = events.OrderChange(
        order=order, change=change, previous_status=previous_status, reason=reason, occurred_at=occurred_at
    )
    fired = events.fired_by(change_seen)
    if not fired:
        return []
    # One endpoint lookup and two INSERTs for all the events of the change.
    endpoints = _enabled_endpoints(order.store_id)
    pending = [
        _pending(
            order=order,
            store_id=order.store_id,
            event_type=event_type.name,
            data={**base, **event_type.payload(change_seen)},
            endpoints=_subscribed(endpoints, event_type.name),
        )
        for event_type in fired
    ]
    _write(pending, dispatch=True)
    return [p.event for p in pending]
