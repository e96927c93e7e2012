"""`manage.py db_worker`: django-tasks-db's worker, made to survive a dropped database connection.

This command takes the place of django-tasks-db's own (`orders` comes first in INSTALLED_APPS). The
original exits with an error when PostgreSQL terminates its connection (a failover, a restart, an
idle-session timeout), and no refund or webhook then moves until someone restarts it. This one closes
the broken connections, waits a little (doubling up to 5 s while the outage lasts) and carries on. A task that was running
when the connection dropped stays "running" in the task table; the recovery sweep
(`manage.py recovery_sweep`) sees it past its lease and queues its work again — refunds and deliveries
are claimed under row locks, so the work is done once.

    manage.py db_worker --queue-name refunds      # one worker per queue (make run starts both)
    manage.py db_worker --queue-name webhooks
"""

import logging
import time

from django.db import DatabaseError, InterfaceError, connections
from django_tasks_db.management.commands import db_worker

logger = logging.getLogger("orders.tasks")
# Pause before reconnecting: doubles while the database stays away, back to the first after a stable spell.
FIRST_PAUSE_SECONDS = 0.2
MAX_PAUSE_SECONDS = 5.0
STABLE_SECONDS = 10.0


class ResilientWorker(db_worker.Worker):
    def run(self) -> None:
        pause = FIRST_PAUSE_SECONDS
        while self.running:
            started = time.monotonic()
            try:
                super().run()
                return  # --batch or --max-tasks reached
            except (InterfaceError, DatabaseError) as exc:
                if time.monotonic() - started > STABLE_SECONDS:
                    pause = FIRST_PAUSE_SECONDS  # it worked for a while: a new outage starts small
                logger.warning("Worker lost its database connection (%s); retrying in %.1f s", exc, pause)
                self.running_task = False
                self.startup_delay = False  # the random start-up pause is for the first start only
                connections.close_all()
                time.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE_SECONDS)


class Command(db_worker.Command):
    help = db_worker.Command.help + " Reconnects after a dropped database connection."

    def handle(
        self,
        *,
        verbosity: int,
        queue_name: str,
        interval: float,
        batch: bool,
        backend_name: str,
        startup_delay: bool,
        max_tasks: int | None,
        worker_id: str,
        exclude_queues: str,
        **options,
    ) -> None:
        self.configure_logging(verbosity)
        worker = ResilientWorker(
            queue_names=queue_name.split(","),
            interval=interval,
            batch=batch,
            backend_name=backend_name,
            startup_delay=startup_delay,
            max_tasks=max_tasks,
            worker_id=worker_id,
            excluded_queue_names=exclude_queues.split(",") if exclude_queues else [],
        )
        worker.configure_signals()
        worker.run()
