"""A bulk status change of `--orders` orders (5,000 by default) through a dashboard bulk job, on PostgreSQL,
through the in-process API — the code path of the task worker (`dashboard.bulk.runner.job_run`): the
filter resolved through the list endpoint, then one `PUT /orders/{id}/status` per order with its
Idempotency-Key, results saved per chunk. Reports orders/s and the worker's memory (RSS sampled every
0.2 s: at 0 %, 25 %, 50 %, 75 % and 100 % of the orders, and the peak), and writes
bench/results/bulk.md. Target: ≥ 50 orders/s with memory flat.

    .venv/bin/python bench/bulk.py [--orders 5000] [--concurrency N]   # BENCH_DATABASE_URL: default orders_bulk_bench

A fresh store is made for each run (its orders created with bulk inserts, not measured). Rate limits are
off: they are the API's business, not the job's (a standard key allows 100 changes a minute; the job
waits out a 429 as long as the API asks).
"""

import argparse
import os
import subprocess
import threading
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from _django import RESULTS, ROOT

os.environ.setdefault("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/orders_bulk_bench")
os.environ["RATE_LIMIT_ENABLED"] = "false"
os.environ.setdefault("LOG_LEVEL", "WARNING")

from _django import setup  # noqa: E402

setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from dashboard.bulk import runner  # noqa: E402
from dashboard.bulk.services import job_create  # noqa: E402
from dashboard.models import BulkJob, StoreConnection  # noqa: E402
from orders.auth import api_key_create  # noqa: E402
from orders.models import HistoryEntry, Order, Store  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * PAGE / 2**20


def seed(store: Store, n: int) -> None:
    now = timezone.now()
    Order.objects.bulk_create(
        [
            Order(
                store=store,
                order_number=i + 1,
                status="processing",
                payment_status="paid",
                paid_at=now,
                customer_email=f"bench{i}@example.com",
                customer_name=f"Bench {i}",
                item_count=1,
                subtotal=Decimal("10.00"),
                total=Decimal("10.00"),
                currency="EUR",
                created_at=now - timedelta(seconds=i),
                updated_at=now - timedelta(seconds=i),
            )
            for i in range(n)
        ],
        batch_size=1000,
    )
    Store.objects.filter(pk=store.pk).update(last_order_number=n)


class Sampler(threading.Thread):
    """RSS every 0.2 s with the job's progress, read from its row."""

    def __init__(self, job_id: int) -> None:
        super().__init__(daemon=True)
        self.job_id = job_id
        self.samples: list[tuple[int, float]] = []
        self.running = True

    def run(self) -> None:
        from django.db import connection

        while self.running:
            done = BulkJob.objects.filter(pk=self.job_id).values_list("succeeded", flat=True).first() or 0
            self.samples.append((done, rss_mb()))
            time.sleep(0.2)
        connection.close()


def at(samples: list[tuple[int, float]], done: int) -> float:
    return next((rss for d, rss in samples if d >= done), samples[-1][1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, help="API calls in flight (default BULK_JOB_CONCURRENCY)")
    args = parser.parse_args()
    if args.concurrency:
        settings.BULK_JOB_CONCURRENCY = args.concurrency
    call_command("migrate", verbosity=0)
    store = Store.objects.create(name=f"Bulk bench {uuid.uuid4().hex[:6]}", currency="EUR", timezone="UTC")
    seed(store, args.orders)
    key = api_key_create(store=store, name="bench bulk", tier="premium")
    connection = StoreConnection(name=store.name, slug=f"bulk-bench-{store.pk}", timezone="UTC")
    connection.set_api_key(key.plaintext)
    connection.save()
    user, _ = get_user_model().objects.get_or_create(username="bulk-bench@bench.test")
    job = job_create(
        store=connection,
        user=user,
        action="status",
        params={"status": "shipped", "carrier": "BRT"},
        selection_filter={"status": ["processing"], "sort": "-createdAt"},
    )
    BulkJob.objects.filter(pk=job.pk).update(task_id="bench")  # run here, not by a worker

    sampler = Sampler(job.pk)
    base = rss_mb()
    sampler.start()
    start = time.perf_counter()
    cpu = time.process_time()
    status = runner.job_run(job_id=job.pk)
    elapsed = time.perf_counter() - start
    cpu = time.process_time() - cpu
    sampler.running = False
    sampler.join()
    job.refresh_from_db()
    changes = HistoryEntry.objects.filter(store=store, kind="status").count()
    if status != "done" or job.succeeded != args.orders or changes != args.orders:
        raise SystemExit(
            f"The job did not ship every order once: {status}, {job.succeeded} done, {changes} changes"
        )

    n = args.orders
    rate = n / elapsed
    samples = sampler.samples or [(n, rss_mb())]
    marks = {p: at(samples, n * p // 100) for p in (0, 25, 50, 75, 100)}
    peak = max(rss for _, rss in samples)
    load = os.getloadavg()
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    stamp = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    summary = (
        f"{n:,} orders in {elapsed:.1f} s: {rate:.1f} orders/s (CPU {cpu:.1f} s); RSS at start {base:.0f} MB, "
        + ", ".join(f"{p} % {mb:.0f} MB" for p, mb in marks.items())
        + f"; peak {peak:.0f} MB (+{peak - base:.0f} MB)"
    )
    print(summary)
    lines = [
        "# Bulk job: status change through the in-process API",
        "",
        "`.venv/bin/python bench/bulk.py` — a bulk job shipping every order of a fresh store (filter",
        "`status=processing`), run by `dashboard.bulk.runner.job_run` as the task worker runs it: the filter",
        "resolved through `GET /orders` (cursor pages of 50), then one `PUT /orders/{id}/status` with its",
        "Idempotency-Key per order, results and counts saved every 50 orders. PostgreSQL, rate limits off.",
        "",
        "| when | commit | load average (1/5/15 min) | orders | in flight | seconds | orders/s | CPU s (per order) "
        "| RSS start → 25/50/75/100 % | peak |",
        "|---|---|---|---|---|---|---|---|---|---|",
        f"| {stamp} | {commit} | {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} | {n:,} | "
        f"{settings.BULK_JOB_CONCURRENCY} | {elapsed:.1f} | {rate:.1f} | {cpu:.1f} ({1000 * cpu / n:.0f} ms) | "
        f"{base:.0f} → {marks[25]:.0f} / {marks[50]:.0f} / {marks[75]:.0f} / {marks[100]:.0f} MB | {peak:.0f} MB |",
        "",
    ]
    out = Path(RESULTS / "bulk.md")
    previous = out.read_text().split("\n## Earlier runs\n", 1) if out.exists() else None
    history = []
    if previous:
        rows = [line for line in previous[0].splitlines() if line.startswith("| 20")]
        history = rows + (previous[1].strip().splitlines() if len(previous) > 1 else [])
    text = "\n".join(lines)
    if history:
        text += "\n## Earlier runs\n\n" + "\n".join(history) + "\n"
    out.write_text(text)


if __name__ == "__main__":
    main()
