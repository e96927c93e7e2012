from datetime import timedelta

import pytest
from django.utils import timezone

from orders.models import WebhookDelivery, WebhookEndpoint
from orders.webhooks import attempt_delivery, delivery, sending, sweep_due_deliveries
from orders.webhooks.outbox import record_event
from tests.orders.webhooks.conftest import make_endpoint
from tests.orders.webhooks.signing_checks import assert_verifies

Status = WebhookDelivery.Status


def _event(store, event_type="order.created"):
    return record_event(order=None, store_id=store.id, event_type=event_type, data={"orderId": "o1"})


def _make_due(delivery_id):
    """Time passes until the delivery's next attempt is due."""
    WebhookDelivery.objects.filter(id=delivery_id).update(next_attempt_at=timezone.now())


def test_500_three_times_then_200_retries_with_growing_delays_and_one_event_id(store, receiver):
    # given
    endpoint, secret = make_endpoint(store, receiver.url)
    receiver.script = [500, 500, 500]
    event = _event(store)
    delivery_id = event.deliveries.get().id
    gaps = []
    # when
    for _ in range(4):
        assert attempt_delivery(delivery_id) is not None
        row = WebhookDelivery.objects.get(id=delivery_id)
        if row.status == Status.PENDING:
            gaps.append(row.next_attempt_at - row.attempts.order_by("attempt_number").last().attempted_at)
            assert attempt_delivery(delivery_id) is None  # not due yet: nothing is sent
            _make_due(delivery_id)
    # then
    row = WebhookDelivery.objects.get(id=delivery_id)
    assert row.status == Status.SUCCEEDED
    assert row.completed_at is not None
    assert row.last_status_code == 200
    assert row.last_error == ""
    attempts = list(row.attempts.order_by("attempt_number"))
    assert [a.status_code for a in attempts] == [500, 500, 500, 200]
    assert [a.attempt_number for a in attempts] == [1, 2, 3, 4]
    assert all(a.response_body.startswith('{"received": true') for a in attempts)
    assert attempts[0].error == "The receiver answered HTTP 500."
    assert attempts[3].error == ""
    assert gaps[0] < gaps[1] < gaps[2]
    assert timedelta(seconds=8) <= gaps[0] <= timedelta(seconds=13)  # 10 s ± 20 %
    assert len(receiver.hits) == 4
    assert {hit.headers["webhook-id"] for hit in receiver.hits} == {event.id}
    for hit in receiver.hits:
        assert_verifies(hit, secret)


