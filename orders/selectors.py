"""Reads, always scoped to one store. An object of another store is indistinguishable from a missing one.

Every function takes the store explicitly (keyword-only) and filters on it first, so no read can leak
across stores by forgetting a filter in a view.
"""

import functools
import re
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from datetime import date, datetime, time, timedelta, tzinfo
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection, connections
from django.db.models import (
    Count,
    F,
    Lookup,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    prefetch_related_objects,
)
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce, TruncDate
from django.db.models.lookups import IContains

from orders import errors, json_rows, pagination
from orders.models import (
    Customer,
    HistoryEntry,
    LineItem,
    Order,
    Product,
    Refund,
    SearchedText,
    Store,
    Variant,
)
from orders.serializers import EXPORT_FIELDS, HISTORY_FEED_FIELDS, SUMMARY_FIELDS, order_summary_json
from orders.statuses import OrderStatus


def _storable(ref: str) -> bool:
    """False for a reference no row can have: PostgreSQL text cannot hold NUL (it would raise)."""
    return "\x00" not in ref


def _as_uuid(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return None


def order_ref_filter(order_ref: str) -> Q:
    """`orderId` in a path is the order's UUID or its external (platform) ID.

    A platform may itself use UUIDs as order ids, so a UUID-shaped reference matches either; the
    order's own id wins when both exist (see `order_get`).
    """
    as_uuid = _as_uuid(order_ref)
    if as_uuid is None:
        return Q(external_id=order_ref)
    return Q(id=as_uuid) | Q(external_id=order_ref)


def _pick(orders: list[Order], order_ref: str) -> Order:
    if not orders:
        raise errors.OrderNotFound(f"No order {order_ref!r} in this store (looked up by id and external id).")
    # Own id before external id when a UUID-shaped reference matched two orders.
    return min(orders, key=lambda o: 0 if str(o.id) == order_ref.lower() else 1)


def order_get(*, store: Store, order_ref: str) -> Order:
    """The store's order by UUID or external ID. Raises errors.OrderNotFound (also for other stores')."""
    order_ref = order_ref.strip()
    if not _storable(order_ref):
        return _pick([], order_ref)
    return _pick(list(Order.objects.filter(order_ref_filter(order_ref), store=store)[:2]), order_ref)


def order_get_for_detail(*, store: Store, order_ref: str) -> Order:
    """Like `order_get`, with customer, items, refunds and history (oldest first) loaded: 2 queries on
    PostgreSQL (`load_detail_rows`), 4 elsewhere."""
    order_ref = order_ref.strip()
    if not _storable(order_ref):
        return _pick([], order_ref)
    orders = Order.objects.filter(order_ref_filter(order_ref), store=store).select_related("customer")
    order = _pick(list(orders[:2]), order_ref)
    load_detail_rows(order)
    return order


# The related rows an order's detail shows, in the order it shows them (history oldest first).
DETAIL_RELATIONS = (
    ("items", LineItem, ("position", "id")),
    ("refunds", Refund, ("created_at", "id")),
    ("history", HistoryEntry, ("changed_at", "id")),
)


@functools.cache
def _detail_rows_sql() -> str:
    """One statement: per relation, its rows of the order (`%s`, once per relation) as a JSON array."""
    qn = connection.ops.quote_name
    columns = [
        f"(SELECT COALESCE(json_agg(t ORDER BY {', '.join(f't.{qn(c)}' for c in order)}), '[]')::text "  # noqa: S608 - names from the models
        f"FROM {qn(model._meta.db_table)} t WHERE t.{qn('order_id')} = %s)"
        for _, model, order in DETAIL_RELATIONS
    ]
    return "SELECT " + ", ".join(columns)


def load_detail_rows(order: Order) -> None:
    """Load the order's items, refunds and history for its detail (serializers.order_detail), unless a
    service has already put them in place (`keep_written_rows`).

    On PostgreSQL one statement returns each relation's rows as JSON (orders/json_rows.py says why);
    elsewhere three prefetch queries."""
    cached = order.__dict__.get("_prefetched_objects_cache", {})
    if all(name in cached for name, _, _ in DETAIL_RELATIONS):
        return
    db = order._state.db or "default"
    if connections[db].vendor != "postgresql":
        prefetch_related_objects(
            [order],
            *(
                Prefetch(name, queryset=model.objects.order_by(*order_by))
                for name, model, order_by in DETAIL_RELATIONS
            ),
        )
        return
    with connections[db].cursor() as cursor:
        cursor.execute(_detail_rows_sql(), [order.pk] * len(DETAIL_RELATIONS))
        texts = cursor.fetchone()
    keep_written_rows(
        order,
        **{
            name: json_rows.instances(model, json_rows.parse(text), db=db)
            for (name, model, _), text in zip(DETAIL_RELATIONS, texts, strict=True)
        },
    )


def keep_written_rows(order: Order, **rows: list) -> None:
    """Make `order.<name>.all()` return `rows` without a query, as `prefetch_related` would: a service
    that has just written all of an order's related rows (a new order's items and history) hands them
    to the answer, which then reads nothing back. Django keeps prefetched rows in
    `_prefetched_objects_cache`, a queryset whose result is already in place per relation."""
    cache = order.__dict__.setdefault("_prefetched_objects_cache", {})
    for name, values in rows.items():
        queryset = getattr(order, name).all()
        queryset._result_cache = list(values)
        queryset._prefetch_done = True
        cache[name] = queryset


def order_history(*, order: Order) -> QuerySet[HistoryEntry]:
    """An order's history, oldest first."""
    return HistoryEntry.objects.filter(order=order, store_id=order.store_id).order_by("changed_at", "id")


# ---------------------------------------------------------------------------------------------------
# Order lists (spec §3.4): one filter object shared by the list, the export and the stats.


class Sort(NamedTuple):
    column: str
    descending: bool


# The API's sort values → column and direction. Each column has a (store, column DESC, id DESC) index
# (order_number: the unique constraint), scanned backwards for the ascending sorts.
SORTS: dict[str, Sort] = {
    "-createdAt": Sort("created_at", True),
    "createdAt": Sort("created_at", False),
    "-updatedAt": Sort("updated_at", True),
    "updatedAt": Sort("updated_at", False),
    "-total": Sort("total", True),
    "total": Sort("total", False),
    "-orderNumber": Sort("order_number", True),
    "orderNumber": Sort("order_number", False),
}
DEFAULT_SORT = "-createdAt"


@dataclass(frozen=True)
class OrderFilters:
    """Parsed, validated list filters. Time bounds are aware datetimes, `*_from` inclusive and
    `*_before` exclusive (a date-only `dateTo` becomes the next local midnight)."""

    statuses: tuple[str, ...] = ()
    payment_statuses: tuple[str, ...] = ()
    created_from: datetime | None = None
    created_before: datetime | None = None
    updated_from: datetime | None = None
    updated_before: datetime | None = None
    customer_id: uuid.UUID | None = None
    external_id: str | None = None
    platform_name: str | None = None
    search: str | None = None
    sort: str = DEFAULT_SORT

    def fingerprint(self) -> str:
        """What a cursor walk depends on: every filter and the sort."""
        return pagination.fingerprint(*(getattr(self, f.name) for f in fields(self)))


_ORDER_NUMBER = re.compile(r"^(?:ORD-?)?0*(\d{1,18})$", re.IGNORECASE)


class _Contains(IContains):
    """Case-insensitive "contains" in the form PostgreSQL's trigram indexes serve.

    Django's `icontains` is `UPPER(col::text) LIKE UPPER(%s)` there, which no index on the column
    can serve; `col ILIKE %s` is served by a GIN `gin_trgm_ops` index on the same expression
    (migration 0004). Other databases keep Django's own form (SQLite: `LIKE … ESCAPE '\\'`). The
    pattern is escaped as for `icontains` (`%`, `_` and `\\` in the term match themselves)."""

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = Lookup.process_lhs(self, compiler, connection)  # without the UPPER(…::text)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} ILIKE {rhs}", (*lhs_params, *rhs_params)


# Searched by substring, each with a trigram index on PostgreSQL (migration 0004 names the same
# expressions): the customer's email and name, the platform's order id, and the tracking number the
# status update stored in metadata. The email and the name are matched in SearchedText on PostgreSQL
# (their distinct values, migration 0006), under the field given here.
SEARCHED_TEXT: tuple[tuple[Any, str | None], ...] = (
    (F("customer_email"), SearchedText.Field.EMAIL),
    (F("customer_name"), SearchedText.Field.NAME),
    (F("external_id"), None),
    (KT("metadata__trackingNumber"), None),
)

# A term found in more distinct values of a field than this is matched on the orders' column itself
# (its trigram index), not by equality with each value: a list of thousands would cost more than the
# scan it saves, and a term that common matches too many orders to count anyway.
SEARCHED_VALUES_CAP = 200


def search_filter(term: str) -> Q:
    """Part of the customer's email or name, of the external ID or of the tracking number (any case),
    or the order number (`ORD-000123`, `ord-123`, `123`: exact, by the unique index).

    On PostgreSQL this reads SearchedText first (one query, run here): an email or name arm becomes
    `column IN (the values containing the term)`, or nothing when none does; the orders are then found
    by the (store, customer_email) and (store, customer_name) indexes instead of a trigram scan of every
    order's column, ten times the work in the 1M-order bench store. Elsewhere each arm is the substring
    match itself."""
    values = _searched_values(term) if connection.vendor == "postgresql" else {}
    condition = Q()
    for expression, field in SEARCHED_TEXT:
        found = values.get(field) if field else None
        if found is None or len(found) > SEARCHED_VALUES_CAP:
            condition |= Q(_Contains(expression, term))
        elif found:
            condition |= Q(**{f"{expression.name}__in": found})
    number = _ORDER_NUMBER.match(term)
    if number:
        condition |= Q(order_number=int(number.group(1)))
    return condition


def _searched_values(term: str) -> dict[str, list[str]]:
    """field → the distinct values containing `term` (any case), at most SEARCHED_VALUES_CAP + 1 each:
    one statement, written out because the ORM's union of two sliced queries costs more to compile
    (0.5 ms) than it takes to run. The pattern is escaped as `icontains` escapes it."""
    pattern = f"%{connection.ops.prep_for_like_query(term)}%"
    found: dict[str, list[str]] = {field: [] for _, field in SEARCHED_TEXT if field}
    with connection.cursor() as cursor:
        cursor.execute(_SEARCHED_VALUES_SQL, [pattern, SEARCHED_VALUES_CAP + 1] * len(found))
        for field, value in cursor.fetchall():
            found[field].append(value)
    return found


_SEARCHED_VALUES_SQL = " UNION ALL ".join(
    f"(SELECT field, value FROM {SearchedText._meta.db_table} "  # noqa: S608 (constants only)
    f"WHERE field = '{field}' AND value ILIKE %s LIMIT %s)"
    for _, field in SEARCHED_TEXT
    if field
)


def order_filter_queryset(
    *, store: Store, filters: OrderFilters, base: QuerySet[Order] | None = None
) -> QuerySet[Order]:
    """The store's orders matching `filters`, unordered: `base` (all orders; SUMMARY_ROWS for a list's
    rows) filtered once (each `.filter()` copies the query)."""
    lookups: dict[str, Any] = {"store": store}
    if filters.statuses:
        lookups["status__in"] = filters.statuses
    if filters.payment_statuses:
        lookups["payment_status__in"] = filters.payment_statuses
    if filters.created_from:
        lookups["created_at__gte"] = filters.created_from
    if filters.created_before:
        lookups["created_at__lt"] = filters.created_before
    if filters.updated_from:
        lookups["updated_at__gte"] = filters.updated_from
    if filters.updated_before:
        lookups["updated_at__lt"] = filters.updated_before
    if filters.customer_id:
        lookups["customer_id"] = filters.customer_id
    if filters.external_id:
        lookups["external_id"] = filters.external_id
    if filters.platform_name:
        lookups["platform_name"] = filters.platform_name
    searched = [search_filter(filters.search)] if filters.search else []
    return (Order.objects.all() if base is None else base).filter(*searched, **lookups)


# The rows of an order list, `.values(*SUMMARY_FIELDS)`, made once: each list filters a copy of it
# instead of resolving the 16 field names again (a tenth of a list page's time in Python). Never
# evaluated itself.
SUMMARY_ROWS: QuerySet = Order.objects.values(*SUMMARY_FIELDS)
# On PostgreSQL the same rows as JSON the database wrote (serializers.order_summary_json), with the id
# and the sort column a cursor reads (the other sorts' columns, loaded for every row, went unread).
SUMMARY_JSON_ROWS: dict[str, QuerySet] = {
    column: Order.objects.values("id", column, summary=order_summary_json())
    for column in dict.fromkeys(sort.column for sort in SORTS.values())
}


def _summary_rows(sort_name: str) -> QuerySet:
    return SUMMARY_JSON_ROWS[SORTS[sort_name].column] if connection.vendor == "postgresql" else SUMMARY_ROWS


def order_sorted_queryset(
    *, store: Store, filters: OrderFilters, base: QuerySet[Order] | None = None
) -> QuerySet[Order]:
    """Filtered and ordered by the sort column, then id in the same direction (a total order)."""
    return _in_sort_order(order_filter_queryset(store=store, filters=filters, base=base), filters.sort)


def _in_sort_order(qs: QuerySet[Order], sort_name: str, *, in_memory: bool = False) -> QuerySet[Order]:
    """`qs` ordered by the sort column, then id in the same direction.

    `in_memory` gives the same order written so that PostgreSQL cannot read it off the sort's index —
    nulls placed opposite to the index; both columns are NOT NULL, so no row moves — and sorts the
    matching rows instead. That is right when few rows match a filter whose selectivity the planner
    misjudges (a search): walking the index in order would read most of the store to find them.
    """
    sort = SORTS[sort_name]
    keys = (F(sort.column), F("id"))
    if in_memory:
        order = [k.desc(nulls_last=True) if sort.descending else k.asc(nulls_first=True) for k in keys]
    else:
        order = [k.desc() if sort.descending else k.asc() for k in keys]
    return qs.order_by(*order)


def order_list(
    *, store: Store, filters: OrderFilters, limit: int, offset: int = 0, cursor: str | None = None
) -> pagination.Page:
    """A page of summary rows, the total and the next cursor. The rows are `.values(*SUMMARY_FIELDS)`,
    or on PostgreSQL each order's summary as JSON the database wrote (`summary`) with its sort columns:
    serializers.order_summary_items turns either into the API's list.

    The total is exact up to settings.API_COUNT_CAP and PostgreSQL's estimate above it (flagged); a
    search's is exact when it matches few orders, else the estimate (see `pagination`). One query
    whatever the page size; one more for a search (its values, see search_filter) and for an estimate
    not asked within the last minute. With
    `cursor`, the walk continues after the cursor's row (and `offset` skips further rows from there).
    Raises ValidationFailed for a bad cursor.
    """
    sort = SORTS[filters.sort]
    walk = filters.fingerprint()
    paging: dict[str, Any] = {
        "column": sort.column,
        "descending": sort.descending,
        "walk": walk,
        "limit": limit,
        "offset": offset,
        "cursor": cursor,
        # The filters (and sort) of this store's list: a remembered planner estimate is found by it.
        "estimate_key": ("orders", store.pk, walk),
    }
    if filters.search:
        # Filtered once: the search reads SearchedText when its filter is made.
        matching = order_filter_queryset(store=store, filters=filters, base=_summary_rows(filters.sort))
        return pagination.keyset_search_page(
            _in_sort_order(matching, filters.sort),
            unsearched=lambda: order_sorted_queryset(store=store, filters=replace(filters, search=None)),
            sorted_matches=_in_sort_order(matching, filters.sort, in_memory=True),
            **paging,
        )
    return pagination.keyset_page(
        order_sorted_queryset(store=store, filters=filters, base=_summary_rows(filters.sort)),
        fields_=None,
        estimate=True,
        **paging,
    )


def order_export_rows(*, store: Store, filters: OrderFilters) -> Iterator[tuple]:
    """Every matching order as a tuple of EXPORT_FIELDS, in the list's order, read from a server-side
    cursor in chunks (PostgreSQL; SQLite fetches in chunks) so memory stays flat at any size."""
    qs = order_sorted_queryset(store=store, filters=filters)
    return qs.values_list(*EXPORT_FIELDS).iterator(chunk_size=EXPORT_CHUNK_SIZE)


EXPORT_CHUNK_SIZE = 2000
STATS_DEFAULT_DAYS = 30
STATS_MAX_DAYS = 366


@dataclass
class OrderStats:
    by_status: dict[str, int]
    total_orders: int
    total_revenue: Decimal
    days: list[dict[str, Any]]  # {"date": date, "count": int, "revenue": Decimal}, every day of the window
    window_from: date
    window_to: date


def stats_window(*, filters: OrderFilters, tz: tzinfo, now: datetime) -> tuple[date, date]:
    """The local days of the daily series: the created-date filter's range, else the last 30 days.

    Returns (first day, last day), both inclusive, in the store's timezone.
    """
    last = (
        (filters.created_before - timedelta(microseconds=1)).astimezone(tz).date()
        if (filters.created_before)
        else now.astimezone(tz).date()
    )
    if filters.created_from:
        first = filters.created_from.astimezone(tz).date()
    else:
        first = last - timedelta(days=STATS_DEFAULT_DAYS - 1)
    return first, last


def order_stats(
    *, store: Store, filters: OrderFilters, tz: tzinfo, first_day: date, last_day: date
) -> OrderStats:
    """Counts per status (every status, zeros included) and totals over the filters, and the per-day
    count and revenue (sum of `total`) for each local day of [first_day, last_day]. Three aggregate
    queries; nothing is summed in Python per order."""
    qs = order_filter_queryset(store=store, filters=filters).order_by()
    by_status = dict.fromkeys((str(s) for s in OrderStatus), 0)
    total_orders, total_revenue = 0, Decimal("0.00")
    for row in qs.values("status").annotate(n=Count("id"), revenue=Sum("total")):
        by_status[row["status"]] = row["n"]
        total_orders += row["n"]
        total_revenue += row["revenue"] or Decimal("0.00")
    window_start = datetime.combine(first_day, time.min, tzinfo=tz)
    window_end = datetime.combine(last_day + timedelta(days=1), time.min, tzinfo=tz)
    per_day: dict[date, tuple[int, Decimal | None]] = {
        day_row["day"]: (day_row["count"], day_row["revenue"])
        for day_row in qs.filter(created_at__gte=window_start, created_at__lt=window_end)
        .annotate(day=TruncDate("created_at", tzinfo=tz))
        .values("day")
        .annotate(count=Count("id"), revenue=Sum("total"))
    }
    days = []
    day = first_day
    while day <= last_day:
        count, revenue = per_day.get(day, (0, None))
        days.append({"date": day, "count": count, "revenue": revenue or Decimal("0.00")})
        day += timedelta(days=1)
    return OrderStats(
        by_status=by_status,
        total_orders=total_orders,
        total_revenue=total_revenue,
        days=days,
        window_from=first_day,
        window_to=last_day,
    )


# ---------------------------------------------------------------------------------------------------
# History (spec §3.7)


@dataclass(frozen=True)
class HistoryFilters:
    changed_from: datetime | None = None
    changed_before: datetime | None = None
    to_statuses: tuple[str, ...] = ()
    actor: str | None = None

    def fingerprint(self) -> str:
        return pagination.fingerprint("history", *(getattr(self, f.name) for f in fields(self)))


def history_feed(
    *, store: Store, filters: HistoryFilters, limit: int, offset: int = 0, cursor: str | None = None
) -> pagination.Page:
    """The store's history entries, newest first, as `.values(*HISTORY_FEED_FIELDS)` rows. Two queries."""
    qs = HistoryEntry.objects.filter(store=store)
    if filters.changed_from:
        qs = qs.filter(changed_at__gte=filters.changed_from)
    if filters.changed_before:
        qs = qs.filter(changed_at__lt=filters.changed_before)
    if filters.to_statuses:
        qs = qs.filter(to_status__in=filters.to_statuses)
    if filters.actor:
        qs = qs.filter(actor_name__icontains=filters.actor)  # "marta" finds "Marta Esposito"
    return pagination.keyset_page(
        qs.order_by("-changed_at", "-id"),
        column="changed_at",
        descending=True,
        walk=filters.fingerprint(),
        limit=limit,
        offset=offset,
        cursor=cursor,
        fields_=HISTORY_FEED_FIELDS,
    )


# ---------------------------------------------------------------------------------------------------
# Customers and products


def _orders_count() -> Coalesce:
    # A correlated count per returned customer (served by the (store, customer, …) index) instead of a
    # GROUP BY over every order of the store.
    counted = (
        Order.objects.filter(customer=OuterRef("pk"))
        .order_by()
        .values("customer")
        .annotate(n=Count("*"))
        .values("n")
    )
    return Coalesce(Subquery(counted), 0)


def customer_list(
    *, store: Store, search: str | None, limit: int, offset: int
) -> tuple[list[Customer], int, bool, bool]:
    """A page of the store's customers, newest first, each with `orders_count`; the capped total,
    whether it is capped, and whether more follow. Two queries."""
    qs = Customer.objects.filter(store=store)
    if search:
        qs = qs.filter(
            Q(email__icontains=search) | Q(first_name__icontains=search) | Q(last_name__icontains=search)
        )
    total, capped = pagination.capped_count(qs)
    page: list[Customer] = list(
        qs.annotate(orders_count=_orders_count()).order_by("-created_at", "-id")[offset : offset + limit + 1]
    )
    return page[:limit], total, capped, len(page) > limit


def customer_get(*, store: Store, customer_id: str) -> Customer:
    """The store's customer by UUID, with `orders_count`. Raises errors.CustomerNotFound."""
    as_uuid = _as_uuid(customer_id)
    customer = (
        Customer.objects.filter(store=store, id=as_uuid).annotate(orders_count=_orders_count()).first()
        if as_uuid
        else None
    )
    if customer is None:
        raise errors.CustomerNotFound(f"No customer {customer_id!r} in this store.")
    return customer


def customer_get_by_email(*, store: Store, email: str) -> Customer:
    """The store's customer by email (stored lowercased; matched case-insensitively)."""
    customer = (
        Customer.objects.filter(store=store, email=email.strip().lower())
        .annotate(orders_count=_orders_count())
        .first()
        if _storable(email)
        else None
    )
    if customer is None:
        raise errors.CustomerNotFound(f"No customer with email {email!r} in this store.")
    return customer


def product_queryset(*, store: Store) -> QuerySet[Product]:
    return Product.objects.filter(store=store).prefetch_related(
        Prefetch("variants", queryset=Variant.objects.order_by("created_at", "external_id"))
    )


def product_get(*, store: Store, product_ref: str) -> Product:
    """The store's product by UUID or externalProductId, variants loaded. Raises errors.ProductNotFound."""
    product_ref = product_ref.strip()
    as_uuid = _as_uuid(product_ref)
    condition = Q(external_id=product_ref) | Q(id=as_uuid) if as_uuid else Q(external_id=product_ref)
    products = list(product_queryset(store=store).filter(condition)[:2]) if _storable(product_ref) else []
    if not products:
        raise errors.ProductNotFound(
            f"No product {product_ref!r} in this store (looked up by id and external id)."
        )
    return min(products, key=lambda p: 0 if str(p.id) == product_ref.lower() else 1)
