"""Sending webhook deliveries: claim, send, record, retry — and the sweep that finds lost tasks.

Guarantees
- At least once: a delivery row is written with its event in the order change's transaction
  (orders/webhooks/outbox.py) and stays `pending` until a 2xx is recorded, the schedule is exhausted, or the
  endpoint is disabled/deleted. Tasks are only a wake-up call: a lost task (worker killed, broker
  flushed, enqueue failed after commit) leaves a due `pending` row, which `sweep_due_deliveries` enqueues
  again.
- Tasks or not: with settings.WEBHOOK_DELIVERY_TASKS (the RQ default, for plain task workers on the
  `webhooks` queue) each due delivery is handed to the task backend as a `deliver_webhook` task
  (`enqueue_delivery`: after the outbox's commit, a retry, a manual retry, the sweep). Without it (the
  database backend's default) nothing is enqueued anywhere: `manage.py webhook_worker`
  (orders/webhooks/sender.py) claims due rows from the outbox itself, and a row whose claim lease ran out
  is simply due again, so the sweep has nothing to do. `delivery_tasks()` is where that rule is read.
- Never the same attempt twice: a worker claims a due delivery under `select_for_update(skip_locked=True)`
  and, in that same transaction, records the attempt and pushes `next_attempt_at` past a lease, then sends
  outside the transaction. A second worker (or a duplicate task) either skips the locked row or finds it
  no longer due. The result is written back only if the delivery is still at that attempt.
- Retries: non-2xx answers, timeouts and connection errors are retried after
  settings.WEBHOOK_RETRY_SCHEDULE[n] seconds ± WEBHOOK_RETRY_JITTER (spread so that a receiver coming
  back up is not hit by every retry at once); after the last one the delivery is `failed`. 410 Gone
  disables the endpoint and cancels its pending deliveries.
"""

import logging
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

import orjson
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count
from django.tasks import task
from django.utils import timezone

import secretbox
from orders import taskqueue
from orders.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from orders.webhooks.sending import SendResult, send

logger = logging.getLogger("orders.webhooks")

Status = WebhookDelivery.Status
LOST_ATTEMPT_ERROR = "No result was recorded: the worker stopped during this attempt."


def retry_schedule() -> list[int]:
    return list(settings.WEBHOOK_RETRY_SCHEDULE)


def max_attempts() -> int:
    """The first try plus one per entry of the schedule."""
    return len(retry_schedule()) + 1


def retry_delay(attempt: int) -> timedelta:
    """The pause after failed attempt number `attempt` (1-based): the schedule's entry ± jitter."""
    schedule = retry_schedule()
    base = schedule[min(attempt, len(schedule)) - 1]
    jitter = float(settings.WEBHOOK_RETRY_JITTER)
    return timedelta(seconds=base * random.uniform(1 - jitter, 1 + jitter))  # noqa: S311 - not crypto


@dataclass(frozen=True)
class Claim:
    delivery_id: UUID
    attempt_id: int
    run_attempt: int  # 1-based position in the retry schedule (reset by a manual retry)
    url: str
    secret: str
    event_id: str
    event_type: str
    body: bytes
    retry: bool
    endpoint_id: UUID | None = None


# ---- claim ------------------------------------------------------------------------------------------


def _claim(delivery_id: str | UUID, *, include_disabled: bool, retry: bool) -> Claim | None:
    now = timezone.now()
    with transaction.atomic():
        # Waits for a row lock held by someone else (not SKIP LOCKED): the holder is brief — another claim,
        # a batch pass, or `enqueue_delivery` writing the task id — and skipping it would leave the row
        # to the sweep. A row another worker claimed meanwhile no longer matches (its lease moved
        # next_attempt_at), which PostgreSQL re-checks after the wait.
        delivery = (
            WebhookDelivery.objects.select_for_update(of=("self",))
            .select_related("endpoint", "event")
            .filter(id=delivery_id, status=Status.PENDING, next_attempt_at__lte=now)
            .first()
        )
        if delivery is None:  # claimed by another worker, not due, or already finished
            return None
        secret = _claimable_secret(delivery, now=now, include_disabled=include_disabled, secrets={})
        if secret is None:
            return None
        run_attempt = delivery.attempt_count + 1
        attempt = WebhookAttempt.objects.create(
            delivery=delivery,
            attempt_number=WebhookAttempt.objects.filter(delivery=delivery).count() + 1,
            attempted_at=now,
            error=LOST_ATTEMPT_ERROR,  # replaced when the result is recorded
        )
        delivery.attempt_count = run_attempt
        delivery.next_attempt_at = now + _lease(run_attempt)
        delivery.save(update_fields=["attempt_count", "next_attempt_at", "updated_at"])
        return _claim_of(delivery, attempt_id=attempt.id, secret=secret, retry=retry)


