"""The batch sender (orders/webhooks/sender.py) against real local receivers: a slow endpoint only ties up
its own slots, connections are kept alive, and a `webhook_worker` killed mid-batch loses nothing."""

import contextlib
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from orders import services
from orders.actors import SYSTEM_ACTOR
from orders.models import WebhookAttempt, WebhookDelivery, WebhookEvent
from orders.statuses import OrderStatus
from orders.webhooks import delivery, sending, signing
from orders.webhooks.endpoints import delivery_retry
from orders.webhooks.outbox import record_event
from orders.webhooks.sender import Sender
from tests.factories import make_order
from tests.orders.webhooks.conftest import Hit, make_endpoint
from tests.orders.webhooks.signing_checks import assert_verifies
from tests.orders.webhooks.test_worker import DB_TASKS

ROOT = Path(__file__).resolve().parents[3]
Status = WebhookDelivery.Status


class KeepAliveReceiver:
    """An HTTP/1.1 receiver on 127.0.0.1 that keeps connections open, counts the TCP connections it
    accepted and records every POST. Paths under /slow wait until `release` is set before answering;
    /status/<code> answers with that code; the others 200."""

    def __init__(self):
        self.lock = threading.Lock()
        self.connections = 0
        self.hits: list[tuple[str, dict, bytes]] = []
        self.waiting = 0
        self.sockets: list[socket.socket] = []
        self.release = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self):
                super().setup()
                with receiver.lock:
                    receiver.connections += 1
                    receiver.sockets.append(self.request)

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                with receiver.lock:
                    receiver.hits.append((self.path, headers, body))
                if self.path.startswith("/slow"):
                    with receiver.lock:
                        receiver.waiting += 1
                    receiver.release.wait(60)
                status = int(self.path.split("/")[2]) if self.path.startswith("/status/") else 200
                self.send_response(status)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close_connections(self) -> None:
        """Close every connection from this side, as a server does with idle keep-alive connections."""
        with self.lock:
            sockets, self.sockets = self.sockets, []
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def count(self, prefix: str) -> int:
        with self.lock:
            return sum(path.startswith(prefix) for path, _, _ in self.hits)

    def close(self):
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def keepalive_receiver():
    receiver = KeepAliveReceiver()
    yield receiver
    receiver.close()


def _events(store, n: int) -> list[str]:
    return [
        record_event(
            order=None, store_id=store.id, event_type="order.created", data={"i": i}, dispatch=False
        ).id
        for i in range(n)
    ]


@contextlib.contextmanager
def _stopped_after(sender: Sender):
    """`sender` for the block, then stopped and drained however the block ends (no thread left behind)."""
    try:
        yield sender
    finally:
        sender.stop()
        sender.drain()


def _until(condition, sender: Sender, *, what: str, limit: float = 60) -> None:
    """Run the sender's dispatcher in this thread until `condition()` (a guard against hanging, not a
    timed assertion)."""
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        if not sender.step():
            sender.activity.wait(0.05)


def test_a_slow_endpoint_does_not_hold_back_a_fast_one(store, keepalive_receiver):
    # given: 40 deliveries to an endpoint that answers only when released, 40 to one that answers at once
    slow, _ = make_endpoint(store, f"{keepalive_receiver.base}/slow", event_types=["order.created"])
    fast, secret = make_endpoint(store, f"{keepalive_receiver.base}/fast", event_types=["order.created"])
    _events(store, 40)
    with _stopped_after(Sender(threads=8, per_endpoint=3, batch=50)) as sender:
        # when: the sender works while the slow receiver holds every request it gets
        _until(
            lambda: (
                keepalive_receiver.waiting == 3
                and WebhookDelivery.objects.filter(endpoint=fast, status=Status.SUCCEEDED).count() == 40
            ),
            sender,
            what="the fast endpoint's deliveries",
        )
        # then: all of the fast endpoint's deliveries are done, while the slow one still sleeps with only
        # its own slots in use and the rest of its deliveries unclaimed in the outbox
        assert keepalive_receiver.count("/fast") == 40
        assert not keepalive_receiver.release.is_set()
        assert sender.in_flight == {slow.id: 3}
        assert keepalive_receiver.count("/slow") == 3
        assert WebhookDelivery.objects.filter(endpoint=slow, status=Status.PENDING).count() == 40
        assert WebhookDelivery.objects.filter(endpoint=slow, attempt_count=0).count() == 37
        for path, headers, body in keepalive_receiver.hits:
            if path.startswith("/fast"):
                assert_verifies(Hit(headers=headers, body=body), secret)

        # when the slow receiver answers
        keepalive_receiver.release.set()
        _until(
            lambda: not WebhookDelivery.objects.exclude(status=Status.SUCCEEDED).exists(),
            sender,
            what="the slow endpoint's deliveries",
        )
    # then everything arrived once, each attempt recorded
    assert keepalive_receiver.count("/slow") == 40
    assert keepalive_receiver.count("/fast") == 40
    assert sorted(WebhookDelivery.objects.values_list("attempt_count", flat=True)) == [1] * 80
    assert all(
        a.status_code == 200 and a.error == ""
        for d in WebhookDelivery.objects.prefetch_related("attempts")
        for a in d.attempts.all()
    )


