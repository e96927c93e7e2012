"""The batch sender: one long-running process (`manage.py webhook_worker`) that sends many deliveries at once.

Why: one `deliver_webhook` task per delivery, a fresh connection per send and a poll between tasks made
~8 deliveries/s per worker, and one slow receiver held a whole worker. The outbox rows stay the truth and
every guarantee of orders/webhooks/delivery.py is kept; only the way rows are picked up and sent changes.

How
- A dispatcher loop (`Sender.run`, the process's main thread and its only database connection) claims
  due deliveries straight from the outbox in batches (`delivery.claim_due`: SKIP LOCKED, one attempt row
  each, `next_attempt_at` pushed past the lease — as `attempt_delivery` does for one) and puts them in
  a ready queue, in the outbox's order. Each pass is one transaction: record what finished
  (`delivery.record_results`, in bulk) and claim more.
- A fixed set of sending threads (`threads`) take claims from the ready queue and only do HTTP: each
  takes the oldest claim whose endpoint has fewer than `per_endpoint` sends in flight, sends it and
  hands the result back to the dispatcher. A thread finds its next claim without waiting for the
  dispatcher, so one pass (a handful of statements) records and claims many deliveries.
- How far ahead an endpoint is claimed (`window`): its `per_endpoint` cap, plus what it can send in
  about AHEAD_SECONDS at its recent pace (the average duration of its last sends). A fast receiver
  therefore always has claims ready while the dispatcher talks to the database; a slow or dead one
  (each send bounded by WEBHOOK_TIMEOUT_SECONDS) holds barely more than its cap, ties up only its own
  `per_endpoint` threads, and the rest of its due deliveries stay unclaimed in the outbox.
- Sends reuse each endpoint's kept-alive connections (`EndpointConnections`), to the address checked
  just before each send (SSRF check and pinning as before: a DNS change gives a new pinned address,
  hence a new connection). Both signatures are made per send, as before.
- Pace: after a pass that found work the dispatcher waits at most TICK_SECONDS (sooner when a sending
  thread runs out of claims); when the outbox has nothing due it waits `poll` seconds.
- Tasks: with settings.WEBHOOK_DELIVERY_TASKS off (the database backend's default, which runs this
  sender) no `deliver_webhook` task is written for any delivery: this process is the only way they are
  sent, and it needs none. With it on (the RQ default: plain task workers on the `webhooks` queue send
  them, each task its delivery, races with this sender settled by the row lock) this process does not run
  those tasks one by one either: with the database backend it marks ready `deliver_webhook` tasks done in
  bulk (`acknowledge_tasks`), since it finds their deliveries in the outbox anyway. It keeps doing so with
  the setting off (one cheap query every ACK_INTERVAL_SECONDS): tasks written before the setting changed,
  or by a process still configured the old way, are not left queued for ever. It never enqueues a task for
  a retry it records: it finds the delivery in the outbox when it is due.
- Recovery: claimed deliveries have `next_attempt_at` in the future (the lease, ≥ 120 s, longer than a
  claim waits in the ready queue plus its send), so the sweep never takes them for lost. A sender killed
  mid-batch leaves attempts marked lost and rows that become due when their lease ends; this or another
  sender (or, with delivery tasks, the sweep's task) sends them again — at least once, as before. With
  delivery tasks, a delivery still waiting for a busy endpoint's slot may have its (acknowledged) task
  queued again by the sweep after the grace period; that task is acknowledged again, harmlessly.
- SIGTERM/SIGINT: stop claiming, send what is claimed and record it (bounded by the timeout), give back
  the claims not sent by then (`delivery.release_claims`: due again at once, no attempt logged), exit.
"""

import logging
import threading
import time
from collections import defaultdict
from uuid import UUID

from django.conf import settings
from django.db import DatabaseError, InterfaceError, connection, connections, transaction
from django.tasks import TaskResultStatus
from django.utils import timezone

from orders.webhooks import delivery, sending
from orders.webhooks.delivery import Claim
from orders.webhooks.sending import SendResult

logger = logging.getLogger("orders.webhooks")

