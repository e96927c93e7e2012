"""Renders order batches to COPY text in worker processes while this process streams earlier batches
to PostgreSQL. Generation is pure Python and the slowest part of a big load; on the 2-core development
box two workers plus the server's ingest keep both cores busy.

Workers are forked, so they share the loaded catalogue and customers without pickling and never touch
the database connection. Where fork is unavailable (macOS/Windows spawn) batches render in-process.
"""

import multiprocessing
import random
from collections.abc import Iterator, Sequence

from orders.demo.generate import StoreContext, build_batch
from orders.demo.writer import Table, copy_text
from orders.statuses import OrderStatus

# The job the forked workers read; set right before the pool starts.
_job: dict = {}


def _render(task: tuple[int, int, int]) -> tuple[int, list[str]]:
    lo, hi, seed = task
    job = _job
    batch = build_batch(
        job["ctx"],
        random.Random(seed),  # noqa: S311 - demo data, not secrets
        first_number=job["first_number"] + lo,
        created=job["created"][lo:hi],
        statuses=job["statuses"][lo:hi],
        now=job["now"],
    )
    return hi - lo, [copy_text(table, getattr(batch, name)) for table, name in job["tables"]]


def rendered_batches(
    *,
    ctx: StoreContext,
    rng: random.Random,
    first_number: int,
    created: list[float],
    statuses: list[OrderStatus],
    now: float,
    tables: Sequence[tuple[Table, str]],
    batch_size: int,
    workers: int = 2,
) -> Iterator[tuple[int, list[str]]]:
    """(orders in the batch, COPY text per table) for consecutive batches, in order."""
    tasks = [
        (lo, min(lo + batch_size, len(created)), rng.getrandbits(64))
        for lo in range(0, len(created), batch_size)
    ]
    _job.update(
        ctx=ctx, first_number=first_number, created=created, statuses=statuses, now=now, tables=tables
    )
    try:
        if workers < 2 or len(tasks) < 2 or "fork" not in multiprocessing.get_all_start_methods():
            yield from map(_render, tasks)
            return
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            yield from pool.imap(_render, tasks)
    finally:
        _job.clear()
