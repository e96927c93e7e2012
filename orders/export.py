"""The order export (GET /api/v1/orders/export): CSV or NDJSON, streamed in chunks of rows.

The CSV columns are those of spec/dashboard.md §2 "CSV export", defined once in CSV_COLUMNS. The API
writes the CSV in one of two ways, both reading that list: in Python from rows of
serializers.EXPORT_FIELDS (SQLite, and wherever COPY is unavailable), or by PostgreSQL itself with
`COPY … TO STDOUT` (see csv_stream_copy); the bytes are the same. The dashboard only streams the API's
file through. The Python writer reads rows from a server-side cursor and yields one chunk per
ROWS_PER_CHUNK rows (a yield per row was measured ~50% slower).
"""

import csv
import io
import itertools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
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

# A spreadsheet runs a cell starting with one of these as a formula (CSV injection).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(cell: str | None) -> str:
    """Prefix a single quote to a cell a spreadsheet would evaluate; None is an empty cell.

    Applied to every cell whose text comes from outside (platform, customer). The other cells are
    made here and cannot start with a trigger: numbers ≥ 0, dates, UUIDs, `ORD-…`, status names.
    """
    if cell and cell.startswith(FORMULA_TRIGGERS):
        return "'" + cell
    return cell or ""


def local_iso(value: datetime | None, tz: tzinfo) -> str:
    """ISO 8601 in the store's timezone with its offset, to the second: 2024-01-31T23:30:00-05:00."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else ""


# ---------------------------------------------------------------------------------------------------
# How a value becomes a cell, in Python and — the same bytes — in PostgreSQL's SQL. The SQL gets the
# column's reference (`"orders_order".status`) and returns a text expression; NULL is an empty cell
# (COPY writes '' as `""`, csv.writer writes it as nothing, so an empty text cell must be NULL).

_ORDER = '"orders_order"'
Renderer = Callable[[Any], str]


@dataclass(frozen=True, slots=True)
class CellKind:
    """One way of writing a value: `python(tz)` gives the Python writer's value → cell function for a
    store's timezone; `sql(ref)` gives the expression the COPY writer selects for that column."""

    python: Callable[[tzinfo], Renderer]
    sql: Callable[[str], str]


def _sql_text(ref: str) -> str:
    return f"{ref}::text"


def _sql_neutralised(ref: str) -> str:
    """neutralise() in SQL."""
    cell = f"COALESCE({ref}::text, '')"
    triggers = ", ".join(f"chr({ord(c)})" for c in FORMULA_TRIGGERS)
    return f"NULLIF(CASE WHEN left({cell}, 1) IN ({triggers}) THEN chr(39) || {cell} ELSE {cell} END, '')"


def _sql_local_iso(ref: str) -> str:
    """local_iso() in SQL; the transaction's TimeZone is the store's during the COPY."""
    return f"""to_char({ref}, 'YYYY-MM-DD"T"HH24:MI:SSTZH:TZM')"""


def _sql_order_number(ref: str) -> str:
    """serializers.order_number() in SQL."""
    return f"'ORD-' || CASE WHEN {ref} < 1000000 THEN lpad({ref}::text, 6, '0') ELSE {ref}::text END"


def _local_time_renderer(tz: tzinfo) -> Renderer:
    last_value: datetime | None = None
    last_cell = ""

    def cell(value: datetime | None) -> str:
        # Most orders were never updated, so Updated repeats Created: reuse the formatted time
        # (isoformat is the row's main cost). csv_row_renderer makes one per stream for both columns,
        # so nothing is shared between streams.
        nonlocal last_value, last_cell
        if value != last_value:
            last_value, last_cell = value, local_iso(value, tz)
        return last_cell

    return cell


# A value made here (UUID, status name, count, money) whose str() is already the cell.
TEXT = CellKind(python=lambda _tz: str, sql=_sql_text)
# Text from outside (platform, customer): neutralised against formulas, NULL → empty.
OUTSIDE_TEXT = CellKind(python=lambda _tz: neutralise, sql=_sql_neutralised)
# A timestamp in the store's timezone, to the second, with its offset.
LOCAL_TIME = CellKind(python=_local_time_renderer, sql=_sql_local_iso)
# `ORD-000123`.
ORDER_NUMBER = CellKind(python=lambda _tz: order_number, sql=_sql_order_number)


@dataclass(frozen=True, slots=True)
class Column:
    """A CSV column: its header, the Order field it shows (one of serializers.EXPORT_FIELDS, the rows
    the Python writer gets) and the kind of cell it is."""

    header: str
    field: str
    kind: CellKind

    @property
    def sql(self) -> str:
        """The cell as the COPY writer selects it."""
        return self.kind.sql(f"{_ORDER}.{self.field}")