def test_many_deliveries_to_one_receiver_reuse_connections(store, keepalive_receiver):
    # given: 60 deliveries to one endpoint
    make_endpoint(store, f"{keepalive_receiver.base}/hook", event_types=["order.created"])
    event_ids = _events(store, 60)
    # when
    with _stopped_after(Sender(threads=8, per_endpoint=4, batch=20)) as sender:
        _until(
            lambda: WebhookDelivery.objects.filter(status=Status.SUCCEEDED).count() == 60,
            sender,
            what="the deliveries",
        )
    # then: each arrived once, over at most as many connections as the per-endpoint cap
    assert sorted(h["webhook-id"] for _, h, _ in keepalive_receiver.hits) == sorted(event_ids)
    assert keepalive_receiver.connections <= 4 < 60


def test_the_batch_claim_keeps_the_rules_of_a_single_claim(store, receiver):
    # given: a due delivery of a disabled endpoint, and one of an enabled endpoint with an earlier attempt
    disabled, _ = make_endpoint(store, receiver.url, event_types=["order.created"], enabled=False)
    record_event(
        order=None,
        store_id=store.id,
        event_type="order.created",
        data={},
        endpoints=[disabled],
        dispatch=False,
    )
    enabled, _ = make_endpoint(store, receiver.url, event_types=["order.shipped"])
    event = record_event(order=None, store_id=store.id, event_type="order.shipped", data={}, dispatch=False)
    receiver.script = [500]
    assert delivery.attempt_delivery(event.deliveries.get().id).status_code == 500
    WebhookDelivery.objects.filter(endpoint=enabled).update(next_attempt_at=timezone.now())
    # when
    claims = delivery.claim_due(limit=10, free_slots=lambda endpoint_id: 5)
    # then: the disabled endpoint's delivery is cancelled, the other claimed as attempt 2 under a lease
    assert WebhookDelivery.objects.get(endpoint=disabled).status == Status.CANCELLED
    assert [c.run_attempt for c in claims] == [2]
    row = WebhookDelivery.objects.get(endpoint=enabled)
    assert [a.attempt_number for a in row.attempts.all()] == [1, 2]
    assert row.attempts.get(attempt_number=2).error == delivery.LOST_ATTEMPT_ERROR
    assert delivery.claim_due(limit=10, free_slots=lambda endpoint_id: 5) == []  # leased: not due


def _finished(sender: Sender, n: int, limit: float = 60) -> None:
    """Wait until the sending threads have handed back `n` results (a guard, not a timed assertion)."""
    deadline = time.monotonic() + limit
    while True:
        with sender.lock:
            if len(sender.finished) >= n:
                return
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {n} results")
        sender.activity.wait(0.05)
        sender.activity.clear()


