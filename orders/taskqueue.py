"""Handing work to the task backend (django.tasks) and telling a lost task from a late one.

Refunds and webhook deliveries run on queues of their own (`REFUNDS_QUEUE`, `WEBHOOKS_QUEUE`), served by
separate workers, so a burst of deliveries can never hold a refund back (or the reverse).

Each row that waits for a task (a pending refund, a pending delivery) keeps the id of the task last
queued for it. The sweeps (orders/recovery.py) ask the backend about that id and queue a new task only
when the old one is really gone: never queued, finished without settling the row, or running longer
than its lease (the worker died mid-task — django-tasks-db leaves such a task "running" for ever).
A task that is merely late — still queued behind others — is left alone, so sweeps never multiply
the queue.
"""

import logging
from datetime import datetime, timedelta

from django.tasks import Task, TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

logger = logging.getLogger("orders.tasks")

# "No such task" (or a backend that cannot tell): Django's, and the django-tasks backport's, on which
# django-tasks-rq is built.
RESULT_GONE: tuple[type[Exception], ...] = (TaskResultDoesNotExist, NotImplementedError)
try:
    from django_tasks.exceptions import TaskResultDoesNotExist as BackportResultDoesNotExist

    RESULT_GONE += (BackportResultDoesNotExist,)
except ImportError:  # the `redis` extra is not installed
    pass

REFUNDS_QUEUE = "refunds"
WEBHOOKS_QUEUE = "webhooks"


def enqueue(task: Task, *, run_after: datetime | None = None, **kwargs) -> str | None:
    """Queue `task` with keyword arguments; the result id, or None when the backend refused (logged:
    the row stays the truth and the sweep queues it again)."""
    if run_after is not None:
        if not task.get_backend().supports_defer:
            return None  # e.g. the immediate backend of the tests: the sweep (or a test) runs it when due
        task = task.using(run_after=run_after)
    try:
        return task.enqueue(**kwargs).id
    except Exception:
        logger.exception("Could not enqueue %s %s; the sweep will queue it again", task.name, kwargs)
        return None


def is_in_hand(task: Task, result_id: str, *, lease: timedelta) -> bool:
    """Whether the backend still holds this task: queued, or running for less than `lease`."""
    if not result_id:
        return False
    try:
        result = task.get_backend().get_result(result_id)
    except RESULT_GONE:
        return False  # e.g. RQ dropped the finished job after its result TTL: gone
    except Exception:
        # The backend cannot answer now (broker down): assume in hand; the next sweep asks again.
        logger.warning("Could not look up task %s; assuming it is still queued", result_id)
        return True
    if result.status == TaskResultStatus.READY:
        return True
    if result.status == TaskResultStatus.RUNNING:
        started = result.started_at or result.last_attempted_at
        return started is not None and started > timezone.now() - lease
    return False  # finished, yet the row it was for is still waiting: lost