def _lease(run_attempt: int) -> timedelta:
    """If the worker dies mid-send, the sweep (or another sender) finds the row due again at about the
    time a failed attempt would have been retried, and never while a live send can still be running."""
    return max(retry_delay(run_attempt), timedelta(seconds=settings.WEBHOOK_CLAIM_LEASE_SECONDS))


def _claimable_secret(
    delivery: WebhookDelivery, *, now: datetime, include_disabled: bool, secrets: dict
) -> str | None:
    """The endpoint's secret if the locked, due `delivery` may be attempted; otherwise finish it (disabled
    endpoint, nothing left to try, undecryptable secret) and return None. `secrets` caches decryptions."""
    endpoint = delivery.endpoint
    if not endpoint.enabled and not include_disabled:
        _finish(delivery, Status.CANCELLED, error="The endpoint is disabled.", now=now)
        return None
    if delivery.attempt_count >= max_attempts():
        # Only reachable when the worker died during the last attempt: nothing left to try.
        _finish(delivery, Status.FAILED, error=LOST_ATTEMPT_ERROR, now=now)
        return None
    key = (endpoint.id, endpoint.secret_encrypted)
    if key not in secrets:
        try:
            secrets[key] = secretbox.decrypt(
                endpoint.secret_encrypted, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE
            )
        except secretbox.SecretBoxError as exc:  # its key was dropped: rotating the secret repairs it
            secrets[key] = exc
    secret = secrets[key]
    if isinstance(secret, Exception):
        _finish(delivery, Status.FAILED, error=f"{secret} Rotate the endpoint's secret.", now=now)
        return None
    return secret


def _claim_of(delivery: WebhookDelivery, *, attempt_id: int, secret: str, retry: bool) -> Claim:
    return Claim(
        delivery_id=delivery.id,
        attempt_id=attempt_id,
        run_attempt=delivery.attempt_count,
        url=delivery.endpoint.url,
        secret=secret,
        event_id=delivery.event_id,
        event_type=delivery.event.type,
        body=orjson.dumps(delivery.event.payload),
        retry=retry,
        endpoint_id=delivery.endpoint_id,
    )


