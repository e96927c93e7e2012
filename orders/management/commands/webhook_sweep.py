"""Enqueue webhook deliveries whose task was lost, and prune old rate-limit counters.

    manage.py webhook_sweep            # one pass (cron)
    manage.py webhook_sweep --loop     # a pass every --interval seconds until stopped (`make run`)

Safe to run in several processes at once: a duplicate task is harmless, the delivery claim lets one
send through.
"""

import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections

from orders import ratelimit
from orders.webhooks import sweep_due_deliveries


class Command(BaseCommand):
    help = "Re-enqueue due webhook deliveries whose task was lost; prune old rate-limit counters."

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep sweeping until stopped.")
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between passes.")

    def handle(self, *args, loop: bool, interval: float, verbosity: int, **options):
        self.running = True
        if loop:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while True:
            close_old_connections()
            enqueued = sweep_due_deliveries()
            pruned = ratelimit.prune()
            if verbosity > 1 or enqueued:
                self.stdout.write(
                    f"webhook_sweep: enqueued {enqueued} due deliveries, pruned {pruned} counters"
                )
            if not loop or not self.running:
                return
            deadline = time.monotonic() + interval
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
            if not self.running:
                return

    def _stop(self, signum, frame) -> None:
        self.running = False
