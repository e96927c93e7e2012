"""How many SQL statements a status update and a create cost, end to end through the API.

The ceilings are the counts after the write path was trimmed (issue 11, item 5); before, a status update
to `shipped` took 19 statements here and a create 22. Each listed below: a change that adds one fails
here with the statements it ran. Run inside the test's transaction, so the write's own transaction
shows as SAVEPOINT/RELEASE (in production BEGIN/COMMIT, which Django does not log), and the order
number's bump runs on this connection (in production on a second one, orders/services/order_numbers.py:
one statement either way).
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, WebhookDelivery, WebhookEndpoint
from orders.statuses import OrderStatus
from tests.factories import CustomerFactory, VariantFactory, make_order

# API key lookup, rate-limit read and count.
REQUEST_OVERHEAD = 3
# SAVEPOINT; lock the order (with its customer); UPDATE it; INSERT history; SELECT the store's
# endpoints (once for both events); INSERT both events; INSERT their deliveries; RELEASE; then the
# answer reads items, refunds and history (the order row is the one the service saved): in one
# statement on PostgreSQL, three elsewhere (selectors.load_detail_rows).
STATUS_UPDATE_STATEMENTS = REQUEST_OVERHEAD + 9 + (0 if connection.vendor == "postgresql" else 2)
# SELECT an earlier import with this externalOrderId; SAVEPOINT; SELECT the customer; SELECT the
# variant; take its stock (one conditional UPDATE); bump the order number; INSERT order, line items
# (one statement), history, SELECT endpoints, INSERT event, INSERT deliveries; RELEASE. The answer is
# made of the rows just written: no read after.
CREATE_STATEMENTS = REQUEST_OVERHEAD + 13


@pytest.fixture
def endpoints(store):
    """Two endpoints subscribed to every event these writes fire, so deliveries are written too."""
    subscribed = ["order.created", "order.status_updated", "order.shipped"]
    return [
        WebhookEndpoint.objects.create(
            store=store, url=f"https://hooks.example.com/{i}", event_types=subscribed, secret_encrypted="x"
        )
        for i in range(2)
    ]


def run_sql(request):
    """The response and the statements it ran. Callers send one request before (the key's last-used
    time is written at most once a minute; that write is not part of the write under test)."""
    with CaptureQueriesContext(connection) as captured:
        response = request()
    return response, [q["sql"] for q in captured.captured_queries]


def listing(statements: list[str]) -> str:
    return "\n".join(f"{i + 1:2}. {sql[:140]}" for i, sql in enumerate(statements))


def test_status_update_stays_within_its_statements(api, store, endpoints):
    # given
    order = make_order(store, status=OrderStatus.PROCESSING)
    api.get("/api/v1/orders/statuses")

    # when
    response, statements = run_sql(
        lambda: api.put_json(
            f"/api/v1/orders/{order.id}/status", {"status": "shipped", "metadata": {"trackingNumber": "T1"}}
        )
    )

    # then: the full answer, two events with a delivery per endpoint each
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert (data["status"], data["customer"]["id"]) == ("shipped", str(order.customer_id))
    assert [e["toStatus"] for e in data["statusHistory"]] == ["processing", "shipped"]
    assert len(data["items"]) == 1
    assert WebhookDelivery.objects.filter(event__order_id=order.id).count() == 4
    assert len(statements) <= STATUS_UPDATE_STATEMENTS, listing(statements)


def test_create_stays_within_its_statements(api, store, endpoints):
    # given
    VariantFactory(product__store=store, product__external_id="prod_1", external_id="var_1")
    customer = CustomerFactory(store=store)
    body = {
        "externalOrderId": "shop-1",
        "customerId": str(customer.id),
        "items": [{"externalProductId": "prod_1", "externalVariantId": "var_1", "quantity": 2, "price": 10}],
        "total": 20,
    }
    api.get("/api/v1/orders/statuses")

    # when
    response, statements = run_sql(lambda: api.post_json("/api/v1/orders", body))

    # then
    assert response.status_code == 201, response.content
    data = response.json()["data"]
    assert (data["orderNumber"], data["customer"]["id"]) == ("ORD-000001", str(customer.id))
    assert [(e["kind"], e["toStatus"]) for e in data["statusHistory"]] == [("created", "confirmed")]
    assert data["refunds"] == []
    assert WebhookDelivery.objects.filter(event__order_id=data["id"]).count() == 2
    assert Order.objects.get().items.get().quantity == 2
    assert len(statements) <= CREATE_STATEMENTS, listing(statements)
