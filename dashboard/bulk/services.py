"""Starting, cancelling and resuming bulk jobs, and the sweep that resumes a job whose worker died.

A job is queued after the transaction that created it commits (the task must find its row). The task id
is kept on the job so the sweep can tell a job that is only late (still queued behind others) from one
whose task is gone.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.tasks import TaskResultStatus
from django.tasks.exceptions import TaskResultDoesNotExist
from django.utils import timezone

from dashboard.bulk.runner import run_bulk_job
from dashboard.models import BulkJob, StoreConnection

logger = logging.getLogger("dashboard.bulk")


def job_create(
    *,
    store: StoreConnection,
    user,
    action: str,
    params: dict[str, Any],
    selection_filter: dict[str, Any] | None = None,
    targets: list[dict[str, Any]] | None = None,
    selection_label: str = "",
) -> BulkJob:
    """Make a queued job for a filter selection (resolved when it starts) or explicit `targets`
    ([{"id", "number"?, "metadata"?}]), and queue it once the transaction commits."""
    if (selection_filter is None) == (targets is None):
        raise ValueError("A job selects by a filter or by explicit targets, not both or neither.")
    job = BulkJob.objects.create(
        store=store,
        created_by=user,
        created_by_name=(user.get_full_name() or user.get_username())[:150],
        action=action,
        params=params,
        selection_filter=selection_filter,
        selection_label=selection_label[:500],
        targets=targets or [],
        total=len(targets or []),
        resolved=targets is not None,
        heartbeat_at=timezone.now(),
    )
    job_id = job.pk
    transaction.on_commit(lambda: _enqueue(job_id), robust=True)
    return job


def job_cancel(job: BulkJob) -> None:
    """Ask a queued or running job to stop: a queued one is cancelled now, a running one after the
    chunk in progress (its done orders stay done)."""
    with transaction.atomic():
        locked = BulkJob.objects.select_for_update().get(pk=job.pk)
        if locked.is_finished:
            return
        locked.cancel_requested = True
        fields = ["cancel_requested"]
        if locked.status == BulkJob.Status.QUEUED:
            locked.status = BulkJob.Status.CANCELLED
            locked.finished_at = timezone.now()
            fields += ["status", "finished_at"]
        locked.save(update_fields=fields)


def job_resume(job: BulkJob) -> bool:
    """Queue a failed job again (e.g. after the API was down): orders with a result are skipped."""
    updated = BulkJob.objects.filter(pk=job.pk, status=BulkJob.Status.FAILED).update(
        status=BulkJob.Status.QUEUED, error="", finished_at=None, heartbeat_at=timezone.now()
    )
    if updated:
        transaction.on_commit(lambda: _enqueue(job.pk), robust=True)
    return bool(updated)


def _enqueue(job_id: int) -> None:
    try:
        result = run_bulk_job.enqueue(job_id=job_id)
    except Exception:
        logger.exception("Could not queue bulk job %s; the sweep queues it again", job_id)
        return
    BulkJob.objects.filter(pk=job_id).update(task_id=str(result.id)[:64])


def _task_in_hand(task_id: str) -> bool:
    """Whether the task backend still holds this task (queued, or running and its job beats)."""
    if not task_id:
        return False
    try:
        result = run_bulk_job.get_backend().get_result(task_id)
    except (TaskResultDoesNotExist, NotImplementedError):
        return False
    except Exception:
        logger.warning("Could not look up bulk task %s; assuming it is still queued", task_id)
        return True
    return result.status == TaskResultStatus.READY


def jobs_sweep_stale() -> int:
    """Queue again the jobs whose worker died (running, no progress saved for BULK_JOB_LEASE_SECONDS)
    and the queued jobs whose task is gone. Safe to run anywhere, any number of times: a job is held by
    one runner at a time, and the API replays what a dead runner already sent. Returns how many."""
    stale = timezone.now() - timedelta(seconds=settings.BULK_JOB_LEASE_SECONDS)
    candidates = BulkJob.objects.filter(
        status__in=[BulkJob.Status.RUNNING, BulkJob.Status.QUEUED], heartbeat_at__lt=stale
    ).values_list("pk", "status", "task_id")
    queued = 0
    for job_id, status, task_id in candidates:
        if status == BulkJob.Status.QUEUED and _task_in_hand(task_id):
            continue  # only late: queued behind other work
        updated = BulkJob.objects.filter(pk=job_id, status=status, heartbeat_at__lt=stale).update(
            status=BulkJob.Status.QUEUED, runner="", heartbeat_at=timezone.now()
        )
        if updated:
            _enqueue(job_id)
            queued += 1
    return queued
