"""GET /api/v1/webhooks/event-types: the catalogue of spec §4, read from the one registry
(orders/webhooks/events.py), which also decides what endpoints may subscribe to."""

from orders.webhooks.events import REGISTRY, EventType

CATALOGUE = [
    ("order.created", "Order created"),
    ("order.status_updated", "Status updated (any change)"),
    ("order.confirmed", "Confirmed"),
    ("order.shipped", "Shipped"),
    ("order.partially_shipped", "Partially shipped"),
    ("order.delivered", "Delivered"),
    ("order.partially_delivered", "Partially delivered"),
    ("order.cancelled", "Cancelled"),
    ("order.refunded", "Refunded"),
    ("webhook.test", "Test events (sent from the endpoint's Send test)"),
]


def test_lists_the_catalogue_in_order_on_both_path_families(api, store):
    # when
    plain = api.get("/api/v1/webhooks/event-types")
    sdk = api.get(f"/api/v1/sdk/stores/{store.id}/webhooks/event-types")

    # then
    assert plain.status_code == sdk.status_code == 200
    listed = [(t["name"], t["description"]) for t in plain.json()["data"]["eventTypes"]]
    assert listed == CATALOGUE
    assert sdk.json() == plain.json()


def test_an_event_type_added_to_the_registry_is_listed_and_can_be_subscribed_to(api, monkeypatch):
    # given: one more registry entry, and nothing else changed
    monkeypatch.setitem(
        REGISTRY, "order.fake_event", EventType(name="order.fake_event", description="A fake event")
    )

    # when
    listed = api.get("/api/v1/webhooks/event-types").json()["data"]["eventTypes"]
    created = api.post_json(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "eventTypes": ["order.fake_event"]}
    )

    # then
    assert listed[-1] == {"name": "order.fake_event", "description": "A fake event"}
    assert created.status_code == 201, created.content
    assert created.json()["data"]["eventTypes"] == ["order.fake_event"]


def test_an_unknown_event_type_is_refused_naming_the_catalogue(api):
    # when
    response = api.post_json(
        "/api/v1/webhooks", {"url": "http://127.0.0.1:9/hook", "eventTypes": ["order.nope"]}
    )

    # then
    body = response.json()
    assert response.status_code == 400
    assert body["errorCode"] == "INVALID_EVENT_TYPE"
    assert "order.nope" in body["message"]
    assert "order.created" in body["message"]
