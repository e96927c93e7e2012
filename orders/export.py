"""The order export (GET /api/v1/orders/export): CSV or NDJSON, streamed in chunks of rows.

The CSV columns are those of spec/dashboard.md §2 "CSV export"; the dashboard streams this file
through and mirrors the column list (it may not import this module). Rows arrive as tuples of
serializers.EXPORT_FIELDS from a server-side cursor; one chunk is yielded per ROWS_PER_CHUNK rows (a
yield per row was measured ~50% slower).
"""

import csv
import io
import itertools
from collections.abc import Iterable, Iterator
from datetime import datetime, tzinfo
from typing import Any

from orders.api import dumps
from orders.serializers import EXPORT_FIELDS, order_number, order_summary_row

ROWS_PER_CHUNK = 1000

CSV_COLUMNS = (
    "Order number",
    "Order ID",
    "External ID",
    "Platform",
    "Created",
    "Updated",
    "Status",
    "Payment status",
    "Customer name",
    "Customer email",
    "Items",
    "Subtotal",
    "Tax",
    "Shipping",
    "Discount",
    "Total",
    "Refunded",
    "Currency",
)

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str) -> str:
    """Prefix a single quote to a cell a spreadsheet would evaluate; every other cell is unchanged.

    Applied to every cell whose text comes from outside (platform, customer). The other cells are
    made here and cannot start with a trigger: numbers ≥ 0, dates, UUIDs, `ORD-…`, status names.
    """
    if cell.startswith(FORMULA_TRIGGERS):
        return "'" + cell
    return cell


def local_iso(value: datetime | None, tz: tzinfo) -> str:
    """ISO 8601 in the store's timezone with its offset, to the second: 2024-01-31T23:30:00-05:00."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


def csv_cells(row: tuple, tz: tzinfo) -> list[str]:
    """One export row (a tuple of EXPORT_FIELDS) → the CSV cells, in CSV_COLUMNS order, neutralised."""
    (
        id_,
        external_id,
        platform_name,
        number,
        status,
        payment_status,
        _customer_id,
        customer_email,
        customer_name,
        item_count,
        total,
        refunded_amount,
        currency,
        created_at,
        updated_at,
        subtotal,
        tax,
        shipping,
        discount,
    ) = row
    created = local_iso(created_at, tz)
    return [
        order_number(number),
        str(id_),
        neutralise(external_id or ""),
        neutralise(platform_name),
        created,
        # Most orders were never updated: reuse the formatted time (isoformat is the row's main cost).
        created if updated_at == created_at else local_iso(updated_at, tz),
        status,
        payment_status,
        neutralise(customer_name),
        neutralise(customer_email),
        str(item_count),
        str(subtotal),
        str(tax),
        str(shipping),
        str(discount),
        str(total),
        str(refunded_amount),
        neutralise(currency),
    ]


def ndjson_object(row: tuple) -> dict[str, Any]:
    """One export row as the list's order summary plus the money breakdown."""
    values = dict(zip(EXPORT_FIELDS, row, strict=True))
    data = order_summary_row(values)
    data.update(
        subtotal=values["subtotal"],
        tax=values["tax"],
        shipping=values["shipping"],
        discount=values["discount"],
    )
    return data


def csv_stream(rows: Iterable[tuple], tz: tzinfo) -> Iterator[bytes]:
    """The CSV file (header row first) as UTF-8 chunks of ROWS_PER_CHUNK rows."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    for batch in itertools.batched(rows, ROWS_PER_CHUNK):
        writer.writerows([csv_cells(row, tz) for row in batch])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode()


def ndjson_stream(rows: Iterable[tuple]) -> Iterator[bytes]:
    """One JSON object per line, in chunks of ROWS_PER_CHUNK lines."""
    for batch in itertools.batched(rows, ROWS_PER_CHUNK):
        yield b"\n".join([dumps(ndjson_object(row)) for row in batch]) + b"\n"
