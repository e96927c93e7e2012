"""Shipment tracking on an order: where it is kept, which statuses ask for it, and the carrier's page.

The tracking number and carrier live in the order's metadata under the keys the seed and the SDK use
(`metadata.trackingNumber`, `metadata.carrier`), so they travel with the order through the API, its
webhooks (`order.shipped` carries them) and the export. The links to carriers' tracking pages come from
`settings.DASHBOARD_CARRIER_TRACKING_URLS`; an unknown carrier shows the number without a link.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django.conf import settings

from dashboard.api_types import StatusTable

TRACKING_NUMBER_KEY = "trackingNumber"
CARRIER_KEY = "carrier"


@dataclass(frozen=True)
class Tracking:
    number: str
    carrier: str
    url: str | None  # the carrier's tracking page, when the carrier is known


def tracking_url(carrier: str, number: str) -> str | None:
    """The carrier's tracking page for `number` (URL-quoted), or None for an unknown carrier."""
    if not number:
        return None
    templates = {name.casefold(): url for name, url in settings.DASHBOARD_CARRIER_TRACKING_URLS.items()}
    template = templates.get(carrier.strip().casefold())
    return template.replace("{number}", quote(number.strip(), safe="")) if template else None


def tracking_of(metadata: Mapping[str, Any] | None) -> Tracking | None:
    """The order's tracking, or None when it has no tracking number yet."""
    metadata = metadata or {}
    number = str(metadata.get(TRACKING_NUMBER_KEY) or "").strip()
    if not number:
        return None
    carrier = str(metadata.get(CARRIER_KEY) or "").strip()
    return Tracking(number=number, carrier=carrier, url=tracking_url(carrier, number))


def known_carriers() -> list[str]:
    """The carriers with a tracking page, offered as suggestions in the ship dialog."""
    return list(settings.DASHBOARD_CARRIER_TRACKING_URLS)


def shipping_statuses(table: StatusTable) -> frozenset[str]:
    """The statuses an order reaches only once it has been handed to a carrier — a move to one of them
    asks for the carrier and tracking number.

    Read from the API's transition table rather than listed here: the statuses reachable from the
    "…shipped" ones (`partially_shipped`, `shipped`, then the deliveries), minus those an order can also
    reach without shipping (`cancelled`).
    """
    shipped = {status for status in table.statuses if status.endswith("shipped")}
    after = _reachable(table.transitions, shipped)
    before = _reachable(table.transitions, set(table.statuses) - after, avoid=shipped)
    return frozenset(after - before)


def _reachable(
    transitions: Mapping[str, list[str]], start: Iterable[str], avoid: Iterable[str] = ()
) -> set[str]:
    avoided = set(avoid)
    seen = set(start) - avoided
    todo = list(seen)
    while todo:
        for target in transitions.get(todo.pop(), []):
            if target not in seen and target not in avoided:
                seen.add(target)
                todo.append(target)
    return seen
