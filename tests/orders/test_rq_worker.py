"""The Redis/RQ backend for real: `manage.py rqworker` processes on PostgreSQL and Redis (db 9, or a
private redis-server for the outage) carry out refunds and webhook deliveries once, and keep working
after a dropped database connection and a Redis outage. CI must have Redis: without it these fail."""

import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from orders import services, taskqueue
from orders.actors import SYSTEM_ACTOR
from orders.models import Refund, WebhookDelivery
from orders.services.refunds import process_refund
from orders.statuses import OrderStatus
from orders.webhooks.delivery import deliver_webhook, sweep_due_deliveries
from tests import requirements
from tests.factories import make_order
from tests.gateways import ledger_lines
from tests.orders.test_workers_survive import _database_url, stop, terminate_other_connections, wait_for
from tests.orders.webhooks.conftest import make_endpoint, receiver  # noqa: F401 - the fixture
from tests.orders.webhooks.signing_checks import assert_verifies

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("RQ_TEST_REDIS_URL", "redis://127.0.0.1:6379/9")
RQ_TASKS = {"default": {"BACKEND": "django_tasks_rq.RQBackend", "QUEUES": ["default", "refunds", "webhooks"]}}
LEASE = timedelta(minutes=2)


def need_rq() -> None:
    try:
        import django_rq  # noqa: F401
        import django_tasks_rq  # noqa: F401
    except ImportError:
        requirements.skip_or_fail("django-tasks-rq is not installed (pip install -e '.[test]')")


def test_manage_py_check_is_clean_with_the_rq_backend():
    # given the RQ backend chosen by the environment
    need_rq()
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "TASKS_BACKEND": "rq"}
    env["REDIS_URL"] = REDIS_URL
    # when Django's checks run
    result = subprocess.run(
        [sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True, text=True, check=False
    )
    # then django-rq is installed, every task queue is an RQ queue, and nothing is reported
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def use_rq(settings, url: str) -> None:
    """This process enqueues into RQ on `url` (the worker processes get the same through TASKS_BACKEND)."""
    settings.RQ_QUEUES = {name: {"URL": url} for name in ("default", "refunds", "webhooks")}
    settings.TASKS = RQ_TASKS


@pytest.fixture
def redis_db(settings):
    """Redis db 9, emptied before and after (FLUSHDB of that database only)."""
    need_rq()
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        requirements.skip_or_fail(f"no Redis answers at {REDIS_URL} (RQ_TEST_REDIS_URL)")
    client.flushdb()
    use_rq(settings, REDIS_URL)
    yield client
    client.flushdb()


def rqworker(*args: str, ledger: Path, redis_url: str, log: Path, **env: str) -> subprocess.Popen:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "TASKS_BACKEND": "rq",
        "REDIS_URL": redis_url,
        "DATABASE_URL": _database_url(),
        "WEBHOOKS_ALLOW_LOOPBACK": "1",
        "PAYMENT_GATEWAY": "tests.gateways.LedgerGateway",
        "GATEWAY_LEDGER": str(ledger),
        "GATEWAY_DELAY": "0",
        **env,
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "manage.py", "rqworker", *args],
        cwd=ROOT,
        env=environ,
        stdout=log.open("a"),
        stderr=subprocess.STDOUT,
    )


def refund_of(store, amount: str = "3") -> Refund:
    order = make_order(store, status=OrderStatus.CONFIRMED)
    refund, _ = services.refund_create(
        order_id=order.id, store=store, amount=Decimal(amount), actor=SYSTEM_ACTOR
    )
    return Refund.objects.get(pk=refund.pk)


