"""Bulk jobs: start one for a selection of the orders list, watch it, cancel or resume it, download its
results; the tracking-number upload; the selection as CSV. Thin: parse → one service call → render.
The work itself is dashboard/bulk/."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from dashboard.api import client_for
from dashboard.audit import neutralise
from dashboard.bulk import selection as selections
from dashboard.bulk import tracking
from dashboard.bulk.export import selection_csv_chunks
from dashboard.bulk.forms import FORMS, REQUIRED, TEXT_MAX, TrackingUploadForm
from dashboard.bulk.services import job_cancel, job_create, job_resume
from dashboard.models import BulkJob, BulkJobResult
from dashboard.permissions import StoreAccess, role_allows, store_view
from dashboard.vocabulary import status_table

TEMPLATES = "dashboard/jobs"
RESULTS_PAGE_SIZE = 50
RECENT_JOBS = 50


def _refused(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    message = f"Your role in {access.store.name} ({access.role.label}) does not allow this."
    return render(request, "403.html", {"message": message}, status=403)


@store_view("update")
def job_new(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    """POST from the list's selection bar (stage “choose”): the action's form for the selection; POST of
    that form (stage “start”): the job, then its page."""
    if request.method != "POST":
        return redirect("dashboard:order_list", access.store.slug)
    action = request.POST.get("action", "")
    if action not in FORMS:
        raise Http404("No such bulk action.")
    if not role_allows(access.role, REQUIRED[action]):
        return _refused(request, access)
    client = client_for(access.store, request.user)
    table = status_table(access.store, client)
    context = {"action": BulkJob.Action(action), "post": request.POST}
    try:
        selection = selections.from_post(
            request.POST, client=client, statuses=table.statuses, payment_statuses=table.payment_statuses
        )
    except selections.SelectionError as exc:
        return render(
            request, f"{TEMPLATES}/job_new.html", {**context, "selection_error": str(exc)}, status=400
        )
    form_class = FORMS[action]
    if request.POST.get("stage") != "start":
        form = form_class(statuses=table.statuses)  # type: ignore[call-arg]
    else:
        form = form_class(request.POST, statuses=table.statuses)  # type: ignore[call-arg]
        if form.is_valid():
            job = job_create(
                store=access.store,
                user=request.user,
                action=action,
                params=form.params(),  # type: ignore[attr-defined]
                selection_filter=selection.api_filter,
                targets=selection.targets,
                selection_label=selection.label,
            )
            return redirect("dashboard:job_detail", access.store.slug, job.pk)
    return render(request, f"{TEMPLATES}/job_new.html", {**context, "selection": selection, "form": form})


@store_view("view")
def job_list(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    jobs = BulkJob.objects.filter(store=access.store).select_related("created_by")[:RECENT_JOBS]
    return render(request, f"{TEMPLATES}/job_list.html", {"jobs": jobs})


@store_view("view")
def job_detail(request: HttpRequest, access: StoreAccess, job_id: int) -> HttpResponse:
    job = get_object_or_404(BulkJob, pk=job_id, store=access.store)
    outcome = request.GET.get("outcome")
    if outcome not in BulkJobResult.Outcome.values:
        outcome = None
    results = job.results.filter(outcome=outcome) if outcome else job.results.all()
    page = Paginator(results, RESULTS_PAGE_SIZE).get_page(request.GET.get("page"))
    context = {
        "job": job,
        "progress": _progress(job),
        "outcome": outcome,
        "results": page,
        "outcomes": BulkJobResult.Outcome.choices,
        "can_control": role_allows(access.role, REQUIRED[job.action]),
    }
    template = f"{TEMPLATES}/job_detail.html"
    target = request.htmx.target  # type: ignore[attr-defined]
    if target in {"job-progress", "job-results"}:
        template = f"{template}#{target}"
    response = render(request, template, context)
    if target == "job-progress" and job.is_finished:
        # After the swap, so the page reads the final counts; the results region refreshes once, at the end.
        response["HX-Trigger-After-Settle"] = "job-finished"
    return response


def _progress(job: BulkJob) -> dict:
    done = job.done_count
    end = job.finished_at or (timezone.now() if job.status == BulkJob.Status.RUNNING else job.heartbeat_at)
    seconds = (end - job.started_at).total_seconds() if job.started_at and end else 0
    return {
        "done": done,
        "percent": round(100 * done / job.total) if job.total else (100 if job.is_finished else 0),
        "rate": f"{done / seconds:,.1f}" if seconds > 0 and done else None,
        "seconds": round(seconds),
    }


@store_view("view")
def job_results_csv(request: HttpRequest, access: StoreAccess, job_id: int) -> HttpResponseBase:
    job = get_object_or_404(BulkJob, pk=job_id, store=access.store)
    outcome = request.GET.get("outcome")
    results = job.results.filter(outcome=outcome) if outcome in BulkJobResult.Outcome.values else job.results
    response = StreamingHttpResponse(_results_csv(results.all()), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="bulk-job-{job.pk}-{access.store.slug}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _results_csv(results) -> Iterator[bytes]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["Order number", "Order ID", "Outcome", "Error code", "Message"])
    for index, r in enumerate(results.iterator(chunk_size=1000), start=1):
        writer.writerow(
            [neutralise(r.order_number), r.order_id, r.outcome, r.error_code, neutralise(r.message)]
        )
        if index % 1000 == 0:
            yield buffer.getvalue().encode()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue().encode()


def _job_control(request: HttpRequest, access: StoreAccess, job_id: int, act) -> HttpResponse:
    """Cancel or resume (`act`) on POST by a role allowed the job's action; back to the job's page."""
    job = get_object_or_404(BulkJob, pk=job_id, store=access.store)
    if request.method != "POST":
        return redirect("dashboard:job_detail", access.store.slug, job.pk)
    if not role_allows(access.role, REQUIRED[job.action]):
        return _refused(request, access)
    act(job)
    return redirect("dashboard:job_detail", access.store.slug, job.pk)


@store_view("update")
def job_cancel_view(request: HttpRequest, access: StoreAccess, job_id: int) -> HttpResponse:
    return _job_control(request, access, job_id, job_cancel)


@store_view("update")
def job_resume_view(request: HttpRequest, access: StoreAccess, job_id: int) -> HttpResponse:
    return _job_control(request, access, job_id, job_resume)


@store_view("export")
def selection_export(request: HttpRequest, access: StoreAccess) -> HttpResponseBase:
    """The selection (a filter, or ticked rows of it) as the API's CSV, streamed."""
    if request.method != "POST":
        return redirect("dashboard:order_list", access.store.slug)
    client = client_for(access.store, request.user)
    table = status_table(access.store, client)
    try:
        selection = selections.from_post(
            request.POST, client=client, statuses=table.statuses, payment_statuses=table.payment_statuses
        )
    except selections.SelectionError as exc:
        context = {"action": None, "post": request.POST, "selection_error": str(exc)}
        return render(request, f"{TEMPLATES}/job_new.html", context, status=400)
    chunks = selection_csv_chunks(client, selection, table.statuses, table.payment_statuses)
    first = next(chunks, b"")  # opened here, inside the failure mapper: a down API is a page, not a cut file
    response = StreamingHttpResponse(_chain(first, chunks), content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="orders-{access.store.slug}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response


def _chain(first: bytes, rest: Iterator[bytes]) -> Iterator[bytes]:
    yield first
    yield from rest


# The preview between upload and apply: in the person's session, under a token the Apply form carries,
# so what is applied is exactly what was previewed (and nothing before the admin confirms).
PREVIEW_SESSION_KEY = "bulk-tracking-preview"


@store_view("update")
def tracking_upload(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    template = f"{TEMPLATES}/tracking_upload.html"
    if request.method == "POST" and "token" in request.POST:
        return _tracking_apply(request, access)
    if request.method != "POST":
        return render(request, template, {"form": TrackingUploadForm()})
    form = TrackingUploadForm(request.POST, request.FILES)
    if not form.is_valid():
        return render(request, template, {"form": form})
    upload = form.cleaned_data["file"]
    try:
        preview = tracking.parse(upload.read(tracking.MAX_BYTES + 1))
    except tracking.TrackingFileError as exc:
        return render(request, template, {"form": form, "file_errors": exc.errors, "file_name": upload.name})
    client = client_for(access.store, request.user)
    tracking.match(preview, client, status_table(access.store, client))
    token = uuid.uuid4().hex
    request.session[PREVIEW_SESSION_KEY] = {
        "token": token,
        "store": access.store.pk,
        "file": upload.name[:200],
        "note": form.cleaned_data["note"],
        "targets": preview.targets(),
    }
    context = {"form": TrackingUploadForm(), "preview": preview, "token": token, "file_name": upload.name}
    return render(request, template, context)


def _tracking_apply(request: HttpRequest, access: StoreAccess) -> HttpResponse:
    stored = request.session.get(PREVIEW_SESSION_KEY) or {}
    if stored.get("token") != request.POST["token"] or stored.get("store") != access.store.pk:
        context = {
            "form": TrackingUploadForm(),
            "file_errors": ["This preview has expired; upload the file again."],
        }
        return render(request, f"{TEMPLATES}/tracking_upload.html", context, status=400)
    if not stored["targets"]:
        context = {"form": TrackingUploadForm(), "file_errors": ["No row of that file can be shipped."]}
        return render(request, f"{TEMPLATES}/tracking_upload.html", context, status=400)
    del request.session[PREVIEW_SESSION_KEY]
    job = job_create(
        store=access.store,
        user=request.user,
        action=BulkJob.Action.STATUS,
        params={
            "status": tracking.SHIPPED,
            "note": stored["note"] or f"Tracking upload {stored['file']}"[:TEXT_MAX],
        },
        targets=stored["targets"],
        selection_label=f"Tracking upload {stored['file']}",
    )
    return redirect("dashboard:job_detail", access.store.slug, job.pk)
