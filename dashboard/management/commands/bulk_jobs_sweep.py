"""Resume bulk jobs whose worker died (dashboard/bulk/services.py, `jobs_sweep_stale`).

    manage.py bulk_jobs_sweep            # one pass (cron)
    manage.py bulk_jobs_sweep --loop     # a pass every --interval seconds until stopped (`make run`)

The dashboard's counterpart of `manage.py recovery_sweep` (which belongs to the API and may not know
the dashboard): a job "running" with no progress saved for BULK_JOB_LEASE_SECONDS, or queued with its
task gone, is queued again and resumes where it stopped. With --loop a failed pass (the database went
away) is logged and the next one tries again.
"""

import logging
import signal
import time

from django.core.management.base import BaseCommand
from django.db import close_old_connections, connections

from dashboard.bulk.services import jobs_sweep_stale

logger = logging.getLogger("dashboard.bulk")


class Command(BaseCommand):
    help = "Queue again the bulk jobs whose worker died or whose task was lost."

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
                self.sweep_once(verbosity)
            except Exception:
                if not loop:
                    raise
                logger.exception("Bulk job sweep failed; the next pass in %.0f s tries again", interval)
                connections.close_all()
            if not loop or not self.running:
                return
            deadline = time.monotonic() + interval
            while self.running and time.monotonic() < deadline:
                time.sleep(min(0.5, interval))

    def sweep_once(self, verbosity: int) -> None:
        close_old_connections()
        queued = jobs_sweep_stale()
        if verbosity > 1 or queued:
            self.stdout.write(f"bulk_jobs_sweep: queued {queued} bulk jobs again")

    def _stop(self, signum, frame) -> None:
        self.running = False
