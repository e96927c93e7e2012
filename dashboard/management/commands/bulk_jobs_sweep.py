"""Resume bulk jobs whose worker died (dashboard/bulk/services.py, `jobs_sweep_stale`).

    manage.py bulk_jobs_sweep            # one pass (cron)
    manage.py bulk_jobs_sweep --loop     # a pass every --interval seconds until stopped (`make run`; periodic/)

The dashboard's counterpart of `manage.py recovery_sweep` (which belongs to the API and may not know
the dashboard): a job "running" with no progress saved for BULK_JOB_LEASE_SECONDS, or queued with its
task gone, is queued again and resumes where it stopped.
"""

import logging

from dashboard.bulk.services import jobs_sweep_stale
from periodic import SweepCommand


class Command(SweepCommand):
    help = "Queue again the bulk jobs whose worker died or whose task was lost."
    logger = logging.getLogger("dashboard.bulk")

    def sweep_once(self, verbosity: int) -> None:
        queued = jobs_sweep_stale()
        if verbosity > 1 or queued:
            self.stdout.write(f"bulk_jobs_sweep: queued {queued} bulk jobs again")