def test_one_pass_records_each_result_by_its_own_outcome(store, keepalive_receiver, settings):
    # given: one due delivery per kind of answer, all claimed in one pass; the one to /status/503 is at
    # its last attempt; the one to /retried-by-hand is retried by hand while its send is in flight;
    # the endpoint that answers 410 has a second delivery, not due yet
    settings.WEBHOOK_RETRY_SCHEDULE = [10]
    base = keepalive_receiver.base
    targets = {
        name: make_endpoint(store, f"{base}{path}", event_types=["webhook.test"])[0]
        for name, path in [
            ("ok", "/status/204"),
            ("retry", "/status/500"),
            ("gone", "/status/410"),
            ("last", "/status/503"),
            ("by_hand", "/retried-by-hand"),
        ]
    }

    def event_for(name: str) -> WebhookDelivery:
        event = record_event(
            order=None,
            store_id=store.id,
            event_type="webhook.test",
            data={},
            endpoints=[targets[name]],
            dispatch=False,
        )
        return event.deliveries.get()

    last = event_for("last")
    assert delivery.attempt_delivery(last.id).status_code == 503  # attempt 1 of 2
    WebhookDelivery.objects.filter(id=last.id).update(next_attempt_at=timezone.now())
    rows = {name: event_for(name) for name in ["ok", "retry", "gone", "by_hand"]}
    rows["last"] = last
    later = event_for("gone")
    WebhookDelivery.objects.filter(id=later.id).update(next_attempt_at=timezone.now() + timedelta(hours=1))
    with _stopped_after(Sender(threads=8, per_endpoint=2, batch=50)) as sender:
        # when: one pass claims them all, they are sent, one is retried by hand, one pass records them
        sender.step()
        assert sum(sender.held.values()) == 5
        _finished(sender, 5)
        delivery_retry(delivery=WebhookDelivery.objects.get(id=rows["by_hand"].id))
        assert sender.record_finished() == 5
    # then: each delivery ends by its own answer
    got = {name: WebhookDelivery.objects.get(id=row.id) for name, row in rows.items()}
    assert (got["ok"].status, got["ok"].last_status_code, got["ok"].last_error) == (Status.SUCCEEDED, 204, "")
    assert got["ok"].completed_at is not None
    assert (got["retry"].status, got["retry"].last_status_code) == (Status.PENDING, 500)
    assert got["retry"].last_error == "The receiver answered HTTP 500."
    assert timezone.now() + timedelta(seconds=5) < got["retry"].next_attempt_at
    assert (got["gone"].status, got["gone"].last_status_code) == (Status.FAILED, 410)
    targets["gone"].refresh_from_db()
    assert targets["gone"].enabled is False
    assert WebhookDelivery.objects.get(id=later.id).status == Status.CANCELLED
    assert (got["last"].status, got["last"].last_status_code, got["last"].attempt_count) == (
        Status.FAILED,
        503,
        2,
    )
    assert got["last"].next_attempt_at is None
    # retried by hand meanwhile: due again from the start of the schedule; the send stays in the log
    assert (got["by_hand"].status, got["by_hand"].attempt_count) == (Status.PENDING, 0)
    assert got["by_hand"].next_attempt_at <= timezone.now()
    assert [a.status_code for a in got["by_hand"].attempts.all()] == [200]
    assert [a.status_code for a in got["last"].attempts.all()] == [503, 503]
    assert all(a.error != delivery.LOST_ATTEMPT_ERROR for row in got.values() for a in row.attempts.all())


def test_the_sender_finds_retries_in_the_outbox_instead_of_enqueuing_tasks(
    store, keepalive_receiver, django_capture_on_commit_callbacks
):
    # given: two deliveries to a receiver that answers 500, sent by the sender
    make_endpoint(store, f"{keepalive_receiver.base}/status/500", event_types=["order.created"])
    _events(store, 2)
    with _stopped_after(Sender(threads=2, per_endpoint=2, batch=10)) as sender:
        sender.step()
        _finished(sender, 2)
        # when the sender records them
        with django_capture_on_commit_callbacks() as by_sender:
            assert sender.record_finished() == 2
    # then: both are due again later, and no task was handed to the queue for them
    rows = list(WebhookDelivery.objects.all())
    assert [(r.status, r.last_status_code, r.next_attempt_at > timezone.now()) for r in rows] == [
        (Status.PENDING, 500, True)
    ] * 2
    assert by_sender == []
    # while a single attempt (the task path) still enqueues its retry
    WebhookDelivery.objects.filter(id=rows[0].id).update(next_attempt_at=timezone.now())
    with django_capture_on_commit_callbacks() as by_task:
        assert delivery.attempt_delivery(rows[0].id).status_code == 500
    assert len(by_task) == 1


