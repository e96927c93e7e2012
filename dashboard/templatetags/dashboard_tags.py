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
    places = 0 if currency in ZERO_DECIMAL_CURRENCIES else 2
    value = Decimal(str(amount)).quantize(Decimal(1).scaleb(-places))
    return format_html(
        '<span class="money">{} <span class="currency">{}</span></span>', f"{value:,}", currency
    )


@register.filter
def humanize_key(value: str) -> str:
    return str(value).replace("_", " ")


@register.filter
def tracking(metadata: Any) -> Any:
    """`{% with t=order.metadata|tracking %}`: the order's tracking number, carrier and carrier link
    (dashboard/tracking.py), or None."""
    return tracking_of(metadata)
