"""The loop of the sweep commands (`recovery_sweep`, `bulk_jobs_sweep`), in one place for both apps.

    manage.py <sweep>            # one pass (cron)
    manage.py <sweep> --loop     # a pass every --interval seconds until SIGTERM or SIGINT (`make run`)

With --loop a pass that fails (the database or Redis went away) is logged, its connections closed,
and the next pass tries again: a sweep never exits on its own. Without it a failure is raised. This
package imports neither `orders` nor `dashboard`.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections


class SweepCommand(BaseCommand):
    """A management command whose work is `sweep_once`, run once or in a loop."""

    logger = logging.getLogger(__name__)

    def add_arguments(self, parser):
        parser.add_argument("--loop", action="store_true", help="Keep sweeping until stopped.")
        parser.add_argument("--interval", type=float, default=15.0, help="Seconds between passes.")

    def handle(self, *args, loop: bool, interval: float, verbosity: int, **options):
        self.running = True
        if loop:
            signal.signal(signal.SIGTERM, self._stop)
            signal.signal(signal.SIGINT, self._stop)
        while True:
            try:
                close_old_connections()
                self.sweep_once(verbosity)
            except Exception:
                if not loop:
                    raise
                command = type(self).__module__.rsplit(".", 1)[-1]
                self.logger.exception(
                    "%s pass failed; the next pass in %.0f s tries again", command, interval
                )
                connections.close_all()
            if not loop:
                return
            deadline = time.monotonic() + interval
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))
            if not self.running:
                return

    def sweep_once(self, verbosity: int) -> None:
        raise NotImplementedError

    def _stop(self, signum, frame) -> None:
        self.running = False
