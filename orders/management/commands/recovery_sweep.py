"""Queue again the work whose task was lost, and prune old rate-limit counters.

    manage.py recovery_sweep            # one pass (cron)
    manage.py recovery_sweep --loop     # a pass every --interval seconds until stopped (`make run`)

A pass queues (orders/taskqueue.py explains how lost is told from late):
- due webhook deliveries whose task is gone (orders/webhooks/delivery.py, `sweep_due_deliveries`) —
  only with WEBHOOK_DELIVERY_TASKS on: otherwise no delivery has a task, and `webhook_worker` claims every
  due one (a lost claim's row is due again when its lease ends), so this part always queues 0;
- pending refunds whose task is gone: never queued, or its worker died during the gateway call
  (orders/services/refunds.py, `refunds_sweep_lost`).

Safe to run in several processes at once: deliveries and refunds are claimed under row locks. The loop
(and what it does when a pass fails) is periodic/'s.
"""

import logging

from orders import ratelimit, services
from orders.webhooks import sweep_due_deliveries
from periodic import SweepCommand


class Command(SweepCommand):
    help = "Queue again lost webhook deliveries and refunds; prune old rate-limit counters."
    logger = logging.getLogger("orders.tasks")

    def sweep_once(self, verbosity: int) -> None:
        deliveries = sweep_due_deliveries()
        refunds = services.refunds_sweep_lost()
        pruned = ratelimit.prune()
        if verbosity > 1 or deliveries or refunds:
            self.stdout.write(
                f"recovery_sweep: queued {deliveries} deliveries and {refunds} refunds again, "
                f"pruned {pruned} counters"
            )
