"""The search's table of distinct customer emails and names (issue 11), filled by triggers on PostgreSQL.

`orders.SearchedText` holds each distinct `customer_email` and `customer_name` of orders_order once;
orders.selectors.search_filter matches a term's substring there (a trigram index per field) and then
the orders by equality, through the (store, customer_email) index and the (store, customer_name) one
made here.

Triggers keep it complete whatever writes an order (the API, the dashboard, bulk jobs, seed_demo):
- an INSERT adds the new rows' values, once per statement from its transition table (cheap for a bulk
  load as for one order);
- an UPDATE that changes either column adds the new values (a status update does not fire it).
They run in the writing transaction, so an order and its values commit together. The trigger is made
before the backfill in this migration's transaction: an order written meanwhile waits for it (a few
seconds per million orders, with the name index's build).
SQLite has no trigram index to spare; its search stays a scan of the orders' own columns.
"""

from django.db import migrations, models

TRIGRAM_INDEXES = {
    "searched_text_email_trgm": "email",
    "searched_text_name_trgm": "name",
}

# The values of `rows` as (field, value) pairs; an empty column is never searched for. Sorted, so that
# transactions adding the same new values lock them in the same order (never a deadlock).
_VALUES_OF = """
    SELECT 'email', customer_email FROM {rows} WHERE customer_email <> ''
    UNION
    SELECT 'name', customer_name FROM {rows} WHERE customer_name <> ''
    ORDER BY 1, 2
"""

CREATE_SQL = f"""
CREATE FUNCTION orders_searched_text_of_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orders_searchedtext (field, value) {_VALUES_OF.format(rows="inserted_orders")}
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_searched_text_insert AFTER INSERT ON orders_order
    REFERENCING NEW TABLE AS inserted_orders FOR EACH STATEMENT
    EXECUTE FUNCTION orders_searched_text_of_inserted();

CREATE FUNCTION orders_searched_text_of_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO orders_searchedtext (field, value)
    SELECT field, value FROM (VALUES ('email', NEW.customer_email), ('name', NEW.customer_name)) AS v (field, value)
    WHERE value <> '' ORDER BY 1, 2
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END $$;

CREATE TRIGGER orders_searched_text_update AFTER UPDATE OF customer_email, customer_name ON orders_order
    FOR EACH ROW
    WHEN (OLD.customer_email IS DISTINCT FROM NEW.customer_email
          OR OLD.customer_name IS DISTINCT FROM NEW.customer_name)
    EXECUTE FUNCTION orders_searched_text_of_changed();
"""

# The orders written before the triggers existed.
BACKFILL_SQL = f"""
INSERT INTO orders_searchedtext (field, value) {_VALUES_OF.format(rows="orders_order")}
ON CONFLICT DO NOTHING
"""

DROP_SQL = """
DROP TRIGGER IF EXISTS orders_searched_text_insert ON orders_order;
DROP TRIGGER IF EXISTS orders_searched_text_update ON orders_order;
DROP FUNCTION IF EXISTS orders_searched_text_of_inserted();
DROP FUNCTION IF EXISTS orders_searched_text_of_changed();
"""


def create_triggers_and_indexes(apps, schema_editor) -> None:
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")  # as 0004; a no-op after it
    schema_editor.execute(CREATE_SQL)
    schema_editor.execute(BACKFILL_SQL)
    # Built after the backfill: faster than growing them, and a GIN index's own statistics (which
    # cost a trigram scan against a sequential one) are set by a build or a VACUUM, not by ANALYZE.
    for name, field in TRIGRAM_INDEXES.items():
        schema_editor.execute(
            f"CREATE INDEX {name} ON orders_searchedtext USING gin (value gin_trgm_ops) WHERE field = '{field}'"
        )
    schema_editor.execute("ANALYZE orders_searchedtext")


def drop_triggers(apps, schema_editor) -> None:
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP_SQL)  # the indexes go with the table


class Migration(migrations.Migration):
    dependencies = [("orders", "0005_order_number_allocation")]

    operations = [
        migrations.CreateModel(
            name="SearchedText",
            fields=[
                (
                    "pk",
                    models.CompositePrimaryKey(
                        "value", "field", blank=True, editable=False, primary_key=True, serialize=False
                    ),
                ),
                ("field", models.CharField(choices=[("email", "Email"), ("name", "Name")], max_length=5)),
                ("value", models.CharField(max_length=254)),
            ],
        ),
        migrations.RunPython(create_triggers_and_indexes, drop_triggers, elidable=False),
        migrations.AddIndex(
            model_name="order",
            index=models.Index(fields=["store", "customer_name"], name="order_store_customer_name"),
        ),
    ]
