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

from django.db import connection, transaction
from django.db.models import QuerySet
from django.db.models.expressions import RawSQL

from orders.encoding import dumps
from orders.serializers import EXPORT_FIELDS, order_number, order_summary_row

ROWS_PER_CHUNK = 1000
# One line ending for both CSV writers below (PostgreSQL's COPY writes "\n" only).
LINE_END = "\n"

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
    writer = csv.writer(buffer, lineterminator=LINE_END)
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


# ---------------------------------------------------------------------------------------------------
# The same CSV made by PostgreSQL itself (COPY … TO STDOUT). The Python writer above is bound by loading
# 19 typed columns per row into Python objects (~30k rows/s on this box before any formatting); COPY
# skips that. The SQL mirrors csv_cells cell for cell; tests/orders/api/test_export_orders.py checks
# that both writers produce the same bytes for tricky rows, so changing one without the other fails.

_ORDER = '"orders_order"'
_COPY_CHUNK_BYTES = 64 * 1024


def _sql_neutralise(column: str) -> str:
    """neutralise() in SQL, NULL for an empty cell (COPY quotes empty strings, csv.writer does not)."""
    cell = f"COALESCE({_ORDER}.{column}::text, '')"
    triggers = ", ".join(f"chr({ord(c)})" for c in FORMULA_TRIGGERS)
    return f"NULLIF(CASE WHEN left({cell}, 1) IN ({triggers}) THEN chr(39) || {cell} ELSE {cell} END, '')"


def _sql_local_iso(column: str) -> str:
    """local_iso() in SQL; the transaction's TimeZone is the store's during the COPY."""
    return f"""to_char({_ORDER}.{column}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""


_SQL_CELLS = (
    f"'ORD-' || CASE WHEN {_ORDER}.order_number < 1000000 "
    f"THEN lpad({_ORDER}.order_number::text, 6, '0') ELSE {_ORDER}.order_number::text END",
    f"{_ORDER}.id::text",
    _sql_neutralise("external_id"),
    _sql_neutralise("platform_name"),
    _sql_local_iso("created_at"),
    _sql_local_iso("updated_at"),
    f"{_ORDER}.status",
    f"{_ORDER}.payment_status",
    _sql_neutralise("customer_name"),
    _sql_neutralise("customer_email"),
    *(
        f"{_ORDER}.{column}::text"
        for column in ("item_count", "subtotal", "tax", "shipping", "discount", "total", "refunded_amount")
    ),
    _sql_neutralise("currency"),
)


def can_copy() -> bool:
    return connection.vendor == "postgresql"


def csv_stream_copy(orders: QuerySet, tz_name: str) -> Iterator[bytes]:
    """The CSV file for these filtered, ordered orders, written by PostgreSQL, in ~64 KB chunks.

    Runs in its own transaction, so the COPY lives exactly as long as the stream; the store's time zone
    is set for that transaction only.
    """
    names = [f"cell{i}" for i in range(len(_SQL_CELLS))]
    # RawSQL over constants defined above: no caller input reaches this SQL (filters arrive as params).
    cells = zip(names, _SQL_CELLS, strict=True)
    query = orders.annotate(**{name: RawSQL(sql, ()) for name, sql in cells})  # noqa: S611
    sql, params = query.values_list(*names).query.sql_with_params()
    header = io.StringIO()
    csv.writer(header, lineterminator=LINE_END).writerow(CSV_COLUMNS)
    yield header.getvalue().encode()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT set_config('TimeZone', %s, true)", [tz_name])
        pending = bytearray()
        with cursor.cursor.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)", params) as copy:
            for data in copy:
                pending += data
                if len(pending) >= _COPY_CHUNK_BYTES:
                    yield bytes(pending)
                    pending.clear()
        if pending:
            yield bytes(pending)
