"""Query parameters → the selectors' filter objects. Every bad field is reported at once (400
VALIDATION_ERROR, `errors: [{field, message}]`), each message saying what is accepted.

The date rule (spec §3.4): a date-only value is a whole day in the STORE's timezone — `dateFrom`
starts at that day's local 00:00, `dateTo` includes the whole day (we store the exclusive bound: the
next local midnight). A datetime with an offset is taken exactly. A datetime without an offset is read
in the store's timezone (the only reading that agrees with the date-only rule).
"""

import re
import uuid
import zoneinfo
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from orders import errors
from orders.api.schemas import CustomerListQuery, HistoryFeedQuery, OrderFilterQuery
from orders.errors import FieldError
from orders.models import Store
from orders.selectors import SORTS, HistoryFilters, OrderFilters
from orders.statuses import OrderStatus, PaymentStatus, parse_status

MIN_YEAR, MAX_YEAR = 1900, 9000
_DATE_ONLY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
DATE_FORMAT_HELP = (
    "Use YYYY-MM-DD (a whole day in the store's timezone) or an ISO 8601 datetime with an offset, "
    "e.g. 2024-01-31T23:59:59Z."
)


def store_timezone(store: Store) -> tzinfo:
    try:
        return zoneinfo.ZoneInfo(store.timezone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        # A store row with a bad zone name must not make every dated request fail; UTC is the
        # least surprising fallback.
        return zoneinfo.ZoneInfo("UTC")


def _local_midnight(day: date, tz: tzinfo) -> datetime:
    return datetime.combine(day, time.min, tzinfo=tz)


class _Collector:
    """Gathers field errors; `raise_if_any` raises one ValidationFailed naming them all."""

    def __init__(self) -> None:
        self.errors: list[FieldError] = []

    def add(self, field: str, message: str) -> None:
        self.errors.append(FieldError(field, message))

    def raise_if_any(self) -> None:
        if self.errors:
            named = ", ".join(dict.fromkeys(e.field for e in self.errors))
            raise errors.ValidationFailed(f"Invalid value for: {named}.", errors=self.errors)


def _blank(value: str | None) -> bool:
    return value is None or not value.strip()


def _bound(value: str | None, field: str, tz: tzinfo, *, end: bool, out: _Collector) -> datetime | None:
    """A date filter as an aware datetime: inclusive start, or (end=True) exclusive end."""
    if _blank(value):
        return None
    assert value is not None  # noqa: S101 - narrowed by _blank
    value = value.strip()
    try:
        if _DATE_ONLY.match(value):
            day = date.fromisoformat(value)
            moment = _local_midnight(day + timedelta(days=1) if end else day, tz)
        else:
            moment = datetime.fromisoformat(value)
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=tz)
            # An exact end is inclusive; the stored bound is exclusive (timestamps have microseconds).
            moment = moment + timedelta(microseconds=1) if end else moment
    except ValueError:
        out.add(field, f"{value!r} is not a date. {DATE_FORMAT_HELP}")
        return None
    except OverflowError:
        moment = datetime.min.replace(tzinfo=UTC)  # reported just below
    # Years 1 and 9999 cannot be converted to UTC and back in every timezone.
    if not MIN_YEAR <= moment.year <= MAX_YEAR:
        out.add(field, f"{value!r} is out of range: use a year from {MIN_YEAR} to {MAX_YEAR}.")
        return None
    # In UTC: ISO 8601 allows offsets (up to ±23:59) that PostgreSQL cannot store in a timestamptz.
    return moment.astimezone(UTC)


def _range(
    from_value: str | None,
    to_value: str | None,
    names: tuple[str, str],
    tz: tzinfo,
    out: _Collector,
) -> tuple[datetime | None, datetime | None]:
    start = _bound(from_value, names[0], tz, end=False, out=out)
    before = _bound(to_value, names[1], tz, end=True, out=out)
    if start and before and start >= before:
        out.add(names[1], f"{names[1]} must not be before {names[0]}.")
    return start, before


def _statuses(value: str | None, field: str, out: _Collector) -> tuple[str, ...]:
    if _blank(value):
        return ()
    assert value is not None  # noqa: S101
    parsed: list[str] = []
    for part in (p for p in value.split(",") if p.strip()):
        status = parse_status(part)
        if status is None:
            allowed = ", ".join(s.value for s in OrderStatus)
            out.add(
                field, f"Unknown status {part.strip()!r}. Use one or several (comma-separated) of: {allowed}."
            )
        elif status not in parsed:
            parsed.append(status.value)
    return tuple(parsed)


def _payment_statuses(value: str | None, out: _Collector) -> tuple[str, ...]:
    if _blank(value):
        return ()
    assert value is not None  # noqa: S101
    known = {s.value for s in PaymentStatus}
    parsed: list[str] = []
    for part in (p.strip().lower() for p in value.split(",") if p.strip()):
        if part not in known:
            out.add(
                "paymentStatus",
                f"Unknown payment status {part!r}. Use one or several (comma-separated) of: "
                + ", ".join(s.value for s in PaymentStatus)
                + ".",
            )
        elif part not in parsed:
            parsed.append(part)
    return tuple(parsed)


def _text(value: str | None, field: str, out: _Collector) -> str | None:
    if _blank(value):
        return None
    assert value is not None  # noqa: S101
    if "\x00" in value:
        # PostgreSQL text cannot hold NUL; refuse it here instead of failing in the database.
        out.add(field, f"{field} must not contain NUL characters.")
        return None
    return value.strip()


def order_filters(query: OrderFilterQuery, store: Store) -> OrderFilters:
    """The list/export/stats filters. Raises ValidationFailed naming every bad field."""
    out = _Collector()
    tz = store_timezone(store)
    created_from, created_before = _range(query.dateFrom, query.dateTo, ("dateFrom", "dateTo"), tz, out)
    updated_from, updated_before = _range(
        query.updatedFrom, query.updatedTo, ("updatedFrom", "updatedTo"), tz, out
    )
    customer_id = None
    if not _blank(query.customerId):
        try:
            customer_id = uuid.UUID(query.customerId.strip())  # type: ignore[union-attr]
        except ValueError:
            out.add("customerId", "customerId must be a customer's UUID.")
    sort = _text(query.sort, "sort", out) or "-createdAt"
    if sort not in SORTS:
        out.add("sort", f"Unknown sort {sort!r}. Use one of: {', '.join(SORTS)}.")
    filters = OrderFilters(
        statuses=_statuses(query.status, "status", out),
        payment_statuses=_payment_statuses(query.paymentStatus, out),
        created_from=created_from,
        created_before=created_before,
        updated_from=updated_from,
        updated_before=updated_before,
        customer_id=customer_id,
        external_id=_text(query.externalId, "externalId", out),
        platform_name=_text(query.platformName, "platformName", out),
        search=_text(query.search, "search", out),
        sort=sort,
    )
    out.raise_if_any()
    return filters


def history_filters(query: HistoryFeedQuery, store: Store) -> HistoryFilters:
    out = _Collector()
    tz = store_timezone(store)
    changed_from, changed_before = _range(query.dateFrom, query.dateTo, ("dateFrom", "dateTo"), tz, out)
    filters = HistoryFilters(
        changed_from=changed_from,
        changed_before=changed_before,
        to_statuses=_statuses(query.status, "status", out),
        actor=_text(query.actor, "actor", out),
    )
    out.raise_if_any()
    return filters


def customer_search(query: CustomerListQuery) -> str | None:
    out = _Collector()
    search = _text(query.search, "search", out)
    out.raise_if_any()
    return search
