"""EXPLAIN (ANALYZE, BUFFERS) of the order list as the API runs it, on the bench database.

The queries are captured from `orders.selectors.order_list` itself (the selector the endpoint calls),
for the default sort, one status, and a date range; then the first page is timed against a page
20,000 rows deep reached by cursor. Writes bench/results/explain_list.md. Targets: no Sort node in any
page query; the deep cursor page costs no more than the first page.

    .venv/bin/python bench/explain_list.py        (BENCH_DATABASE_URL to point elsewhere)
"""

import re
import statistics
import time
from datetime import timedelta

from _django import RESULTS, biggest_store, setup

setup()

from django.db import connection  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from orders import pagination, selectors  # noqa: E402
from orders.selectors import OrderFilters  # noqa: E402

PAGE = 50
DEPTH = 20_000
RUNS = 25
SORT_NODE = re.compile(r"^\s*(->\s+)?(Incremental )?Sort\s+\(", re.MULTILINE)


def captured(fn):
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return [q["sql"] for q in ctx.captured_queries]


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def timed(fn) -> tuple[float, float]:
    fn()  # warm
    samples = []
    for _ in range(RUNS):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(len(samples) * 0.95) - 1]


def main() -> None:
    store = biggest_store()
    total = store.orders.count()
    newest = store.orders.order_by("-created_at").values_list("created_at", flat=True).first()
    cases = {
        "default sort (-createdAt)": OrderFilters(),
        "one status (status=shipped)": OrderFilters(statuses=("shipped",)),
        "date range (7 days, a month back)": OrderFilters(
            created_from=newest - timedelta(days=37), created_before=newest - timedelta(days=30)
        ),
    }
    out = [
        "# Order list: query plans and deep paging",
        "",
        f"Store {store.name!r}: {total:,} orders. Page size {PAGE}; timings are the median (p95) of {RUNS} "
        "warm runs of `selectors.order_list` (both of its queries: the capped count and the page).",
        "",
    ]
    verdicts = []
    for title, filters in cases.items():
        sqls = captured(lambda f=filters: selectors.order_list(store=store, filters=f, limit=PAGE))
        median, p95 = timed(lambda f=filters: selectors.order_list(store=store, filters=f, limit=PAGE))
        out += [f"## {title}", "", f"`order_list` first page: {median:.2f} ms (p95 {p95:.2f} ms)", ""]
        for sql in sqls:
            plan = explain(sql)
            is_page = "LIMIT 51" in sql
            has_sort = bool(SORT_NODE.search(plan))
            if is_page:
                verdicts.append((title, not has_sort))
            label = "page query" if is_page else "capped count"
            out += [
                f"{label} — Sort node: **{'yes' if has_sort else 'no'}**",
                "",
                "```",
                sql,
                "",
                plan,
                "```",
                "",
            ]

    # A page DEPTH rows deep by cursor, against the first page, in the default sort. Both calls of
    # order_list run the same capped count; the page queries are also timed alone, and an OFFSET page
    # at the same depth shows what the cursor saves.
    filters = OrderFilters()
    created_at, order_id = selectors.order_sorted_queryset(store=store, filters=filters).values_list(
        "created_at", "id"
    )[DEPTH - 1]
    cursor = pagination.encode_cursor(
        [pagination._key_to_json(created_at), str(order_id)], filters.fingerprint()
    )

    def page_sql(**kwargs) -> str:
        sqls = captured(lambda: selectors.order_list(store=store, filters=filters, limit=PAGE, **kwargs))
        return next(s for s in sqls if "LIMIT 51" in s)

    def run_sql(sql: str) -> None:
        with connection.cursor() as c:
            c.execute(sql)
            c.fetchall()

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
    # pages (one more leaf page is allowed: the cursor's boundary can straddle two). Timings are shown
    # too, but on a shared box they carry more noise than the difference.
    deep_ok = not SORT_NODE.search(deep_plan) and pages(deep_plan) <= pages(first_plan) + 1
    out += [
        f"## Page {DEPTH:,} rows deep by cursor vs the first page (default sort)",
        "",
        "| page | order_list (count + page) | page query alone | page query buffers |",
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
        "## Verdict",
        "",
        *[
            f"- {title}: {'index scan, no Sort node — PASS' if ok else 'Sort node — FAIL'}"
            for title, ok in verdicts
        ],
        f"- page {DEPTH:,} rows deep by cursor: {pages(deep_plan)} pages, {deep_q[0]:.3f} ms vs first page "
        f"{pages(first_plan)} pages, {first_q[0]:.3f} ms — {'PASS' if deep_ok else 'FAIL'} (by offset: "
        f"{pages(offset_plan)} pages, {offset_q[0]:.3f} ms)",
        "",
    ]
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "explain_list.md"
    path.write_text("\n".join(out))
    print("\n".join(out[-len(verdicts) - 4 :]))
    print(f"Full plans in {path}")


if __name__ == "__main__":
    main()
