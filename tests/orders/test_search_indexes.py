"""The list's `search` on PostgreSQL: migration 0004's trigram indexes exist and serve the SQL the search
filter emits (an expression that differs from the indexed one, by an UPPER() for instance, is never
served); migration 0006's triggers keep every customer email and name of an order in SearchedText, where
a search matches them first. Their speed at a million orders is in bench/results/compare.md."""

import importlib

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders import selectors
from orders.models import Order, SearchedText
from orders.selectors import OrderFilters
from tests.factories import CustomerFactory, StoreFactory, make_order

searched_text_migration = importlib.import_module("orders.migrations.0006_searched_text")

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


def _plan(queryset_or_sql, params=()) -> str:
    """EXPLAIN with scans that read a whole table or index priced out, so the planner takes whatever
    index can serve the condition (on tables this small a scan would be cheaper than any index)."""
    if not isinstance(queryset_or_sql, str):
        queryset_or_sql, params = queryset_or_sql.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
        cursor.execute(f"EXPLAIN {queryset_or_sql}", params)
        return "\n".join(row[0] for row in cursor.fetchall())


def _bulk_create_like(order: Order, customers: list[tuple[str, str]]) -> None:
    """Orders of `order`'s store, one per (email, name), in one INSERT (numbers after 100)."""
    Order.objects.bulk_create(
        Order(
            store=order.store,
            order_number=100 + n,
            status=order.status,
            payment_status=order.payment_status,
            currency="EUR",
            customer_email=email,
            customer_name=name,
            created_at=order.created_at,
            updated_at=order.updated_at,
        )
        for n, (email, name) in enumerate(customers)
    )


def test_every_searched_column_is_read_through_its_trigram_index(store, monkeypatch):
    # given: an order, a term that each column contains, and no room for values (SEARCHED_VALUES_CAP 0),
    # so the email and the name are matched on the orders' own columns, as a term found in too many
    # distinct values is. The store's filter is left out, and the partial unique index on external_id
    # (its `IS NOT NULL` is implied by any ILIKE) is dropped for this test's transaction only.
    monkeypatch.setattr(selectors, "SEARCHED_VALUES_CAP", 0)
    customer = CustomerFactory(store=store, email="grace.hopper@example.com", first_name="Hopper")
    wanted = make_order(
        store, customer=customer, external_id="hopper-1", metadata={"trackingNumber": "1Z-hopper"}
    )
    searched = Order.objects.filter(selectors.search_filter("hopper")).values("pk")
    # when
    with connection.cursor() as cursor:
        cursor.execute("DROP INDEX order_external_id_unique_per_store")
    plan = _plan(searched)
    # then: one bitmap over the four trigram indexes (an OR of them), and it finds the order
    assert "BitmapOr" in plan
    assert all(f"Bitmap Index Scan on {name}" in plan for name in TRIGRAM_INDEXES), plan
    assert [row["pk"] for row in searched] == [wanted.id]


def test_the_searched_values_are_read_through_their_trigram_indexes(store):
    # given: the primary key (value, field) dropped for this test's transaction only: on a table this
    # small a scan of all of it is the cheapest plan, whatever else is priced out
    make_order(store, customer=CustomerFactory(store=store, email="grace.hopper@example.com"))
    with connection.cursor() as cursor:
        cursor.execute("ALTER TABLE orders_searchedtext DROP CONSTRAINT orders_searchedtext_pkey")
    # when
    plan = _plan(selectors._SEARCHED_VALUES_SQL, ["%hopper%", 201] * 2)
    # then: each field's partial index serves its arm
    assert "Bitmap Index Scan on searched_text_email_trgm" in plan, plan
    assert "Bitmap Index Scan on searched_text_name_trgm" in plan, plan


def test_the_email_and_name_arms_are_read_through_the_store_indexes(store):
    # given: an order whose email and name contain the term, so both arms are `column IN (values)`,
    # among 3,000 others of the store, with fresh statistics: on a store of a few orders, reading all
    # of them by any index on store_id would be the cheapest plan
    customer = CustomerFactory(
        store=store, email="grace.hopper@example.com", first_name="Grace", last_name="Hopper"
    )
    wanted = make_order(store, customer=customer)
    _bulk_create_like(wanted, [(f"person{n}@example.com", f"Person {n}") for n in range(3000)])
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE orders_order")
    searched = Order.objects.filter(selectors.search_filter("hopper"), store=store).values("pk")
    # when
    plan = _plan(searched)
    # then: each arm by its (store, column) index, not by a trigram index's equality (18 ms at 1M orders)
    assert "Bitmap Index Scan on order_store_customer_email" in plan, plan
    assert "Bitmap Index Scan on order_store_customer_name" in plan, plan
    assert [row["pk"] for row in searched] == [wanted.id]


