"""Bulk jobs against the real API in-process on PostgreSQL: per-order results with the API's refusals,
exactly once under re-runs (the Idempotency-Key per job and order), cancellation and the sweep."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard.bulk import runner
from dashboard.bulk.services import job_cancel, job_create, jobs_sweep_stale
from dashboard.models import BulkJob, BulkJobResult, StaffNote
from orders.auth import api_key_revoke
from orders.models import HistoryEntry, Order
from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = pytest.mark.postgres


def make_orders(store, statuses: dict[str, int]) -> dict[str, list[Order]]:
    variant = VariantFactory(product__store=store, inventory_quantity=10**6)
    customer = CustomerFactory(store=store)
    return {
        status: [make_order(store, status=status, customer=customer, items=[(variant, 1)]) for _ in range(n)]
        for status, n in statuses.items()
    }


def status_changes(order_ids) -> dict[str, int]:
    """Status-changing history entries per order (the creation entry excluded)."""
    counts = dict.fromkeys(str(i) for i in order_ids)
    for entry in HistoryEntry.objects.filter(order_id__in=order_ids).exclude(kind="created"):
        counts[str(entry.order_id)] = (counts[str(entry.order_id)] or 0) + 1
    return {k: v or 0 for k, v in counts.items()}


def start(connection, user, captured, **kwargs) -> BulkJob:
    with captured(execute=True):
        job = job_create(store=connection, user=user, **kwargs)
    job.refresh_from_db()
    return job


def test_a_job_of_500_orders_records_each_orders_outcome_with_the_apis_refusals(
    store, connection, admin_member, django_capture_on_commit_callbacks
):
    # given: 470 orders that can ship, 20 delivered (wrong status) and 10 cancelled (409)
    orders = make_orders(store, {"processing": 470, "delivered": 20, "cancelled": 10})
    admin_member.first_name, admin_member.last_name = "Ada", "Admin"
    admin_member.save()

    # when: all orders (no filter) are shipped with a carrier and tracking number
    job = start(
        connection,
        admin_member,
        django_capture_on_commit_callbacks,
        action="status",
        params={"status": "shipped", "carrier": "UPS", "tracking_number": "1Z999", "note": "Pallet 7"},
        selection_filter={"sort": "-createdAt"},
        selection_label="All orders",
    )

    # then: done, with the right count per outcome and one result per order
    assert (job.status, job.total, job.succeeded, job.failed) == ("done", 500, 470, 30)
    results = {r.order_id: r for r in BulkJobResult.objects.filter(job=job)}
    assert len(results) == 500
    for order in orders["processing"]:
        result = results[str(order.id)]
        assert (result.outcome, result.message) == ("succeeded", "Now shipped · 1Z999")
        assert result.order_number == f"ORD-{order.order_number:06d}"
    for order in orders["delivered"]:
        result = results[str(order.id)]
        assert (result.outcome, result.error_code) == ("failed", "INVALID_STATUS_TRANSITION")
        assert "delivered" in result.message
    for order in orders["cancelled"]:
        assert results[str(order.id)].error_code == "ORDER_ALREADY_CANCELLED"
    # the API holds each change once, named after the person and linked to the job
    shipped = Order.objects.filter(status="shipped")
    assert shipped.count() == 470
    assert {o.metadata["trackingNumber"] for o in shipped} == {"1Z999"}
    entry = HistoryEntry.objects.filter(kind="status", to_status="shipped").first()
    assert entry.actor_name == "Ada Admin"
    assert entry.note == f"Pallet 7 · bulk job #{job.pk}"
    assert set(status_changes([o.id for o in orders["processing"]]).values()) == {1}


def test_re_running_a_finished_job_changes_nothing_even_with_its_results_gone(
    store, connection, admin_member, django_capture_on_commit_callbacks
):
    # given: a finished job that confirmed 30 pending orders and was refused on 5 shipped ones
    orders = make_orders(store, {"pending": 30, "shipped": 5})
    job = start(
        connection,
        admin_member,
        django_capture_on_commit_callbacks,
        action="status",
        params={"status": "confirmed"},
        selection_filter={"sort": "-createdAt"},
    )
    assert (job.succeeded, job.failed) == (30, 5)
    ids = [o.id for group in orders.values() for o in group]
    before = status_changes(ids)

    # when: its task runs again, then again after its results and status were wiped (a lost database
    # row, a restore): the runner sends every order again with the same keys
    assert runner.job_run(job_id=job.pk) == "not-claimed"
    BulkJobResult.objects.filter(job=job).delete()
    BulkJob.objects.filter(pk=job.pk).update(status="queued", succeeded=0, failed=0)
    assert runner.job_run(job_id=job.pk) == "done"

    # then: the API replayed its first answers: the same outcomes, no new history entry anywhere
    job.refresh_from_db()
    assert (job.succeeded, job.failed) == (30, 5)
    assert status_changes(ids) == before
    assert set(before.values()) == {1, 0}
    assert Order.objects.filter(status="confirmed").count() == 30


def test_a_cancel_job_cancels_without_refund_and_records_the_reason_with_the_job(
    store, connection, admin_member, django_capture_on_commit_callbacks
):
    orders = make_orders(store, {"confirmed": 3, "delivered": 1})
    targets = [{"id": str(o.id), "number": f"ORD-{o.order_number:06d}"} for g in orders.values() for o in g]
    job = start(
        connection,
        admin_member,
        django_capture_on_commit_callbacks,
        action="cancel",
        params={"reason": "Out of stock"},
        targets=targets,
    )
    assert (job.status, job.succeeded, job.failed) == ("done", 3, 1)
    cancelled = Order.objects.filter(status="cancelled")
    assert cancelled.count() == 3
    assert {o.cancel_reason for o in cancelled} == {f"Out of stock · bulk job #{job.pk}"}
    assert {o.refunded_amount for o in cancelled} == {0}
    refused = BulkJobResult.objects.get(job=job, outcome="failed")
    assert refused.error_code == "INVALID_CANCELLATION"


def test_a_note_job_writes_one_staff_note_per_order_and_none_on_a_re_run(
    store, connection, support, django_capture_on_commit_callbacks
):
    orders = make_orders(store, {"confirmed": 120})
    job = start(
        connection,
        support,
        django_capture_on_commit_callbacks,
        action="note",
        params={"body": "Check the address"},
        selection_filter={"status": ["confirmed"], "sort": "-createdAt"},
    )
    assert (job.status, job.total, job.succeeded) == ("done", 120, 120)
    BulkJob.objects.filter(pk=job.pk).update(status="queued")
    runner.job_run(job_id=job.pk)
    assert StaffNote.objects.count() == 120
    assert set(StaffNote.objects.values_list("order_id", flat=True)) == {
        str(o.id) for o in orders["confirmed"]
    }
    assert set(StaffNote.objects.values_list("author_name", flat=True)) == {"support@example.com"}


def test_a_cancelled_queued_job_never_runs(
    store, connection, admin_member, django_capture_on_commit_callbacks
):
    orders = make_orders(store, {"pending": 2})
    job = job_create(
        store=connection,
        user=admin_member,
        action="status",
        params={"status": "confirmed"},
        selection_filter={"sort": "-createdAt"},
    )
    job_cancel(job)
    assert runner.job_run(job_id=job.pk) == "not-claimed"
    job.refresh_from_db()
    assert job.status == "cancelled"
    assert not Order.objects.filter(pk__in=[o.pk for o in orders["pending"]], status="confirmed").exists()


def test_a_selection_over_the_limit_fails_the_job_with_a_clear_message(
    store, connection, admin_member, settings, django_capture_on_commit_callbacks
):
    settings.BULK_JOB_MAX_ORDERS = 3
    make_orders(store, {"pending": 4})
    job = start(
        connection,
        admin_member,
        django_capture_on_commit_callbacks,
        action="status",
        params={"status": "confirmed"},
        selection_filter={"sort": "-createdAt"},
    )
    assert job.status == "failed"
    assert job.error == "More than 3 orders match the selection now; narrow the filters and start again."
    assert not Order.objects.filter(status="confirmed").exists()


def test_the_sweep_requeues_a_job_whose_runner_stopped_beating_and_leaves_a_live_one(
    store, connection, admin_member, settings, django_capture_on_commit_callbacks
):
    make_orders(store, {"pending": 3})
    dead = BulkJob.objects.create(
        store=connection,
        created_by=admin_member,
        created_by_name="admin",
        action="status",
        params={"status": "confirmed"},
        selection_filter={"sort": "-createdAt"},
        status="running",
        runner="dead-runner",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.BULK_JOB_LEASE_SECONDS + 5),
    )
    live = BulkJob.objects.create(
        store=connection,
        created_by_name="admin",
        action="note",
        params={"body": "x"},
        selection_filter={},
        status="running",
        runner="live-runner",
        heartbeat_at=timezone.now(),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert jobs_sweep_stale() == 1
    dead.refresh_from_db()
    live.refresh_from_db()
    assert (dead.status, dead.succeeded) == ("done", 3)
    assert (live.status, live.runner) == ("running", "live-runner")


@pytest.mark.django_db(transaction=True)  # the command closes the connection between passes, as a worker does
def test_the_sweep_command_reports_what_it_queued(store, connection, settings, capsys):
    BulkJob.objects.create(
        store=connection,
        created_by_name="admin",
        action="note",
        params={"body": "x"},
        targets=[],
        resolved=True,
        status="running",
        runner="dead",
        heartbeat_at=timezone.now() - timedelta(seconds=settings.BULK_JOB_LEASE_SECONDS + 5),
    )
    call_command("bulk_jobs_sweep")
    call_command("bulk_jobs_sweep")
    assert capsys.readouterr().out == "bulk_jobs_sweep: queued 1 bulk jobs again\n"
    assert BulkJob.objects.get().status == "done"


def test_a_refused_key_stops_the_job_instead_of_failing_every_order(
    store, connection, admin_member, issued_key, django_capture_on_commit_callbacks
):
    orders = make_orders(store, {"pending": 3})
    api_key_revoke(prefix=issued_key.api_key.prefix)
    job = start(
        connection,
        admin_member,
        django_capture_on_commit_callbacks,
        action="status",
        params={"status": "confirmed"},
        targets=[{"id": str(o.id)} for o in orders["pending"]],
    )
    assert job.status == "failed"
    assert job.error.startswith("The Orders API refused this store's key")
    assert not BulkJobResult.objects.filter(job=job).exists()