def test_with_delivery_tasks_the_sender_sends_from_the_outbox_and_marks_their_tasks_done(
    store, keepalive_receiver, settings, django_capture_on_commit_callbacks
):
    # given: the database task backend with delivery tasks: three events, a queued task for each delivery
    settings.TASKS = DB_TASKS
    settings.WEBHOOK_DELIVERY_TASKS = True
    make_endpoint(store, f"{keepalive_receiver.base}/hook", event_types=["order.created"])
    with django_capture_on_commit_callbacks(execute=True):
        event_ids = [
            record_event(order=None, store_id=store.id, event_type="order.created", data={"i": i}).id
            for i in range(3)
        ]
    assert list(DBTaskResult.objects.values_list("status", flat=True)) == ["READY"] * 3
    with _stopped_after(Sender(threads=2, per_endpoint=2, batch=10)) as sender:
        # when the sender makes its passes
        _until(
            lambda: not WebhookDelivery.objects.exclude(status=Status.SUCCEEDED).exists(),
            sender,
            what="every delivery to succeed",
        )
    # then: each event arrived once, and the tasks were marked done without running
    assert sorted(h["webhook-id"] for _, h, _ in keepalive_receiver.hits) == sorted(event_ids)
    assert (
        list(DBTaskResult.objects.values_list("status", "worker_ids"))
        == [("SUCCESSFUL", ["webhook-sender"])] * 3
    )


def test_claims_not_sent_when_the_sender_stops_are_given_back(store, blackhole, settings):
    # given: a receiver that never answers; one sending thread, two claims for it (one in flight, one
    # waiting for the thread)
    settings.WEBHOOK_TIMEOUT_SECONDS = 30
    make_endpoint(store, blackhole.url, event_types=["order.created"])
    _events(store, 3)
    sender = Sender(threads=1, per_endpoint=2, batch=10)
    sender.step()
    _until_true(lambda: blackhole.open_now() == 1, what="the send in flight")
    # when: the sender stops before the receiver answers
    sender.stop()
    sender.drain(timeout=0.2)
    # then: the send in flight stays an attempt without result (due again after its lease); the claim
    # that waited is given back (no attempt logged, due now); the third delivery was never claimed
    rows = list(WebhookDelivery.objects.order_by("attempt_count"))
    assert [r.attempt_count for r in rows] == [0, 0, 1]
    assert [r.attempts.count() for r in rows] == [0, 0, 1]
    assert rows[2].attempts.get().error == delivery.LOST_ATTEMPT_ERROR
    assert rows[2].next_attempt_at > timezone.now() + timedelta(seconds=60)
    assert all(r.next_attempt_at <= timezone.now() for r in rows[:2])
    assert blackhole.accepted == 1


def test_a_kept_alive_connection_the_receiver_closed_is_replaced(keepalive_receiver):
    # given: one send over an endpoint's connections; then the receiver closes the idle connection
    connections = sending.Connections(keep=2)
    secret = signing.generate_secret()

    def send(event_id: str) -> sending.SendResult:
        return sending.send(
            url=f"{keepalive_receiver.base}/hook",
            secret=secret,
            event_id=event_id,
            event_type="webhook.test",
            body=b"{}",
            connections=connections,
        )

    assert send("evt_1").status_code == 200
    keepalive_receiver.close_connections()
    # when
    result = send("evt_2")
    # then: sent on a new connection
    assert (result.status_code, result.error) == (200, "")
    assert [h["webhook-id"] for _, h, _ in keepalive_receiver.hits] == ["evt_1", "evt_2"]
    assert keepalive_receiver.connections == 2
    connections.close()


def _until_true(condition, *, what: str, limit: float = 30) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.02)


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def _run_worker_until(condition, *, what: str, **settings: str) -> None:
    """A `manage.py webhook_worker` (`settings` in its environment, as `_start_worker`) until
    `condition()`; then SIGTERM, on which it must exit 0."""
    worker = _start_worker(**settings)
    try:
        _wait(condition, what=what)
    finally:
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0, worker.stderr.read() if worker.stderr else ""


