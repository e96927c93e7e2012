"""Faults are inputs too: real `manage.py db_worker` and `recovery_sweep` processes on PostgreSQL,
killed with SIGKILL or cut off from the database with pg_terminate_backend, must finish the work once."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django_tasks_db.models import DBTaskResult

from orders import services
from orders.actors import SYSTEM_ACTOR
from orders.models import Refund
from orders.statuses import OrderStatus
from tests.factories import make_order
from tests.gateways import ledger_lines

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DB_TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "refunds", "webhooks"]}
}


def _database_url() -> str:
    db = connection.settings_dict
    return f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


@pytest.fixture
def ledger(tmp_path, settings):
    settings.TASKS = DB_TASKS
    return tmp_path / "ledger.jsonl"


def start(*args: str, ledger: Path, delay: float = 0, **env: str) -> subprocess.Popen:
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "PAYMENT_GATEWAY": "tests.gateways.LedgerGateway",
        "GATEWAY_LEDGER": str(ledger),
        "GATEWAY_DELAY": str(delay),
        **env,
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for(condition, *, timeout: float = 60, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def refund_of(store, amount: str = "3") -> Refund:
    from decimal import Decimal

    order = make_order(store, status=OrderStatus.CONFIRMED)
    refund, _ = services.refund_create(
        order_id=order.id, store=store, amount=Decimal(amount), actor=SYSTEM_ACTOR
    )
    return refund


def status_of(refund: Refund) -> str:
    return Refund.objects.values_list("status", flat=True).get(pk=refund.pk)


def terminate_other_connections() -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


def test_a_worker_killed_during_the_gateway_call_then_recovered_refunds_exactly_once(store, ledger, settings):
    # given: a pending refund whose worker pays at the provider and is then killed before recording it
    refund = refund_of(store)
    worker = start("db_worker", "--queue-name", "refunds", "--interval", "0.1", ledger=ledger, delay=60)
    try:
        wait_for(lambda: len(ledger_lines(ledger)) == 1, what="the gateway call")
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=20)
    finally:
        stop(worker)
    assert status_of(refund) == "pending"
    assert DBTaskResult.objects.get().status == "RUNNING"  # left behind by the dead worker

    # when: the recovery sweep sees the task past its lease and a new worker runs the refund again
    settings.REFUND_SWEEP_GRACE_SECONDS = 0
    settings.REFUND_TASK_LEASE_SECONDS = 1
    time.sleep(1.1)
    swept = services.refunds_sweep_lost()
    again = start("db_worker", "--queue-name", "refunds", "--interval", "0.1", "--batch", ledger=ledger)
    assert again.wait(timeout=60) == 0, again.stderr.read() if again.stderr else ""

    # then: the provider was asked twice with the same key and paid once; the refund succeeded once
    assert swept == 1
    assert status_of(refund) == "succeeded"
    calls = ledger_lines(ledger)
    assert [c["key"] for c in calls] == [str(refund.id)] * 2
    assert [c["paid"] for c in calls] == [True, False]
    assert Refund.objects.filter(order_id=refund.order_id).count() == 1


def test_the_worker_keeps_working_after_its_database_connection_is_terminated(store, ledger):
    # given: a worker with a persistent connection (as in production) that has done one refund
    worker = start(
        "db_worker", "--queue-name", "refunds", "--interval", "0.1", ledger=ledger, DB_CONN_MAX_AGE="600"
    )
    try:
        first = refund_of(store)
        wait_for(lambda: status_of(first) == "succeeded", what="the first refund")

        # when: PostgreSQL terminates its connection (as a failover or restart does), twice
        for _ in range(2):
            wait_for(lambda: terminate_other_connections() >= 1, what="the worker's connection")
            time.sleep(0.5)
        second = refund_of(store)

        # then: it reconnects, carries on, and is still running
        wait_for(lambda: status_of(second) == "succeeded", what="the refund after the termination")
        assert worker.poll() is None
    finally:
        stop(worker)
    assert len(ledger_lines(ledger)) == 2


def test_the_sweep_loop_survives_a_terminated_connection_and_queues_lost_refunds(store, ledger):
    # given: the sweep running in a loop
    sweep = start(
        "recovery_sweep",
        "--loop",
        "--interval",
        "0.2",
        ledger=ledger,
        REFUND_SWEEP_GRACE_SECONDS="0",
        WEBHOOK_SWEEP_GRACE_SECONDS="0",
    )
    try:
        # when: its connection is terminated, then a refund's task is lost (queue flushed)
        wait_for(lambda: terminate_other_connections() >= 1, what="the sweep's connection")
        refund = refund_of(store)
        DBTaskResult.objects.all().delete()

        # then: the sweep is alive and queues the refund again
        # (the task row appears a moment before the refund records its id: wait for both)
        wait_for(
            lambda: (
                DBTaskResult.objects.filter(queue_name="refunds").exists()
                and Refund.objects.filter(pk=refund.pk).exclude(task_id="").exists()
            ),
            what="the sweep",
        )
        assert sweep.poll() is None
        assert Refund.objects.get(pk=refund.pk).task_id == str(DBTaskResult.objects.get().id)
    finally:
        stop(sweep)


def test_webhook_sweep_is_the_recovery_sweep_under_its_former_name(store, settings, capsys):
    # given: a refund whose task was never queued (the hand-off after commit was lost)
    settings.TASKS = DB_TASKS
    settings.REFUND_SWEEP_GRACE_SECONDS = 0
    refund = refund_of(store)
    DBTaskResult.objects.all().delete()

    # when
    call_command("webhook_sweep")
    call_command("webhook_sweep")

    # then: queued once (the second pass sees its task queued and leaves it)
    assert DBTaskResult.objects.filter(queue_name="refunds").count() == 1
    assert "queued 0 deliveries and 1 refunds again" in capsys.readouterr().out
    assert Refund.objects.get(pk=refund.pk).status == "pending"
    assert django_settings.TASKS == DB_TASKS
