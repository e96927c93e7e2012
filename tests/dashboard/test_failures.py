"""Spec §3: API down, slow, key rejected, rate limited → a clear page with the right status, no traceback."""

import html
import http.server
import socket
import threading

import httpx
import pytest

from dashboard.client import OrdersApiClient
from orders.auth import api_key_revoke

LIST = "/stores/acme/orders/"


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def slow_api():
    """A local HTTP server that answers only after 2 s."""
    release = threading.Event()

    class Slow(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            release.wait(2)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"success": true, "data": {"orders": []}}')

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Slow)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    release.set()
    server.shutdown()
    server.server_close()


def assert_no_traceback(page: str):
    assert "Traceback" not in page
    assert "Exception" not in page


def test_api_unreachable_is_502_with_message(viewer_client, connection, settings):
    # given the store points at a port nobody listens on
    settings.DASHBOARD_API_RETRIES = 1
    connection.api_base_url = f"http://127.0.0.1:{closed_port()}"
    connection.save()
    # when
    response = viewer_client.get(LIST)
    # then
    page = response.content.decode()
    assert response.status_code == 502
    assert "The Orders API cannot be reached" in page
    assert "Try again" in page
    assert_no_traceback(page)


def test_api_too_slow_is_504_with_message(viewer_client, connection, settings, slow_api):
    settings.DASHBOARD_API_TIMEOUT = 0.3
    connection.api_base_url = slow_api
    connection.save()
    response = viewer_client.get(LIST)
    page = response.content.decode()
    assert response.status_code == 504
    assert "did not answer in time" in page
    assert_no_traceback(page)


def test_rejected_key_says_an_admin_must_update_it(viewer_client, connection, issued_key):
    # given the store's key was revoked in the API
    api_key_revoke(prefix=issued_key.api_key.prefix)
    # when
    response = viewer_client.get(LIST)
    # then
    assert response.status_code == 502
    assert "This store's API key was rejected — an admin must update it." in html.unescape(
        response.content.decode()
    )


def test_rate_limited_is_429_with_retry_after(viewer_client, connection, monkeypatch):
    # given an API that answers 429
    def rate_limited(request):
        return httpx.Response(
            429,
            headers={"Retry-After": "42"},
            json={
                "success": False,
                "message": "Rate limit exceeded.",
                "errorCode": "RATE_LIMIT_EXCEEDED",
                "retryAfter": 42,
            },
        )

    def fake_client_for(store, user=None):
        return OrdersApiClient("https://api.test", "sk_test_x", transport=httpx.MockTransport(rate_limited))

    monkeypatch.setattr("dashboard.views.orders.client_for", fake_client_for)
    # when
    response = viewer_client.get(LIST)
    # then
    assert response.status_code == 429
    assert response["Retry-After"] == "42"
    assert "Too many requests, retry in 42 s." in response.content.decode()


def test_failure_during_htmx_swap_returns_a_fragment_for_the_target(viewer_client, connection, settings):
    settings.DASHBOARD_API_RETRIES = 0
    connection.api_base_url = f"http://127.0.0.1:{closed_port()}"
    connection.save()
    response = viewer_client.get(LIST, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="orders-table")
    page = response.content.decode()
    assert response.status_code == 502
    assert page.lstrip().startswith('<div id="orders-table"')
    assert "<html" not in page


def test_api_5xx_is_502_after_retries(viewer_client, connection, monkeypatch):
    calls = []

    def broken(request):
        calls.append(request)
        return httpx.Response(500, json={"success": False, "message": "boom", "errorCode": "INTERNAL_ERROR"})

    monkeypatch.setattr(
        "dashboard.views.orders.client_for",
        lambda store, user=None: OrdersApiClient(
            "https://api.test", "sk_test_x", transport=httpx.MockTransport(broken), sleep=lambda s: None
        ),
    )
    response = viewer_client.get(LIST)
    assert response.status_code == 502
    assert len(calls) == 4
    assert "The Orders API failed" in response.content.decode()
