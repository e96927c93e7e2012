"""Bulk jobs through the dashboard's pages against the real API in-process: who may start which job,
the selection (filter or ticked rows), the job page and its partials, the results CSV, the audit link,
and the selection export."""

import csv
import io
import json
import re

import pytest
from django.urls import reverse

from dashboard.models import BulkJob, BulkJobResult
from orders.models import Order
from tests.factories import CustomerFactory, VariantFactory, make_order

pytestmark = pytest.mark.postgres


@pytest.fixture
def orders(store):
    variant = VariantFactory(product__store=store, inventory_quantity=10**6)
    customer = CustomerFactory(store=store)
    made = [make_order(store, status="processing", customer=customer, items=[(variant, 1)]) for _ in range(6)]
    made += [make_order(store, status="delivered", customer=customer, items=[(variant, 1)]) for _ in range(2)]
    return made


def new_job(client, *, action, scope="filter", query="status=processing", targets=None, stage=None, **fields):
    data = {"action": action, "scope": scope, "query": query, **fields}
    if targets is not None:
        data["targets"] = json.dumps(targets)
    if stage:
        data["stage"] = stage
    return client.post(reverse("dashboard:job_new", args=["acme"]), data)


def test_a_viewer_cannot_start_a_bulk_job(viewer_client, orders):
    response = new_job(viewer_client, action="status", stage="start", status="confirmed")
    assert response.status_code == 403
    assert not BulkJob.objects.exists()


def test_a_support_member_cannot_bulk_cancel_but_an_admin_can(
    support_client, orders, admin_member, django_capture_on_commit_callbacks
):
    # support: refused, nothing queued, nothing cancelled
    response = new_job(support_client, action="cancel", stage="start", reason="Fraud")
    assert response.status_code == 403
    assert "does not allow this" in response.content.decode()
    assert not BulkJob.objects.exists()

    # admin: the job cancels the 6 processing orders
    support_client.force_login(admin_member)
    with django_capture_on_commit_callbacks(execute=True):
        response = new_job(support_client, action="cancel", stage="start", reason="Fraud")
    job = BulkJob.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("dashboard:job_detail", args=["acme", job.pk])
    job.refresh_from_db()
    assert (job.status, job.succeeded, job.failed) == ("done", 6, 0)
    assert Order.objects.filter(status="cancelled").count() == 6


def test_choosing_an_action_shows_how_many_orders_the_filter_selects(support_client, orders):
    response = new_job(support_client, action="status", query="status=processing&page=2")
    body = response.content.decode()
    assert response.status_code == 200
    assert "Change status: 6 orders" in body
    assert "All orders matching status processing" in body
    assert 'name="query" value="status=processing"' in body  # paging is not part of a selection
    assert not BulkJob.objects.exists()


def test_a_filter_over_the_limit_is_refused_with_what_to_do(support_client, orders, settings):
    settings.BULK_JOB_MAX_ORDERS = 5
    response = new_job(support_client, action="status", stage="start", status="shipped")
    assert response.status_code == 400
    assert "More than 5 orders match these filters" in response.content.decode()
    assert not BulkJob.objects.exists()


def test_carrier_is_refused_for_a_status_that_is_not_a_shipment(support_client, orders):
    response = new_job(support_client, action="status", stage="start", status="delivered", carrier="UPS")
    assert response.status_code == 200
    assert "Only for a move to shipped or partially shipped." in response.content.decode()
    assert not BulkJob.objects.exists()


def test_ticked_rows_become_the_job_and_the_page_shows_each_outcome(
    support_client, orders, django_capture_on_commit_callbacks
):
    # given: two processing and one delivered order ticked
    ticked = [orders[0], orders[1], orders[-1]]
    targets = [{"id": str(o.id), "number": f"ORD-{o.order_number:06d}"} for o in ticked]

    # when: shipped with a carrier and a tracking number
    with django_capture_on_commit_callbacks(execute=True):
        response = new_job(
            support_client, action="status", scope="ids", targets=targets, stage="start",
            status="shipped", carrier="DHL", tracking_number="JD0001", note="Morning pickup",
        )  # fmt: skip
    job = BulkJob.objects.get()
    page = support_client.get(response["Location"])
    body = page.content.decode()

    # then: the page shows 100%, the counts and the API's reason for the refused order
    assert job.selection_filter is None
    assert "100%" in body
    assert re.search(r'id="job-succeeded">2<', body)
    assert re.search(r'id="job-failed">1<', body)
    assert "INVALID_STATUS_TRANSITION" in body
    assert 'hx-trigger="every 1s"' not in body  # finished: no polling
    # filtered by outcome
    failed = support_client.get(response["Location"] + "?outcome=failed").content.decode()
    assert f"ORD-{orders[-1].order_number:06d}" in failed
    assert f"ORD-{orders[0].order_number:06d}" not in failed
    # the results as CSV
    download = support_client.get(reverse("dashboard:job_results_csv", args=["acme", job.pk]))
    rows = list(csv.reader(io.StringIO(b"".join(download.streaming_content).decode())))
    assert rows[0] == ["Order number", "Order ID", "Outcome", "Error code", "Message"]
    assert sorted(r[2] for r in rows[1:]) == ["failed", "succeeded", "succeeded"]
    # the audit view links each change to the job
    audit = support_client.get(reverse("dashboard:history_list", args=["acme"])).content.decode()
    link = f'<a class="job-link" href="{reverse("dashboard:job_detail", args=["acme", job.pk])}">bulk job #{job.pk}</a>'
    assert f"Morning pickup · {link}" in audit


