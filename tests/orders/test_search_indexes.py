"""The list's `search` on PostgreSQL: migration 0004's trigram indexes exist and serve the SQL the search
filter emits (an expression that differs from the indexed one, by an UPPER() for instance, is never
served). Their speed at a million orders is in bench/results/explain_list.md."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import selectors
from orders.models import Order
from orders.selectors import OrderFilters
from tests.factories import CustomerFactory, make_order

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TRIGRAM_INDEXES = {
    "order_search_email_trgm": "USING gin (customer_email gin_trgm_ops)",
    "order_search_name_trgm": "USING gin (customer_name gin_trgm_ops)",
    "order_search_external_id_trgm": "USING gin (external_id gin_trgm_ops)",
    "order_search_tracking_trgm": "USING gin (((metadata ->> 'trackingNumber'::text)) gin_trgm_ops)",
}


def test_migration_created_the_trigram_indexes():
    # when
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'orders_order' AND indexname LIKE %s",
            ["order_search_%"],
        )
        found = dict(cursor.fetchall())
        cursor.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm'")
        extension = cursor.fetchone()
    # then
    assert extension == (1,)
    assert {name: definition.split(" ON public.orders_order ")[1] for name, definition in found.items()} == (
        TRIGRAM_INDEXES
    )


def test_every_searched_column_is_read_through_its_trigram_index(store):
    # given: an order, and scans that read a whole table or index priced out, so the planner takes
    # whatever index can serve the search's own condition. The store's filter is left out, and the
    # partial unique index on external_id (its `IS NOT NULL` is implied by any ILIKE) is dropped for
    # this test's transaction only: on a table this small either would be cheaper than a trigram index.
    customer = CustomerFactory(store=store, email="grace.hopper@example.com", first_name="Grace")
    wanted = make_order(store, customer=customer, external_id="shop-1", metadata={"trackingNumber": "1Z9"})
    searched = Order.objects.filter(selectors.search_filter("hopper")).values("pk")
    # when
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX order_external_id_unique_per_store")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        sql, params = searched.query.sql_with_params()
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    # then: one bitmap over the four trigram indexes (an OR of them), and it finds the order
    assert "BitmapOr" in plan
    assert all(f"Bitmap Index Scan on {name}" in plan for name in TRIGRAM_INDEXES), plan
    assert [row["pk"] for row in searched] == [wanted.id]


def test_the_list_selector_searches_with_that_filter(store):
    # given
    make_order(store, customer=CustomerFactory(store=store, email="grace.hopper@example.com"))
    # when
    with CaptureQueriesContext(connection) as queries:
        page = selectors.order_list(store=store, filters=OrderFilters(search="hopper"), limit=50)
    # then: the count and the page both carry the condition planned above, in the indexes' own terms
    assert len(page.rows) == 1
    assert len(queries.captured_queries) == 2
    for query in queries.captured_queries:
        assert (
            '"orders_order"."customer_email" ILIKE \'%hopper%\' OR '
            '"orders_order"."customer_name" ILIKE \'%hopper%\' OR '
            '"orders_order"."external_id" ILIKE \'%hopper%\' OR '
            "(\"orders_order\".\"metadata\" ->> 'trackingNumber') ILIKE '%hopper%'"
        ) in query["sql"]
