"""Webhook endpoint management through HTTP: create, list, get, update, delete, rotate-secret, both path
families, validation, SSRF refusals and store scoping."""

import socket

import pytest
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from orders.models import WebhookDelivery, WebhookEndpoint
from orders.webhooks import attempt_delivery
from orders.webhooks.outbox import record_event
from tests.orders.webhooks.conftest import make_endpoint

URL = "/api/v1/webhooks"


@pytest.fixture
def public_dns(monkeypatch):
    """Names under .example resolve to a public address (nothing is ever sent to it in these tests)."""
    real = socket.getaddrinfo

    def fake(host, port, *args, **kwargs):
        if str(host).endswith(".example"):
            address = "10.1.2.3" if str(host).startswith("internal.") else "93.184.215.14"
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)


def _create(api, url, event_types=("order.created",), **extra):
    return api.post_json(URL, {"url": url, "eventTypes": list(event_types), **extra})


def _field_errors(response) -> dict:
    return {e["field"]: e["message"] for e in response.json().get("errors", [])}


# ---- create -----------------------------------------------------------------------------------------


def test_create_returns_201_with_the_secret_once(api, store, public_dns, caplog):
    # when
    response = _create(
        api, "https://hooks.shop.example/orders", ["order.created", "order.shipped"], description="ERP"
    )
    # then
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["url"] == "https://hooks.shop.example/orders"
    assert data["eventTypes"] == ["order.created", "order.shipped"]
    assert data["description"] == "ERP"
    assert data["enabled"] is True
    assert data["secret"].startswith("whsec_")
    stored = WebhookEndpoint.objects.get(id=data["id"])
    assert stored.store_id == store.id
    assert data["secret"] not in stored.secret_encrypted
    # and it is never shown again, nor logged
    assert "secret" not in api.get(f"{URL}/{data['id']}").json()["data"]
    assert all("secret" not in e for e in api.get(URL).json()["data"])
    assert data["secret"] not in caplog.text


def test_create_accepts_loopback_http_when_the_setting_allows_it(api, receiver):
    # when
    response = _create(api, receiver.url)
    # then
    assert response.status_code == 201


@pytest.mark.parametrize(
    "url",
    [
        "https://10.0.0.1/hook",
        "https://169.254.169.254/latest/meta-data",
        "https://internal.shop.example/hook",  # a name that resolves to a private address
        "https://[::1]/hook",
    ],
)
def test_create_refuses_private_link_local_and_loopback_targets(api, public_dns, settings, url):
    # given
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    # when
    response = _create(api, url)
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert "url" in _field_errors(response)
    assert WebhookEndpoint.objects.count() == 0


def test_create_refuses_loopback_when_the_setting_does_not_allow_it(api, receiver, settings):
    # given
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    # when
    response = _create(api, receiver.url)
    # then
    assert response.status_code == 400
    assert "https" in _field_errors(response)["url"]


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("http://hooks.shop.example/x", "https"),
        ("ftp://hooks.shop.example/x", "https"),
        ("not a url", "https"),
        ("https://user:pw@hooks.shop.example/x", "credentials"),
        ("https://no-such-host.invalid/x", "resolved"),
    ],
)
def test_create_refuses_bad_urls_with_a_message_saying_why(api, public_dns, url, says):
    # when
    response = _create(api, url)
    # then
    assert response.status_code == 400
    assert says in _field_errors(response)["url"]


@pytest.mark.parametrize("event_types", [[], ["order.exploded"], ["order.created", "order.nope"]])
def test_create_refuses_unknown_or_no_event_types(api, receiver, event_types):
    # when
    response = _create(api, receiver.url, event_types)
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_EVENT_TYPE"
    assert "order.created" in response.json()["message"]  # names what is allowed


def test_create_requires_url_and_event_types(api):
    # when
    response = api.post_json(URL, {"description": "x"})
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert {"url", "eventTypes"} <= set(_field_errors(response))


def test_create_with_malformed_json_is_invalid_request(api):
    # when
    response = api.post(URL, "{not json", content_type="application/json")
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "INVALID_REQUEST"


