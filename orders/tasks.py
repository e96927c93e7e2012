"""Background task entry points (django.tasks). The broker is configuration: django-tasks-db's
`db_worker` by default, RQ when scaled out, the immediate backend in tests.

Arguments are plain strings so every backend can serialise them.
"""

from django.tasks import task


@task()
def process_refund(refund_id: str) -> str | None:
    """Carry out one pending refund through the payment gateway; returns its final status."""
    from orders.services import refund_process

    refund = refund_process(refund_id=refund_id)
    return refund.status if refund is not None else None
