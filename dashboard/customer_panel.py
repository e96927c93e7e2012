"""The customer beside the order (issue 12, build 4): the customer's other orders, their order count
and total spent, and the way to all their orders in the list.

Two small API calls, both filtered by the customer: the list (`customerId`, newest first, one row more
than shown, as this order is among them) and the stats (`GET /orders/stats?customerId=…`: count and
sum of totals). A failure of either leaves the order page working: the panel says it could not load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse

from dashboard.api_types import Order, OrderSummary
from dashboard.client import ApiError, OrdersApiClient

OTHER_ORDERS_SHOWN = 5


@dataclass(frozen=True)
class CustomerPanel:
    list_url: str  # the orders list filtered by this customer
    other_orders: list[OrderSummary] = field(default_factory=list)
    order_count: int | None = None
    total_spent: Decimal | None = None
    currency: str = ""
    unavailable: bool = False  # the API could not tell: the panel says so, the page still renders


def customer_panel(client: OrdersApiClient, order: Order, *, store_slug: str) -> CustomerPanel | None:
    """None for an order without a customer."""
    if not order.customer_id:
        return None
    list_url = (
        reverse("dashboard:order_list", args=[store_slug]) + "?" + urlencode({"customer": order.customer_id})
    )
    try:
        page = client.orders.list(
            customer_id=order.customer_id, sort="-createdAt", limit=OTHER_ORDERS_SHOWN + 1
        )
        stats = client.orders.stats(customer_id=order.customer_id)
    except ApiError:
        return CustomerPanel(list_url=list_url, unavailable=True)
    others = [row for row in page.orders if row.id != order.id][:OTHER_ORDERS_SHOWN]
    return CustomerPanel(
        list_url=list_url,
        other_orders=others,
        order_count=stats.total_orders,
        total_spent=stats.total_revenue,
        currency=stats.currency,
    )
