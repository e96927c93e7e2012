"""`manage.py rqworker`: django-rq's worker for `TASKS_BACKEND=rq`, made to survive its two outages.

This command takes the place of django-rq's own (`orders` comes first in INSTALLED_APPS); settings.RQ
names django-tasks-rq's job class and `ResilientWorker`, so a plain

    manage.py rqworker refunds webhooks default

runs django.tasks tasks. What it adds:

- RQ's scheduler, always (`--with-scheduler` is implied): a webhook retry is a job queued to run later,
  which stays in RQ's scheduled registry until a worker with the scheduler moves it to its queue.
- Jobs run in the worker process (RQ's SimpleWorker), not in a fork per job: a fork starts every job
  cold (a new database connection, the TLS context, imports) and took ~1 s per webhook delivery here
  (2 cores, load average ~9) — in-process it is one round trip. Job timeouts still apply (SIGALRM).
- The database: every job starts with usable connections, as a request does: before it, a connection
  that errored, expired (CONN_MAX_AGE) or was terminated by the server (a failover, a restart) is
  closed and the job opens a new one; after it, those past CONN_MAX_AGE are closed.
- Redis: RQ retries a dropped connection while it waits for a job, but quits when Redis goes away at
  any other moment (during a job, a heartbeat, registry maintenance), and cannot start while Redis is
  down. Outside `--burst`, `--max-jobs` and `--max-idle-time`, this command then starts a new worker
  (pausing 1 s, doubling up to 10 s) until it is stopped with SIGTERM or SIGINT. A job that was running
  during the outage is left to RQ (its registries) and to the recovery sweep, which queues its refund or
  delivery again; both are claimed under row locks, so the work is done once.
"""

import contextlib
import logging
import os
import signal
import time

from django.db import connections
from django_rq.management.commands import rqworker
from django_rq.utils import reset_db_connections
from django_rq.workers import get_worker
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rq.logutils import setup_loghandlers
from rq.worker import SimpleWorker

logger = logging.getLogger("orders.tasks")
MAX_PAUSE_SECONDS = 10.0
# A worker that ran this long before it stopped was healthy: the next restart pauses 1 s again.
HEALTHY_RUN_SECONDS = 60.0


def drop_unusable_connections() -> None:
    """Close the connections that errored, expired (CONN_MAX_AGE) or were terminated by the server."""
    for connection in connections.all(initialized_only=True):
        connection.close_if_unusable_or_obsolete()
        if connection.connection is not None and not connection.is_usable():
            connection.close()


def abandon(worker) -> None:
    """Stop what a worker that quit on a Redis error left running (its teardown could not)."""
    thread = getattr(worker, "pubsub_thread", None)
    if thread is not None:
        with contextlib.suppress(Exception):
            thread.stop()


class ResilientWorker(SimpleWorker):
    """RQ's in-process worker with usable database connections for every job (settings.RQ["WORKER_CLASS"])."""

    def perform_job(self, job, queue, execution) -> bool:
        drop_unusable_connections()
        try:
            return super().perform_job(job, queue, execution)
        finally:
            drop_unusable_connections()


class Command(rqworker.Command):
    help = (
        "Runs an RQ worker on the given queues (default: all of RQ_QUEUES). Every job starts with usable "
        "database connections; after a Redis outage a new worker starts (except with --burst, "
        "--max-jobs or --max-idle-time)."
    )

    def handle(self, *args, **options):
        # Always: webhook retries are queued to run later (RQ's scheduled jobs), which only a worker
        # with the scheduler moves to their queue (one at a time holds each queue's lock).
        options["with_scheduler"] = True
        if options["burst"] or options["max_jobs"] or options["max_idle_time"]:
            super().handle(*args, **options)  # finite runs: django-rq's, which exits on errors
            return
        if options.get("pid"):
            with open(os.path.expanduser(options["pid"]), "w") as fp:
                fp.write(str(os.getpid()))
        verbosity = options["verbosity"]
        level = "DEBUG" if verbosity >= 2 else "WARNING" if verbosity == 0 else "INFO"
        setup_loghandlers(level)

        stop = {"requested": False}

        def request_stop(signum, frame):
            stop["requested"] = True

        pause = 1.0
        restarts = 0
        while True:
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            if stop["requested"]:
                return
            started = time.monotonic()
            worker = None
            try:
                worker = get_worker(
                    *args,
                    worker_class=options["worker_class"],
                    queue_class=options["queue_class"],
                    job_class=options["job_class"],
                    # A worker that quit on a Redis error may still be registered under its name until
                    # its key expires: a restarted one with a given --name gets a suffix.
                    name=f"{options['name']}.{restarts}" if options["name"] and restarts else options["name"],
                    worker_ttl=options["worker_ttl"],
                    serializer=options["serializer"],
                )
                reset_db_connections()  # close any connection before the worker forks
                worker.work(with_scheduler=options["with_scheduler"], logging_level=level)
                problem = "the worker stopped"
            except (RedisConnectionError, RedisTimeoutError) as exc:
                problem = f"Redis cannot be reached ({exc})"
            except Exception as exc:
                logger.exception("The RQ worker failed")
                problem = f"the worker failed ({type(exc).__name__})"
            if stop["requested"] or getattr(worker, "_shutdown_requested_date", None) is not None:
                return  # SIGTERM/SIGINT: RQ's warm shutdown finished the running job
            abandon(worker)
            if time.monotonic() - started > HEALTHY_RUN_SECONDS:
                pause = 1.0
            logger.warning("RQ worker: %s; starting a new one in %.1f s", problem, pause)
            signal.signal(signal.SIGTERM, request_stop)
            signal.signal(signal.SIGINT, request_stop)
            deadline = time.monotonic() + pause
            while not stop["requested"] and time.monotonic() < deadline:
                time.sleep(0.1)
            pause = min(pause * 2, MAX_PAUSE_SECONDS)
            restarts += 1
