"""Trigram indexes for the list's `search` (issue 11): PostgreSQL only, built without locking writes.

The search (orders.selectors.search_filter) is `col ILIKE '%term%'` on PostgreSQL for the customer's
email and name, the external ID and the tracking number (`metadata ->> 'trackingNumber'`); a GIN
index with `gin_trgm_ops` on exactly those expressions serves each arm of the OR (a BitmapOr), so a
search no longer reads the whole table. The order number is matched exactly, by the unique
(store, order_number) index.

`CREATE INDEX CONCURRENTLY` keeps the table writable while a big store's indexes are built; it
cannot run inside a transaction, hence `atomic = False`. A concurrent build that failed leaves an
INVALID index behind, which `IF NOT EXISTS` would keep: such a leftover is dropped and built again.
SQLite has no trigram indexes; its search is a scan (fine at the sizes SQLite is used for).
"""

from django.db import migrations

TRIGRAM_INDEXES = {
    "order_search_email_trgm": "customer_email",
    "order_search_name_trgm": "customer_name",
    "order_search_external_id_trgm": "external_id",
    "order_search_tracking_trgm": "(metadata ->> 'trackingNumber')",
}


def create_trigram_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, expression in TRIGRAM_INDEXES.items():
        with schema_editor.connection.cursor() as cursor:
            cursor.execute(
                "SELECT NOT i.indisvalid FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                "WHERE c.relname = %s AND pg_table_is_visible(c.oid)",
                [name],
            )
            row = cursor.fetchone()
        if row and row[0]:
            schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
        schema_editor.execute(
            f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON orders_order "
            f"USING gin ({expression} gin_trgm_ops)"
        )


def drop_trigram_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in TRIGRAM_INDEXES:
        schema_editor.execute(f"DROP INDEX CONCURRENTLY IF EXISTS {name}")
    # The pg_trgm extension stays: other objects may use it, and it costs nothing unused.


class Migration(migrations.Migration):
    atomic = False

    dependencies = [("orders", "0003_task_ids")]

    operations = [migrations.RunPython(create_trigram_indexes, drop_trigram_indexes, elidable=False)]