def test_the_triggers_keep_every_email_and_name_an_order_carries(store):
    # given: orders written one by one, in bulk, and by an update of either column
    one = make_order(store, customer=CustomerFactory(store=store, email="One@Example.com", first_name="Ada"))
    _bulk_create_like(one, [(f"bulk{n}@example.com", "") for n in range(2)])
    Order.objects.filter(pk=one.pk).update(customer_email="changed@example.com")
    one.refresh_from_db()
    one.customer_name = "Renamed Person"
    one.save()
    # then: each value once, in its own case; an empty name is not a value
    assert set(SearchedText.objects.values_list("field", "value")) == {
        ("email", "One@Example.com"),
        ("email", "bulk0@example.com"),
        ("email", "bulk1@example.com"),
        ("email", "changed@example.com"),
        ("name", "Ada Tester"),
        ("name", "Renamed Person"),
    }


def test_the_migration_fills_the_values_of_orders_written_before_it(store):
    # given: orders whose values are missing (as before migration 0006), one value shared by two orders
    customer = CustomerFactory(store=store, email="before@example.com", first_name="Early")
    make_order(store, customer=customer)
    make_order(store, customer=customer)
    SearchedText.objects.all().delete()
    # when
    with connection.cursor() as cursor:
        cursor.execute(searched_text_migration.BACKFILL_SQL)
    # then
    assert set(SearchedText.objects.values_list("field", "value")) == {
        ("email", "before@example.com"),
        ("name", "Early Tester"),
    }


def test_a_search_finds_exactly_the_orders_a_substring_match_finds(store):
    # given: emails and names in mixed case, shared by several orders and stores, and with LIKE's
    # wildcards in them
    other_store = StoreFactory()
    people = [
        ("Grace.Hopper@Navy.mil", "Grace", "Hopper"),
        ("grace.h@example.com", "Grace", "Brewster"),
        ("ada@example.com", "Ada", "Lovelace"),
        ("a_b%c@example.com", "Percent", "Sign"),
        ("hopper2@example.org", "Edward", "Hopper"),
    ]
    for n, (email, first, last) in enumerate(people):
        for shop in (store, other_store):
            customer = CustomerFactory(store=shop, email=email, first_name=first, last_name=last)
            for _ in range(1 + n % 2):
                make_order(shop, customer=customer)
    orders = list(Order.objects.filter(store=store).values("pk", "customer_email", "customer_name"))

    for term in ("hopper", "GRACE", "grace.h", "e.h", "example", "a_b%c", "_", "%", "navy.mil", "nobody"):
        # when
        found = {
            row["pk"] for row in Order.objects.filter(selectors.search_filter(term), store=store).values("pk")
        }
        # then: what a case-insensitive substring test of the email or the name finds, in this store only
        expected = {
            o["pk"]
            for o in orders
            if term.casefold() in o["customer_email"].casefold()
            or term.casefold() in o["customer_name"].casefold()
        }
        assert found == expected, term


def test_the_list_selector_matches_the_values_first_then_the_orders_by_equality(store):
    # given
    make_order(store, customer=CustomerFactory(store=store, email="grace.hopper@example.com"))
    make_order(store, customer=CustomerFactory(store=store, email="Hopper@Example.com"))
    # when
    with CaptureQueriesContext(connection) as queries:
        page = selectors.order_list(store=store, filters=OrderFilters(search="hopper"), limit=50)
    # then: one look-up of the values, the planner's estimate, the page; the values matched by equality
    assert len(page.rows) == 2
    values, *order_queries = [q["sql"] for q in queries.captured_queries]
    assert "orders_searchedtext" in values
    assert "orders_order" not in values
    assert len(order_queries) == 2
    for sql in order_queries:
        where = sql.split(" WHERE ")[1]
        email_arm = where.split('"orders_order"."customer_email" IN (')[1].split(")")[0]
        assert sorted(email_arm.split(", ")) == ["'Hopper@Example.com'", "'grace.hopper@example.com'"]
        assert '"orders_order"."customer_name"' not in where  # no name contains the term
        assert '"orders_order"."external_id" ILIKE \'%hopper%\'' in where


def test_a_term_in_more_values_than_the_cap_is_matched_on_the_orders_column(store, monkeypatch):
    # given: three emails contain the term, one more than the cap
    monkeypatch.setattr(selectors, "SEARCHED_VALUES_CAP", 2)
    wanted = {
        make_order(store, customer=CustomerFactory(store=store, email=f"hopper{n}@example.com")).pk
        for n in range(3)
    }
    make_order(store, customer=CustomerFactory(store=store, email="someone@example.com"))
    # when
    with CaptureQueriesContext(connection) as queries:
        page = selectors.order_list(store=store, filters=OrderFilters(search="hopper"), limit=50)
    # then: all three, found by the substring match on the orders' column
    assert {row["id"] for row in page.rows} == wanted
    assert page.total == 3
    assert '"orders_order"."customer_email" ILIKE \'%hopper%\'' in queries.captured_queries[-1]["sql"]