def test_at_most_ten_endpoints_per_store(api, store, other_api, receiver):
    # given
    for _ in range(10):
        assert _create(api, receiver.url).status_code == 201
    # when
    response = _create(api, receiver.url)
    # then
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert "at most 10" in response.json()["message"]
    assert _create(other_api, receiver.url).status_code == 201  # another store has its own ten


def test_requests_without_a_key_are_401(anon_api):
    assert anon_api.get(URL).json()["errorCode"] == "INVALID_API_KEY"


# ---- list / get -------------------------------------------------------------------------------------


def test_list_shows_only_this_stores_endpoints(api, store, other_store, receiver):
    # given
    mine, _ = make_endpoint(store, receiver.url)
    make_endpoint(other_store, receiver.url)
    # when
    response = api.get(URL)
    # then
    assert response.status_code == 200
    assert [e["id"] for e in response.json()["data"]] == [str(mine.id)]


def test_get_has_statistics_and_the_ten_most_recent_deliveries(api, store, receiver):
    # given: 12 deliveries, 3 of them answered 500 and retried later
    endpoint, _ = make_endpoint(store, receiver.url)
    receiver.script = [500, 500, 500]
    events = [
        record_event(order=None, store_id=store.id, event_type="order.created", data={}) for _ in range(12)
    ]
    for event in events:
        attempt_delivery(event.deliveries.get().id)
    WebhookDelivery.objects.filter(event=events[0]).update(status="failed")
    # when
    response = api.get(f"{URL}/{endpoint.id}")
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["statistics"] == {
        "total": 12,
        "pending": 2,
        "succeeded": 9,
        "failed": 1,
        "cancelled": 0,
        "successRate": 0.9,
        "lastDeliveryAt": data["statistics"]["lastDeliveryAt"],
    }
    assert data["statistics"]["lastDeliveryAt"].endswith("Z")
    recent = data["recentDeliveries"]
    assert len(recent) == 10
    assert recent[0]["eventId"] == events[-1].id  # newest first
    assert recent[0]["attempts"][0]["statusCode"] == 200


def test_another_stores_endpoint_is_404(api, other_store, receiver):
    # given
    theirs, _ = make_endpoint(other_store, receiver.url)
    # when / then
    for response in (
        api.get(f"{URL}/{theirs.id}"),
        api.put_json(f"{URL}/{theirs.id}", {"enabled": False}),
        api.delete(f"{URL}/{theirs.id}"),
        api.post_json(f"{URL}/{theirs.id}/test"),
        api.post_json(f"{URL}/{theirs.id}/rotate-secret"),
        api.get(f"{URL}/{theirs.id}/deliveries"),
        api.get(f"{URL}/not-a-uuid"),
    ):
        assert response.status_code == 404
        assert response.json()["errorCode"] == "WEBHOOK_NOT_FOUND"
    assert WebhookEndpoint.objects.get(id=theirs.id).enabled is True


# ---- update / delete --------------------------------------------------------------------------------


def test_update_changes_only_the_fields_sent(api, store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url, event_types=["order.created"])
    # when
    response = api.put_json(f"{URL}/{endpoint.id}", {"eventTypes": ["order.shipped"], "description": "new"})
    # then
    assert response.status_code == 200
    data = response.json()["data"]
    assert data["eventTypes"] == ["order.shipped"]
    assert data["description"] == "new"
    assert data["url"] == receiver.url
    assert data["enabled"] is True


def test_disabling_cancels_pending_deliveries_and_enabling_clears_the_reason(api, store):
    # given
    endpoint, _ = make_endpoint(store, "https://hooks.invalid/x")
    event = record_event(order=None, store_id=store.id, event_type="order.created", data={})
    # when
    disabled = api.put_json(f"{URL}/{endpoint.id}", {"enabled": False}).json()["data"]
    # then
    assert disabled["enabled"] is False
    assert disabled["disabledReason"]
    assert event.deliveries.get().status == "cancelled"
    # when
    enabled = api.put_json(f"{URL}/{endpoint.id}", {"enabled": True}).json()["data"]
    # then
    assert enabled["enabled"] is True
    assert enabled["disabledReason"] is None


