"""Bulk work in real Chromium with a real task worker (`manage.py db_worker`) on PostgreSQL: select on the
list across pages, select all matching, ship with tracking, watch the progress bar reach 100%, open the
results; and the tracking upload's preview. Takes the README's bulk screenshots."""

import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model
from django.db import connection as db
from playwright.sync_api import expect

from dashboard.models import BulkJob, Membership, StoreConnection
from orders.auth import api_key_create
from orders.models import HistoryEntry, Order
from tests.e2e.conftest import SCREENSHOTS
from tests.factories import CustomerFactory, StoreFactory, VariantFactory, make_order

pytestmark = [pytest.mark.browser, pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "demo-password-123"
PROCESSING = 160
DB_TASKS = {
    "default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default", "refunds", "webhooks"]}
}


@pytest.fixture
def shop(db):
    store = StoreFactory(name="Vesuvio Coffee", currency="EUR", timezone="Europe/Rome")
    connection = StoreConnection(name=store.name, slug="vesuvio-coffee", timezone=store.timezone)
    connection.set_api_key(api_key_create(store=store, name="Dashboard").plaintext)
    connection.save()
    user = get_user_model().objects.create_user(
        "marta@demo.test", "marta@demo.test", PASSWORD, first_name="Marta", last_name="Esposito"
    )
    Membership.objects.create(user=user, store=connection, role="admin")
    beans = VariantFactory(
        product__store=store, product__name="Espresso beans 1 kg", inventory_quantity=10**6
    )
    names = ["Giulia Bianchi", "Marco Russo", "Sofia Romano", "Luca Colombo", "Chiara Ricci"]
    customers = [
        CustomerFactory(store=store, first_name=n.split()[0], last_name=n.split()[1], email=f"{n.split()[0].lower()}@example.com")
        for n in names
    ]  # fmt: skip
    start = datetime(2024, 5, 1, 9, 0, tzinfo=UTC)
    made = {"processing": [], "other": []}
    for i in range(PROCESSING + 20):
        status = "processing" if i < PROCESSING else ["confirmed", "delivered"][i % 2]
        order = make_order(
            store,
            status=status,
            customer=customers[i % len(customers)],
            items=[(beans, 1 + i % 3)],
            created_at=start + timedelta(minutes=37 * i),
            external_id=f"shop-{7000 + i}" if i % 4 == 0 else None,
            platform_name="Shopify" if i % 4 == 0 else "",
        )
        made["processing" if status == "processing" else "other"].append(order)
    return made