def claim_due(
    *, limit: int, free_slots: Callable[[UUID], int], exclude_endpoints: Collection[UUID] = ()
) -> list[Claim]:
    """Claim up to `limit` due deliveries in one transaction, at most `free_slots(endpoint_id)` per
    endpoint, none of `exclude_endpoints` (the batch sender, orders/webhooks/sender.py).

    Each claim is exactly what `_claim` makes of one delivery — the row locked with SKIP LOCKED, an
    attempt recorded as lost until its result replaces it, `next_attempt_at` pushed past the lease —
    only in bulk: one locking query, one count of earlier attempts, one insert and one update. Joins the
    caller's transaction if there is one: send only after it commits."""
    now = timezone.now()
    due = WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=now)
    # First a light look (ids only) to pick at most the free slots per endpoint, so that a long backlog
    # for one endpoint is not locked and loaded just to be left alone; then lock and load those rows.
    picked: list[UUID] = []
    per_endpoint: dict[UUID, int] = {}
    window = due.exclude(endpoint_id__in=list(exclude_endpoints)).order_by("next_attempt_at")
    for delivery_id, endpoint_id in window.values_list("id", "endpoint_id")[: limit * 4]:
        if per_endpoint.get(endpoint_id, 0) < free_slots(endpoint_id):
            per_endpoint[endpoint_id] = per_endpoint.get(endpoint_id, 0) + 1
            picked.append(delivery_id)
            if len(picked) >= limit:
                break
    if not picked:
        return []
    with transaction.atomic(savepoint=False):
        rows = list(
            due.select_for_update(skip_locked=True, of=("self",))
            .select_related("endpoint", "event")
            .filter(id__in=picked)
            .order_by("next_attempt_at")
        )
        chosen: list[tuple[WebhookDelivery, str]] = []
        secrets: dict = {}
        for delivery in rows:
            secret = _claimable_secret(delivery, now=now, include_disabled=False, secrets=secrets)
            if secret is not None:
                chosen.append((delivery, secret))
        if not chosen:
            return []
        earlier = dict(
            WebhookAttempt.objects.filter(delivery_id__in=[d.id for d, _ in chosen])
            .values("delivery_id")
            .annotate(n=Count("id"))
            .values_list("delivery_id", "n")
        )
        attempts = WebhookAttempt.objects.bulk_create(
            WebhookAttempt(
                delivery=delivery,
                attempt_number=earlier.get(delivery.id, 0) + 1,
                attempted_at=now,
                error=LOST_ATTEMPT_ERROR,  # replaced when the result is recorded
            )
            for delivery, _ in chosen
        )
        # One update per attempt number (nearly always one): the same lease for rows at the same attempt.
        by_count: dict[int, list[UUID]] = {}
        for delivery, _ in chosen:
            by_count.setdefault(delivery.attempt_count, []).append(delivery.id)
        leases = {count: now + _lease(count + 1) for count in by_count}
        for count, ids in by_count.items():
            WebhookDelivery.objects.filter(id__in=ids).update(
                attempt_count=count + 1, next_attempt_at=leases[count], updated_at=now
            )
        for delivery, _ in chosen:
            delivery.next_attempt_at = leases[delivery.attempt_count]
            delivery.attempt_count += 1
        return [
            _claim_of(delivery, attempt_id=attempt.id, secret=secret, retry=True)
            for (delivery, secret), attempt in zip(chosen, attempts, strict=True)
        ]


def release_claims(claims: list[Claim]) -> None:
    """Give back claims that were never sent (the batch sender stopping with claims still queued): their
    attempt rows go, and each delivery still at that attempt is due again at once with its previous
    attempt count — as if it had not been claimed."""
    now = timezone.now()
    with transaction.atomic():
        WebhookAttempt.objects.filter(id__in=[c.attempt_id for c in claims]).delete()
        by_attempt: dict[int, list[UUID]] = {}
        for claim in claims:
            by_attempt.setdefault(claim.run_attempt, []).append(claim.delivery_id)
        for run_attempt, ids in by_attempt.items():
            WebhookDelivery.objects.filter(
                id__in=ids, status=Status.PENDING, attempt_count=run_attempt
            ).update(attempt_count=run_attempt - 1, next_attempt_at=now, updated_at=now)


# ---- record -----------------------------------------------------------------------------------------


def _finish(delivery: WebhookDelivery, status: str, *, now: datetime, error: str = "") -> None:
    delivery.status = status
    delivery.next_attempt_at = None
    delivery.completed_at = now
    if error:
        delivery.last_error = error[:500]
    delivery.save(
        update_fields=[
            "status",
            "next_attempt_at",
            "completed_at",
            "last_status_code",
            "last_error",
            "updated_at",
        ]
    )


def cancel_pending(*, endpoint_id, reason: str) -> int:
    return WebhookDelivery.objects.filter(endpoint_id=endpoint_id, status=Status.PENDING).update(
        status=Status.CANCELLED,
        next_attempt_at=None,
        completed_at=timezone.now(),
        last_error=reason[:500],
        updated_at=timezone.now(),
    )