def test_update_validates_like_create(api, store, receiver, settings):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    # when
    bad_types = api.put_json(f"{URL}/{endpoint.id}", {"eventTypes": ["nope"]})
    bad_url = api.put_json(f"{URL}/{endpoint.id}", {"url": "https://10.0.0.1/x"})
    # then
    assert bad_types.json()["errorCode"] == "INVALID_EVENT_TYPE"
    assert bad_url.status_code == 400
    assert "url" in _field_errors(bad_url)
    assert WebhookEndpoint.objects.get(id=endpoint.id).url == receiver.url


def test_delete_is_204_and_nothing_pending_is_sent_afterwards(api, store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    event = record_event(order=None, store_id=store.id, event_type="order.created", data={})
    delivery_id = event.deliveries.get().id
    # when
    response = api.delete(f"{URL}/{endpoint.id}")
    # then
    assert response.status_code == 204
    assert response.content == b""
    assert api.get(f"{URL}/{endpoint.id}").status_code == 404
    assert attempt_delivery(delivery_id) is None
    assert receiver.hits == []


# ---- rotate -----------------------------------------------------------------------------------------


def test_rotation_shows_a_new_secret_once_and_the_old_one_stops_verifying(api, store, receiver):
    # given
    created = _create(api, receiver.url).json()["data"]
    # when
    response = api.post_json(f"{URL}/{created['id']}/rotate-secret")
    # then
    assert response.status_code == 200
    new_secret = response.json()["data"]["secret"]
    assert new_secret.startswith("whsec_")
    assert new_secret != created["secret"]
    api.post_json(f"{URL}/{created['id']}/test")
    hit = receiver.hits[-1]
    assert Webhook(new_secret).verify(hit.body, hit.headers)["type"] == "webhook.test"
    with pytest.raises(WebhookVerificationError):
        Webhook(created["secret"]).verify(hit.body, hit.headers)


# ---- the SDK path family ----------------------------------------------------------------------------


def test_sdk_paths_work_for_the_keys_own_store(api, store, receiver):
    # given
    base = f"/api/v1/sdk/stores/{store.id}/webhooks"
    # when
    created = api.post_json(base, {"url": receiver.url, "eventTypes": ["order.created"]})
    listed = api.get(base)
    fetched = api.get(f"{base}/{created.json()['data']['id']}")
    # then
    assert created.status_code == 201
    assert [e["id"] for e in listed.json()["data"]] == [created.json()["data"]["id"]]
    assert fetched.status_code == 200


@pytest.mark.parametrize("path", ["", "/00000000-0000-0000-0000-000000000000", "/deliveries/x/retry"])
def test_sdk_paths_with_another_store_are_403(api, other_store, path):
    # when
    method = api.post_json if path.endswith("retry") else api.get
    response = method(f"/api/v1/sdk/stores/{other_store.id}/webhooks{path}")
    bogus = api.get(f"/api/v1/sdk/stores/not-a-store/webhooks{path}") if not path.endswith("retry") else None
    # then
    assert response.status_code == 403
    assert response.json()["errorCode"] == "NO_STORE_ACCESS"
    if bogus is not None:
        assert bogus.json()["errorCode"] == "NO_STORE_ACCESS"


def test_a_test_send_with_a_secret_that_no_longer_decrypts_says_to_rotate_it(api, store, receiver, settings):
    # given: the key that encrypted the secret was dropped without re-encrypting
    created = _create(api, receiver.url).json()["data"]
    settings.FIELD_ENCRYPTION_KEYS = ["rotated-key-material-without-re-encrypting-0123456789"]
    # when
    response = api.post_json(f"{URL}/{created['id']}/test")
    # then: a 400 that names the repair, nothing recorded, nothing sent
    assert response.status_code == 400
    assert response.json()["errorCode"] == "VALIDATION_ERROR"
    assert "rotate" in response.json()["message"]
    assert _field_errors(response) == {"secret": "Cannot be decrypted; rotate the secret."}
    assert not WebhookDelivery.objects.filter(endpoint_id=created["id"]).exists()
    assert receiver.hits == []
    # and: rotating repairs it
    assert api.post_json(f"{URL}/{created['id']}/rotate-secret").status_code == 200
    assert api.post_json(f"{URL}/{created['id']}/test").status_code == 200
