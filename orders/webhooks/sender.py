"""The batch sender: one long-running process (`manage.py webhook_worker`) that sends many deliveries at once.

Why: one `deliver_webhook` task per delivery, a fresh connection per send and a poll between tasks made
~8 deliveries/s per worker, and one slow receiver held a whole worker. The outbox rows stay the truth and
every guarantee of orders/webhooks/delivery.py is kept; only the way rows are picked up and sent changes.

How
- A dispatcher loop (this module's `Sender.run`, the process's main thread and its only database
  connection) claims due deliveries straight from the outbox in batches (`delivery.claim_due`: SKIP LOCKED,
  one attempt row each, `next_attempt_at` pushed past the lease — as `attempt_delivery` does for one) and
  hands them to a pool of sending threads. The pool threads only do HTTP; results come back to the
  dispatcher. Each pass is one transaction: record what finished (`delivery.record_results`: each as
  `_record` would, 2xx in bulk) and claim for the freed slots; the new claims are sent after the commit.
  When nothing is due it waits `poll` seconds (or until a send finishes).
- Sends go through one httpx client per endpoint whose connections are kept alive (`EndpointClients`), to
  the address checked just before each send (SSRF check and pinning as before: a DNS change gives a new
  pinned address, hence a new connection). Both signatures are made per send, as before.
- Per-endpoint concurrency cap (`per_endpoint`): an endpoint never has more sends in flight than that, and
  a busy endpoint's due deliveries are not claimed at all (they stay due in the outbox, unleased), so a
  slow or dead receiver (each send bounded by WEBHOOK_TIMEOUT_SECONDS) only ties up its own slots while
  the others keep the remaining threads.
- Tasks: the outbox still enqueues a `deliver_webhook` task per delivery (it stays the django.tasks entry
  point: with RQ, or a plain `db_worker --queue-name webhooks`, each task sends its delivery as before, and
  races with this sender are settled by the row lock). This process does not run them one by one: with
  the database backend it marks ready `deliver_webhook` tasks done in bulk (`acknowledge_tasks`), since the
  sender finds their deliveries in the outbox anyway.
- Recovery: claimed deliveries have `next_attempt_at` in the future, so the sweep never takes them for
  lost. A sender killed mid-batch leaves attempts marked lost and rows that become due when their lease
  ends; this or another sender (or the sweep's task) sends them again — at least once, as before. A
  delivery still waiting for a busy endpoint's slot may have its (acknowledged) task queued again by the
  sweep after the grace period; that task is acknowledged again, harmlessly.
- SIGTERM/SIGINT: stop claiming, let in-flight sends finish (each is bounded by the timeout), record
  them, exit.
"""

import logging
import queue
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit
from uuid import UUID

import httpx
from django.conf import settings
from django.db import DatabaseError, InterfaceError, connections, transaction
from django.utils import timezone

from orders.webhooks import delivery, sending
from orders.webhooks.delivery import Claim
from orders.webhooks.sending import SendResult

logger = logging.getLogger("orders.webhooks")

# A client unused this long is closed (its endpoint was deleted, changed URL or went quiet).
IDLE_CLIENT_SECONDS = 300.0
ACK_INTERVAL_SECONDS = 0.5
ACK_BATCH = 2000
MAX_PAUSE_SECONDS = 10.0


class EndpointClients:
    """One httpx client per (endpoint, scheme and host of its URL), keeping up to `per_endpoint`
    connections alive. Keyed by the URL's host too, so a TLS connection is only reused for the same
    server name (the pinned address alone could be shared by two names)."""

    def __init__(self, per_endpoint: int):
        self.per_endpoint = per_endpoint
        self._clients: dict[tuple, tuple[httpx.Client, float]] = {}
        self._lock = threading.Lock()

    def get(self, endpoint_id: UUID | None, url: str) -> httpx.Client:
        parts = urlsplit(url)
        key = (endpoint_id, parts.scheme, parts.netloc)
        now = time.monotonic()
        with self._lock:
            entry = self._clients.get(key)
            client = entry[0] if entry else self._make()
            self._clients[key] = (client, now)
            return client

    def _make(self) -> httpx.Client:
        return httpx.Client(
            timeout=settings.WEBHOOK_TIMEOUT_SECONDS,
            follow_redirects=False,
            verify=sending._ssl_context(),
            limits=httpx.Limits(
                max_connections=self.per_endpoint,
                max_keepalive_connections=self.per_endpoint,
                keepalive_expiry=30.0,
            ),
        )

    def close_idle(self, in_use: set) -> None:
        cutoff = time.monotonic() - IDLE_CLIENT_SECONDS
        with self._lock:
            stale = [k for k, (_, used) in self._clients.items() if used < cutoff and k[0] not in in_use]
            clients = [self._clients.pop(k)[0] for k in stale]
        for client in clients:
            client.close()

    def close(self) -> None:
        with self._lock:
            clients = [c for c, _ in self._clients.values()]
            self._clients.clear()
        for client in clients:
            client.close()