@pytest.fixture
def task_worker(settings):
    """The database task backend for the live server, and a real worker process serving it."""
    settings.TASKS = DB_TASKS
    dbs = db.settings_dict
    environ = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": f"postgres://{dbs['USER']}@{dbs['HOST'] or '127.0.0.1'}:{dbs['PORT'] or 5432}/{dbs['NAME']}",
        "RATE_LIMIT_ENABLED": "false",
        "TASKS_BACKEND": "db",
    }
    worker = subprocess.Popen(  # noqa: S603 - our own interpreter and command
        [sys.executable, "manage.py", "db_worker", "--queue-name", "default", "--interval", "0.2"],
        cwd=ROOT,
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    yield worker
    worker.send_signal(signal.SIGTERM)
    try:
        worker.wait(timeout=20)
    except subprocess.TimeoutExpired:
        worker.kill()
        worker.wait()


def sign_in(page, live_server):
    page.goto(f"{live_server.url}/login/")
    page.get_by_label("Email").fill("marta@demo.test")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(re.compile(r"/orders/$"))


def test_select_all_matching_ship_with_tracking_and_watch_the_job_finish(
    live_server, page, shop, task_worker
):
    sign_in(page, live_server)
    page.goto(f"{live_server.url}/stores/vesuvio-coffee/orders/?status=processing")
    bar = page.locator("#bulk-bar")
    expect(bar).to_be_hidden()

    # a ticked row survives paging: tick two rows, go to page 2, tick one, come back
    rows = page.locator("input[data-bulk-row]")
    rows.nth(0).check()
    rows.nth(1).check()
    expect(bar).to_be_visible()
    expect(bar.locator("[data-bulk-count]")).to_have_text("2")
    page.get_by_role("link", name="Next →").click()
    expect(page.locator(".page-label")).to_contain_text("Page 2")
    page.locator("input[data-bulk-row]").nth(0).check()
    expect(bar.locator("[data-bulk-count]")).to_have_text("3")
    page.get_by_role("link", name="← Previous").click()
    expect(page.locator(".page-label")).to_contain_text("Page 1")
    expect(page.locator("input[data-bulk-row]").nth(0)).to_be_checked()
    expect(page.locator("input[data-bulk-row]").nth(1)).to_be_checked()
    expect(bar.locator("[data-bulk-count]")).to_have_text("3")

    # select the whole page, then all orders matching the filter
    page.get_by_label("Select all orders on this page").check()
    all_matching = bar.get_by_role("button", name=f"Select all {PROCESSING} orders matching these filters")
    expect(all_matching).to_be_visible()
    all_matching.click()
    expect(bar.locator("[data-bulk-count]")).to_have_text(str(PROCESSING))
    expect(bar).to_contain_text("all orders matching these filters")
    expect(page.locator("input[data-bulk-row]").nth(5)).to_be_disabled()
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(SCREENSHOTS / "bulk-selection.png"))

    # ship them all with a carrier and a consignment number
    bar.get_by_role("button", name="Change status").click()
    expect(page.get_by_role("heading", name=f"Change status: {PROCESSING} orders")).to_be_visible()
    page.get_by_label("New status").select_option("shipped")
    page.get_by_label("Carrier").fill("BRT")
    page.get_by_label("Tracking number").fill("BRT-PALLET-0042")
    page.get_by_label("Note").fill("Afternoon pickup")
    page.get_by_role("button", name="Start job").click()

    # the job page: the bar moves while the worker works, then reaches 100% and polling stops
    page.wait_for_url(re.compile(r"/jobs/\d+/$"))
    progress = page.locator("#job-progress")
    expect(progress.locator(".badge")).to_have_text(re.compile("Queued|Running|Done"))
    page.wait_for_function(
        "() => { const p = document.querySelector('#job-progress'); return p && "
        "(p.dataset.status === 'done' || Number(document.querySelector('#job-succeeded').textContent) >= 50); }"
    )
    if progress.get_attribute("data-status") == "running":  # the worker was not faster than the browser
        expect(page.locator("#job-results tbody tr").first).to_be_visible()  # results arrive while it runs
        page.screenshot(path=str(SCREENSHOTS / "bulk-job-running.png"))
    expect(progress.locator(".job-percent")).to_have_text("100%", timeout=120_000)
    expect(progress.locator(".badge")).to_have_text("Done")
    expect(progress.locator("#job-succeeded")).to_have_text(str(PROCESSING))
    expect(progress.locator("#job-failed")).to_have_text("0")
    expect(progress.locator("#job-left")).to_have_text("0")
    assert progress.get_attribute("hx-trigger") is None
    expect(page.locator("#job-announce")).to_have_text(f"Job done: {PROCESSING} done, 0 failed.")

    # the results refresh at the end; open one
    results = page.locator("#job-results")
    expect(results.locator("tbody tr")).to_have_count(50)
    expect(results).to_contain_text("Now shipped · BRT-PALLET-0042")
    first = results.locator("a.order-link").first
    number = first.inner_text()
    first.click()
    expect(page.locator("#order-header .badge-status-shipped")).to_be_visible()
    expect(page.locator("#order-history")).to_contain_text("BRT-PALLET-0042")
    expect(page.locator("h1")).to_contain_text(number)

    # the API holds exactly one shipment per order, each naming Marta and the job
    job = BulkJob.objects.get()
    assert Order.objects.filter(status="shipped").count() == PROCESSING
    changes = HistoryEntry.objects.filter(kind="status", to_status="shipped")
    assert changes.count() == PROCESSING
    assert set(changes.values_list("note", "actor_name")) == {
        (f"Afternoon pickup · bulk job #{job.pk}", "Marta Esposito")
    }
    csp_errors = [e for e in page.console_errors if "Content Security Policy" in e]
    assert not csp_errors, csp_errors


def test_tracking_upload_previews_each_row_before_anything_ships(live_server, page, shop, tmp_path):
    ready = shop["processing"][:3]
    delivered = next(o for o in shop["other"] if o.status == "delivered")
    file = tmp_path / "brt-2024-05-20.csv"
    lines = ["Order Number;Carrier;Tracking #"]
    lines += [f"ORD-{o.order_number:06d};BRT;BRT-{1000 + i}" for i, o in enumerate(ready)]
    lines += [f"ORD-{delivered.order_number:06d};BRT;BRT-2000", "ORD-999999;GLS;GLS-1"]
    file.write_text("\n".join(lines) + "\n")

    sign_in(page, live_server)
    page.goto(f"{live_server.url}/stores/vesuvio-coffee/jobs/tracking/")
    page.get_by_label("Tracking file (CSV)").set_input_files(str(file))
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("#tracking-preview")
    expect(preview).to_contain_text("3 of 5 rows can ship")
    expect(preview).to_contain_text("It is delivered; its status can no longer change.")
    expect(preview).to_contain_text("No order with this number or external ID in this store.")
    page.screenshot(path=str(SCREENSHOTS / "bulk-tracking-preview.png"), full_page=True)
    assert Order.objects.filter(status="shipped").count() == 0  # nothing applied before the admin confirms
    expect(preview.get_by_role("button", name="Apply: ship 3 orders")).to_be_visible()
