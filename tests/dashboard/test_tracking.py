"""Tracking, first-class: the ship dialog asks for carrier and tracking number only for shipping statuses,
the order page links to the carrier's tracking page, and the list's search finds an order by its number."""

import re
from decimal import Decimal

import pytest
from django.test import override_settings

from dashboard.api import client_for
from dashboard.tracking import shipping_statuses, tracking_url
from dashboard.vocabulary import status_table
from tests.dashboard.test_order_actions import HTMX, action_url, form_fields, submit, top_errors
from tests.factories import VariantFactory, make_order


def order_in(store, status: str, metadata: dict | None = None):
    variant = VariantFactory(product__store=store, price=Decimal("10.00"))
    return make_order(store, status=status, items=[(variant, 1)], metadata=metadata)


def dialog(client, order, query: str = "") -> str:
    response = client.get(action_url(order, "status") + query, **HTMX)
    assert response.status_code == 200
    return response.content.decode()


def test_shipping_statuses_come_from_the_api_transition_table(connection, support):
    # when
    table = status_table(connection, client_for(connection, support))
    # then: what only a shipped order can reach; `cancelled` is reachable without shipping
    assert shipping_statuses(table) == {"partially_shipped", "shipped", "partially_delivered", "delivered"}


def test_status_dialog_without_a_shipping_move_has_no_tracking_fields(support_client, store):
    # given: confirmed → processing (or cancel): nothing ships
    order = order_in(store, "confirmed")
    # when
    html = dialog(support_client, order, "?status=processing")
    # then
    assert 'name="status"' in html
    assert 'name="tracking_number"' not in html
    assert 'name="carrier"' not in html


def test_status_dialog_for_shipping_shows_tracking_fields(support_client, store):
    # given
    order = order_in(store, "processing")
    # when
    html = dialog(support_client, order, "?status=shipped")
    # then: shown and enabled, with the carriers of the settings offered
    fieldset = re.search(r'<fieldset class="field-pair tracking-fields"[^>]*>', html).group(0)
    assert "hidden" not in fieldset
    assert "disabled" not in fieldset
    assert 'data-shipping-statuses="' in fieldset
    assert 'name="tracking_number"' in html
    assert '<option value="Poste Italiane">' in html


def test_tracking_fields_are_refused_for_a_move_that_does_not_ship(support_client, store):
    # given: a forged submit (the fieldset is disabled in the browser for this move)
    order = order_in(store, "confirmed")
    data = form_fields(dialog(support_client, order, "?status=processing"))
    data.update(status="processing", tracking_number="1Z999", carrier="UPS")
    # when
    html = submit(support_client, order, "status", data).content.decode()
    # then: the form says why; the order did not move
    assert "A tracking number and carrier go only with a move that ships the order" in top_errors(html)
    order.refresh_from_db()
    assert order.status == "confirmed"
    assert order.metadata == {}


def test_shipping_stores_tracking_in_the_metadata_and_the_header_links_the_carrier(support_client, store):
    # given
    order = order_in(store, "processing")
    data = form_fields(dialog(support_client, order, "?status=shipped"))
    data.update(status="shipped", tracking_number="1Z 999/AA", carrier="ups")
    # when
    response = submit(support_client, order, "status", data)
    # then: stored where the seed keeps it
    order.refresh_from_db()
    assert order.status == "shipped"
    assert order.metadata == {"trackingNumber": "1Z 999/AA", "carrier": "ups"}
    # and the refreshed header links to UPS with the number quoted
    assert 'href="https://www.ups.com/track?tracknum=1Z%20999%2FAA"' in response.content.decode()
    page = support_client.get(f"/stores/acme/orders/{order.id}/").content.decode()
    assert 'class="tracking-link mono" href="https://www.ups.com/track?tracknum=1Z%20999%2FAA"' in page


def test_unknown_carrier_shows_the_number_without_a_link(viewer_client, store):
    # given
    order = order_in(store, "shipped", {"trackingNumber": "AP-77", "carrier": "Acme Post"})
    # when
    html = viewer_client.get(f"/stores/acme/orders/{order.id}/").content.decode()
    # then
    assert "Acme Post" in html
    assert '<span class="mono">AP-77</span>' in html
    assert "tracking-link" not in html


@override_settings(DASHBOARD_CARRIER_TRACKING_URLS={"Poste Italiane": "https://poste.example/t/{number}"})
def test_carrier_links_come_from_the_settings():
    assert tracking_url("poste italiane", "RR 1?x=2") == "https://poste.example/t/RR%201%3Fx%3D2"
    assert tracking_url("UPS", "1Z") is None  # not in these settings
    assert tracking_url("Poste Italiane", "") is None


def test_every_named_carrier_has_a_tracking_page():
    for carrier in ("UPS", "FedEx", "DHL", "USPS", "BRT", "GLS", "Poste Italiane"):
        url = tracking_url(carrier, "AB123")
        assert url is not None
        assert url.startswith("https://")
        assert "AB123" in url


@pytest.mark.usefixtures("connection")
def test_the_list_shows_tracking_with_the_carriers_link(viewer_client, store):
    # given
    order_in(store, "shipped", {"trackingNumber": "1Z 42", "carrier": "UPS"})
    order_in(store, "shipped", {"trackingNumber": "AP-9", "carrier": "Acme Post"})
    order_in(store, "processing")
    # when
    html = viewer_client.get("/stores/acme/orders/").content.decode()
    # then
    assert '<a class="tracking-link mono" href="https://www.ups.com/track?tracknum=1Z%2042">1Z 42</a>' in html
    assert '<span>AP-9</span><span class="muted small">Acme Post</span>' in html
    assert '<td data-label="Tracking">—</td>' in html


@pytest.mark.usefixtures("connection")
def test_searching_a_tracking_number_finds_the_order(viewer_client, store):
    """Needs the API's `search` to match metadata.trackingNumber (helper "search", issue 12 build 2)."""
    # given
    shipped = order_in(store, "shipped", {"trackingNumber": "BRT0042424242", "carrier": "BRT"})
    order_in(store, "shipped", {"trackingNumber": "GLS777", "carrier": "GLS"})
    # when
    html = viewer_client.get("/stores/acme/orders/?search=BRT0042424242").content.decode()
    # then
    assert shipped.display_number in html
    assert "GLS777" not in html
    assert re.search(r"<strong>1</strong> order\b", html)
