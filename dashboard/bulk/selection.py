"""What a person selected on the orders list, checked before a bulk job is made.

Two shapes (issue 13, "the selection is the filter, not a list of ids"):
- `filter`: "all N orders matching these filters". The list's query string is parsed by the list's own
  FilterSet into the API's list parameters (without paging) and stored on the job; the job resolves it
  into order ids when it starts. Up to BULK_JOB_MAX_ORDERS (10,000 by default).
- `ids`: rows ticked on the list ("select all on this page", single rows, across pages), sent as
  `[{"id": …, "number": …}]`; the number is only a label until the API answers. Up to MAX_EXPLICIT.

The browser keeps the selection while the person pages (static/js/app.js, sessionStorage keyed by
store and filter) and sends it here with the action chosen.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.http import QueryDict

from dashboard.client import OrdersApiClient
from dashboard.filters import OrderFilterSet

MAX_EXPLICIT = 1000
ORDER_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
# Paging is not part of a selection: the same orders on every page.
NOT_SELECTION = ("page", "page_size")


class SelectionError(ValueError):
    """The selection cannot be used; the message says why and what to do."""


@dataclass(frozen=True)
class Selection:
    scope: str  # "filter" | "ids"
    query: str  # the list's query string (without paging), to go back to the list
    label: str
    count: int
    api_filter: dict[str, Any] | None = None
    targets: list[dict[str, Any]] | None = None


def list_query(query: str) -> str:
    data = QueryDict(query, mutable=True)
    for key in NOT_SELECTION:
        data.pop(key, None)
    return data.urlencode()


def from_post(
    data: QueryDict, *, client: OrdersApiClient, statuses: list[str], payment_statuses: list[str]
) -> Selection:
    """The selection a bulk form carries (`scope`, `query`, `targets`); SelectionError if unusable."""
    scope = data.get("scope", "")
    query = list_query(data.get("query", ""))
    if scope == "ids":
        targets = parse_targets(data.get("targets", ""))
        return Selection(
            scope="ids",
            query=query,
            label=f"{len(targets):,} selected order{'s' if len(targets) != 1 else ''}",
            count=len(targets),
            targets=targets,
        )
    if scope != "filter":
        raise SelectionError("Select some orders on the list first.")
    filterset, api_filter = list_filter(query, statuses=statuses, payment_statuses=payment_statuses)
    page = client.orders.list(**api_filter, limit=1)
    limit = settings.BULK_JOB_MAX_ORDERS
    if page.total_is_capped or page.total > limit:
        raise SelectionError(
            f"More than {limit:,} orders match these filters; a bulk action takes at most {limit:,}. "
            "Narrow the filters (a status or a date range) and select again."
        )
    if page.total == 0:
        raise SelectionError("No orders match these filters any more.")
    return Selection(
        scope="filter",
        query=query,
        label=describe(filterset),
        count=page.total,
        api_filter=api_filter,
    )


def list_filter(
    query: str, *, statuses: list[str], payment_statuses: list[str]
) -> tuple[OrderFilterSet, dict[str, Any]]:
    """The list's query string as the API's list parameters without paging (JSON-ready)."""
    filterset = OrderFilterSet(QueryDict(query), statuses=statuses, payment_statuses=payment_statuses)
    if not filterset.is_valid():
        raise SelectionError("The list's filters are not valid any more; go back to the list and fix them.")
    api_filter = {k: v for k, v in filterset.api_params().items() if k not in {"limit", "offset"}}
    return filterset, {k: _json_value(v) for k, v in api_filter.items() if v not in (None, "", [])}


def parse_targets(raw: str) -> list[dict[str, Any]]:
    try:
        items = json.loads(raw or "[]")
    except ValueError:
        raise SelectionError("The selection could not be read; select the orders again.") from None
    if not isinstance(items, list) or not items:
        raise SelectionError("Select some orders on the list first.")
    if len(items) > MAX_EXPLICIT:
        raise SelectionError(
            f"{len(items):,} orders are ticked; ticked rows are limited to {MAX_EXPLICIT:,}. Use "
            "“Select all orders matching these filters” instead."
        )
    targets: dict[str, dict[str, Any]] = {}
    for item in items:
        order_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        if not ORDER_ID.match(order_id):
            raise SelectionError("The selection could not be read; select the orders again.")
        targets[order_id] = {"id": order_id, "number": str(item.get("number") or "")[:64]}
    return list(targets.values())


def describe(filterset: OrderFilterSet) -> str:
    """The filters in words, for the job's page: “All orders matching status processing, search “x””."""
    data = filterset.form.cleaned_data
    parts = []
    for name, field in filterset.form.fields.items():
        if name in {"sort", "page", "page_size"}:
            continue
        value = data.get(name)
        if value in (None, "", []):
            continue
        shown = ", ".join(str(v).replace("_", " ") for v in value) if isinstance(value, list) else str(value)
        parts.append(f"{str(field.label).lower()} {shown}")
    return "All orders matching " + "; ".join(parts) if parts else "All orders"


def _json_value(value: Any) -> Any:
    """Dates become ISO text: the filter is stored as JSON on the job and sent again when it starts."""
    return value.isoformat() if hasattr(value, "isoformat") else value
