"""The payment-gateway seam: every refund goes through one interface (spec §3.6).

`settings.PAYMENT_GATEWAY` names the adapter class by dotted path; the default `RecordingGateway` keeps a
record of each call and succeeds, which is what development and the tests need. A real adapter (Stripe,
Adyen, …) implements `refund()` and is selected by that one setting.
"""

import threading
from dataclasses import dataclass, field
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

from orders.models import Refund

DEFAULT_GATEWAY = "orders.payments.RecordingGateway"


@dataclass(frozen=True)
class GatewayResult:
    succeeded: bool
    reference: str = ""  # the gateway's id of the refund, when it has one
    failure_reason: str = ""  # shown to staff when `succeeded` is False


class PaymentGateway(Protocol):
    """Carries out a refund. Called outside any order lock by the background task.

    `idempotency_key` is the refund's id, stable across every retry of the task and every recovery by
    the sweep: adapters pass it to the provider as the provider's own idempotency key, so a refund is
    paid out at most once even when a worker dies after the provider acted and before we recorded it.
    """

    name: str

    def refund(self, refund: Refund, *, idempotency_key: str) -> GatewayResult: ...


@dataclass
class RecordingGateway:
    """Records every call (process-local) and succeeds, honouring the idempotency key as a provider
    does: a second call with a key it has seen pays nothing and answers as the first time. Tests read
    `calls` (every call) and `payouts` (money actually moved, one per key)."""

    name: str = "recording"
    calls: list[dict] = field(default_factory=list)
    payouts: dict[str, GatewayResult] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def refund(self, refund: Refund, *, idempotency_key: str) -> GatewayResult:
        with self._lock:
            self.calls.append(
                {
                    "refund_id": str(refund.id),
                    "order_id": str(refund.order_id),
                    "amount": refund.amount,
                    "idempotency_key": idempotency_key,
                }
            )
            if idempotency_key not in self.payouts:
                self.payouts[idempotency_key] = GatewayResult(
                    succeeded=True, reference=f"rec_{refund.id.hex}"
                )
            return self.payouts[idempotency_key]


_instances: dict[str, PaymentGateway] = {}
_instances_lock = threading.Lock()


def get_gateway() -> PaymentGateway:
    """The configured adapter; one instance per dotted path and process."""
    path = getattr(settings, "PAYMENT_GATEWAY", DEFAULT_GATEWAY)
    with _instances_lock:
        if path not in _instances:
            _instances[path] = import_string(path)()
        return _instances[path]