def status_of(refund: Refund) -> str:
    return Refund.objects.values_list("status", flat=True).get(pk=refund.pk)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_plain_rqworker_carries_out_a_refund_and_a_webhook_delivery_once(
    store,
    redis_db,
    receiver,  # noqa: F811 - the fixture imported above
    settings,
    tmp_path,
):
    # given: an endpoint on a local receiver, and a refund (its task and the event's deliveries queued)
    _, secret = make_endpoint(store, receiver.url)
    refund = refund_of(store)
    deliveries = list(WebhookDelivery.objects.all())
    assert deliveries
    assert refund.task_id
    assert all(d.task_id for d in deliveries)
    assert redis_db.llen("rq:queue:refunds") == 1
    assert redis_db.llen("rq:queue:webhooks") == len(deliveries)

    # queued RQ jobs are in hand: the recovery sweep leaves them alone instead of queueing them again
    assert taskqueue.is_in_hand(process_refund, refund.task_id, lease=LEASE)
    assert all(taskqueue.is_in_hand(deliver_webhook, d.task_id, lease=LEASE) for d in deliveries)
    settings.REFUND_SWEEP_GRACE_SECONDS = 0
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    assert services.refunds_sweep_lost() == 0
    assert sweep_due_deliveries() == 0
    assert redis_db.llen("rq:queue:refunds") == 1
    assert redis_db.llen("rq:queue:webhooks") == len(deliveries)

    # when: a plain `manage.py rqworker --burst refunds webhooks` runs (no --job-class)
    ledger, log = tmp_path / "ledger.jsonl", tmp_path / "worker.log"
    worker = rqworker("--burst", "refunds", "webhooks", ledger=ledger, redis_url=REDIS_URL, log=log)
    assert worker.wait(timeout=120) == 0, log.read_text()

    # then: the refund was paid once and succeeded
    assert status_of(refund) == "succeeded", log.read_text()
    assert ledger_lines(ledger) == [{"key": str(refund.id), "paid": True}]
    # each delivery reached the receiver once, signed, and is recorded as succeeded
    assert sorted(hit.headers["webhook-id"] for hit in receiver.hits) == sorted(
        d.event_id for d in deliveries
    )
    for hit in receiver.hits:
        assert_verifies(hit, secret)
    assert set(WebhookDelivery.objects.values_list("status", flat=True)) == {"succeeded"}
    assert set(WebhookDelivery.objects.values_list("last_status_code", flat=True)) == {200}
    # finished jobs are no longer in hand; nor is a job Redis no longer holds (result TTL, flush)
    assert not taskqueue.is_in_hand(process_refund, refund.task_id, lease=LEASE)
    assert not any(taskqueue.is_in_hand(deliver_webhook, d.task_id, lease=LEASE) for d in deliveries)
    redis_db.flushdb()
    assert not taskqueue.is_in_hand(process_refund, refund.task_id, lease=LEASE)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_redis(port: int, tmp_path: Path) -> subprocess.Popen:
    server = subprocess.Popen(  # noqa: S603 - the machine's redis-server
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind", "127.0.0.1"]
        + ["--save", "", "--appendonly", "no", "--dir", str(tmp_path)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    import redis

    client = redis.Redis(port=port, socket_connect_timeout=0.2)
    wait_for(lambda: _pings(client), timeout=10, what="the private redis-server")
    return server


def _pings(client) -> bool:
    import redis

    try:
        return bool(client.ping())
    except redis.exceptions.ConnectionError:
        return False


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_rqworker_keeps_working_after_a_dropped_database_connection_and_a_redis_outage(
    store, redis_db, settings, tmp_path
):
    # given: a private Redis (it is stopped below) and a long-running worker with a persistent database
    # connection (as in production), which pauses 1 s in the gateway after paying
    if shutil.which("redis-server") is None:
        requirements.skip_or_fail("redis-server is not installed (the Redis outage needs a private one)")
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    use_rq(settings, url)
    redis_server = start_redis(port, tmp_path)
    ledger, log = tmp_path / "ledger.jsonl", tmp_path / "worker.log"
    worker = rqworker(
        "refunds", ledger=ledger, redis_url=url, log=log, GATEWAY_DELAY="1", DB_CONN_MAX_AGE="600"
    )
    refunds = []
    try:
        refunds.append(refund_of(store))
        wait_for(lambda: status_of(refunds[0]) == "succeeded", what="the first refund")

        # when: PostgreSQL terminates the worker's connection (a failover, a restart)
        wait_for(lambda: terminate_other_connections() >= 1, what="the worker's connection")
        refunds.append(refund_of(store))
        # then: the next job reconnects
        wait_for(lambda: status_of(refunds[1]) == "succeeded", what="the refund after the termination")

        # when: Redis goes away while a refund is at the gateway, and comes back 2 s later
        refunds.append(refund_of(store))
        wait_for(lambda: len(ledger_lines(ledger)) == 3, what="the third gateway call")
        redis_server.terminate()
        redis_server.wait(timeout=10)
        wait_for(lambda: status_of(refunds[2]) == "succeeded", what="the refund during the outage")
        time.sleep(2)
        redis_server = start_redis(port, tmp_path)
        refunds.append(refund_of(store))

        # then: the same worker process carries on with the next refund
        wait_for(lambda: status_of(refunds[3]) == "succeeded", timeout=90, what="the refund after the outage")
        assert worker.poll() is None, log.read_text()
    finally:
        stop(worker)
        redis_server.terminate()
        redis_server.wait(timeout=10)
    assert "starting a new one" in log.read_text()  # the worker quit on the outage and was started again
    assert ledger_lines(ledger) == [{"key": str(r.id), "paid": True} for r in refunds]