# An endpoint unused this long has its connections closed (deleted, changed URL or went quiet).
IDLE_ENDPOINT_SECONDS = 300.0
ACK_INTERVAL_SECONDS = 0.5
ACK_BATCH = 2000
MAX_PAUSE_SECONDS = 10.0
# Claim ahead about this many seconds of an endpoint's sends at its recent pace.
AHEAD_SECONDS = 1.0
# The longest pause between two passes while there is work: results wait this long to be recorded.
TICK_SECONDS = 0.05
# Weight of the newest send in an endpoint's average send duration.
PACE_WEIGHT = 0.2

EndpointKey = UUID | None


class EndpointConnections:
    """The kept-alive connections of each endpoint (sending.Connections), at most `per_endpoint` each:
    never more than its sends in flight."""

    def __init__(self, per_endpoint: int):
        self.per_endpoint = per_endpoint
        self._by_endpoint: dict[EndpointKey, sending.Connections] = {}
        self._lock = threading.Lock()

    def get(self, endpoint_id: EndpointKey) -> sending.Connections:
        with self._lock:
            pool = self._by_endpoint.get(endpoint_id)
            if pool is None:
                pool = self._by_endpoint[endpoint_id] = sending.Connections(keep=self.per_endpoint)
            return pool

    def close_idle(self, in_use: set) -> None:
        """Close the connections of endpoints unused for IDLE_ENDPOINT_SECONDS (deleted, changed URL or
        quiet)."""
        cutoff = time.monotonic() - IDLE_ENDPOINT_SECONDS
        with self._lock:
            stale = [e for e, c in self._by_endpoint.items() if c.last_used < cutoff and e not in in_use]
            closing = [self._by_endpoint.pop(e) for e in stale]
        for pool in closing:
            pool.close()

    def close(self) -> None:
        with self._lock:
            closing, self._by_endpoint = list(self._by_endpoint.values()), {}
        for pool in closing:
            pool.close()