def test_410_disables_the_endpoint_and_cancels_its_pending_deliveries(store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    receiver.script = [410]
    first, second = _event(store), _event(store, "order.confirmed")
    # when
    attempt_delivery(first.deliveries.get().id)
    # then
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    assert "410" in endpoint.disabled_reason
    assert first.deliveries.get().status == Status.FAILED
    assert second.deliveries.get().status == Status.CANCELLED
    assert attempt_delivery(second.deliveries.get().id) is None
    assert len(receiver.hits) == 1


def test_timeout_is_recorded_and_retried(store, blackhole, settings):
    # given: a receiver that takes the request and never answers
    settings.WEBHOOK_TIMEOUT_SECONDS = 0.5
    make_endpoint(store, blackhole.url)
    event = _event(store)
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then
    row = event.deliveries.get()
    assert blackhole.accepted == 1
    assert result.status_code is None
    assert result.error == "Timed out after 0.5 s."
    assert row.status == Status.PENDING
    assert row.next_attempt_at > timezone.now()
    assert row.attempts.get().error == "Timed out after 0.5 s."


def test_after_the_last_scheduled_retry_the_delivery_fails(store, receiver, settings):
    # given
    settings.WEBHOOK_RETRY_SCHEDULE = [1, 2]
    make_endpoint(store, receiver.url)
    receiver.default_status = 503
    delivery_id = _event(store).deliveries.get().id
    # when
    for _ in range(3):
        attempt_delivery(delivery_id)
        _make_due(delivery_id)
    # then
    row = WebhookDelivery.objects.get(id=delivery_id)
    assert row.status == Status.FAILED
    assert row.attempts.count() == 3
    assert row.last_status_code == 503
    assert attempt_delivery(delivery_id) is None


@pytest.mark.parametrize("url", ["https://10.0.0.1/hook", "https://169.254.169.254/latest/meta-data"])
def test_private_targets_are_refused_at_send_time(store, url):
    # given: an endpoint whose target became unsafe after registration
    make_endpoint(store, url)
    event = _event(store)
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then: no connection was made, the attempt says why
    assert result.status_code is None
    assert result.error.startswith("Refused:")
    assert event.deliveries.get().attempts.get().error.startswith("Refused:")


def test_loopback_is_refused_at_send_time_unless_allowed(store, receiver, settings):
    # given
    settings.WEBHOOKS_ALLOW_LOOPBACK = False
    make_endpoint(store, receiver.url)
    event = _event(store)
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then
    assert "https" in result.error
    assert receiver.hits == []


def test_a_worker_lost_mid_send_leaves_the_attempt_marked_and_the_sweep_resends(store, receiver, settings):
    # given: a worker claimed the delivery and died before sending
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 0
    make_endpoint(store, receiver.url)
    event = _event(store)
    delivery_id = event.deliveries.get().id
    claim = delivery._claim(delivery_id, include_disabled=False, retry=True)
    assert claim is not None
    # when: another worker looks at it during the lease
    assert attempt_delivery(delivery_id) is None
    # then: nothing was sent twice
    assert receiver.hits == []
    # when: the lease is over and the sweep runs (the immediate task backend sends at once)
    _make_due(delivery_id)
    WebhookDelivery.objects.filter(id=delivery_id).update(enqueued_at=timezone.now() - timedelta(minutes=5))
    assert sweep_due_deliveries() == 1
    # then
    row = WebhookDelivery.objects.get(id=delivery_id)
    assert row.status == Status.SUCCEEDED
    assert [a.error for a in row.attempts.order_by("attempt_number")] == [delivery.LOST_ATTEMPT_ERROR, ""]
    assert len(receiver.hits) == 1


def test_sweep_leaves_recently_enqueued_deliveries_alone(store, receiver, settings):
    # given: a due delivery whose task was handed over just now
    settings.WEBHOOK_SWEEP_GRACE_SECONDS = 60
    make_endpoint(store, receiver.url)
    event = _event(store)
    WebhookDelivery.objects.update(
        next_attempt_at=timezone.now() - timedelta(minutes=5), enqueued_at=timezone.now()
    )
    # when
    swept = sweep_due_deliveries()
    # then
    assert swept == 0
    assert receiver.hits == []
    assert event.deliveries.get().status == Status.PENDING


def test_deliveries_of_a_disabled_endpoint_are_cancelled_not_sent(store, receiver):
    # given
    endpoint, _ = make_endpoint(store, receiver.url)
    event = _event(store)
    WebhookEndpoint.objects.filter(id=endpoint.id).update(enabled=False)
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then
    assert result is None
    assert event.deliveries.get().status == Status.CANCELLED
    assert receiver.hits == []


def test_only_subscribed_enabled_endpoints_get_a_delivery(store, other_store, receiver):
    # given
    subscribed, _ = make_endpoint(store, receiver.url, event_types=["order.shipped"])
    make_endpoint(store, receiver.url, event_types=["order.created"])
    make_endpoint(store, receiver.url, event_types=["order.shipped"], enabled=False)
    make_endpoint(other_store, receiver.url, event_types=["order.shipped"])
    # when
    event = _event(store, "order.shipped")
    # then
    assert [d.endpoint_id for d in event.deliveries.all()] == [subscribed.id]


def test_a_secret_that_cannot_be_decrypted_fails_the_delivery_with_a_hint(store, receiver, settings):
    # given: the encryption key material changed after the endpoint was made
    make_endpoint(store, receiver.url)
    event = _event(store)
    settings.FIELD_ENCRYPTION_KEYS = ["rotated-key-material-without-re-encrypting-0123456789"]
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then
    row = event.deliveries.get()
    assert result is None
    assert row.status == Status.FAILED
    assert "Rotate the endpoint's secret" in row.last_error
    assert receiver.hits == []


def test_the_send_connects_to_the_checked_address_and_keeps_the_host_name(store, receiver, monkeypatch):
    # given: a name that resolves to loopback when checked (and nowhere else)
    import socket

    real = socket.getaddrinfo
    port = int(receiver.url.rsplit(":", 1)[1].split("/")[0])

    def fake(host, *args, **kwargs):
        if host == "receiver.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    make_endpoint(store, f"http://receiver.test:{port}/hook")
    event = _event(store)
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then
    assert result.status_code == 200
    assert receiver.hits[0].headers["host"] == f"receiver.test:{port}"


def test_pinned_https_requests_keep_the_name_for_tls():
    # given
    import ipaddress

    from orders.webhooks.targets import pinned_request

    # when
    url, headers, extensions = pinned_request(
        "https://hooks.shop.example:8443/in?x=1", ipaddress.ip_address("2001:db8::5")
    )
    # then
    assert url == "https://[2001:db8::5]:8443/in?x=1"
    assert headers == {"Host": "hooks.shop.example:8443"}
    assert extensions == {"sni_hostname": "hooks.shop.example"}


def test_https_sends_pinned_to_the_checked_address_verify_the_certificate_for_the_name(
    store, tls_receiver, monkeypatch
):
    # given: receiver.test resolves to loopback (allowed in tests) and serves a certificate for its name
    import socket

    port, client_context, hosts = tls_receiver
    real = socket.getaddrinfo

    def fake(host, *args, **kwargs):
        if host == "receiver.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake)
    monkeypatch.setattr(sending, "_ssl_context", lambda: client_context)
    make_endpoint(store, f"https://receiver.test:{port}/hook")
    event = _event(store)
    # when
    result = attempt_delivery(event.deliveries.get().id)
    # then: TLS verified the name although the connection went to 127.0.0.1
    assert result.status_code == 200, result.error
    assert hosts == [f"receiver.test:{port}"]
