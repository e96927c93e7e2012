"""Webhooks pages against the real API in-process: create (secret shown once), rotate (new secret shown
once), send a test event to a real receiver on 127.0.0.1, enable/disable, delete, deliveries and retry,
API validation errors at the field, double submits acting once, and admins only."""

import hashlib
import hmac
import re
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.urls import reverse

from dashboard import vocabulary
from orders.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from orders.webhooks.events import REGISTRY, EventType

LIST = "/stores/acme/webhooks/"
NEW = "/stores/acme/webhooks/new/"
SECRET = re.compile(r"whsec_[A-Za-z0-9+/=_-]+")


@dataclass
class Receiver:
    """A real HTTP receiver on 127.0.0.1: answers every POST with `default_status`, records it."""

    url: str
    default_status: int = 200
    hits: list[tuple[dict[str, str], bytes]] = field(default_factory=list)


@pytest.fixture
def receiver():
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            state["r"].hits.append(({k.lower(): v for k, v in self.headers.items()}, body))
            reply = b'{"received": true}'
            self.send_response(state["r"].default_status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

        def log_message(self, *args):  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state["r"] = Receiver(url=f"http://127.0.0.1:{server.server_address[1]}/hook")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state["r"]
    server.shutdown()
    server.server_close()


def url(name: str, *args) -> str:
    return reverse(f"dashboard:{name}", args=["acme", *args])


def form_key(html: str, action: str) -> str:
    """The Idempotency-Key of the form posting to `action` on a rendered page."""
    form = re.search(rf'<form method="post" action="{re.escape(action)}".*?</form>', html, re.S)
    assert form, f"no form for {action}"
    return re.search(r'name="idempotency_key" value="([^"]+)"', form.group(0)).group(1)


def create(client, target: str, events=("order.created", "order.shipped"), **extra):
    page = client.get(NEW).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {
        "url": target,
        "event_types": list(events),
        "description": "Warehouse",
        "enabled": "on",
        "idempotency_key": key,
    }
    return client.post(NEW, {**data, **extra})


@pytest.fixture
def endpoint(admin_client_member, receiver):
    response = create(admin_client_member, receiver.url)
    assert response.status_code == 302, response.content.decode()[:2000]
    return WebhookEndpoint.objects.get()


def test_create_shows_the_secret_once_and_never_again(admin_client_member, receiver):
    # when
    response = create(admin_client_member, receiver.url)
    created = WebhookEndpoint.objects.get()
    # then: redirected to the endpoint's page, which shows the secret this once
    assert response["Location"] == url("webhook_detail", created.id)
    first = admin_client_member.get(response["Location"])
    secrets = SECRET.findall(first.content.decode())
    assert len(set(secrets)) == 1
    assert first["Cache-Control"] == "no-store"
    # and never again: reload, the list, the edit page
    assert not SECRET.search(admin_client_member.get(response["Location"]).content.decode())
    assert not SECRET.search(admin_client_member.get(LIST).content.decode())
    assert not SECRET.search(admin_client_member.get(url("webhook_edit", created.id)).content.decode())
    assert created.url == receiver.url
    assert created.event_types == ["order.created", "order.shipped"]


def test_the_secret_shown_is_the_one_deliveries_are_signed_with(admin_client_member, endpoint, receiver):
    # given the secret as the page showed it
    secret = SECRET.search(
        admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    ).group(0)
    # when a test event is sent
    page = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    admin_client_member.post(
        url("webhook_test", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_test", endpoint.id))},
    )
    # then the receiver can verify it with that secret
    headers, body = receiver.hits[-1]
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    assert headers["x-webhook-signature"] == f"sha256={expected}"


def test_double_submit_of_the_create_form_creates_one_endpoint(admin_client_member, receiver):
    page = admin_client_member.get(NEW).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    data = {"url": receiver.url, "event_types": ["order.created"], "idempotency_key": key}
    first = admin_client_member.post(NEW, data)
    second = admin_client_member.post(NEW, data)
    assert first.status_code == second.status_code == 302
    assert WebhookEndpoint.objects.count() == 1
    assert second["Location"] == LIST


def test_api_validation_errors_are_shown_at_the_field(admin_client_member, monkeypatch):
    # given the dashboard offers an event type the API no longer knows: its catalogue, cached while the
    # API had the type, outlives the type
    monkeypatch.setitem(REGISTRY, "order.exploded", EventType(name="order.exploded", description="Exploded"))
    assert "order.exploded" in admin_client_member.get(NEW).content.decode()
    monkeypatch.delitem(REGISTRY, "order.exploded")
    # when: a plain-http public URL
    html = create(admin_client_member, "http://8.8.8.8/hook").content.decode()
    # then
    assert re.search(r'<p class="field-error" id="url-errors">Use https://', html)
    assert WebhookEndpoint.objects.count() == 0
    # when: an unknown event type
    html = create(admin_client_member, "https://127.0.0.1:9/hook", events=["order.exploded"]).content.decode()
    assert re.search(
        r'<p class="field-error" id="event-types-errors">Unknown event types: order.exploded', html
    )
    assert WebhookEndpoint.objects.count() == 0


def test_an_event_type_added_to_the_api_is_offered_by_the_form(admin_client_member, connection, monkeypatch):
    # given the API's registry gains an event type, and the dashboard forgets the catalogue it cached
    assert "order.fake_event" not in admin_client_member.get(NEW).content.decode()
    monkeypatch.setitem(
        REGISTRY, "order.fake_event", EventType(name="order.fake_event", description="A fake event")
    )
    vocabulary.forget(connection)
    # when
    html = admin_client_member.get(NEW).content.decode()
    # then: a checkbox with the API's description as its label
    checkbox = re.search(
        r'<label class="check" for="([^"]+)"><input type="checkbox" name="event_types" value="order.fake_event"'
        r"[^>]*> <span>A fake event</span>",
        html,
    )
    assert checkbox, html
    # and the form takes it: the endpoint is created subscribed to it
    response = create(admin_client_member, "https://127.0.0.1:9/hook", events=["order.fake_event"])
    assert response.status_code == 302
    assert WebhookEndpoint.objects.get().event_types == ["order.fake_event"]


def test_a_refused_create_can_be_sent_again_with_the_same_form(admin_client_member, receiver):
    page = admin_client_member.get(NEW).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    refused = admin_client_member.post(
        NEW, {"url": "http://8.8.8.8/x", "event_types": ["order.created"], "idempotency_key": key}
    )
    assert refused.status_code == 200
    fixed = admin_client_member.post(
        NEW, {"url": receiver.url, "event_types": ["order.created"], "idempotency_key": key}
    )
    assert fixed.status_code == 302
    assert WebhookEndpoint.objects.count() == 1


def test_rotate_shows_a_new_secret_once(admin_client_member, endpoint):
    detail = url("webhook_detail", endpoint.id)
    old = SECRET.search(admin_client_member.get(detail).content.decode()).group(0)
    # the detail page links to a confirmation page, which holds the form
    assert (
        f'href="{url("webhook_rotate_secret", endpoint.id)}"'
        in admin_client_member.get(detail).content.decode()
    )
    page = admin_client_member.get(url("webhook_rotate_secret", endpoint.id)).content.decode()
    assert "Rotate the signing secret?" in page
    # when
    response = admin_client_member.post(
        url("webhook_rotate_secret", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_rotate_secret", endpoint.id))},
    )
    # then
    assert response["Location"] == detail
    shown = admin_client_member.get(detail).content.decode()
    new = SECRET.search(shown).group(0)
    assert new != old
    assert "Signing secret — shown once" in shown
    assert not SECRET.search(admin_client_member.get(detail).content.decode())


def test_send_test_event_shows_the_receivers_answer(admin_client_member, endpoint, receiver):
    # given the receiver answers 202
    receiver.default_status = 202
    detail = url("webhook_detail", endpoint.id)
    page = admin_client_member.get(detail).content.decode()
    # when
    response = admin_client_member.post(
        url("webhook_test", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_test", endpoint.id))},
    )
    html = admin_client_member.get(response["Location"]).content.decode()
    # then
    assert len(receiver.hits) == 1
    assert receiver.hits[0][0]["x-webhook-event"] == "webhook.test"
    assert re.search(r'<dd class="test-status-code">202</dd>', html)
    assert re.search(r"\d+ ms", html)
    assert "&quot;received&quot;: true" in html  # the response body excerpt, escaped
    assert "Test event delivered" in html
    # and the delivery is listed with its attempt
    assert re.search(r"<code>webhook.test</code>", html)


def test_a_failing_receiver_shows_the_code_and_a_resent_form_acts_once(
    admin_client_member, endpoint, receiver
):
    receiver.default_status = 500
    page = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    data = {"idempotency_key": form_key(page, url("webhook_test", endpoint.id))}
    admin_client_member.post(url("webhook_test", endpoint.id), data)
    html = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    assert "Test event not accepted" in html
    assert re.search(r'<dd class="test-status-code">500</dd>', html)
    # the same form again: nothing is sent a second time
    admin_client_member.post(url("webhook_test", endpoint.id), data)
    assert len(receiver.hits) == 1


def test_disable_and_enable(admin_client_member, endpoint):
    page = admin_client_member.get(LIST).content.decode()
    admin_client_member.post(
        url("webhook_toggle", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_toggle", endpoint.id)), "enabled": ""},
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled is False
    page = admin_client_member.get(LIST).content.decode()
    assert "badge-state-disabled" in page
    admin_client_member.post(
        url("webhook_toggle", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_toggle", endpoint.id)), "enabled": "on"},
    )
    endpoint.refresh_from_db()
    assert endpoint.enabled is True


def test_edit_saves_through_the_api(admin_client_member, endpoint, receiver):
    page = admin_client_member.get(url("webhook_edit", endpoint.id)).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', page).group(1)
    response = admin_client_member.post(
        url("webhook_edit", endpoint.id),
        {
            "url": receiver.url + "?v=2",
            "event_types": ["order.cancelled"],
            "description": "Refunds desk",
            "enabled": "on",
            "idempotency_key": key,
        },
    )
    assert response.status_code == 302
    endpoint.refresh_from_db()
    assert endpoint.event_types == ["order.cancelled"]
    assert endpoint.description == "Refunds desk"
    assert endpoint.url.endswith("?v=2")


def test_delete_asks_first_then_deletes(admin_client_member, endpoint):
    confirm = admin_client_member.get(url("webhook_delete", endpoint.id)).content.decode()
    assert "Delete this endpoint?" in confirm
    assert WebhookEndpoint.objects.count() == 1
    response = admin_client_member.post(
        url("webhook_delete", endpoint.id),
        {"idempotency_key": form_key(confirm, url("webhook_delete", endpoint.id))},
    )
    assert response["Location"] == LIST
    assert WebhookEndpoint.objects.count() == 0
    assert "Endpoint deleted" in admin_client_member.get(LIST).content.decode()


def test_deliveries_list_attempts_and_retry(
    admin_client_member, endpoint, receiver, django_capture_on_commit_callbacks
):
    # given a failed test delivery
    receiver.default_status = 503
    page = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    admin_client_member.post(
        url("webhook_test", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_test", endpoint.id))},
    )
    delivery = WebhookDelivery.objects.get()
    page = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    row = re.search(rf'<tr class="delivery-row" data-delivery-id="{delivery.id}">.*?</tr>', page, re.S).group(
        0
    )
    assert "badge-delivery-failed" in row
    assert re.search(r"#1 <time[^>]*>[\d:]+</time> · 503 · \d+ ms", row)
    # when retried (the worker runs on commit; the receiver now accepts)
    receiver.default_status = 200
    retry = url("webhook_delivery_retry", endpoint.id, delivery.id)
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client_member.post(retry, {"idempotency_key": form_key(page, retry)})
    # then
    assert response["Location"] == url("webhook_detail", endpoint.id)
    delivery.refresh_from_db()
    assert delivery.status == WebhookDelivery.Status.SUCCEEDED
    assert WebhookAttempt.objects.filter(delivery=delivery).count() == 2
    assert len(receiver.hits) == 2
    html = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    assert "Delivery queued to be sent again." in html


def test_retry_on_a_disabled_endpoint_explains_why_not(admin_client_member, endpoint, receiver):
    receiver.default_status = 500
    page = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    admin_client_member.post(
        url("webhook_test", endpoint.id),
        {"idempotency_key": form_key(page, url("webhook_test", endpoint.id))},
    )
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(enabled=False)
    delivery = WebhookDelivery.objects.get()
    retry = url("webhook_delivery_retry", endpoint.id, delivery.id)
    page = admin_client_member.get(url("webhook_detail", endpoint.id)).content.decode()
    response = admin_client_member.post(retry, {"idempotency_key": form_key(page, retry)}, follow=True)
    assert "The endpoint is disabled" in response.content.decode()


WEBHOOK_VIEWS = [
    ("webhook_list", ()),
    ("webhook_create", ()),
    ("webhook_detail", ("E",)),
    ("webhook_edit", ("E",)),
    ("webhook_delete", ("E",)),
    ("webhook_toggle", ("E",)),
    ("webhook_rotate_secret", ("E",)),
    ("webhook_test", ("E",)),
    ("webhook_delivery_retry", ("E", "D")),
]


@pytest.mark.parametrize("role_client", ["viewer_client", "support_client"])
@pytest.mark.parametrize(("name", "args"), WEBHOOK_VIEWS)
def test_non_admins_get_403_on_every_webhook_view_and_nothing_changes(
    request, role_client, name, args, store
):
    # given an endpoint with a delivery, made directly
    from tests.orders.webhooks.conftest import make_endpoint

    target, _ = make_endpoint(store, "https://hooks.example.com/x")
    client = request.getfixturevalue(role_client)
    values = {"E": str(target.id), "D": "00000000-0000-0000-0000-000000000000"}
    path = url(name, *(values[a] for a in args))
    # when
    got = client.get(path)
    posted = client.post(
        path, {"idempotency_key": "k", "url": "https://x.example.com", "event_types": ["order.created"]}
    )
    # then
    assert got.status_code == 403
    assert posted.status_code == 403
    assert WebhookEndpoint.objects.filter(
        pk=target.pk, enabled=True, url="https://hooks.example.com/x"
    ).exists()
    assert WebhookEndpoint.objects.count() == 1


def test_an_endpoint_of_another_store_is_404(admin_client_member, other_store):
    from tests.orders.webhooks.conftest import make_endpoint

    foreign, _ = make_endpoint(other_store, "https://hooks.example.com/other")
    assert admin_client_member.get(url("webhook_detail", foreign.id)).status_code == 404
    assert foreign.url not in admin_client_member.get(LIST).content.decode()


def make_endpoint_with_delivery(store):
    """An endpoint of `store` (written directly, no URL check) with one failed delivery."""
    from orders.webhooks.outbox import record_event
    from tests.orders.webhooks.conftest import make_endpoint

    endpoint, _ = make_endpoint(store, "https://hooks.example.com/orders")
    event = record_event(
        order=None,
        store_id=store.id,
        event_type="webhook.test",
        data={},
        endpoints=[endpoint],
        dispatch=False,
    )
    delivery = WebhookDelivery.objects.get(event=event)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        status=WebhookDelivery.Status.FAILED, attempt_count=1
    )
    return endpoint, delivery
