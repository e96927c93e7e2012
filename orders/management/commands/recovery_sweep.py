"""Queue again the work whose task was lost, and prune old rate-limit counters.

    manage.py recovery_sweep            # one pass (cron)
    manage.py recovery_sweep --loop     # a pass every --interval seconds until stopped (`make run`)

A pass queues (orders/taskqueue.py explains how lost is told from late):
- due webhook deliveries whose task is gone (orders/webhooks/delivery.py, `sweep_due_deliveries`) —
  only with WEBHOOK_DELIVERY_TASKS on: otherwise no delivery has a task, and `webhook_worker` claims every
  due one (a lost claim's row is due again when its lease ends), so this part always queues 0;
- pending refunds whose task is gone: never queued, or its worker died during the gateway call
  (orders/services/refunds.py, `refunds_sweep_lost`).

Safe to run in several processes at once: deliveries and refunds are claimed under row locks. With
--loop, a pass that fails (the database or Redis went away) is logged and the next one tries again:
the sweep never exits on its own.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from orders import ratelimit, services
from orders.webhooks import sweep_due_deliveries

logger = logging.getLogger("orders.tasks")


class Command(BaseCommand):
    help = "Queue again lost webhook deliveries and refunds; prune old rate-limit counters."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep sweeping until stopped.")
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between passes.")

    def handle(self, *args, loop: bool, interval: float, verbosity: int, **options):
        self.running = True
        if loop:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while True:
            if loop:
                try:
                    self.sweep_once(verbosity)
                except Exception:
                    logger.exception("Sweep pass failed; the next pass in %.0f s tries again", interval)
                    connections.close_all()
            else:
                self.sweep_once(verbosity)
            if not loop or not self.running:
                return
            deadline = time.monotonic() + interval
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
            if not self.running:
                return

    def sweep_once(self, verbosity: int) -> None:
        close_old_connections()
        deliveries = sweep_due_deliveries()
        refunds = services.refunds_sweep_lost()
        pruned = ratelimit.prune()
        if verbosity > 1 or deliveries or refunds:
            self.stdout.write(
                f"recovery_sweep: queued {deliveries} deliveries and {refunds} refunds again, "
                f"pruned {pruned} counters"
            )

    def _stop(self, signum, frame) -> None:
        self.running = False