def acknowledge_tasks(*, worker_id: str, limit: int = ACK_BATCH) -> int:
    """Mark ready `deliver_webhook` tasks of the database backend as done without running them: their
    deliveries are in the outbox, where this sender finds them. 0 with any other backend."""
    backend = delivery.deliver_webhook.get_backend()
    if type(backend).__module__.split(".")[0] != "django_tasks_db":
        return 0
    from django.tasks import TaskResultStatus
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
        self.clients = EndpointClients(per_endpoint)
        self.pool = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="webhook-send")
        self.in_flight: dict[UUID | None, int] = defaultdict(int)
        self.finished: queue.SimpleQueue[tuple[Claim, SendResult]] = queue.SimpleQueue()
        self.activity = threading.Event()
        self.stopping = threading.Event()
        self.sent = 0
        self._last_ack = 0.0
        self._last_idle_check = time.monotonic()

    # ---- the dispatcher (one thread: the only one touching the database) ----------------------------

    def run(self) -> None:
        """Claim, send and record until `stop()`; then wait for the sends in flight and record them."""
        pause = 0.5
        try:
            while not self.stopping.is_set():
                try:
                    busy = self.step()
                    pause = 0.5
                except (InterfaceError, DatabaseError) as exc:
                    logger.warning(
                        "Webhook sender lost its database connection (%s); retrying in %.1f s", exc, pause
                    )
                    self._reset_connections()
                    self.stopping.wait(pause)
                    pause = min(pause * 2, MAX_PAUSE_SECONDS)
                    continue
                if not busy:
                    self.activity.wait(self.poll)
        finally:
            self.drain()

    def step(self) -> bool:
        """One pass, one transaction: record the sends that finished and claim what fits in the freed
        slots; after the commit, hand the claims to the sending threads. True when it claimed as much as
        it could (there may be more to do right away)."""
        self.activity.clear()
        outcomes = self._take_finished()
        if self.acknowledge and time.monotonic() - self._last_ack >= ACK_INTERVAL_SECONDS:
            self._last_ack = time.monotonic()
            acknowledge_tasks(worker_id=self.worker_id)
        free = self.threads - sum(self.in_flight.values())
        limit = min(self.batch, free)
        claims: list[Claim] = []
        with transaction.atomic():
            if outcomes:
                delivery.record_results(outcomes)
            if limit > 0:
                full = [e for e, n in self.in_flight.items() if e is not None and n >= self.per_endpoint]
                claims = delivery.claim_due(
                    limit=limit,
                    free_slots=lambda endpoint_id: self.per_endpoint - self.in_flight.get(endpoint_id, 0),
                    exclude_endpoints=full,
                )
        self._log(outcomes)
        for claim in claims:
            self.in_flight[claim.endpoint_id] += 1
            self.pool.submit(self._send, claim)
        if time.monotonic() - self._last_idle_check >= 60:
            self._last_idle_check = time.monotonic()
            self.clients.close_idle(set(self.in_flight))
        return limit > 0 and len(claims) == limit

    def _take_finished(self) -> list[tuple[Claim, SendResult]]:
        """The sends that finished since the last pass; their slots are free again (the rows stay leased
        until recorded: if recording fails, they come due again after the lease)."""
        outcomes = []
        while True:
            try:
                outcomes.append(self.finished.get_nowait())
            except queue.Empty:
                break
        for claim, _ in outcomes:
            self.in_flight[claim.endpoint_id] -= 1
            if not self.in_flight[claim.endpoint_id]:
                del self.in_flight[claim.endpoint_id]
        return outcomes

    def record_finished(self) -> int:
        outcomes = self._take_finished()
        if outcomes:
            delivery.record_results(outcomes)
            self._log(outcomes)
        return len(outcomes)

    def _log(self, outcomes) -> None:
        self.sent += len(outcomes)
        for claim, result in outcomes:
            logger.info(
                "webhook %s delivery %s attempt %s: %s",
                claim.event_type,
                claim.delivery_id,
                claim.run_attempt,
                result.status_code or result.error,
            )

    def drain(self, timeout: float | None = None) -> None:
        """Wait for the sends in flight and record them; close the clients."""
        deadline = time.monotonic() + (timeout or settings.WEBHOOK_TIMEOUT_SECONDS * 3 + 5)
        while self.in_flight and time.monotonic() < deadline:
            self.activity.wait(0.1)
            self.activity.clear()
            try:
                self.record_finished()
            except (InterfaceError, DatabaseError):
                logger.exception("Could not record finished sends; their attempts come due after the lease")
                self._reset_connections()
        self.pool.shutdown(wait=False, cancel_futures=True)
        self.clients.close()

    def stop(self) -> None:
        self.stopping.set()
        self.activity.set()

    @staticmethod
    def _reset_connections() -> None:
        for connection in connections.all(initialized_only=True):
            connection.close_if_unusable_or_obsolete()
            if connection.connection is not None and not connection.is_usable():
                connection.close()

    # ---- a sending thread (HTTP only, no database) ---------------------------------------------------

    def _send(self, claim: Claim) -> None:
        try:
            result = sending.send(
                url=claim.url,
                secret=claim.secret,
                event_id=claim.event_id,
                event_type=claim.event_type,
                body=claim.body,
                client=self.clients.get(claim.endpoint_id, claim.url),
            )
        except Exception as exc:  # a bug, not the receiver: recorded as a failed attempt, retried
            logger.exception("Sending delivery %s failed", claim.delivery_id)
            result = SendResult(
                status_code=None, duration_ms=0, response_body="", error=f"{type(exc).__name__}"
            )
        self.finished.put((claim, result))
        self.activity.set()
