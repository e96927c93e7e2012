"""The dashboard takes its words from the API (dashboard/vocabulary.py): the statuses and payment
statuses of the filters, the overview and the status dialog, and the webhook event catalogue; cached
per store connection and API base URL."""

import re

import httpx
import pytest
from django.utils.html import escape

from dashboard import vocabulary
from dashboard.api import client_for
from dashboard.client import ApiUnavailable, OrdersApiClient
from orders.statuses import OrderStatus, PaymentStatus
from orders.webhooks.events import REGISTRY
from tests.dashboard.test_failures import closed_port

LIST = "/stores/acme/orders/"
AUDIT = "/stores/acme/audit/"


def unreachable_client() -> OrdersApiClient:
    def refuse(request):
        raise httpx.ConnectError("refused", request=request)

    return OrdersApiClient(
        "https://api.test",
        "sk_test_x",
        transport=httpx.MockTransport(refuse),
        retries=0,
        sleep=lambda s: None,
    )


def checkbox_values(html: str, name: str) -> list[str]:
    return re.findall(rf'<input type="checkbox" name="{name}" value="([^"]+)"', html)


def test_status_labels_are_the_humanised_values():
    assert vocabulary.status_label("partially_shipped") == "Partially shipped"
    assert vocabulary.status_label("paid") == "Paid"


def test_the_list_filters_offer_the_apis_statuses_and_payment_statuses(viewer_client, connection):
    html = viewer_client.get(LIST).content.decode()
    assert checkbox_values(html, "status") == [s.value for s in OrderStatus]
    payment = re.search(r'<select name="payment_status"[^>]*>(.*?)</select>', html, re.S).group(1)
    assert re.findall(r'<option value="([^"]*)"', payment) == ["", *(s.value for s in PaymentStatus)]
    assert ">Partially shipped<" in html
    assert ">Partially refunded<" in html


def test_the_audit_filter_offers_the_apis_statuses(viewer_client, connection):
    html = viewer_client.get(AUDIT).content.decode()
    assert checkbox_values(html, "status") == [s.value for s in OrderStatus]


def test_the_webhook_form_offers_the_apis_catalogue_with_its_descriptions(admin_client_member, connection):
    html = admin_client_member.get("/stores/acme/webhooks/new/").content.decode()
    assert checkbox_values(html, "event_types") == list(REGISTRY)
    for event_type in REGISTRY.values():
        assert f"<span>{escape(event_type.description)}</span>" in html


def test_the_vocabulary_is_cached_per_connection_and_base_url(connection, other_connection):
    # given the vocabulary fetched once from the real API
    table = vocabulary.status_table(connection, client_for(connection))
    catalogue = vocabulary.event_types(connection, client_for(connection))
    # when the API cannot be reached, the cached answers still serve this connection
    assert vocabulary.status_table(connection, unreachable_client()) == table
    assert vocabulary.event_types(connection, unreachable_client()) == catalogue
    # but not another connection
    with pytest.raises(ApiUnavailable):
        vocabulary.status_table(other_connection, unreachable_client())
    # nor this connection once it points at another API
    connection.api_base_url = "https://orders.example.com"
    with pytest.raises(ApiUnavailable):
        vocabulary.status_table(connection, unreachable_client())


def test_forget_drops_the_cached_vocabulary(connection):
    vocabulary.status_table(connection, client_for(connection))
    vocabulary.event_types(connection, client_for(connection))
    vocabulary.forget(connection)
    with pytest.raises(ApiUnavailable):
        vocabulary.status_table(connection, unreachable_client())
    with pytest.raises(ApiUnavailable):
        vocabulary.event_types(connection, unreachable_client())


def test_a_failed_fetch_is_not_cached(connection):
    with pytest.raises(ApiUnavailable):
        vocabulary.status_table(connection, unreachable_client())
    assert vocabulary.status_table(connection, client_for(connection)).statuses == [
        s.value for s in OrderStatus
    ]


def test_event_types_that_cannot_be_fetched_make_a_clear_page(admin_client_member, connection, settings):
    # given the store's API cannot be reached
    settings.DASHBOARD_API_RETRIES = 0
    connection.api_base_url = f"http://127.0.0.1:{closed_port()}"
    connection.save()
    # when
    response = admin_client_member.get("/stores/acme/webhooks/new/")
    # then
    assert response.status_code == 502
    assert "The Orders API cannot be reached" in response.content.decode()


def test_a_status_table_without_payment_statuses_is_a_502_page(viewer_client, connection, monkeypatch):
    # given an older API whose status table has no paymentStatuses (its order list is fine)
    table = {"statuses": ["pending"], "transitions": {"pending": []}, "cancellable": [], "terminal": []}
    empty = {"orders": [], "total": 0, "totalIsCapped": False, "limit": 25, "offset": 0, "hasMore": False}

    def older_api(request):
        data = table if request.url.path.endswith("/orders/statuses") else {**empty, "nextCursor": None}
        return httpx.Response(200, json={"success": True, "data": data})

    monkeypatch.setattr(
        "dashboard.views.orders.client_for",
        lambda store, user=None: OrdersApiClient(
            "https://api.test", "sk_test_x", transport=httpx.MockTransport(older_api)
        ),
    )
    # when
    response = viewer_client.get(LIST)
    # then: a clear page, not a 500
    assert response.status_code == 502
    assert "The Orders API failed" in response.content.decode()
