"""GET /api/v1/orders/statuses: the one transition table, exposed; not captured by /{orderId}."""

import pytest

from tests.factories import make_order
from tests.orders.api.auth_cases import assert_refused, client_with, key_kinds
from tests.orders.transition_table import CANCELLABLE, PAYMENT_STATUSES, STATUSES, TERMINAL, allowed

pytestmark = pytest.mark.django_db

URL = "/api/v1/orders/statuses"


def test_returns_every_status_and_the_whole_table(api):
    # when
    response = api.get(URL)
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["statuses"] == list(STATUSES)
    assert data["paymentStatuses"] == list(PAYMENT_STATUSES)
    assert data["transitions"] == {status: allowed(status) for status in STATUSES}
    assert data["transitions"]["pending"] == ["confirmed", "cancelled"]
    assert data["transitions"]["delivered"] == []
    assert data["cancellable"] == list(CANCELLABLE)
    assert data["terminal"] == list(TERMINAL)


@pytest.mark.parametrize("path", ["statuses", "export", "stats"])
def test_fixed_paths_win_over_an_order_with_that_external_id(api, store, path):
    # given: an order whose external id collides with a fixed path
    make_order(store, external_id=path)
    # when
    response = api.get(f"/api/v1/orders/{path}")
    # then: the fixed operation answers, not the order detail
    assert response.status_code == 200
    if path != "export":
        assert "orderNumber" not in response.json()["data"]


@key_kinds
def test_requires_a_private_key(store, key_kind):
    # when
    response = client_with(key_kind, store).get(URL)
    # then
    assert_refused(response, key_kind)
