"""Webhooks (spec §4): signing (signing.py), target safety (targets.py), sending and retrying
(delivery.py, with the django.tasks task and the sweep), endpoint services and selectors (endpoints.py).

The outbox (orders/webhooks/outbox.py) writes events and deliveries; everything here only reads the outbox and
records delivery outcomes.
"""

from orders.webhooks.delivery import (
    attempt_delivery,
    deliver_webhook,
    enqueue_delivery,
    enqueue_event_deliveries,
    sweep_due_deliveries,
)

__all__ = [
    "attempt_delivery",
    "deliver_webhook",
    "enqueue_delivery",
    "enqueue_event_deliveries",
    "sweep_due_deliveries",
]
