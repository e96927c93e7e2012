"""The delivery worker on the real django-tasks-db backend, run in-process (as `manage.py db_worker`)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from django_tasks_db.management.commands.db_worker import Worker
from django_tasks_db.models import DBTaskResult

from orders import services
from orders.actors import SYSTEM_ACTOR
from orders.models import WebhookDelivery, WebhookEvent
from orders.statuses import OrderStatus
from orders.webhooks import attempt_delivery, enqueue_delivery, sweep_due_deliveries
from tests.factories import make_order
from tests.orders.webhooks.conftest import make_endpoint

DB_TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "refunds", "webhooks"]}
}
ORDERS = 100


def _run_worker(worker_id: str) -> None:
    Worker(
        queue_names=["webhooks"],
        interval=0,
        batch=True,
        backend_name="default",
        startup_delay=False,
        max_tasks=None,
        worker_id=worker_id,
        excluded_queue_names=[],
    ).run()


def _run_worker_in_thread(worker_id: str, barrier: threading.Barrier) -> threading.Thread:
    def run():
        try:
            barrier.wait()
            _run_worker(worker_id)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@pytest.fixture
def busy_store(store, receiver, settings):
    """Two endpoints subscribed to status changes, one that is not, and 100 orders that each change
    status once while no worker runs."""
    settings.TASKS = DB_TASKS
    make_endpoint(store, f"{receiver.url}/a", event_types=["order.status_updated"])
    make_endpoint(store, f"{receiver.url}/b", event_types=["order.status_updated", "order.created"])
    make_endpoint(store, f"{receiver.url}/c", event_types=["order.shipped"])
    orders = [make_order(store, status=OrderStatus.CONFIRMED) for _ in range(ORDERS)]
    for order in orders:
        services.order_set_status(order_id=order.id, store=store, to="processing", actor=SYSTEM_ACTOR)
    return store


def _assert_each_delivered_once(receiver) -> None:
    event_ids = set(WebhookEvent.objects.values_list("id", flat=True))
    expected = {(f"/hook/{target}", event_id) for target in ("a", "b") for event_id in event_ids}
    counts = receiver.hits_per_target_and_event()
    assert set(counts) == expected
    assert set(counts.values()) == {1}
    assert WebhookDelivery.objects.exclude(status="succeeded").count() == 0


@pytest.mark.django_db(transaction=True)
def test_events_wait_in_the_outbox_while_the_worker_is_stopped_then_arrive_once(busy_store, receiver):
    # given: 100 changes committed, no worker running
    assert WebhookEvent.objects.count() == ORDERS
    assert WebhookDelivery.objects.filter(status="pending").count() == 2 * ORDERS
    assert DBTaskResult.objects.count() == 2 * ORDERS
    assert receiver.hits == []
    # when: the worker starts and drains the queue
    _run_worker("w1")
    # then
    _assert_each_delivered_once(receiver)


@pytest.mark.django_db(transaction=True)
def test_lost_tasks_are_found_by_the_sweep(busy_store, receiver, settings):
    # given: every task was lost (queue flushed) after the changes committed
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    DBTaskResult.objects.all().delete()
    _run_worker("w1")
    assert receiver.hits == []
    # when
    swept = sweep_due_deliveries()
    _run_worker("w1")
    # then
    assert swept == 2 * ORDERS
    _assert_each_delivered_once(receiver)


@pytest.mark.django_db(transaction=True)
def test_the_sweep_leaves_tasks_that_are_only_late_alone(busy_store, receiver, settings):
    # given: 200 deliveries due for a while, their tasks still queued behind a stopped worker
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    queued = DBTaskResult.objects.count()

    # when the sweep runs again and again
    swept = [sweep_due_deliveries() for _ in range(3)]

    # then it queues nothing more: late is not lost
    assert swept == [0, 0, 0]
    assert DBTaskResult.objects.count() == queued == 2 * ORDERS
    _run_worker("w1")
    _assert_each_delivered_once(receiver)


@pytest.mark.django_db(transaction=True)
def test_a_task_left_running_by_a_dead_worker_is_queued_again_after_its_lease(busy_store, receiver, settings):
    # given: a worker claimed every task and died (django-tasks-db leaves them "running" for ever)
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    settings.WEBHOOK_CLAIM_LEASE_SECONDS = 60
    DBTaskResult.objects.update(status="RUNNING", started_at=timezone.now() - timedelta(seconds=30))
    assert sweep_due_deliveries() == 0  # within the lease: maybe still running

    # when the lease has passed
    DBTaskResult.objects.update(started_at=timezone.now() - timedelta(seconds=61))
    swept = sweep_due_deliveries()
    _run_worker("w1")

    # then each delivery was queued once more and arrives once
    assert swept == 2 * ORDERS
    _assert_each_delivered_once(receiver)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_together_deliver_each_event_once(busy_store, receiver, settings):
    # given: every delivery has two tasks in the queue (as after a crash between enqueue and record)
    for delivery_id in WebhookDelivery.objects.values_list("id", flat=True):
        enqueue_delivery(delivery_id)
    assert DBTaskResult.objects.count() == 4 * ORDERS
    # when: two workers drain the queue at the same time
    barrier = threading.Barrier(2)
    threads = [_run_worker_in_thread(f"w{i}", barrier) for i in (1, 2)]
    for thread in threads:
        thread.join(timeout=300)
    # then
    assert not any(thread.is_alive() for thread in threads)
    _assert_each_delivered_once(receiver)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_workers_racing_for_one_delivery_send_it_once(store, receiver, settings):
    # given: one due delivery, its task not run yet
    settings.TASKS = DB_TASKS
    make_endpoint(store, receiver.url, event_types=["order.status_updated"])
    order = make_order(store, status=OrderStatus.CONFIRMED)
    services.order_set_status(order_id=order.id, store=store, to="processing", actor=SYSTEM_ACTOR)
    delivery_id = WebhookDelivery.objects.get().id
    barrier = threading.Barrier(8)
    results = []

    def attempt():
        try:
            barrier.wait()
            results.append(attempt_delivery(delivery_id))
        finally:
            connection.close()

    # when
    threads = [threading.Thread(target=attempt) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    # then
    assert len(receiver.hits) == 1
    assert sum(result is not None for result in results) == 1
    assert WebhookDelivery.objects.get().attempts.count() == 1
    assert WebhookDelivery.objects.get().status == "succeeded"
