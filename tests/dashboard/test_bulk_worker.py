"""A real `manage.py db_worker` running a bulk job on PostgreSQL, killed with SIGKILL mid-job, then the
sweep and a new worker: the job finishes and no order was changed twice (counted in the API's history)."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection as db

from dashboard.bulk.services import job_create, jobs_sweep_stale
from dashboard.models import BulkJobResult
from orders.models import HistoryEntry, Order
from tests.factories import CustomerFactory, VariantFactory, make_order
from tests.orders.test_workers_survive import wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
DB_TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "refunds", "webhooks"]}
}


def worker(*args: str) -> subprocess.Popen:
    settings = db.settings_dict
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{settings['USER']}@{settings['HOST'] or '127.0.0.1'}:"
        f"{settings['PORT'] or 5432}/{settings['NAME']}",
        "RATE_LIMIT_ENABLED": "false",
        "TASKS_BACKEND": "db",
    }
    return subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "manage.py", "db_worker", "--queue-name", "default", "--interval", "0.1", *args],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_worker_killed_mid_job_is_resumed_and_no_order_changes_twice(
    store, connection, admin_member, settings
):
    # given: 300 processing orders and a job to ship them all, queued for the database task backend
    settings.TASKS = DB_TASKS
    variant = VariantFactory(product__store=store, inventory_quantity=10**6)
    customer = CustomerFactory(store=store)
    orders = [
        make_order(store, status="processing", customer=customer, items=[(variant, 1)]) for _ in range(300)
    ]
    job = job_create(
        store=connection,
        user=admin_member,
        action="status",
        params={"status": "shipped", "carrier": "DHL"},
        selection_filter={"status": ["processing"], "sort": "-createdAt"},
    )
    results = BulkJobResult.objects.filter(job=job)

    # when: a worker has saved some chunks, it is killed (SIGKILL: no chance to clean up)
    first = worker()
    try:
        wait_for(lambda: results.count() >= 100, timeout=120, what="some progress")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=20)
    finally:
        if first.poll() is None:
            first.kill()
    job.refresh_from_db()
    assert job.status == "running"
    assert 100 <= results.count() < 300

    # then: the sweep sees no progress for the lease and queues it again; a new worker finishes it
    settings.BULK_JOB_LEASE_SECONDS = 1
    wait_for(lambda: jobs_sweep_stale() == 1, timeout=30, what="the sweep to see the job stale")
    second = worker("--batch")
    assert second.wait(timeout=300) == 0, second.stderr.read() if second.stderr else ""

    job.refresh_from_db()
    assert (job.status, job.total, job.succeeded, job.failed) == ("done", 300, 300, 0)
    assert results.count() == 300
    assert Order.objects.filter(status="shipped").count() == 300
    # every order has exactly one status change: the chunk in flight at the kill was replayed by the API
    changes = HistoryEntry.objects.filter(order__in=orders, kind="status")
    assert changes.count() == 300
    assert changes.values("order_id").distinct().count() == 300
