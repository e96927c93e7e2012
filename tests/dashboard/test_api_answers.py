"""How the client reads the API's answers (dashboard/api_types.py): money exact as Decimal, timestamps
aware, unknown keys ignored, and an answer it cannot read (a key missing, a wrong type, not JSON) an
`ApiBadAnswer` that the dashboard shows as a clear page, never a traceback."""

import json
import subprocess
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import httpx
import pytest

from dashboard.client import ApiBadAnswer, ApiError, OrdersApiClient
from tests.dashboard.test_client_errors import DETAIL, SUMMARY, make_client

ROOT = Path(__file__).resolve().parents[2]


def answer(data) -> httpx.Response:
    return httpx.Response(200, json={"success": True, "data": data})


def raw_answer(text: str) -> httpx.Response:
    return httpx.Response(200, content=text.encode(), headers={"Content-Type": "application/json"})


def order_json(**changes) -> str:
    """The detail JSON with some values written as literal JSON text (numbers exactly as given)."""
    body = json.dumps({"success": True, "data": {**DETAIL, **dict.fromkeys(changes, "@")}})
    for key, text in changes.items():
        body = body.replace(f'"{key}": "@"', f'"{key}": {text}', 1)
    return body


def test_money_comes_back_exact_as_decimal():
    # given amounts a float cannot hold exactly
    body = order_json(
        total="12345678.91", subtotal="0.1", tax="0.2", discount="0.30000000000000004441", shipping="7"
    )
    client, _ = make_client(lambda request: raw_answer(body))
    # when
    order = client.orders.get("o1")
    # then
    assert order.total == Decimal("12345678.91")
    assert order.subtotal + order.tax == Decimal("0.3")
    assert order.discount == Decimal("0.30000000000000004441")
    assert order.shipping == Decimal("7")
    assert all(
        isinstance(v, Decimal)
        for v in (order.total, order.subtotal, order.tax, order.discount, order.shipping)
    )


def test_timestamps_are_aware_and_blank_text_is_empty():
    client, _ = make_client(lambda request: answer(DETAIL))
    order = client.orders.get("o1")
    assert order.created_at == datetime(2024, 1, 15, 10, 30, tzinfo=UTC)
    assert order.created_at.tzinfo is not None
    assert (order.platform_name, order.notes, order.payment.method) == ("", "", "")
    assert order.external_id is None


def test_keys_the_client_does_not_know_are_ignored():
    client, _ = make_client(lambda request: answer({**DETAIL, "loyaltyTier": "gold", "giftWrap": True}))
    assert client.orders.get("o1").order_number == "ORD-000001"


@pytest.mark.parametrize(
    ("data", "where"),
    [
        ({key: value for key, value in DETAIL.items() if key != "total"}, "total: Field required"),
        ({**DETAIL, "total": "a lot"}, "total: Input should be a valid decimal"),
        ({**DETAIL, "items": {"not": "a list"}}, "items: Input should be a valid list"),
        ({**DETAIL, "createdAt": "2024-01-15T10:30:00"}, "createdAt: Input should have timezone info"),
    ],
    ids=["missing key", "wrong type", "object for a list", "naive timestamp"],
)
def test_an_answer_without_a_key_or_with_a_wrong_type_is_a_bad_answer(data, where):
    # given
    client, calls = make_client(lambda request: answer(data))
    # when
    with pytest.raises(ApiBadAnswer) as info:
        client.orders.get("o1")
    # then: what and where, once (a 200 does not get better by asking again), never the values
    assert isinstance(info.value, ApiError)
    assert info.value.status is None
    assert info.value.error_code == "BAD_API_ANSWER"
    assert where in info.value.message
    assert "GET /api/v1/orders/o1" in info.value.message
    assert "a lot" not in info.value.message
    assert len(calls) == 1


def test_a_bad_row_in_a_list_names_the_row():
    rows = [SUMMARY, {**SUMMARY, "itemCount": "several"}]
    page = {"orders": rows, "total": 2, "totalIsCapped": False, "limit": 25, "offset": 0}
    client, _ = make_client(lambda request: answer({**page, "hasMore": False, "nextCursor": None}))
    with pytest.raises(ApiBadAnswer) as info:
        client.orders.list()
    assert "orders.1.itemCount: Input should be a valid integer" in info.value.message


@pytest.mark.parametrize(
    "body", ["<html>Bad gateway</html>", '{"orders": []}', "[1, 2]"], ids=["html", "no envelope", "list"]
)
def test_a_body_that_is_not_the_json_envelope_is_a_bad_answer(body):
    client, _ = make_client(lambda request: raw_answer(body))
    with pytest.raises(ApiBadAnswer):
        client.orders.list()


def test_a_secret_in_a_bad_answer_stays_out_of_the_message():
    # given a rotate-secret answer missing a key, holding a secret
    secret = "whsec_" + "s" * 32
    client, _ = make_client(lambda request: answer({"id": "w1", "secret": secret}))
    # when / then
    with pytest.raises(ApiBadAnswer) as info:
        client.webhooks.rotate_secret("w1")
    assert secret not in str(info.value)
    assert secret not in repr(info.value)


def bad_answer_client(handler):
    def fake_client_for(store, user=None):
        return OrdersApiClient("https://api.test", "sk_test_x", transport=httpx.MockTransport(handler))

    return fake_client_for


def test_an_order_the_dashboard_cannot_read_is_a_502_page(viewer_client, connection, monkeypatch):
    # given an API whose order answer lacks a key the page needs
    order = {key: value for key, value in DETAIL.items() if key != "items"}
    monkeypatch.setattr("dashboard.views.orders.client_for", bad_answer_client(lambda r: answer(order)))
    # when
    response = viewer_client.get("/stores/acme/orders/o1/")
    # then
    page = response.content.decode()
    assert response.status_code == 502
    assert "The Orders API failed" in page
    assert "Traceback" not in page


def test_the_client_imports_nothing_from_django():
    # given a plain interpreter, no Django settings
    code = (
        "import sys; import dashboard.client; "
        "print(sorted(m for m in sys.modules if m == 'django' or m.startswith('django.')))"
    )
    # when
    done = subprocess.run(  # noqa: S603 - our own interpreter and a fixed script
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True, env={}
    )
    # then
    assert done.stdout.strip() == "[]"