# The CSV columns, in order. Both writers read only this list: a new column is one entry here (and its
# field in serializers.EXPORT_FIELDS if the rows do not carry it yet).
CSV_COLUMNS: tuple[Column, ...] = (
    Column("Order number", "order_number", ORDER_NUMBER),
    Column("Order ID", "id", TEXT),
    Column("External ID", "external_id", OUTSIDE_TEXT),
    Column("Platform", "platform_name", OUTSIDE_TEXT),
    Column("Created", "created_at", LOCAL_TIME),
    Column("Updated", "updated_at", LOCAL_TIME),
    Column("Status", "status", TEXT),
    Column("Payment status", "payment_status", TEXT),
    Column("Customer name", "customer_name", OUTSIDE_TEXT),
    Column("Customer email", "customer_email", OUTSIDE_TEXT),
    Column("Items", "item_count", TEXT),
    Column("Subtotal", "subtotal", TEXT),
    Column("Tax", "tax", TEXT),
    Column("Shipping", "shipping", TEXT),
    Column("Discount", "discount", TEXT),
    Column("Total", "total", TEXT),
    Column("Refunded", "refunded_amount", TEXT),
    Column("Currency", "currency", OUTSIDE_TEXT),
)
CSV_HEADER: tuple[str, ...] = tuple(column.header for column in CSV_COLUMNS)
# Where each column's value sits in an export row; a field the rows lack fails here, at import.
_ROW_INDEX: tuple[int, ...] = tuple(EXPORT_FIELDS.index(column.field) for column in CSV_COLUMNS)


# ---------------------------------------------------------------------------------------------------
# The Python writers.


def csv_row_renderer(tz: tzinfo) -> Callable[[tuple], list[str]]:
    """For one stream: an export row (a tuple of EXPORT_FIELDS) → its CSV cells, in column order."""
    # One renderer per kind, shared by its columns (Created and Updated share the formatted time).
    renderers = {kind: kind.python(tz) for kind in {column.kind for column in CSV_COLUMNS}}
    plan = tuple(zip(_ROW_INDEX, [renderers[column.kind] for column in CSV_COLUMNS], strict=True))

    def cells(row: tuple) -> list[str]:
        return [render(row[index]) for index, render in plan]

    return cells


def csv_stream(rows: Iterable[tuple], tz: tzinfo) -> Iterator[bytes]:
    """The CSV file (header row first) as UTF-8 chunks of ROWS_PER_CHUNK rows."""
    cells = csv_row_renderer(tz)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator=LINE_END)
    writer.writerow(CSV_HEADER)
    for batch in itertools.batched(rows, ROWS_PER_CHUNK):
        writer.writerows([cells(row) for row in batch])
        yield buffer.getvalue().encode()
        buffer.seek(0)
        buffer.truncate()
    if buffer.tell():  # no rows: the header alone
        yield buffer.getvalue().encode()


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


def ndjson_stream(rows: Iterable[tuple]) -> Iterator[bytes]:
    """One JSON object per line, in chunks of ROWS_PER_CHUNK lines."""
    for batch in itertools.batched(rows, ROWS_PER_CHUNK):
        yield b"\n".join([dumps(ndjson_object(row)) for row in batch]) + b"\n"


# ---------------------------------------------------------------------------------------------------
# The same CSV made by PostgreSQL itself (COPY … TO STDOUT). The Python writer above is bound by loading
# 19 typed columns per row into Python objects (~30k rows/s on this box before any formatting); COPY
# skips that. The export tests (test_export_orders.py) hold both writers to the same literal bytes and to
# each other's bytes for tricky rows, so a cell kind whose SQL drifts from its Python fails.

_COPY_CHUNK_BYTES = 64 * 1024


def can_copy() -> bool:
    return connection.vendor == "postgresql"


def csv_stream_copy(orders: QuerySet, tz_name: str) -> Iterator[bytes]:
    """The CSV file for these filtered, ordered orders, written by PostgreSQL, in ~64 KB chunks.

    Runs in its own transaction, so the COPY lives exactly as long as the stream; the store's time zone
    is set for that transaction only.
    """
    names = [f"cell{i}" for i in range(len(CSV_COLUMNS))]
    # RawSQL over constants defined above: no caller input reaches this SQL (filters arrive as params).
    cells = {name: RawSQL(column.sql, ()) for name, column in zip(names, CSV_COLUMNS, strict=True)}  # noqa: S611
    sql, params = orders.annotate(**cells).values_list(*names).query.sql_with_params()
    header = io.StringIO()
    csv.writer(header, lineterminator=LINE_END).writerow(CSV_HEADER)
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