def _start_worker(**settings: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        **(settings or {"WEBHOOK_RETRY_SCHEDULE": "1,1,1", "WEBHOOK_CLAIM_LEASE_SECONDS": "1"}),
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [
            sys.executable,
            "manage.py",
            "webhook_worker",
            "--threads",
            "8",
            "--per-endpoint",
            "4",
            "--poll",
            "0.1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait(condition, *, what: str, limit: float = 90) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.1)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_webhook_worker_killed_mid_batch_loses_nothing(store, keepalive_receiver):
    # given: 20 deliveries; the receiver holds the requests it gets until released
    make_endpoint(store, f"{keepalive_receiver.base}/slow", event_types=["order.created"])
    event_ids = _events(store, 20)
    worker = _start_worker()
    try:
        # when: the worker has 4 sends in flight and is killed
        _wait(lambda: keepalive_receiver.waiting >= 4, what="the sends in flight")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    # then: nothing was recorded as sent; the claimed attempts are marked lost
    assert WebhookDelivery.objects.filter(status=Status.PENDING).count() == 20
    assert WebhookDelivery.objects.filter(attempt_count=1).count() == 4

    # when: the receiver answers again and a new worker starts (the claims' leases run out)
    keepalive_receiver.release.set()
    _run_worker_until(
        lambda: WebhookDelivery.objects.filter(status=Status.SUCCEEDED).count() == 20,
        what="every delivery to succeed",
    )
    # then: every event arrived at least once; the 4 lost attempts are in the log, then their resend
    received = {headers["webhook-id"] for _, headers, _ in keepalive_receiver.hits}
    assert received == set(event_ids)
    lost = WebhookDelivery.objects.filter(attempts__error=delivery.LOST_ATTEMPT_ERROR).distinct()
    assert lost.count() == 4
    assert all(d.attempt_count == 2 for d in lost)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_blackholed_endpoint_does_not_stop_deliveries_to_a_healthy_one(
    store, keepalive_receiver, blackhole
):
    # given: 30 events for an endpoint whose receiver accepts connections and never answers (claimed
    # first: it was created first) and for a healthy one; a send times out after 2 s
    hole, _ = make_endpoint(store, blackhole.url, event_types=["order.created"])
    healthy, secret = make_endpoint(
        store, f"{keepalive_receiver.base}/healthy", event_types=["order.created"]
    )
    event_ids = _events(store, 30)
    # when the worker runs until the healthy endpoint has every event
    _run_worker_until(
        lambda: WebhookDelivery.objects.filter(endpoint=healthy, status=Status.SUCCEEDED).count() == 30,
        what="the healthy endpoint's deliveries",
        WEBHOOK_TIMEOUT_SECONDS="2",
    )
    # then: the healthy receiver got each event once, signed
    hits = [(headers, body) for path, headers, body in keepalive_receiver.hits if path == "/healthy"]
    assert sorted(headers["webhook-id"] for headers, _ in hits) == sorted(event_ids)
    for headers, body in hits:
        assert_verifies(Hit(headers=headers, body=body), secret)
    # while the blackhole held what it was sent: nothing delivered there, every attempt made a timeout
    # (the sends in flight at SIGTERM were waited for and recorded; claims not sent were given back)
    assert blackhole.accepted >= 1
    assert WebhookDelivery.objects.filter(endpoint=hole, status=Status.PENDING).count() == 30
    errors = list(WebhookAttempt.objects.filter(delivery__endpoint=hole).values_list("error", flat=True))
    assert errors
    assert set(errors) == {"Timed out after 2 s."}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_without_delivery_tasks_a_webhook_worker_sends_the_changes_from_the_outbox(
    store, keepalive_receiver, settings
):
    # given: the database task backend without delivery tasks; 10 orders change status (each change
    # committed for real) while no worker runs: their deliveries wait in the outbox, no task anywhere
    settings.TASKS = DB_TASKS
    settings.WEBHOOK_DELIVERY_TASKS = False
    _, secret = make_endpoint(store, f"{keepalive_receiver.base}/hook", event_types=["order.status_updated"])
    for order in [make_order(store, status=OrderStatus.CONFIRMED) for _ in range(10)]:
        services.order_set_status(order_id=order.id, store=store, to="processing", actor=SYSTEM_ACTOR)
    event_ids = list(WebhookEvent.objects.values_list("id", flat=True))
    assert len(event_ids) == 10
    assert WebhookDelivery.objects.filter(status=Status.PENDING, enqueued_at=None, task_id="").count() == 10
    assert DBTaskResult.objects.count() == 0
    assert keepalive_receiver.hits == []
    # when a `manage.py webhook_worker` runs with the same setting
    _run_worker_until(
        lambda: WebhookDelivery.objects.filter(status=Status.SUCCEEDED).count() == 10,
        what="every delivery to succeed",
        WEBHOOK_DELIVERY_TASKS="false",
    )
    # then: each event arrived once, signed, and still no task was ever written
    hits = [(headers, body) for _, headers, body in keepalive_receiver.hits]
    assert sorted(headers["webhook-id"] for headers, _ in hits) == sorted(event_ids)
    for headers, body in hits:
        assert_verifies(Hit(headers=headers, body=body), secret)
    assert DBTaskResult.objects.count() == 0
