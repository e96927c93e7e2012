"""Streams an orders CSV export THROUGH THE DASHBOARD (sign-in, the dashboard view, the API client, the
in-process transport, the API endpoint, the server-side cursor) for about `--rows` orders of the biggest
bench store, and reports rows/s, time to first byte and memory growth. Writes
bench/results/export_dashboard.md. Target: memory growth < 100 MB at 100,000 rows (spec/dashboard.md §2).

    .venv/bin/python bench/export_dashboard.py [--rows 100000] [--tracemalloc]

`--tracemalloc` also traces Python's allocations (peak growth over the stream); it slows the run ~3×.
"""

import argparse
import os
import resource
import subprocess
import sys
import time
import tracemalloc
from datetime import UTC, datetime

from _django import RESULTS, ROOT, biggest_store, setup

setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.test import Client  # noqa: E402

from dashboard.models import Membership, StoreConnection  # noqa: E402
from orders.auth import api_key_create, api_key_revoke  # noqa: E402
from orders.models import Order  # noqa: E402

SLUG = "bench-export"


def commit() -> str:
    run = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return run.stdout.strip()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def created_from_for(store, rows: int) -> str:
    """The local day from which on the store has about `rows` orders (the export's `created_from`)."""
    nth = (
        Order.objects.filter(store=store)
        .order_by("-created_at")
        .values_list("created_at", flat=True)[rows - 1 : rows]
    )
    moment = next(iter(nth), None)
    return "" if moment is None else moment.date().isoformat()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--tracemalloc", action="store_true")
    args = parser.parse_args()
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    store = biggest_store()
    created_from = created_from_for(store, args.rows)
    query = {"created_from": created_from} if created_from else {}
    expected = Order.objects.filter(store=store).count() if not created_from else None
    issued = api_key_create(store=store, name="bench dashboard export", tier="premium")
    connection = StoreConnection(name=store.name, slug=SLUG, timezone="UTC")
    connection.set_api_key(issued.plaintext)
    connection.save()
    user = get_user_model().objects.create_user("bench-export@bench.test", "bench-export@bench.test")
    Membership.objects.create(user=user, store=connection, role="support")
    try:
        client = Client()
        client.force_login(user)
        baseline_rss = peak_rss_mb()
        if args.tracemalloc:
            tracemalloc.start()
        traced_base = tracemalloc.get_traced_memory()[0] if args.tracemalloc else 0
        start = time.perf_counter()
        cpu_start = time.process_time()
        response = client.get(f"/stores/{SLUG}/orders/export.csv", query)
        assert response.status_code == 200, response.content[:500]
        first_byte = None
        size = lines = 0
        for chunk in response.streaming_content:
            if first_byte is None:
                first_byte = time.perf_counter() - start
            size += len(chunk)
            lines += chunk.count(b"\n")
        elapsed = time.perf_counter() - start
        cpu = time.process_time() - cpu_start
        traced_peak = (tracemalloc.get_traced_memory()[1] - traced_base) / 2**20 if args.tracemalloc else None
        if args.tracemalloc:
            tracemalloc.stop()
        growth = peak_rss_mb() - baseline_rss
    finally:
        api_key_revoke(prefix=issued.api_key.prefix)
        connection.delete()
        user.delete()
    rows = lines - 1  # the header line
    memory_ok = growth < 100 and (traced_peak is None or traced_peak < 100)
    report = "\n".join(
        [
            f"# Orders CSV export of {rows:,} orders through the dashboard",
            "",
            f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit `{commit()}`; load average {load_before} "
            f"before, {' '.join(f'{x:.2f}' for x in os.getloadavg())} after, on {os.cpu_count()} cores shared "
            "with other work. Run: `PYTHONPATH=$PWD .venv/bin/python bench/export_dashboard.py"
            + "".join(f" {a}" for a in sys.argv[1:])
            + "`.",
            "",
            "The API writes the CSV with PostgreSQL's `COPY … TO STDOUT` (`orders/export.py`,"
            " `csv_stream_copy`); the dashboard streams it through.",
            "",
            f"`GET /stores/<slug>/orders/export.csv?{'created_from=' + created_from if created_from else ''}` "
            f"as a signed-in support user (Django test client), store of {store.orders.count():,} orders.",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            f"| rows | {rows:,}{f' of {expected:,}' if expected else ''} | about {args.rows:,} |",
            f"| time | {elapsed:.1f} s (first byte after {first_byte or 0:.3f} s) | |",
            f"| rate | **{rows / elapsed:,.0f} rows/s** ({rows / cpu:,.0f} rows per CPU-second) | |",
            f"| peak RSS growth | **{growth:.1f} MB** (baseline {baseline_rss:.0f} MB) | < 100 MB — "
            f"{'PASS' if growth < 100 else 'FAIL'} |",
            "| Python allocations, peak growth (tracemalloc) | "
            + (f"**{traced_peak:.1f} MB**" if traced_peak is not None else "not traced (`--tracemalloc`)")
            + f" | < 100 MB — {'PASS' if memory_ok else 'FAIL'} |",
            f"| bytes | {size / 1e6:.0f} MB | |",
            "",
            "The dashboard, the in-process API and the consumer run in one process, so the growth covers",
            "all three. Timings are figures, not assertions.",
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "export_dashboard.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
