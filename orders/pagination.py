"""Opaque keyset cursors for the list endpoints (orders, history feed).

A cursor is base64url(JSON) of the sort-key values of the last row returned plus its id, and a short
hash of the filters and sort it was made for. Continuing `WHERE (sort_col, id) < (last values)` in the
same order never skips or repeats a row while new rows arrive, and costs the same at any depth (the
composite indexes start the scan at the cursor). A cursor presented with other filters or another sort
is refused rather than silently returning a different walk.
"""

import base64
import binascii
import hashlib
import json
import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connections
from django.db.models import Count, IntegerField, Q, QuerySet, Subquery, Window
from django.db.models.expressions import Expression, RawSQL
from django.db.models.functions import Coalesce

from orders import errors
from orders.errors import FieldError

CURSOR_VERSION = 1


def fingerprint(*parts: Any) -> str:
    """A short stable hash of what a walk depends on (filters, sort)."""
    raw = json.dumps(parts, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()[:16]


def encode_cursor(key: list[Any], walk: str) -> str:
    """`key`: the sort value(s) and id of the last row, as JSON-safe values (str/int)."""
    raw = json.dumps({"v": CURSOR_VERSION, "k": key, "f": walk}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


_NOT_OURS = "it is not a cursor this API returned; pass `nextCursor` unchanged."


def invalid_cursor(message: str = _NOT_OURS) -> errors.ApiError:
    return errors.ValidationFailed(f"Invalid cursor: {message}", errors=[FieldError("cursor", message)])


def decode_cursor(token: str, walk: str, key_length: int) -> list[Any]:
    """The key stored in `token`. Raises ValidationFailed (field `cursor`) for a malformed cursor or
    one made for other filters/sort."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error, UnicodeDecodeError):
        raise invalid_cursor() from None
    if (
        not isinstance(data, dict)
        or data.get("v") != CURSOR_VERSION
        or not isinstance(data.get("k"), list)
        or len(data["k"]) != key_length
    ):
        raise invalid_cursor()
    if data.get("f") != walk:
        raise invalid_cursor(
            "it was made for other filters or another sort; repeat the request that returned it with "
            "the same filters and sort, or start again without a cursor."
        )
    return data["k"]


# ---------------------------------------------------------------------------------------------------
# Keyset pages over a queryset ordered by (column, id), both in the same direction.


def keyset_after(column: str, descending: bool, value: Any, last_id: Any) -> Q:
    """Rows strictly after (value, last_id) in the walk's order.

    Written as `col <= v AND (col < v OR id < last_id)` rather than a bare OR: the first conjunct is a
    range the index can start from, so a page deep in the walk costs what the first page costs.
    """
    if descending:
        return Q(**{f"{column}__lte": value}) & (Q(**{f"{column}__lt": value}) | Q(id__lt=last_id))
    return Q(**{f"{column}__gte": value}) & (Q(**{f"{column}__gt": value}) | Q(id__gt=last_id))


def _key_to_json(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()  # full microseconds: the walk must not lose ties
    if isinstance(value, Decimal | uuid.UUID):
        return str(value)
    return value


def _key_from_json(column: str, value: Any) -> Any:
    """A cursor's sort value back in its column's type. Raises ValueError for anything a cursor this
    API made cannot contain (the fingerprint is not a secret, so a cursor may be forged)."""
    if column in {"created_at", "updated_at", "changed_at"}:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None or not 1900 <= parsed.year <= 9000:
            raise ValueError("not a timestamp of this API")
        return parsed
    if column == "total":
        amount = Decimal(value)
        if not amount.is_finite() or abs(amount) >= Decimal("1e10"):
            raise ValueError("not an amount of this API")
        return amount
    if column == "order_number":
        number = int(value)
        if not 0 <= number < 2**63:
            raise ValueError("not an order number")
        return number
    return value


@dataclass(frozen=True)
class Total:
    """How many rows match. Exact unless `is_capped`: more than settings.API_COUNT_CAP rows match, and
    `count` is then the cap, or (`is_estimate`) PostgreSQL's planner estimate, which is above the cap."""

    count: int
    is_capped: bool = False
    is_estimate: bool = False


@dataclass
class Page:
    rows: list[dict[str, Any]]
    total: int
    total_is_capped: bool
    has_more: bool
    next_cursor: str | None
    total_is_estimate: bool = False


def _capped_query(qs: QuerySet) -> QuerySet:
    """The rows a capped count counts: at most settings.API_COUNT_CAP + 1 ids of `qs`, unordered."""
    return qs.order_by().values("pk")[: settings.API_COUNT_CAP + 1]


def capped_count(qs: QuerySet) -> tuple[int, bool]:
    """Exact count up to settings.API_COUNT_CAP: `COUNT(*)` over a `LIMIT cap+1` subquery, so counting
    a huge result set stops early instead of costing a full scan."""
    count = _capped_query(qs).count()
    return min(count, settings.API_COUNT_CAP), count > settings.API_COUNT_CAP


def _capped_count_column(qs: QuerySet) -> RawSQL:
    """`capped_count` as a column of another query (an uncorrelated subquery: PostgreSQL and SQLite run
    it once), so a page and its count take one round trip."""
    sql, params = _capped_query(qs).query.sql_with_params()
    # The SQL is what Django compiled from the queryset; every value stays a parameter.
    return RawSQL(f"SELECT COUNT(*) FROM ({sql}) AS capped", params)  # noqa: S608, S611


class CappedCountOfItsRows(Expression):
    """`capped_count` of the rows of the query this is a column of, ignoring that query's LIMIT and
    OFFSET: `(SELECT COUNT(*) FROM (SELECT 1 FROM <its table> WHERE <its WHERE> LIMIT cap + 1))`, the
    WHERE compiled from the query being compiled. The same count as `_capped_count_column` of that
    query's rows without compiling a second queryset (a sixth of a list page's time in Python).

    For a query of one table, not aliased (the lists' filters are columns of the order row); any other
    query gets `_capped_count_column(fallback)`, which must select the same rows."""

    output_field = IntegerField()

    def __init__(self, fallback: QuerySet) -> None:
        super().__init__()
        self.fallback = fallback

    def as_sql(self, compiler, connection):
        query = compiler.query
        table = query.get_meta().db_table
        if [alias for alias, uses in query.alias_refcount.items() if uses] != [table]:  # joins in use
            return compiler.compile(_capped_count_column(self.fallback))
        where, params = compiler.compile(query.where)
        condition = f" WHERE {where}" if where else ""
        cap = int(settings.API_COUNT_CAP) + 1
        # Inside the subquery the table's name refers to its own FROM: the count is uncorrelated. The
        # SQL is a table name and the WHERE Django compiled; every value stays a parameter.
        rows = f"SELECT 1 FROM {compiler.quote_name(table)}{condition} LIMIT {cap}"  # noqa: S608
        return f"(SELECT COUNT(*) FROM ({rows}) AS capped)", params  # noqa: S608


# Planner estimates, per query, for a minute: an estimate of a big count moves slowly, and a caller
# paging through one list (or a dashboard refreshing it) asks the same question again and again.
ESTIMATE_SECONDS = 60.0
_estimates: dict[tuple[Any, ...], tuple[float, int]] = {}


def planner_estimate(qs: QuerySet, *, key: Hashable | None = None) -> int | None:
    """PostgreSQL's estimate of how many rows `qs` matches: `EXPLAIN` plans the query without running
    it (a fraction of a millisecond at any size), remembered for ESTIMATE_SECONDS. None elsewhere.

    `key` names the rows `qs` selects (a store and a walk's fingerprint, say), so that a remembered
    estimate is found without compiling `qs` (a good part of a list request's time); without it, the
    SQL is the key."""
    if connections[qs.db].vendor != "postgresql":
        return None
    query = qs.order_by().values("pk")
    if key is None:
        sql, params = query.query.sql_with_params()
        key = (sql, tuple(params))
    key = (qs.db, key)
    now = time.monotonic()
    remembered = _estimates.get(key)
    if remembered and remembered[0] > now:
        return remembered[1]
    rows = int(json.loads(query.explain(format="json"))[0]["Plan"]["Plan Rows"])
    if len(_estimates) >= 1000:  # plenty for the lists in use; never a leak
        _estimates.clear()
    _estimates[key] = (now + ESTIMATE_SECONDS, rows)
    return rows


# Lists (by estimate key) whose count came back above the cap, until when: their pages skip the count,
# as their total is the (remembered) estimate anyway. Forgotten after ESTIMATE_SECONDS, like the estimate.
_beyond_cap_until: dict[tuple[str, Hashable], float] = {}


def _remember_beyond_cap(db: str, key: Hashable) -> None:
    if len(_beyond_cap_until) >= 1000:  # as _estimates
        _beyond_cap_until.clear()
    _beyond_cap_until[(db, key)] = time.monotonic() + ESTIMATE_SECONDS


def _known_beyond_cap(db: str, key: Hashable | None) -> bool:
    return key is not None and _beyond_cap_until.get((db, key), 0.0) > time.monotonic()


def forget_estimates() -> None:
    """Forget every remembered estimate and beyond-the-cap list (tests start each from nothing)."""
    _estimates.clear()
    _beyond_cap_until.clear()


def _beyond_cap(qs: QuerySet, *, estimate: bool, key: Hashable | None = None) -> Total:
    """More rows match than the cap: with `estimate`, the planner's estimate (when it agrees that there
    are more rows than the cap; `key` as for planner_estimate), else the cap itself."""
    planned = planner_estimate(qs, key=key) if estimate else None
    if planned is not None and planned > settings.API_COUNT_CAP:
        return Total(planned, is_capped=True, is_estimate=True)
    return Total(settings.API_COUNT_CAP, is_capped=True)


def count_total(qs: QuerySet, *, estimate: bool, key: Hashable | None = None) -> Total:
    """The exact count up to the cap; above it, `_beyond_cap`."""
    count, capped = capped_count(qs)
    return _beyond_cap(qs, estimate=estimate, key=key) if capped else Total(count)


def _after_cursor(qs: QuerySet, *, column: str, descending: bool, walk: str, cursor: str | None) -> QuerySet:
    """`qs` from just after the cursor's row. Raises ValidationFailed (field `cursor`) for a bad cursor."""
    if not cursor:
        return qs
    try:
        raw_value, raw_id = decode_cursor(cursor, walk, key_length=2)
        value = _key_from_json(column, raw_value)
        last_id = uuid.UUID(raw_id) if column != "changed_at" else int(raw_id)
        if isinstance(last_id, int) and not 0 <= last_id < 2**63:
            raise ValueError("not a row id")
    except (ValueError, TypeError, AttributeError, ArithmeticError):
        raise invalid_cursor() from None
    return qs.filter(keyset_after(column, descending, value, last_id))


def _page(
    rows: list[dict[str, Any]], *, limit: int, total: Total, column: str, walk: str, seen: int | None
) -> Page:
    """The Page of `rows` (up to limit + 1 fetched). `seen`: rows up to the end of this page, when known."""
    has_more = len(rows) > limit
    rows = rows[:limit]
    if total.is_estimate and seen is not None:
        # Never estimate fewer rows than the pages the caller has seen, and one more if there is a next.
        total = replace(total, count=max(total.count, seen + has_more))
    next_cursor = None
    if has_more:
        last = rows[-1]
        next_cursor = encode_cursor([_key_to_json(last[column]), _key_to_json(last["id"])], walk)
    return Page(
        rows=rows,
        total=total.count,
        total_is_capped=total.is_capped,
        total_is_estimate=total.is_estimate,
        has_more=has_more,
        next_cursor=next_cursor,
    )


def keyset_page(
    qs: QuerySet,
    *,
    column: str,
    descending: bool,
    walk: str,
    limit: int,
    offset: int,
    cursor: str | None,
    fields_: tuple[str, ...] | None,
    estimate: bool = False,
    estimate_key: Hashable | None = None,
) -> Page:
    """One page of `qs` (already ordered by column, id) as `.values(*fields_)` dicts (None: `qs` is the
    `.values()` of the fields wanted, with the sort column and id), and the total.

    The page query carries the capped count as a column (one round trip). The total is the page's own
    rows when it settles it (a first page, or any offset page, that is not full), else that count,
    exact up to the cap; above it, with `estimate`, the planner's. One query, whatever the page size
    (a second past the end, or for an estimate not remembered).

    With `estimate_key` (see planner_estimate), a list found above the cap is remembered so for
    ESTIMATE_SECONDS: its pages are then the bare page query, without the count (the larger part of
    the request's cost in the database and in compiling the query), and the total the remembered
    estimate — unless the page itself settles the total.
    """
    page_qs = _after_cursor(qs, column=column, descending=descending, walk=walk, cursor=cursor)
    skip_count = estimate and _known_beyond_cap(qs.db, estimate_key)
    if fields_ is not None:
        page_qs = page_qs.values(*fields_)
    if not skip_count:
        # Without a cursor the page's rows are `qs`'s: the count is compiled from the page query's WHERE.
        counted = _capped_count_column(qs) if cursor else CappedCountOfItsRows(fallback=qs)
        page_qs = page_qs.annotate(counted=counted)
    rows = list(page_qs[offset : offset + limit + 1])
    # Without a cursor, the rows before this page are `offset` rows of the list itself.
    seen = None if cursor else offset + min(len(rows), limit)
    if seen is not None and len(rows) <= limit and (rows or offset == 0):
        total = Total(seen)
    elif skip_count:
        total = _beyond_cap(qs, estimate=estimate, key=estimate_key)
    elif not rows:  # past the end: no row carried the count
        total = count_total(qs, estimate=estimate, key=estimate_key)
    elif rows[0]["counted"] <= settings.API_COUNT_CAP:
        total = Total(rows[0]["counted"])
    else:
        total = _beyond_cap(qs, estimate=estimate, key=estimate_key)
        if estimate and estimate_key is not None:
            _remember_beyond_cap(qs.db, estimate_key)
    if not skip_count:
        for row in rows:
            del row["counted"]
    return _page(rows, limit=limit, total=total, column=column, walk=walk, seen=seen)


# How many rows of the list without the search a search page walks in index order, per page of depth,
# before it looks the matches up through the search's own indexes instead (keyset_search_page).
SEARCH_WALK_ROWS = 5000


def keyset_search_page(
    matching: QuerySet,
    *,
    unsearched: Callable[[], QuerySet],
    sorted_matches: QuerySet,
    column: str,
    descending: bool,
    walk: str,
    limit: int,
    offset: int,
    cursor: str | None,
    estimate_key: Hashable | None = None,
) -> Page:
    """A page of a search, whose number of matches the planner misjudges (trigram statistics are coarse:
    on 200,000 orders it took 1,600 matches for 101, and walked the sort index through half the store,
    1.1 s, to find them). Two queries, whatever the search (three for a cursor page of few matches):

    - The planner's estimate first (EXPLAIN, nothing runs). When it expects more matches than the count
      cap (or cannot tell: SQLite), `matching` is walked in index order over at most SEARCH_WALK_ROWS
      rows of `unsearched()` (the list without the search, same order; built only then) per page of
      depth, a bound set by the value at that row (an InitPlan, so the index scan stops there). When
      the matches there fill the page, it is the page, and the total is the estimate (flagged), at
      least the rows seen.
    - Otherwise the matches are few (or old): `sorted_matches` (the same rows and order, sorted after
      the search's indexes found them) gives the page and, in the same query, their exact count.

    `matching` and `sorted_matches` are the `.values()` of the rows wanted, with the sort column and id.
    """
    depth = 1 + offset // limit

    def after(qs: QuerySet) -> QuerySet:
        return _after_cursor(qs, column=column, descending=descending, walk=walk, cursor=cursor)

    planned = planner_estimate(matching, key=estimate_key)
    if planned is None or planned > settings.API_COUNT_CAP:
        ahead = after(unsearched())
        prefix = "" if descending else "-"
        # The sort column's value at the bound; with fewer rows ahead, the last of them (the far end).
        bound = Coalesce(
            Subquery(ahead.values(column)[SEARCH_WALK_ROWS * depth - 1 : SEARCH_WALK_ROWS * depth]),
            Subquery(ahead.order_by(f"{prefix}{column}").values(column)[:1]),
        )
        walked = after(matching).filter(**{f"{column}__{'gte' if descending else 'lte'}": bound})
        rows = list(walked[offset : offset + limit + 1])
        if len(rows) > limit:
            if planned is None:
                total = count_total(matching, estimate=False)
            else:
                total = Total(planned, is_capped=True, is_estimate=True)
            return _page(
                rows,
                limit=limit,
                total=total,
                column=column,
                walk=walk,
                seen=None if cursor else offset + limit,
            )
    counted = after(sorted_matches).annotate(_matches=Window(Count("pk")))
    rows = list(counted[offset : offset + limit + 1])
    if rows and not cursor:
        total = Total(rows[0]["_matches"])
    elif not cursor and offset == 0:
        total = Total(0)
    else:
        # Past the end, or a cursor walk: the matches before this page are not in the window count.
        total = count_total(matching, estimate=True, key=estimate_key)
    for row in rows:
        del row["_matches"]
    seen = None if cursor else offset + min(len(rows), limit)
    return _page(rows, limit=limit, total=total, column=column, walk=walk, seen=seen)
