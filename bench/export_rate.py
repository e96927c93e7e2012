"""Streams the CSV export of every order of the biggest bench store through Django's test client (the
whole request path: middleware, auth, the endpoint, the server-side cursor, the CSV writer) and reports
rows/s and peak RSS growth. Writes bench/results/export_rate.md. Targets: ≥ 50,000 rows/s, < 100 MB.

    .venv/bin/python bench/export_rate.py [--format csv|ndjson]
"""

import argparse
import os
import resource
import time

from _django import RESULTS, biggest_store, setup

setup()

from django.test import Client  # noqa: E402

from orders.auth import api_key_create, api_key_revoke  # noqa: E402


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--format", choices=("csv", "ndjson"), default="csv")
    args = parser.parse_args()
    store = biggest_store()
    expected = store.orders.count()
    issued = api_key_create(store=store, name="bench export", tier="premium")
    try:
        client = Client(HTTP_X_API_KEY=issued.plaintext)
        baseline = peak_rss_mb()
        cpu_start = time.process_time()
        start = time.perf_counter()
        response = client.get("/api/v1/orders/export", {"format": args.format})
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
        growth = peak_rss_mb() - baseline
    finally:
        api_key_revoke(prefix=issued.api_key.prefix)
    rows = lines - (1 if args.format == "csv" else 0)  # the header line
    rate = rows / elapsed
    ok_rate, ok_memory, ok_rows = rate >= 50_000, growth < 100, rows == expected
    report = "\n".join(
        [
            f"# Export of {rows:,} orders as {args.format.upper()} through the Django test client",
            "",
            "| figure | value | target |",
            "|---|---|---|",
            f"| rows | {rows:,} of {expected:,} | all — {'PASS' if ok_rows else 'FAIL'} |",
            f"| time | {elapsed:.1f} s (first byte after {first_byte or 0:.3f} s) | |",
            f"| Python CPU | {cpu:.1f} s ({rows / cpu:,.0f} rows per CPU-second; the rest is the database "
            "and other work on the box) | |",
            f"| rate | **{rate:,.0f} rows/s** | ≥ 50,000 — {'PASS' if ok_rate else 'FAIL'} |",
            f"| peak RSS growth | **{growth:.1f} MB** (baseline {baseline:.0f} MB) | < 100 MB — "
            f"{'PASS' if ok_memory else 'FAIL'} |",
            f"| bytes | {size / 1e6:.0f} MB | |",
            "",
            f"Load average at the end: {' '.join(map(str, os.getloadavg()))} on a 2-core box shared "
            "with other work.",
            "",
            "Peak RSS is `getrusage(RUSAGE_SELF).ru_maxrss` before and after the stream, in the process",
            "that runs both the endpoint and the consumer.",
            "",
        ]
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"export_rate_{args.format}.md").write_text(report)
    print(report)


if __name__ == "__main__":
    main()
