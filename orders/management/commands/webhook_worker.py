"""`manage.py webhook_worker`: the batch webhook sender (orders/webhooks/sender.py explains the design).

    manage.py webhook_worker [--threads 64] [--per-endpoint 16] [--batch 200] [--poll 0.2]

It takes the place of `db_worker --queue-name webhooks` (`make run` starts it): it claims due deliveries
from the outbox in batches (each endpoint about a second of sends ahead), sends them from --threads
threads over kept-alive connections with at most --per-endpoint sends in flight per endpoint, records
the attempts in bulk, and marks the webhooks queue's `deliver_webhook` tasks done, if any (their
deliveries are sent from the outbox; with the database backend none are written unless
WEBHOOK_DELIVERY_TASKS is on). Run as many as volume needs: claims use SKIP LOCKED. SIGTERM/SIGINT: stop
claiming, send and record what is claimed (bounded by the timeout), give back the rest, exit.
"""

import os
import signal
import socket

from django.core.management.base import BaseCommand

from orders.webhooks.sender import Sender


class Command(BaseCommand):
    help = "Send webhook deliveries in batches, concurrently, over kept-alive connections."

    def add_arguments(self, parser):
        parser.add_argument(
            "--threads", type=int, default=64, help="Sends in flight at most (all endpoints)."
        )
        parser.add_argument(
            "--per-endpoint", type=int, default=16, help="Sends in flight at most per endpoint."
        )
        parser.add_argument(
            "--batch", type=int, default=200, help="Deliveries claimed at most per pass, and per endpoint."
        )
        parser.add_argument(
            "--poll", type=float, default=0.2, help="Seconds between looks at an idle outbox."
        )
        parser.add_argument(
            "--no-acknowledge",
            action="store_true",
            help="Leave the webhooks queue's tasks to a task worker (default: mark them done in bulk).",
        )

    def handle(self, *args, threads, per_endpoint, batch, poll, no_acknowledge, verbosity, **options):
        sender = Sender(
            threads=threads,
            per_endpoint=per_endpoint,
            batch=batch,
            poll=poll,
            worker_id=f"webhook_worker@{socket.gethostname()}:{os.getpid()}",
            acknowledge=not no_acknowledge,
        )

        def stop(signum, frame):
            sender.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        if verbosity > 0:
            self.stdout.write(
                f"webhook_worker: {threads} threads, {per_endpoint} per endpoint, batches of {batch}"
            )
        sender.run()
        if verbosity > 0:
            self.stdout.write(f"webhook_worker: stopped after {sender.sent} attempts")