def test_the_progress_region_polls_while_running_and_stops_when_done(support_client, connection, support):
    job = BulkJob.objects.create(
        store=connection, created_by=support, created_by_name="Sam", action="note", params={"body": "x"},
        targets=[{"id": f"o{i}", "number": f"ORD-{i:06d}"} for i in range(4)], total=4, resolved=True,
        status="running",
    )  # fmt: skip
    BulkJobResult.objects.create(job=job, order_id="o0", outcome="succeeded")
    BulkJob.objects.filter(pk=job.pk).update(succeeded=1)
    url = reverse("dashboard:job_detail", args=["acme", job.pk])
    htmx = {"HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "job-progress"}

    running = support_client.get(url, **htmx)
    assert running.content.decode().lstrip().startswith('<section id="job-progress"')
    assert 'hx-trigger="every 1s"' in running.content.decode()
    assert "25%" in running.content.decode()
    assert "HX-Trigger-After-Settle" not in running

    BulkJob.objects.filter(pk=job.pk).update(status="done", succeeded=4)
    done = support_client.get(url, **htmx)
    assert 'hx-trigger="every 1s"' not in done.content.decode()
    assert done["HX-Trigger-After-Settle"] == "job-finished"


def test_another_stores_job_is_a_404(support_client, other_connection, outsider):
    job = BulkJob.objects.create(store=other_connection, created_by_name="x", action="note", params={})
    assert support_client.get(reverse("dashboard:job_detail", args=["acme", job.pk])).status_code == 404
    assert support_client.get(reverse("dashboard:job_results_csv", args=["acme", job.pk])).status_code == 404


def test_a_running_job_can_be_cancelled_from_its_page(support_client, connection, support):
    job = BulkJob.objects.create(
        store=connection, created_by_name="Sam", action="note", params={"body": "x"}, status="running"
    )
    response = support_client.post(reverse("dashboard:job_cancel", args=["acme", job.pk]))
    assert response.status_code == 302
    job.refresh_from_db()
    assert job.cancel_requested
    assert job.status == "running"  # stops after the chunk in progress


def test_the_jobs_list_shows_who_started_each(support_client, connection):
    BulkJob.objects.create(store=connection, created_by_name="Ada Admin", action="cancel", params={})
    body = support_client.get(reverse("dashboard:job_list", args=["acme"])).content.decode()
    assert "Ada Admin" in body
    assert "Cancel" in body


def test_the_export_of_ticked_rows_keeps_only_those_rows(support_client, orders):
    ticked = [orders[2], orders[4]]
    response = support_client.post(
        reverse("dashboard:selection_export", args=["acme"]),
        {
            "scope": "ids",
            "query": "status=processing",
            "targets": json.dumps([{"id": str(o.id)} for o in ticked]),
        },
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["Order ID"] for r in rows) == sorted(str(o.id) for o in ticked)


def test_the_export_of_a_filter_selection_is_every_matching_row(support_client, orders):
    response = support_client.post(
        reverse("dashboard:selection_export", args=["acme"]), {"scope": "filter", "query": "status=delivered"}
    )
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert sorted(r["Order ID"] for r in rows) == sorted(str(o.id) for o in orders[-2:])


def test_the_list_offers_the_selection_to_support_and_not_to_a_viewer(support_client, viewer, orders):
    url = reverse("dashboard:order_list", args=["acme"])
    body = support_client.get(url).content.decode()
    assert 'id="bulk-bar"' in body
    assert body.count("data-bulk-row ") == 8
    assert "Cancel orders" not in body  # support cannot cancel
    support_client.force_login(viewer)
    viewer_body = support_client.get(url).content.decode()
    assert 'id="bulk-bar"' not in viewer_body
    assert "data-bulk-row" not in viewer_body