def record_results(outcomes: list[tuple[Claim, SendResult]], *, enqueue_retries: bool = True) -> None:
    """Record the results of sends in one transaction — one for `attempt_delivery`, a batch for the batch
    sender (orders/webhooks/sender.py). Each attempt row gets its result. Each delivery still at that
    attempt (not deleted, cancelled or retried by hand meanwhile) is then, by its own result: succeeded
    (2xx); failed (410 Gone, which also disables the endpoint and cancels its pending deliveries; a final
    attempt; a test send); or due again after its retry delay. In bulk: one statement for the attempts,
    one per (status code, attempt) for the 2xx, one lock and one update for the rest, whatever the mix.
    A retry is enqueued as a task after commit when there are delivery tasks, unless `enqueue_retries` is
    false (the batch sender, which finds due retries in the outbox itself: a task would only be
    acknowledged unrun, and three statements per failure let a dead endpoint's backlog slow every pass).
    Joins the caller's transaction if there is one."""
    now = timezone.now()
    with transaction.atomic(savepoint=False):
        _write_attempt_results(outcomes)
        groups: dict[tuple, list[UUID]] = {}
        for c, r in outcomes:
            if r.succeeded:
                groups.setdefault((r.status_code, c.run_attempt), []).append(c.delivery_id)
        for (code, run_attempt), ids in groups.items():
            WebhookDelivery.objects.filter(
                id__in=ids, attempt_count=run_attempt, status=Status.PENDING
            ).update(
                status=Status.SUCCEEDED,
                next_attempt_at=None,
                completed_at=now,
                last_status_code=code,
                last_error="",
                updated_at=now,
            )
        failed = {c.delivery_id: (c, r) for c, r in outcomes if not r.succeeded}
        if failed:
            _record_failures(failed, now=now, enqueue_retries=enqueue_retries)


def _record_failures(
    failed: dict[UUID, tuple[Claim, SendResult]], *, now: datetime, enqueue_retries: bool
) -> None:
    rows = WebhookDelivery.objects.select_for_update().filter(id__in=list(failed), status=Status.PENDING)
    changed: list[WebhookDelivery] = []
    gone: list[WebhookDelivery] = []
    for delivery in rows.order_by("id"):
        claim, result = failed[delivery.id]
        if (
            delivery.attempt_count != claim.run_attempt
        ):  # retried by hand meanwhile: the attempt log is enough
            continue
        delivery.last_status_code = result.status_code
        delivery.last_error = result.error[:500]
        delivery.updated_at = now
        if result.status_code == 410 or not claim.retry or claim.run_attempt >= max_attempts():
            delivery.status = Status.FAILED
            delivery.next_attempt_at = None
            delivery.completed_at = now
            if result.status_code == 410:
                gone.append(delivery)
        else:
            delivery.next_attempt_at = now + retry_delay(claim.run_attempt)
        changed.append(delivery)
    WebhookDelivery.objects.bulk_update(
        changed, ["status", "next_attempt_at", "completed_at", "last_status_code", "last_error", "updated_at"]
    )
    for delivery in gone:  # the receiver asks to stop: after the rows above, so it cancels their retries too
        reason = f"The receiver answered 410 Gone on {now:%Y-%m-%d %H:%M} UTC."
        WebhookEndpoint.objects.filter(id=delivery.endpoint_id).update(
            enabled=False, disabled_reason=reason, updated_at=now
        )
        cancel_pending(endpoint_id=delivery.endpoint_id, reason="Endpoint disabled: " + reason)
    retries = [(d.id, d.next_attempt_at) for d in changed if d.status == Status.PENDING]
    if retries and enqueue_retries and delivery_tasks():
        transaction.on_commit(lambda: _enqueue_retries(retries), robust=True)


def _enqueue_retries(retries: list[tuple[UUID, datetime | None]]) -> None:
    for delivery_id, due in retries:
        enqueue_delivery(delivery_id, run_after=due)


def _write_attempt_results(outcomes: list[tuple[Claim, SendResult]]) -> None:
    """Fill in the attempt rows of these results: one statement on PostgreSQL, one per row elsewhere."""
    if connection.vendor != "postgresql":
        for c, r in outcomes:
            WebhookAttempt.objects.filter(id=c.attempt_id).update(
                status_code=r.status_code,
                duration_ms=r.duration_ms,
                response_body=r.response_body,
                error=r.error,
            )
        return
    table = connection.ops.quote_name(WebhookAttempt._meta.db_table)
    rows = ", ".join(["(%s::bigint, %s::integer, %s::integer, %s::text, %s::text)"] * len(outcomes))
    params = [
        value
        for c, r in outcomes
        for value in (c.attempt_id, r.status_code, r.duration_ms, r.response_body, r.error)
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} AS a SET status_code = v.status_code, duration_ms = v.duration_ms, "  # noqa: S608 - our table name, values are parameters
            "response_body = v.response_body, error = v.error "
            f"FROM (VALUES {rows}) AS v(id, status_code, duration_ms, response_body, error) WHERE a.id = v.id",
            params,
        )


