"""Customer emails, sent through Django's email framework (console backend in development, SMTP by
settings, locmem in tests). Called after the change has committed (`transaction.on_commit`), so a
rolled-back change never emails anyone; a mail failure is logged and never undoes the change.
"""

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string

from orders.models import Order, Refund

logger = logging.getLogger("orders.emails")


def _send(*, to: str, subject: str, template: str, context: dict) -> bool:
    if not to:
        logger.warning("Not sending %s: the order has no customer email.", template)
        return False
    body = render_to_string(template, context)
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [to])
    except Exception:  # the change is committed already; report and carry on
        logger.exception("Sending %s to %s failed.", template, to)
        return False
    return True


def send_order_cancelled(order_id) -> bool:
    order = Order.objects.select_related("store").get(pk=order_id)
    refund = order.refunds.order_by("-created_at").first()
    return _send(
        to=order.customer_email,
        subject=f"Your order {order.display_number} has been cancelled",
        template="orders/emails/order_cancelled.txt",
        context={"order": order, "store": order.store, "refund": refund},
    )


def send_refund_issued(refund_id) -> bool:
    refund = Refund.objects.select_related("order", "order__store").get(pk=refund_id)
    order = refund.order
    return _send(
        to=order.customer_email,
        subject=f"A refund for your order {order.display_number}",
        template="orders/emails/refund_issued.txt",
        context={"order": order, "store": order.store, "refund": refund},
    )
