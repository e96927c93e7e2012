"""Small presentation helpers shared by templates and the table: badges, money, readable keys."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard.tracking import tracking_of

register = template.Library()

# Currencies without minor units; everything else shows two decimals.
ZERO_DECIMAL_CURRENCIES = {"JPY", "KRW", "VND", "CLP", "ISK", "HUF"}


@register.simple_tag
def status_badge(value: str, kind: str = "status") -> SafeString:
    """One colour per status everywhere (the class names are styled in app.css)."""
    label = (value or "unknown").replace("_", " ")
    return format_html('<span class="badge badge-{}-{}">{}</span>', kind, value or "unknown", label)


@register.simple_tag
def money(amount: Any, currency: str = "") -> SafeString:
    if amount is None:
        return format_html('<span class="money">—</span>')
    return format_html(
        '<span class="money">{} <span class="currency">{}</span></span>', _amount(amount, currency), currency
    )


def _amount(amount: Any, currency: str) -> str:
    """The number as shown: thousands separators, the currency's decimals."""
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    return f"{Decimal(str(amount)).quantize(Decimal(1).scaleb(-places)):,}"


@register.filter
def humanize_key(value: str) -> str:
    return str(value).replace("_", " ")


# What a history entry attached (spec §3.7 `metadata`), as staff read it: known keys get a label and a
# readable value; internal ids (a refund's UUID) are left out; other keys (free metadata) show as sent.
HISTORY_LABELS = {
    "amount": "Amount",
    "notifyCustomer": "Customer emailed",
    "failed": "Refund failed",
    "externalOrderId": "External order ID",
    "platformName": "Platform",
    "trackingNumber": "Tracking number",
    "carrier": "Carrier",
}
HISTORY_HIDDEN = frozenset({"refundId"})


@register.filter
def history_details(entry: Any, currency: str = "") -> list[tuple[str, str]]:
    """`(label, text)` pairs for a history entry's metadata: money with its currency, yes/no for flags,
    "removed" for a metadata key set to null."""
    details = []
    for key, value in (entry.metadata or {}).items():
        if key in HISTORY_HIDDEN:
            continue
        if key == "amount" and value is not None:
            text = money_plain(value, currency)
        elif isinstance(value, bool):
            text = "yes" if value else "no"
        elif value is None:
            text = "removed" if entry.kind == "metadata" else "—"
        else:
            text = str(value)
        details.append((HISTORY_LABELS.get(key, key), text))
    return details


def money_plain(amount: Any, currency: str = "") -> str:
    """Money as text ("1,234.50 EUR"), for sentences and form messages; `money` is the HTML form."""
    return f"{_amount(amount, currency)} {currency}".strip()


@register.filter
def tracking(metadata: Any) -> Any:
    """`{% with t=order.metadata|tracking %}`: the order's tracking number, carrier and carrier link
    (dashboard/tracking.py), or None."""
    return tracking_of(metadata)
