"""EXPLAIN (ANALYZE, BUFFERS) of the order list as the API runs it, on the bench database.

The queries are captured from `orders.selectors.order_list` itself (the selector the endpoint calls) for
each list shape of issue 11: the default sort, one status, a 7-day created range, searches (a piece of a
customer's email — the bench's term —, a piece of a tracking number, a term most orders match) and one
customer. Each shape shows the timing of `order_list` (page, and the total: taken from the page when it is
not full, else a count capped at API_COUNT_CAP, then the planner's estimate when above it) beside the page
query alone — what a bare view runs —, and the plan of every query. Then a page 20,000 rows deep reached
by cursor against the first page. Writes bench/results/explain_list.md.

Targets: the page query of a shape without search reads its index in order (no Sort node); a search reads
the trigram indexes (BitmapOr), or, with more matches than the cap, the sort index; the count reads at
most API_COUNT_CAP + 1 rows; the deep cursor page costs no more than the first page.

    .venv/bin/python bench/explain_list.py        (BENCH_DATABASE_URL to point elsewhere)
"""

import os
import re
import statistics
import subprocess
import time
from datetime import UTC, datetime, timedelta

from _django import RESULTS, ROOT, biggest_store, setup

setup()

from django.conf import settings  # noqa: E402
from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from orders import pagination, selectors  # noqa: E402
from orders.selectors import OrderFilters  # noqa: E402
from orders.serializers import SUMMARY_FIELDS  # noqa: E402

PAGE = 50
DEPTH = 20_000
RUNS = 25
SORT_NODE = re.compile(r"^\s*(->\s+)?(Incremental )?Sort\s+\(", re.MULTILINE)


def captured(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries]


def explain(sql: str) -> str:
    """The plan with ANALYZE; for the estimate query (an EXPLAIN itself, nothing runs): its top node."""
    with connection.cursor() as cursor:
        if sql.startswith("EXPLAIN"):
            start = time.perf_counter()
            cursor.execute(sql)
            plan = cursor.fetchone()[0][0]["Plan"]
            spent = (time.perf_counter() - start) * 1000
            return (
                f"planned {plan['Plan Rows']:,} rows ({plan['Node Type']}); the EXPLAIN took {spent:.2f} ms"
            )
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def run_sql(sql: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql)
        cursor.fetchall()


def timed(fn) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def label(sql: str) -> str:
    if sql.startswith("EXPLAIN"):
        return "estimate (EXPLAIN, not run)"
    if sql.startswith("SELECT COUNT(*)"):
        return "capped count"
    return "page query"


def shapes(store) -> dict[str, OrderFilters]:
    orders = store.orders.order_by("-created_at")
    newest = orders.values_list("created_at", flat=True).first()
    # The bench's own choices (bench/compare.py): a customer of the 5,000th newest order, and six
    # letters from the inside of that order's email; a piece of a tracking number of the same age.
    sample = orders.exclude(customer=None).values("customer_id", "customer_email")[5000]
    local = sample["customer_email"].split("@")[0]
    email_piece = local[1:7] if len(local) > 7 else local
    tracking = (
        orders.filter(metadata__has_key="trackingNumber").values_list("metadata__trackingNumber", flat=True)[
            5000
        ]
        or ""
    )
    return {
        "default sort (-createdAt)": OrderFilters(),
        "one status (status=shipped)": OrderFilters(statuses=("shipped",)),
        "date range (7 days, a month back)": OrderFilters(
            created_from=newest - timedelta(days=37), created_before=newest - timedelta(days=30)
        ),
        f"search {email_piece!r} (a piece of an email)": OrderFilters(search=email_piece),
        f"search {tracking[-8:]!r} (the end of a tracking number)": OrderFilters(search=tracking[-8:]),
        "search 'example' (most orders match)": OrderFilters(search="example"),
        "one customer": OrderFilters(customer_id=sample["customer_id"]),
    }


def header(store, total: int) -> list[str]:
    commit = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    load = " ".join(open("/proc/loadavg").read().split()[:3])  # noqa: SIM115, PTH123
    return [
        "# Order list: query plans and deep paging",
        "",
        f"Measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC at commit {commit or '?'}, {os.cpu_count()} cores "
        f"shared with other work (load average {load} at the start). Store {store.name!r}: {total:,} orders. "
        f"Page size {PAGE}; API_COUNT_CAP {settings.API_COUNT_CAP:,}. Timings are the median (p95) of "
        f"{RUNS} warm runs: `order_list` (all of its queries) and the query a bare view runs (the "
        "selector's `order_sorted_queryset(...).values(...)[:51]`, no total).",
        "",
    ]


