"""Writes generated rows fast: COPY on PostgreSQL, one executemany INSERT elsewhere (SQLite).

Rows are tuples of text (or None) in the order of `Table.columns` (see generate.py for the text forms);
every other concrete column gets its field default. Not `bulk_create`: it runs `pre_save`, which
overwrites the `auto_now_add` timestamps set on purpose (customer sign-ups, refund times) with "now",
and building a model instance per row is the slowest part of a 1M-order load.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import orjson
from django.db import connection, models
from django.db.models.fields import AutoFieldMixin

NULL = "\\N"
# COPY text format: backslash, tab, newline and carriage return must be escaped inside values.
COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class Table:
    """A model's table and the columns the generator fills, in row order."""

    def __init__(self, model: type[models.Model], columns: Sequence[str]) -> None:
        fields = {f.attname: f for f in model._meta.concrete_fields}
        unknown = set(columns) - set(fields)
        if unknown:
            raise ValueError(f"{model.__name__} has no column(s) {sorted(unknown)}")
        self.db_table = model._meta.db_table
        self.fields = [fields[name] for name in columns]
        # Columns added later by additive migrations get their default, so the demo keeps working.
        self.default_fields = [
            f
            for f in model._meta.concrete_fields
            if f.attname not in columns and not isinstance(f, AutoFieldMixin)
        ]
        self.all_fields = self.fields + self.default_fields

    def target(self) -> str:
        quote = connection.ops.quote_name
        columns = ", ".join(quote(f.column or f.attname) for f in self.all_fields)  # concrete: column is set
        return f"{quote(self.db_table)} ({columns})"


def write_rows(table: Table, rows: Sequence[tuple]) -> None:
    """Insert the rows in the current transaction."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        _copy(table, rows)
    else:
        _insert(table, rows)


def _default_text(field: models.Field) -> str:
    value = field.get_default()
    if value is None:
        return NULL
    if isinstance(field, models.JSONField):
        return orjson.dumps(value).decode().translate(COPY_ESCAPES)
    if isinstance(value, bool):
        return "t" if value else "f"
    return str(value).translate(COPY_ESCAPES)


def _copy(table: Table, rows: Sequence[tuple]) -> None:
    copy_data(table, copy_text(table, rows))


def copy_text(table: Table, rows: Sequence[tuple]) -> str:
    """The rows in PostgreSQL's COPY text format, default columns appended."""
    if not rows:
        return ""
    tabs = len(table.fields) - 1
    lines = ["\t".join([NULL if v is None else v for v in row]) for row in rows]
    # Generated text never needs escaping, so the batch is checked as a whole (C-speed counts): each NULL
    # marker brings one backslash and each row `tabs` tabs; any other backslash, tab, newline or CR comes
    # from a value (JSON with an escaped quote, a name loaded from the database), and then every value
    # of the batch is escaped.
    text = "\n".join(lines)
    nulls = sum(row.count(None) for row in rows)
    if (
        text.count("\\") != nulls
        or text.count("\t") != tabs * len(rows)
        or text.count("\n") != len(rows) - 1
        or "\r" in text
    ):
        lines = ["\t".join([NULL if v is None else v.translate(COPY_ESCAPES) for v in row]) for row in rows]
    tail = "".join("\t" + _default_text(f) for f in table.default_fields) + "\n"
    return tail.join(lines) + tail


def copy_data(table: Table, data: str) -> None:
    """COPY text (from copy_text) into the table, in the current transaction."""
    if not data:
        return
    with connection.cursor() as cursor, cursor.cursor.copy(f"COPY {table.target()} FROM STDIN") as copy:  # type: ignore[attr-defined]
        copy.write(data)


def _insert(table: Table, rows: Sequence[tuple]) -> None:
    # Django's own per-field adaptation (text → UUID/Decimal/datetime/int, then the backend's form),
    # without pre_save. JSON arrives as JSON text, which is already its stored form.
    preps = [
        (lambda v, _c: v) if isinstance(f, models.JSONField) else f.get_db_prep_save for f in table.fields
    ]
    tail = tuple(f.get_db_prep_save(f.get_default(), connection) for f in table.default_fields)
    placeholders = ", ".join(["%s"] * len(table.all_fields))
    params = [tuple(prep(v, connection) for prep, v in zip(preps, row, strict=True)) + tail for row in rows]
    with connection.cursor() as cursor:
        cursor.executemany(f"INSERT INTO {table.target()} VALUES ({placeholders})", params)  # noqa: S608


@contextmanager
def bulk_load(tables: Sequence[Table], progress=None) -> Iterator[None]:
    """PostgreSQL: load into `tables` without their secondary indexes and foreign keys, then rebuild them.

    What pg_restore does (data, then indexes, then constraints): building an index once is far cheaper
    than updating a dozen per row, and re-adding a foreign key validates all rows in one join instead of
    one lookup per row at commit. Call inside `transaction.atomic()`: the drop, the load and the rebuild
    commit together or not at all, so an interrupted load leaves the schema as it was. The tables are
    locked (ACCESS EXCLUSIVE) meanwhile. Primary keys and unique constraints stay.
    """
    names = [t.db_table for t in tables]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid)
            FROM pg_index i
            WHERE i.indrelid = ANY(%s::regclass[])
              AND NOT EXISTS (
                SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid AND c.contype IN ('p', 'u', 'x')
              )
            """,
            [names],
        )
        indexes = cursor.fetchall()
        cursor.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'f' AND conrelid = ANY(%s::regclass[])",
            [names],
        )
        foreign_keys = cursor.fetchall()
        quote = connection.ops.quote_name
        for table, name, _ in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} DROP CONSTRAINT {quote(name)}")
        for name, _ in indexes:
            cursor.execute(f"DROP INDEX {name}")
    yield
    if progress is not None:
        progress.set_postfix_str(f"rebuilding {len(indexes)} indexes and {len(foreign_keys)} foreign keys")
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL maintenance_work_mem = '1GB'")
        for _, definition in indexes:
            cursor.execute(definition)
        for table, name, definition in foreign_keys:
            cursor.execute(f"ALTER TABLE {table} ADD CONSTRAINT {quote(name)} {definition}")