def acknowledge_tasks(*, worker_id: str, limit: int = ACK_BATCH) -> int:
    """Mark ready `deliver_webhook` tasks of the database backend as done without running them: their
    deliveries are in the outbox, where this sender finds them. 0 with any other backend."""
    backend = delivery.deliver_webhook.get_backend()
    if type(backend).__module__.split(".")[0] != "django_tasks_db":
        return 0
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    with transaction.atomic():
        ids = list(
            DBTaskResult.objects.ready()
            .filter(
                backend_name=backend.alias,
                queue_name=delivery.deliver_webhook.queue_name,
                task_path=delivery.deliver_webhook.module_path,
            )
            .select_for_update(skip_locked=True)
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        return DBTaskResult.objects.filter(id__in=ids).update(
            status=TaskResultStatus.SUCCESSFUL,
            started_at=now,
            finished_at=now,
            worker_ids=[worker_id],
            return_value=None,
            exception_class_path="",
            traceback="",
        )


def relax_commit() -> None:
    """On PostgreSQL, let this transaction's COMMIT return before its WAL record is flushed to disk
    (`synchronous_commit = off`, this transaction only): a pass then does not queue behind the order
    writes' flushes. Safe for at-least-once: a database crash can lose the last passes' writes, never
    corrupt them — a lost claim makes its delivery due again (sent again: a duplicate, which receivers
    drop by `webhook-id`), a lost result leaves the attempt to be retried after its lease."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit TO OFF")


class Sender:
    def __init__(
        self,
        *,
        threads: int = 64,
        per_endpoint: int = 16,
        batch: int = 200,
        poll: float = 0.2,
        worker_id: str = "webhook-sender",
        acknowledge: bool = True,
    ):
        self.threads = threads
        self.per_endpoint = per_endpoint
        self.batch = batch
        self.poll = poll
        self.worker_id = worker_id
        self.acknowledge = acknowledge
        self.connections = EndpointConnections(per_endpoint)
        # Shared with the sending threads, under `self.lock`: claims waiting for a thread (oldest
        # first), sends in flight per endpoint, results not recorded yet.
        self.lock = threading.Condition()
        self.ready: list[Claim] = []
        self.in_flight: dict[EndpointKey, int] = defaultdict(int)
        self.finished: list[tuple[Claim, SendResult]] = []
        # The dispatcher's own: claims not recorded yet (ready, sending or finished) and the average
        # send duration in seconds, per endpoint.
        self.held: dict[EndpointKey, int] = defaultdict(int)
        self.pace: dict[EndpointKey, float] = {}
        self.activity = threading.Event()
        self.stopping = threading.Event()
        self.sent = 0
        self._last_ack = 0.0
        self._last_idle_check = time.monotonic()
        self._workers = [
            threading.Thread(target=self._work, name=f"webhook-send-{n}", daemon=True) for n in range(threads)
        ]
        for worker in self._workers:
            worker.start()

    # ---- the dispatcher (one thread: the only one touching the database) ----------------------------

    def run(self) -> None:
        """Claim, send and record until `stop()`; then finish the claimed sends, record them, exit."""
        pause = 0.5
        try:
            while not self.stopping.is_set():
                try:
                    worked = self.step()
                    pause = 0.5
                except (InterfaceError, DatabaseError) as exc:
                    logger.warning(
                        "Webhook sender lost its database connection (%s); retrying in %.1f s", exc, pause
                    )
                    self._reset_connections()
                    self.stopping.wait(pause)
                    pause = min(pause * 2, MAX_PAUSE_SECONDS)
                    continue
                self.activity.wait(TICK_SECONDS if worked else self.poll)
        finally:
            self.drain()

    def step(self) -> bool:
        """One pass, one transaction: record the sends that finished and claim up to each endpoint's
        window; after the commit, hand the claims to the sending threads. True when it recorded or
        claimed anything (there is work going on)."""
        self.activity.clear()
        outcomes = self._take_finished()
        if self.acknowledge and time.monotonic() - self._last_ack >= ACK_INTERVAL_SECONDS:
            self._last_ack = time.monotonic()
            acknowledge_tasks(worker_id=self.worker_id)
        limit = min(self.batch, self.threads + self.batch - sum(self.held.values()))
        claims: list[Claim] = []
        with transaction.atomic():
            relax_commit()
            if outcomes:
                delivery.record_results(outcomes, enqueue_retries=False)
            if limit > 0:
                claims = delivery.claim_due(
                    limit=limit,
                    free_slots=lambda endpoint_id: self.window(endpoint_id) - self.held.get(endpoint_id, 0),
                    exclude_endpoints=[e for e, n in self.held.items() if e and n >= self.window(e)],
                )
        self._log(outcomes)
        for claim in claims:
            self.held[claim.endpoint_id] += 1
        if claims:
            with self.lock:
                self.ready.extend(claims)
                self.lock.notify(len(claims))
        if time.monotonic() - self._last_idle_check >= 60:
            self._last_idle_check = time.monotonic()
            self.connections.close_idle(set(self.held))
            self.pace = {e: p for e, p in self.pace.items() if e in self.held}
        return bool(outcomes or claims)

    def window(self, endpoint_id: EndpointKey) -> int:
        """How many claims `endpoint_id` may hold at once (ready, sending or finished but not recorded):
        its cap of sends in flight, plus about AHEAD_SECONDS of sends at its recent pace — nothing more
        until its pace is known, little more for a slow or failing receiver — at most a batch."""
        seconds = self.pace.get(endpoint_id)
        if seconds is None:
            return self.per_endpoint
        ahead = int(self.per_endpoint * AHEAD_SECONDS / max(seconds, 0.001))
        return max(self.per_endpoint, min(self.batch, self.per_endpoint + ahead))

    def _take_finished(self) -> list[tuple[Claim, SendResult]]:
        """The sends that finished since the last pass; they no longer count against their endpoint's
        window (the rows stay leased until recorded: if recording fails, they come due after the
        lease)."""
        with self.lock:
            outcomes, self.finished = self.finished, []
        for claim, result in outcomes:
            key = claim.endpoint_id
            self.held[key] -= 1
            if not self.held[key]:
                del self.held[key]
            # A failed send counts as a timeout: a refused connection fails at once, but a failing
            # receiver is no reason to claim ahead (each failure is also a retry to schedule).
            seconds = result.duration_ms / 1000 if result.succeeded else settings.WEBHOOK_TIMEOUT_SECONDS
            previous = self.pace.get(key, seconds)
            self.pace[key] = previous + PACE_WEIGHT * (seconds - previous)
        return outcomes

    def record_finished(self) -> int:
        outcomes = self._take_finished()
        if outcomes:
            delivery.record_results(outcomes, enqueue_retries=False)
            self._log(outcomes)
        return len(outcomes)

    def _log(self, outcomes) -> None:
        self.sent += len(outcomes)
        if not logger.isEnabledFor(logging.INFO):
            return
        for claim, result in outcomes:
            logger.info(
                "webhook %s delivery %s attempt %s: %s",
                claim.event_type,
                claim.delivery_id,
                claim.run_attempt,
                result.status_code or result.error,
            )

    def drain(self, timeout: float | None = None) -> None:
        """Send what is claimed and record it; give back the claims not sent by the deadline; stop the
        sending threads and close the connections."""
        deadline = time.monotonic() + (timeout or settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 5)
        while self.held and time.monotonic() < deadline:
            self.activity.wait(0.1)
            self.activity.clear()
            try:
                self.record_finished()
            except (InterfaceError, DatabaseError):
                logger.exception("Could not record finished sends; their attempts come due after the lease")
                self._reset_connections()
        with self.lock:
            unsent, self.ready = self.ready, []
            self.stopping.set()
            self.lock.notify_all()
        if unsent:
            try:
                delivery.release_claims(unsent)
            except (InterfaceError, DatabaseError):
                logger.exception(
                    "Could not give back %s unsent claims; they come due after the lease", len(unsent)
                )
        self.connections.close()

    def stop(self) -> None:
        self.stopping.set()
        self.activity.set()

    @staticmethod
    def _reset_connections() -> None:
        for db in connections.all(initialized_only=True):
            db.close_if_unusable_or_obsolete()
            if db.connection is not None and not db.is_usable():
                db.close()

    # ---- the sending threads (HTTP only, no database) ------------------------------------------------

    def _work(self) -> None:
        """A sending thread: take a claim, send it, hand back the result, take the next one."""
        done: tuple[Claim, SendResult] | None = None
        while True:
            with self.lock:
                if done is not None:
                    self._finish(*done)
                claim = self._next_claim()
                while claim is None:
                    if self.stopping.is_set() and not self.ready:
                        return
                    if not self.ready:
                        self.activity.set()  # nothing left to send: time for the dispatcher to claim more
                    self.lock.wait()
                    claim = self._next_claim()
                self.in_flight[claim.endpoint_id] += 1
                if done is not None and done[0].endpoint_id != claim.endpoint_id and self.ready:
                    # The slot this thread freed was not taken by itself: a claim of that endpoint may
                    # wait for it, and another thread may be idle.
                    self.lock.notify()
            done = (claim, self._send(claim))

    def _next_claim(self) -> Claim | None:
        """The oldest ready claim whose endpoint has a free slot (call with the lock held)."""
        for index, claim in enumerate(self.ready):
            if self.in_flight.get(claim.endpoint_id, 0) < self.per_endpoint:
                return self.ready.pop(index)
        return None

    def _finish(self, claim: Claim, result: SendResult) -> None:
        """Hand a result to the dispatcher and free the endpoint's slot (call with the lock held)."""
        self.finished.append((claim, result))
        self.in_flight[claim.endpoint_id] -= 1
        if not self.in_flight[claim.endpoint_id]:
            del self.in_flight[claim.endpoint_id]

    def _send(self, claim: Claim) -> SendResult:
        try:
            return sending.send(
                url=claim.url,
                secret=claim.secret,
                event_id=claim.event_id,
                event_type=claim.event_type,
                body=claim.body,
                connections=self.connections.get(claim.endpoint_id),
            )
        except Exception as exc:  # a bug, not the receiver: recorded as a failed attempt, retried
            logger.exception("Sending delivery %s failed", claim.delivery_id)
            return SendResult(
                status_code=None, duration_ms=0, response_body="", error=f"{type(exc).__name__}"
            )
