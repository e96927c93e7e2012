"""Reads, always scoped to one store. An object of another store is indistinguishable from a missing one.

Every function takes the store explicitly (keyword-only) and filters on it first, so no read can leak
across stores by forgetting a filter in a view.
"""

import uuid

from django.db.models import Prefetch, Q, QuerySet

from orders import errors
from orders.models import HistoryEntry, Order, Store


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
    return _pick(list(Order.objects.filter(order_ref_filter(order_ref), store=store)[:2]), order_ref)


def order_detail_queryset(*, store: Store) -> QuerySet[Order]:
    """Orders with everything the detail shows, in a fixed number of queries (1 + 3 prefetches)."""
    return (
        Order.objects.filter(store=store)
        .select_related("customer")
        .prefetch_related(
            "items",  # LineItem.Meta.ordering = position
            "refunds",  # Refund.Meta.ordering = created_at, id
            Prefetch("history", queryset=HistoryEntry.objects.order_by("changed_at", "id")),
        )
    )


def order_get_for_detail(*, store: Store, order_ref: str) -> Order:
    """Like `order_get`, with customer, items, refunds and history (oldest first) loaded: 4 queries."""
    order_ref = order_ref.strip()
    orders = list(order_detail_queryset(store=store).filter(order_ref_filter(order_ref))[:2])
    return _pick(orders, order_ref)


def order_history(*, order: Order) -> QuerySet[HistoryEntry]:
    """An order's history, oldest first."""
    return HistoryEntry.objects.filter(order=order, store_id=order.store_id).order_by("changed_at", "id")