def attempt_delivery(
    delivery_id: str | UUID, *, include_disabled: bool = False, retry: bool = True
) -> SendResult | None:
    """Make the next attempt of a due delivery; None when there is nothing to do (not due, already
    claimed by another worker, finished). `retry=False` makes a failure final (the test send)."""
    claim = _claim(delivery_id, include_disabled=include_disabled, retry=retry)
    if claim is None:
        return None
    result = send(
        url=claim.url,
        secret=claim.secret,
        event_id=claim.event_id,
        event_type=claim.event_type,
        body=claim.body,
    )
    record_results([(claim, result)])
    logger.info(
        "webhook %s delivery %s attempt %s: %s",
        claim.event_type,
        claim.delivery_id,
        claim.run_attempt,
        result.status_code or result.error,
    )
    return result


# ---- tasks and the sweep ----------------------------------------------------------------------------


def delivery_tasks() -> bool:
    """Whether due deliveries are handed to the task backend (settings.WEBHOOK_DELIVERY_TASKS); when not,
    the batch sender finds them in the outbox and every hand-off below does nothing."""
    return bool(settings.WEBHOOK_DELIVERY_TASKS)


@task(queue_name=taskqueue.WEBHOOKS_QUEUE)
def deliver_webhook(delivery_id: str) -> None:
    attempt_delivery(delivery_id)


def enqueue_delivery(delivery_id: str | UUID, *, run_after: datetime | None = None) -> None:
    """Wake a worker for this delivery. Failure to enqueue is logged, not raised: the row is the truth
    and the sweep will enqueue it again. Without delivery tasks, nothing: the row stays due and the batch
    sender claims it from the outbox."""
    if not delivery_tasks():
        return
    # Written before the task exists (an immediate backend runs it inside `enqueue`), then given its id.
    WebhookDelivery.objects.filter(id=delivery_id).update(enqueued_at=timezone.now(), task_id="")
    task_id = taskqueue.enqueue(deliver_webhook, run_after=run_after, delivery_id=str(delivery_id))
    if task_id:
        WebhookDelivery.objects.filter(id=delivery_id, task_id="").update(task_id=task_id)


def enqueue_event_deliveries(event_id: str) -> None:
    """Called after the event's transaction committed: one task per pending delivery (none, and no query,
    without delivery tasks)."""
    if not delivery_tasks():
        return
    ids = WebhookDelivery.objects.filter(event_id=event_id, status=Status.PENDING).values_list(
        "id", flat=True
    )
    for delivery_id in list(ids):
        enqueue_delivery(delivery_id)


def sweep_due_deliveries(*, limit: int = 1000) -> int:
    """Enqueue due pending deliveries whose task is lost: due and last enqueued more than the grace
    period ago, and the backend no longer holds that task (orders/taskqueue.py). A task that is only
    late, queued behind others, is left alone. Returns how many were enqueued: always 0 without delivery
    tasks (the batch sender claims due rows from the outbox, and a row whose claim lease ran out is due
    again)."""
    if not delivery_tasks():
        return 0
    now = timezone.now()
    cutoff = now - timedelta(seconds=settings.WEBHOOK_SWEEP_GRACE_SECONDS)
    lease = timedelta(seconds=settings.WEBHOOK_CLAIM_LEASE_SECONDS)
    candidates = (
        WebhookDelivery.objects.filter(status=Status.PENDING, next_attempt_at__lte=cutoff)
        .exclude(enqueued_at__gt=cutoff)
        .order_by("next_attempt_at")
        .values_list("id", "task_id")[:limit]
    )
    lost = [
        delivery_id
        for delivery_id, task_id in candidates
        if not taskqueue.is_in_hand(deliver_webhook, task_id, lease=lease)
    ]
    for delivery_id in lost:
        enqueue_delivery(delivery_id)
    return len(lost)
