"""WEBHOOK_DELIVERY_TASKS off (the database backend's default): the outbox and every hand-off leave the
deliveries due in the outbox for `manage.py webhook_worker`, and hand nothing to the task backend."""

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from orders import services
from orders.actors import SYSTEM_ACTOR
from orders.models import WebhookDelivery
from orders.statuses import OrderStatus
from orders.webhooks import enqueue_event_deliveries, sweep_due_deliveries
from orders.webhooks.endpoints import delivery_retry
from orders.webhooks.outbox import record_event
from tests.factories import make_order
from tests.orders.webhooks.conftest import make_endpoint
from tests.orders.webhooks.test_worker import DB_TASKS

Status = WebhookDelivery.Status
ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize(
    ("environment", "expected"),
    [
        ({}, "False"),  # the database backend: `manage.py webhook_worker` reads the outbox
        ({"TASKS_BACKEND": "db"}, "False"),
        ({"TASKS_BACKEND": "rq"}, "True"),  # RQ workers send the deliveries, one task each
        ({"TASKS_BACKEND": "db", "WEBHOOK_DELIVERY_TASKS": "true"}, "True"),
        ({"TASKS_BACKEND": "rq", "WEBHOOK_DELIVERY_TASKS": "false"}, "False"),
    ],
)
def test_delivery_tasks_are_on_by_default_only_with_rq(environment, expected):
    env = {k: v for k, v in os.environ.items() if k not in {"TASKS_BACKEND", "WEBHOOK_DELIVERY_TASKS"}}
    env.update(environment, REDIS_URL="redis://127.0.0.1:6379/14")
    result = subprocess.run(
        [sys.executable, "-c", "from config import settings; print(settings.WEBHOOK_DELIVERY_TASKS)"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout.strip()) == (0, expected), result.stderr


def test_a_change_writes_its_deliveries_and_hands_nothing_to_the_task_backend(
    store, receiver, settings, django_capture_on_commit_callbacks
):
    # given: no delivery tasks; the immediate backend would send a task's delivery at commit
    settings.WEBHOOK_DELIVERY_TASKS = False
    make_endpoint(store, f"{receiver.url}/a", event_types=["order.status_updated"])
    make_endpoint(store, f"{receiver.url}/b", event_types=["order.status_updated"])
    order = make_order(store, status=OrderStatus.CONFIRMED)
    # when the order changes status and its transaction commits
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.order_set_status(order_id=order.id, store=store, to="processing", actor=SYSTEM_ACTOR)
    # then: both deliveries are due in the outbox, never enqueued, nothing sent, no hand-off registered
    rows = list(WebhookDelivery.objects.filter(event__order=order))
    assert len(rows) == 2
    assert [(r.status, r.enqueued_at, r.task_id, r.attempt_count) for r in rows] == [
        (Status.PENDING, None, "", 0)
    ] * 2
    assert all(r.next_attempt_at <= timezone.now() for r in rows)
    assert receiver.hits == []
    assert [c for c in callbacks if getattr(c, "func", None) is enqueue_event_deliveries] == []


def test_a_retry_by_hand_leaves_the_delivery_due_and_the_sweep_queues_nothing(
    store, receiver, settings, django_capture_on_commit_callbacks
):
    # given: the database task backend, no delivery tasks, a delivery that failed for good
    settings.TASKS = DB_TASKS
    settings.WEBHOOK_DELIVERY_TASKS = False
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    make_endpoint(store, receiver.url, event_types=["order.created"])
    with django_capture_on_commit_callbacks(execute=True):
        event = record_event(order=None, store_id=store.id, event_type="order.created", data={"i": 1})
    WebhookDelivery.objects.update(
        status=Status.FAILED, attempt_count=3, next_attempt_at=None, completed_at=timezone.now()
    )
    failed = WebhookDelivery.objects.get(event=event)
    # when it is retried by hand
    with django_capture_on_commit_callbacks(execute=True):
        delivery_retry(delivery=failed)
    # then: pending and due from the start of the schedule, with no task for it
    row = WebhookDelivery.objects.get(id=failed.id)
    assert (row.status, row.attempt_count, row.enqueued_at, row.task_id) == (Status.PENDING, 0, None, "")
    assert row.next_attempt_at <= timezone.now()
    assert DBTaskResult.objects.count() == 0

    # when: it has been due for minutes (no worker ran) and the sweep looks
    WebhookDelivery.objects.filter(id=row.id).update(next_attempt_at=timezone.now() - timedelta(minutes=5))
    swept = sweep_due_deliveries()
    # then: nothing is queued — the batch sender claims due rows from the outbox
    assert swept == 0
    assert DBTaskResult.objects.count() == 0
    assert WebhookDelivery.objects.get(id=row.id).status == Status.PENDING
    assert receiver.hits == []

    # while with delivery tasks the same row counts as lost, and is queued (the case above is no accident)
    settings.WEBHOOK_DELIVERY_TASKS = True
    assert sweep_due_deliveries() == 1
    assert DBTaskResult.objects.count() == 1