def main() -> None:
    store = biggest_store()
    total = store.orders.count()
    out = header(store, total)
    summary = [
        "## Summary",
        "",
        "| shape | order_list | the bare view's query alone | order_list's queries: first call / within 60 s | total |",
        "|---|---|---|---|---|",
    ]
    sections = []
    verdicts = []
    for title, filters in shapes(store).items():

        def listed(f=filters):
            return selectors.order_list(store=store, filters=f, limit=PAGE)

        def bare(f=filters):
            return list(
                selectors.order_sorted_queryset(store=store, filters=f).values(*SUMMARY_FIELDS)[: PAGE + 1]
            )

        pagination._estimates.clear()  # the first call asks the planner; later ones reuse its answer
        sqls = captured(listed)
        warm = captured(listed)
        page = listed()
        median, p95 = timed(listed)
        alone = timed(bare)
        shown = f"{page.total:,}" + (
            " (estimate)" if page.total_is_estimate else "+" if page.total_is_capped else " (exact)"
        )
        summary.append(
            f"| {title} | {median:.2f} ms (p95 {p95:.2f}) | {alone[0]:.2f} ms (p95 {alone[1]:.2f}) "
            f"| {', '.join(label(s).split(' (')[0] for s in sqls)} / {len(warm)} | {shown} |"
        )
        sections += [f"## {title}", ""]
        for sql in sqls:
            plan = explain(sql)
            kind = label(sql)
            if kind == "page query":
                sort = bool(SORT_NODE.search(plan))
                if filters.search:
                    trigram = "BitmapOr" in plan
                    ok = trigram or not sort
                    how = "trigram indexes, then a sort of the matches" if trigram else "the sort index"
                    verdicts.append((title, ok, how))
                else:
                    verdicts.append(
                        (title, not sort, "index in order, no Sort node" if not sort else "Sort node")
                    )
            sections += [f"{kind}:", "", "```", sql, "", plan, "```", ""]

    # A page DEPTH rows deep by cursor, against the first page, in the default sort; an OFFSET page at
    # the same depth shows what the cursor saves.
    filters = OrderFilters()
    created_at, order_id = selectors.order_sorted_queryset(store=store, filters=filters).values_list(
        "created_at", "id"
    )[DEPTH - 1]
    cursor = pagination.encode_cursor(
        [pagination._key_to_json(created_at), str(order_id)], filters.fingerprint()
    )

    def page_sql(**kwargs) -> str:
        sqls = captured(lambda: selectors.order_list(store=store, filters=filters, limit=PAGE, **kwargs))
        return next(s for s in sqls if label(s) == "page query")

    first_sql, deep_sql, offset_sql = page_sql(), page_sql(cursor=cursor), page_sql(offset=DEPTH)
    first = timed(lambda: selectors.order_list(store=store, filters=filters, limit=PAGE))
    deep = timed(lambda: selectors.order_list(store=store, filters=filters, limit=PAGE, cursor=cursor))
    first_q, deep_q, offset_q = (timed(lambda s=s: run_sql(s)) for s in (first_sql, deep_sql, offset_sql))
    deep_plan, first_plan, offset_plan = explain(deep_sql), explain(first_sql), explain(offset_sql)

    def buffers(plan: str) -> str:
        match = re.search(r"Buffers: ([^\n]+)", plan)
        return match.group(1) if match else "?"

    def pages(plan: str) -> int:
        """Shared buffers the top node touched (hit + read): the work, free of timer noise."""
        return sum(int(n) for n in re.findall(r"(?:hit|read)=(\d+)", buffers(plan)))

    # "Costs no more than the first page": the same index scan without a Sort node, touching no more
    # pages (two more leaf pages are allowed: the cursor's boundary can straddle them). Timings are
    # shown too, but on a shared box they carry more noise than the difference.
    deep_ok = not SORT_NODE.search(deep_plan) and pages(deep_plan) <= pages(first_plan) + 2
    sections += [
        f"## Page {DEPTH:,} rows deep by cursor vs the first page (default sort)",
        "",
        "| page | order_list (page + total) | page query alone | page query buffers |",
        "|---|---|---|---|",
        f"| first | {first[0]:.2f} ms (p95 {first[1]:.2f}) | {first_q[0]:.3f} ms (p95 {first_q[1]:.3f}) "
        f"| {buffers(first_plan)} |",
        f"| {DEPTH:,} deep by cursor | {deep[0]:.2f} ms (p95 {deep[1]:.2f}) | {deep_q[0]:.3f} ms "
        f"(p95 {deep_q[1]:.3f}) | {buffers(deep_plan)} |",
        f"| {DEPTH:,} deep by offset (for contrast) | | {offset_q[0]:.3f} ms (p95 {offset_q[1]:.3f}) "
        f"| {buffers(offset_plan)} |",
        "",
        f"Deep page Sort node: **{'yes' if SORT_NODE.search(deep_plan) else 'no'}**",
        "",
        "```",
        deep_sql,
        "",
        deep_plan,
        "```",
        "",
    ]
    verdict = [
        "## Verdict",
        "",
        *[f"- {title}: page query reads {how} — {'PASS' if ok else 'FAIL'}" for title, ok, how in verdicts],
        f"- page {DEPTH:,} rows deep by cursor: {pages(deep_plan)} pages, {deep_q[0]:.3f} ms vs first page "
        f"{pages(first_plan)} pages, {first_q[0]:.3f} ms — {'PASS' if deep_ok else 'FAIL'} (by offset: "
        f"{pages(offset_plan)} pages, {offset_q[0]:.3f} ms)",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "explain_list.md"
    path.write_text("\n".join([*out, *summary, "", *verdict, *sections]))
    print("\n".join([*summary, "", *verdict]))
    print(f"Full plans in {path}")


if __name__ == "__main__":
    main()
