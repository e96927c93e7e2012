"""The test send, the deliveries list and the retry of one delivery, through HTTP."""

from orders.models import WebhookDelivery
from orders.webhooks import attempt_delivery
from orders.webhooks.outbox import record_event
from tests.orders.webhooks.conftest import make_endpoint
from tests.orders.webhooks.signing_checks import assert_verifies

URL = "/api/v1/webhooks"


def test_test_send_reports_the_receivers_answer_and_is_recorded(api, store, receiver):
    # given
    endpoint, secret = make_endpoint(store, receiver.url, event_types=["order.created"])
    # when
    response = api.post_json(f"{URL}/{endpoint.id}/test")
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["success"] is True
    assert data["statusCode"] == 200
    assert data["error"] is None
    assert data["responseBody"].startswith('{"received": true')
    assert isinstance(data["durationMs"], int)
    payload = assert_verifies(receiver.hits[0], secret)
    assert payload["type"] == "webhook.test"
    assert payload["id"] == data["eventId"]
    delivery = WebhookDelivery.objects.get(id=data["deliveryId"])
    assert delivery.status == "succeeded"
    assert delivery.endpoint_id == endpoint.id


def test_a_failed_test_send_says_why_and_is_not_retried(api, store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    receiver.default_status = 500
    # when
    data = api.post_json(f"{URL}/{endpoint.id}/test").json()["data"]
    # then
    assert data["success"] is False
    assert data["statusCode"] == 500
    assert data["error"] == "The receiver answered HTTP 500."
    assert WebhookDelivery.objects.get(id=data["deliveryId"]).status == "failed"


def test_test_send_to_an_unreachable_receiver_reports_the_error(api, store):
    # given: nothing listens on port 9 of loopback
    endpoint, _ = make_endpoint(store, "http://127.0.0.1:9/hook")
    # when
    data = api.post_json(f"{URL}/{endpoint.id}/test").json()["data"]
    # then
    assert data["success"] is False
    assert data["statusCode"] is None
    assert "ConnectError" in data["error"]


def test_deliveries_are_paged_newest_first_with_their_attempts(api, store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    receiver.script = [503]
    events = [
        record_event(order=None, store_id=store.id, event_type="order.created", data={}) for _ in range(3)
    ]
    attempt_delivery(events[0].deliveries.get().id)
    # when
    first_page = api.get(f"{URL}/{endpoint.id}/deliveries?limit=2").json()["data"]
    second_page = api.get(f"{URL}/{endpoint.id}/deliveries?limit=2&offset=2").json()["data"]
    pending = api.get(f"{URL}/{endpoint.id}/deliveries?status=pending").json()["data"]
    # then
    assert [d["eventId"] for d in first_page["deliveries"]] == [events[2].id, events[1].id]
    assert first_page["total"] == 3
    assert first_page["hasMore"] is True
    assert second_page["hasMore"] is False
    oldest = second_page["deliveries"][0]
    assert oldest["eventId"] == events[0].id
    assert oldest["attempts"][0]["statusCode"] == 503
    assert oldest["attempts"][0]["attemptNumber"] == 1
    assert oldest["nextAttemptAt"].endswith("Z")
    assert oldest["payload"]["id"] == events[0].id
    assert pending["total"] == 3


def test_deliveries_list_validates_its_parameters(api, store):
    # given
    endpoint, _ = make_endpoint(store, "https://hooks.invalid/x")
    # when
    response = api.get(f"{URL}/{endpoint.id}/deliveries?limit=51&status=lost")
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert {e["field"] for e in response.json()["errors"]} == {"limit", "status"}


def test_retry_resends_a_failed_delivery_now(api, store, receiver, django_capture_on_commit_callbacks):
    # given: a delivery that failed for good
    endpoint, secret = make_endpoint(store, receiver.url)
    event = record_event(order=None, store_id=store.id, event_type="order.created", data={})
    delivery = event.deliveries.get()
    WebhookDelivery.objects.filter(id=delivery.id).update(status="failed", attempt_count=11)
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post_json(f"{URL}/deliveries/{delivery.id}/retry")
    # then
    assert response.status_code == 200
    delivery.refresh_from_db()
    assert delivery.status == "succeeded"
    assert delivery.attempt_count == 1
    assert len(receiver.hits) == 1
    assert assert_verifies(receiver.hits[0], secret)["id"] == event.id


def test_retry_of_another_stores_delivery_is_404(api, other_store):
    # given
    make_endpoint(other_store, "https://hooks.invalid/x")
    event = record_event(order=None, store_id=other_store.id, event_type="order.created", data={})
    # when
    response = api.post_json(f"{URL}/deliveries/{event.deliveries.get().id}/retry")
    unknown = api.post_json(f"{URL}/deliveries/not-a-uuid/retry")
    # then
    assert response.status_code == 404
    assert response.json()["errorCode"] == "WEBHOOK_NOT_FOUND"
    assert unknown.json()["errorCode"] == "WEBHOOK_NOT_FOUND"


def test_retry_on_a_disabled_endpoint_asks_to_enable_it_first(api, store):
    # given
    endpoint, _ = make_endpoint(store, "https://hooks.invalid/x", enabled=False)
    event = record_event(
        order=None, store_id=store.id, event_type="order.created", data={}, endpoints=[endpoint]
    )
    # when
    response = api.post_json(f"{URL}/deliveries/{event.deliveries.get().id}/retry")
    # then
    assert response.status_code == 400
    assert "enable" in response.json()["message"]


def test_a_retried_test_send_with_the_same_idempotency_key_is_replayed_not_resent(api, store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    # when
    first = api.post_json(f"{URL}/{endpoint.id}/test", HTTP_IDEMPOTENCY_KEY="test-1")
    again = api.post_json(f"{URL}/{endpoint.id}/test", HTTP_IDEMPOTENCY_KEY="test-1")
    # then
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(receiver.hits) == 1


def test_the_openapi_document_lists_both_path_families_and_the_rate_limits(api):
    # when
    document = api.get("/api/v1/openapi.json").json()
    # then
    paths = document["paths"]
    for suffix in (
        "",
        "/{webhook_id}",
        "/{webhook_id}/test",
        "/{webhook_id}/rotate-secret",
        "/{webhook_id}/deliveries",
        "/deliveries/{delivery_id}/retry",
    ):
        assert f"/api/v1/webhooks{suffix}" in paths
        assert f"/api/v1/sdk/stores/{{store_id}}/webhooks{suffix}" in paths
    assert "403" in paths["/api/v1/sdk/stores/{store_id}/webhooks"]["get"]["responses"]
    assert "404" in paths["/api/v1/webhooks/{webhook_id}"]["get"]["responses"]
    assert "Burst" in document["info"]["description"]
