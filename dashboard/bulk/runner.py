"""Carrying out a bulk job (models.BulkJob) in the task worker.

Exactly once per order, whatever dies when:
- Each order is one API call with the Idempotency-Key `bulk-<job key>-<order id>`, and the same body
  every time (it is made from the job's stored parameters). The API stores its first answer for 24 h
  (orders/api/idempotency.py): a resumed or re-run job gets the first answer back — success or the
  refusal — and the order is not changed again. A job is resumed by the sweep within minutes
  (BULK_JOB_LEASE_SECONDS), far inside those 24 h.
- Results are saved per chunk with the job's counts and heartbeat; a resume skips the orders that have
  a result (unique per job and order) and re-sends only the unfinished chunk, which the API replays.
- Staff notes are the dashboard's own rows: a chunk's notes and its results commit in one transaction.
- A job is held by one runner at a time (`BulkJob.runner`); a runner whose job was taken over (it was
  presumed dead) stops at its next chunk without saving anything.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import connection as db_connection
from django.db import connections, transaction
from django.db.models import Count
from django.tasks import task
from django.utils import timezone

from dashboard.api import client_for
from dashboard.client import ApiBadAnswer, ApiError, OrdersApiClient
from dashboard.models import BulkJob, BulkJobResult, StaffNote
from secretbox import SecretBoxError

logger = logging.getLogger("dashboard.bulk")

CHUNK_SIZE = 50
# Transient failures (API down, 5xx after the client's own retries, a timeout): this many more tries
# of the same order, with the same key, pausing 1, 2, 4, 8, 16 s; then the job stops as failed and can be
# resumed. A rate limit (429) is waited out for as long as the API asks.
TRANSIENT_RETRIES = 5
MAX_RATE_LIMIT_WAITS = 100
Outcome = BulkJobResult.Outcome


class JobStopped(Exception):
    """The job cannot go on (the API stays unreachable, the selection is too big); the message says why."""


@dataclass(frozen=True)
class Result:
    order_id: str
    order_number: str
    outcome: str
    message: str = ""
    error_code: str = ""


def job_reference(job: BulkJob) -> str:
    """How a change names its job in the API's history (note or reason), so the audit view can link it
    (templatetags `link_bulk_jobs`)."""
    return f"bulk job #{job.pk}"


def idempotency_key(job: BulkJob, order_id: str) -> str:
    return f"bulk-{job.key}-{order_id}"


def with_reference(text: str, job: BulkJob) -> str:
    text = (text or "").strip()
    return f"{text} · {job_reference(job)}" if text else f"Changed in {job_reference(job)}"


@task()
def run_bulk_job(job_id: int) -> str:
    """The background task (default queue): carry out the job; returns the status it ended in."""
    return job_run(job_id=job_id)


def job_run(*, job_id: int) -> str:
    runner = uuid.uuid4().hex
    job = _claim(job_id, runner)
    if job is None:
        return "not-claimed"
    try:
        client = client_for(job.store, on_behalf_of=job.created_by_name or None)
    except SecretBoxError as exc:
        return _finish(job, runner, BulkJob.Status.FAILED, error=str(exc))
    calls = Calls(settings.BULK_JOB_CONCURRENCY)
    try:
        if not job.resolved:
            _resolve(job, client, runner)
        done = set(job.results.values_list("order_id", flat=True))
        pending = [target for target in job.targets if target["id"] not in done]
        for chunk in _chunks(pending, CHUNK_SIZE):
            state = BulkJob.objects.filter(pk=job.pk).values("runner", "cancel_requested").first()
            if state is None or state["runner"] != runner:
                return "taken-over"
            if state["cancel_requested"]:
                return _finish(job, runner, BulkJob.Status.CANCELLED)
            if job.action == BulkJob.Action.NOTE:
                if not _save_notes(job, runner, chunk):
                    return "taken-over"
            else:
                results = calls.map(lambda target: _call(job, client, runner, target), chunk)
                if not _save_chunk(job, runner, results):
                    return "taken-over"
        return _finish(job, runner, BulkJob.Status.DONE)
    except JobStopped as exc:
        return _finish(job, runner, BulkJob.Status.FAILED, error=str(exc))
    finally:
        calls.close()
        client.close()


class Calls:
    """Runs a chunk's API calls `concurrency` at a time (answers in the chunk's order).

    Each call mostly waits — for the API, and the API for its database — so a few in flight at once
    multiply the rate (bench/results/bulk.md). Each thread has its own database connection (Django's
    are per thread), closed when the job ends. Inside a transaction (a test's, or an immediate task
    backend's in a request) the calls run one by one: other threads could not see its rows.
    """

    def __init__(self, concurrency: int) -> None:
        self.size = 1 if db_connection.in_atomic_block else max(1, concurrency)
        self.pool = ThreadPoolExecutor(self.size, thread_name_prefix="bulk-job") if self.size > 1 else None

    def map(self, call: Callable[[Any], Result], items: Sequence[Any]) -> list[Result]:
        if self.pool is None:
            return [call(item) for item in items]
        return list(self.pool.map(call, items))

    def close(self) -> None:
        if self.pool is None:
            return
        # One closing task per thread: the barrier holds each thread until all have taken one.
        barrier = threading.Barrier(self.size)

        def close_connections() -> None:
            barrier.wait(timeout=30)
            connections.close_all()

        for future in [self.pool.submit(close_connections) for _ in range(self.size)]:
            with contextlib.suppress(threading.BrokenBarrierError):
                future.result()
        self.pool.shutdown()


def _claim(job_id: int, runner: str) -> BulkJob | None:
    """Take the job for this runner: a queued job, or a running one whose runner stopped beating."""
    stale = timezone.now() - timedelta(seconds=settings.BULK_JOB_LEASE_SECONDS)
    with transaction.atomic():
        job = BulkJob.objects.select_for_update().select_related("store").filter(pk=job_id).first()
        if job is None or job.is_finished:
            return None
        if job.status == BulkJob.Status.RUNNING and job.heartbeat_at and job.heartbeat_at > stale:
            return None  # another runner is at work on it
        if job.cancel_requested:
            job.status = BulkJob.Status.CANCELLED
            job.finished_at = timezone.now()
            job.save(update_fields=["status", "finished_at"])
            return None
        now = timezone.now()
        job.status = BulkJob.Status.RUNNING
        job.runner = runner
        job.started_at = job.started_at or now
        job.heartbeat_at = now
        job.save(update_fields=["status", "runner", "started_at", "heartbeat_at"])
    return job


def _resolve(job: BulkJob, client: OrdersApiClient, runner: str) -> None:
    """A filter selection becomes the list of its orders now, kept on the job for every resume."""
    limit = settings.BULK_JOB_MAX_ORDERS
    targets: list[dict[str, Any]] = []
    filters = {**(job.selection_filter or {}), "limit": 50}
    try:
        for order in client.orders.iterate(**filters):
            if len(targets) == limit:
                raise JobStopped(
                    f"More than {limit:,} orders match the selection now; narrow the filters and start again."
                )
            targets.append({"id": order.id, "number": order.order_number})
    except ApiError as exc:
        raise JobStopped(
            f"The selection could not be read from the Orders API ({exc.message}). Resume the job to try again."
        ) from None
    updated = BulkJob.objects.filter(pk=job.pk, runner=runner).update(
        targets=targets, total=len(targets), resolved=True, heartbeat_at=timezone.now()
    )
    if not updated:
        raise JobStopped("The job was taken over by another worker.")
    job.targets, job.total, job.resolved = targets, len(targets), True


def _chunks(items: Sequence[dict[str, Any]], size: int) -> Iterator[Sequence[dict[str, Any]]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _perform(job: BulkJob, client: OrdersApiClient, target: dict[str, Any]) -> str:
    """One API call for one order; the success message."""
    key = idempotency_key(job, target["id"])
    params = job.params
    if job.action == BulkJob.Action.STATUS:
        metadata = dict(target.get("metadata") or {})
        for name, param in (("trackingNumber", "tracking_number"), ("carrier", "carrier")):
            if params.get(param) and name not in metadata:
                metadata[name] = params[param]
        order = client.orders.update_status(
            target["id"],
            params["status"],
            note=with_reference(params.get("note", ""), job),
            metadata=metadata or None,
            idempotency_key=key,
        )
        tracking = f" · {metadata['trackingNumber']}" if metadata.get("trackingNumber") else ""
        return f"Now {order.status.replace('_', ' ')}{tracking}"
    if job.action == BulkJob.Action.CANCEL:
        order = client.orders.cancel(
            target["id"], reason=with_reference(params["reason"], job), idempotency_key=key
        )
        return "Cancelled (no refund)"
    raise ValueError(f"Unknown bulk action {job.action!r}")


def _call(job: BulkJob, client: OrdersApiClient, runner: str, target: dict[str, Any]) -> Result:
    number = target.get("number") or ""
    transient = rate_limited = 0
    while True:
        try:
            message = _perform(job, client, target)
            return Result(target["id"], number, Outcome.SUCCEEDED, message)
        except ApiBadAnswer as exc:
            # A retry with the key would replay the same unreadable answer: record it and go on.
            return Result(target["id"], number, Outcome.FAILED, exc.message, exc.error_code)
        except ApiError as exc:
            if exc.status == 429 and rate_limited < MAX_RATE_LIMIT_WAITS:
                rate_limited += 1
                _wait(job, runner, float(exc.retry_after or 1))
                continue
            if exc.status in {401, 403}:
                # The key, not the order: every other order would be refused the same way.
                raise JobStopped(
                    f"The Orders API refused this store's key ({exc.message}); an admin must update it, "
                    "then resume the job: done orders are skipped."
                ) from None
            if exc.status is None or exc.status >= 500 or exc.error_code == "IDEMPOTENCY_KEY_IN_USE":
                if transient < TRANSIENT_RETRIES:
                    _wait(job, runner, float(2**transient))
                    transient += 1
                    continue
                raise JobStopped(
                    f"The Orders API kept failing ({exc.message}); the job stopped at "
                    f"{number or target['id']}. Resume it when the API is back: done orders are skipped."
                ) from None
            # A refusal (wrong status, already cancelled, not found): the API's own words, and go on.
            return Result(target["id"], number, Outcome.FAILED, exc.message, exc.error_code)


def _wait(job: BulkJob, runner: str, seconds: float) -> None:
    """Pause without looking dead to the sweep."""
    BulkJob.objects.filter(pk=job.pk, runner=runner).update(heartbeat_at=timezone.now())
    time.sleep(min(seconds, 60.0))


def _save_chunk(job: BulkJob, runner: str, results: Sequence[Result]) -> bool:
    with transaction.atomic():
        if not _hold(job, runner):
            return False
        BulkJobResult.objects.bulk_create(
            [
                BulkJobResult(
                    job=job,
                    order_id=r.order_id,
                    order_number=r.order_number[:64],
                    outcome=r.outcome,
                    message=r.message,
                    error_code=r.error_code[:64],
                )
                for r in results
            ],
            ignore_conflicts=True,
        )
        _count(job)
    return True


def _save_notes(job: BulkJob, runner: str, chunk: Sequence[dict[str, Any]]) -> bool:
    """Staff notes are local: the chunk's notes and their results commit together (exactly once)."""
    author_name = job.created_by_name[:150]
    body = job.params["body"]
    with transaction.atomic():
        if not _hold(job, runner):
            return False
        StaffNote.objects.bulk_create(
            [
                StaffNote(
                    store=job.store,
                    order_id=t["id"],
                    author=job.created_by,
                    author_name=author_name,
                    body=body,
                )
                for t in chunk
            ]
        )
        BulkJobResult.objects.bulk_create(
            [
                BulkJobResult(
                    job=job,
                    order_id=t["id"],
                    order_number=(t.get("number") or "")[:64],
                    outcome=Outcome.SUCCEEDED,
                    message="Note added",
                )
                for t in chunk
            ]
        )
        _count(job)
    return True


def _hold(job: BulkJob, runner: str) -> bool:
    """Lock the job row and check this runner still holds it (inside the chunk's transaction)."""
    return BulkJob.objects.select_for_update().filter(pk=job.pk, runner=runner).exists()


def _count(job: BulkJob) -> None:
    counts = dict(job.results.values_list("outcome").annotate(n=Count("id")).order_by())
    BulkJob.objects.filter(pk=job.pk).update(
        succeeded=counts.get(Outcome.SUCCEEDED, 0),
        failed=counts.get(Outcome.FAILED, 0),
        heartbeat_at=timezone.now(),
    )


def _finish(job: BulkJob, runner: str, status: str, *, error: str = "") -> str:
    with transaction.atomic():
        if not _hold(job, runner):
            return "taken-over"
        _count(job)
        BulkJob.objects.filter(pk=job.pk).update(
            status=status, error=error[:2000], finished_at=timezone.now(), runner=""
        )
    logger.info("Bulk job %s ended %s%s", job.pk, status, f": {error}" if error else "")
    return status
