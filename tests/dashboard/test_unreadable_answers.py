"""Issue 10 item 13: an API (or a proxy in front of it) that answers 200 with a body that is not the API's
JSON — a maintenance page — is the dashboard's 502 page on every page a person can open, never a 500 or a
traceback; and the CSV exports never pass a body on as text/csv unless the API answered with a CSV."""

import html
import http.server
import json
import threading

import httpx
import pytest

from dashboard.client import ApiBadAnswer, OrdersApiClient
from tests.factories import make_order

MAINTENANCE_PAGE = b"<html>Down for maintenance</html>"
UNREADABLE = "The Orders API sent an answer the dashboard cannot read"
ORDERS_EXPORT = "/stores/acme/orders/export.csv"
AUDIT_EXPORT = "/stores/acme/audit/export.csv"


STATUSES_JSON = json.dumps(
    {
        "success": True,
        "data": {
            "statuses": ["pending", "confirmed"],
            "paymentStatuses": ["paid"],
            "transitions": {"pending": ["confirmed"], "confirmed": []},
            "cancellable": ["pending"],
            "terminal": [],
        },
    }
).encode()
EVENT_TYPES_JSON = json.dumps(
    {"success": True, "data": {"eventTypes": [{"name": "order.created", "description": "Created"}]}}
).encode()
HTML = (200, "text/html; charset=utf-8", MAINTENANCE_PAGE)
# The vocabulary answers the filters and forms need, readable: the page's own call is the one that fails.
VOCABULARY = {
    "/api/v1/orders/statuses": (200, "application/json", STATUSES_JSON),
    "/api/v1/webhooks/event-types": (200, "application/json", EVENT_TYPES_JSON),
}
# How the API's address answers: every path the same, or the vocabulary readable and the rest not.
MODES = {
    "all html": ({}, HTML),
    "page html": (VOCABULARY, HTML),
    "page empty 200": (VOCABULARY, (200, "application/json", b"")),
}


def serve(routes: dict[str, tuple[int, str, bytes]], default: tuple[int, str, bytes]):
    """A real local HTTP server answering (status, Content-Type, body) by path; its URL."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self):
            status, content_type, body = routes.get(self.path.partition("?")[0], default)
            self.send_response(status)
            if content_type:
                self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _answer

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture
def api_server(connection, settings):
    """Point the store's connection at a local server: `start(default answer, routes=…)`."""
    settings.DASHBOARD_API_RETRIES = 0
    servers = []

    def start(default=HTML, routes=None):
        server, url = serve(routes or {}, default)
        servers.append(server)
        connection.api_base_url = url
        connection.save()
        return url

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


def assert_unreadable_page(response, *, fragment_for: str | None = None):
    page = html.unescape(response.content.decode())
    assert response.status_code == 502, page[:500]
    assert response["Content-Type"].startswith("text/html")
    assert UNREADABLE in page
    assert "Down for maintenance" not in page
    assert "Traceback" not in page
    assert "Exception" not in page
    if fragment_for:
        assert page.lstrip().startswith(f'<div id="{fragment_for}"')
    else:
        assert 'class="card failure"' in page


# Every page a person can open (GET). A new page is one line here.
PAGES = [
    pytest.param("/stores/acme/", id="overview"),
    pytest.param("/stores/acme/orders/", id="orders list"),
    pytest.param("/stores/acme/orders/?status=pending&page=2", id="orders list filtered"),
    pytest.param("/stores/acme/orders/o1/", id="order detail"),
    pytest.param("/stores/acme/orders/o1/status/", id="status dialog page"),
    pytest.param("/stores/acme/orders/o1/cancel/", id="cancel dialog page"),
    pytest.param("/stores/acme/orders/o1/refund/", id="refund dialog page"),
    pytest.param("/stores/acme/orders/o1/link/", id="link dialog page"),
    pytest.param("/stores/acme/orders/o1/metadata/", id="metadata dialog page"),
    pytest.param("/stores/acme/audit/", id="audit"),
    pytest.param(ORDERS_EXPORT, id="orders csv"),
    pytest.param(AUDIT_EXPORT, id="audit csv"),
    pytest.param("/stores/acme/webhooks/", id="webhooks list"),
    pytest.param("/stores/acme/webhooks/new/", id="webhook create form"),
    pytest.param("/stores/acme/webhooks/w1/", id="webhook detail"),
    pytest.param("/stores/acme/webhooks/w1/?page=2", id="webhook deliveries page 2"),
    pytest.param("/stores/acme/webhooks/w1/edit/", id="webhook edit form"),
    pytest.param("/stores/acme/webhooks/w1/delete/", id="webhook delete confirm"),
]

# Pages that ask the API only for its vocabulary: with that readable they render as usual.
VOCABULARY_ONLY = {"/stores/acme/webhooks/new/"}

# HTMX swaps of a region: the failure comes back as a fragment for that region.
FRAGMENTS = [
    pytest.param("/stores/acme/orders/", "orders-table", id="orders table"),
    pytest.param("/stores/acme/audit/", "history-table", id="audit table"),
]

ACTIONS = ["status", "cancel", "refund", "link", "metadata"]


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("url", PAGES)
def test_a_maintenance_page_answered_with_200_is_the_502_page(admin_client_member, api_server, url, mode):
    # given the API's address answers with a proxy's HTML (or nothing) and 200
    routes, default = MODES[mode]
    api_server(default, routes)
    # when
    response = admin_client_member.get(url)
    # then
    if url in VOCABULARY_ONLY and routes:
        assert response.status_code == 200
        return
    assert_unreadable_page(response)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize(("url", "target"), FRAGMENTS)
def test_a_maintenance_page_during_an_htmx_swap_is_a_502_fragment(
    admin_client_member, api_server, url, target, mode
):
    routes, default = MODES[mode]
    api_server(default, routes)
    response = admin_client_member.get(url, headers={"HX-Request": "true", "HX-Target": target})
    assert_unreadable_page(response, fragment_for=target)


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("action", ACTIONS)
def test_a_maintenance_page_in_an_action_dialog_says_the_answer_was_unreadable(
    admin_client_member, api_server, action, mode
):
    # given an open order page; the dialog is fetched by htmx
    routes, default = MODES[mode]
    api_server(default, routes)
    # when
    response = admin_client_member.get(f"/stores/acme/orders/o1/{action}/", headers={"HX-Request": "true"})
    # then: the dialog says what failed (swapped into the dialog), and offers no form to send
    page = html.unescape(response.content.decode())
    assert UNREADABLE in page
    assert "Down for maintenance" not in page
    assert "Traceback" not in page
    assert "<form" not in page


def test_the_unreadable_answer_page_keeps_saying_the_api_failed(admin_client_member, api_server):
    api_server()
    page = html.unescape(admin_client_member.get("/stores/acme/orders/").content.decode())
    assert "The Orders API failed" in page
    assert "Try again" in page


# --- the CSV exports check the API's answer before a byte is streamed ------------------------------


@pytest.mark.parametrize(
    "answer",
    [
        pytest.param((200, "text/html; charset=utf-8", MAINTENANCE_PAGE), id="html 200"),
        pytest.param((200, "application/json", b'{"success": true, "data": []}'), id="json 200"),
        pytest.param((200, "application/octet-stream", b"a,b\r\n1,2\r\n"), id="octet-stream 200"),
        pytest.param((200, "", b"a,b\r\n1,2\r\n"), id="no content type"),
        pytest.param((203, "text/html", MAINTENANCE_PAGE), id="html 203"),
    ],
)
def test_orders_export_never_streams_a_body_that_is_not_csv(admin_client_member, api_server, answer):
    # given the filters' vocabulary readable, and the export answered with something that is not CSV
    api_server(answer, routes=VOCABULARY)
    # when
    response = admin_client_member.get(ORDERS_EXPORT)
    # then: the error page, before any byte of the API's body; nothing labelled as a CSV file
    assert not response.streaming
    assert response.status_code == 502
    assert not response["Content-Type"].startswith("text/csv")
    assert "Content-Disposition" not in response
    assert UNREADABLE in html.unescape(response.content.decode())
    assert answer[2].decode() not in response.content.decode()


def test_orders_export_of_a_non_2xx_answer_is_an_error_page(admin_client_member, api_server):
    api_server((503, "text/html", MAINTENANCE_PAGE), routes=VOCABULARY)
    response = admin_client_member.get(ORDERS_EXPORT)
    assert not response.streaming
    assert response.status_code == 502
    assert "Content-Disposition" not in response
    assert "Down for maintenance" not in response.content.decode()


def test_orders_export_accepts_text_csv_with_parameters(admin_client_member, api_server):
    # given an API whose CSV says its type in capitals and its charset
    api_server((200, "TEXT/CSV; charset=UTF-8", b"Order number\r\nORD-1\r\n"), routes=VOCABULARY)
    # when
    response = admin_client_member.get(ORDERS_EXPORT)
    # then
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert b"".join(response.streaming_content) == b"Order number\r\nORD-1\r\n"


def answering(content_type: str, body: bytes) -> OrdersApiClient:
    def handler(request):
        return httpx.Response(
            200, content=body, headers={"Content-Type": content_type} if content_type else {}
        )

    return OrdersApiClient("https://api.test", "sk_test_x", transport=httpx.MockTransport(handler))


def test_export_stream_refuses_a_body_of_the_wrong_type_before_reading_it():
    # given a client whose export answer is HTML; when / then: asked for CSV, it is an ApiBadAnswer
    with pytest.raises(ApiBadAnswer) as info, answering("text/html", MAINTENANCE_PAGE).orders.export():
        pytest.fail("the export opened")  # pragma: no cover
    assert info.value.status is None
    assert "with text/html, not text/csv" in info.value.message
    assert "GET /api/v1/orders/export" in info.value.message
    # and a CSV answer when NDJSON was asked for, or no Content-Type at all
    with pytest.raises(ApiBadAnswer), answering("text/csv", b"a,b\r\n").orders.export(format="ndjson"):
        pytest.fail("the export opened")  # pragma: no cover
    with pytest.raises(ApiBadAnswer, match="no Content-Type"), answering("", b"a,b\r\n").orders.export():
        pytest.fail("the export opened")  # pragma: no cover


def test_export_stream_asks_for_its_media_type_and_reads_the_right_one():
    calls = []

    def handler(request):
        calls.append(request)
        return httpx.Response(200, content=b"{}\n", headers={"Content-Type": "application/x-ndjson"})

    client = OrdersApiClient("https://api.test", "sk_test_x", transport=httpx.MockTransport(handler))
    with client.orders.export(format="ndjson") as export:
        assert b"".join(export.chunks()) == b"{}\n"
    assert calls[0].headers["Accept"].startswith("application/x-ndjson")
    with pytest.raises(ValueError, match="Unknown export format"), client.orders.export(format="xlsx"):
        pass  # pragma: no cover


def test_an_empty_success_body_where_data_was_due_is_a_bad_answer():
    with pytest.raises(ApiBadAnswer, match="with an empty body"):
        answering("application/json", b"").orders.get("o1")
    # and a DELETE's empty answer is still fine
    answering("", b"").webhooks.delete("w1")


def test_the_real_apis_orders_csv_still_streams(admin_client_member, store):
    # given the in-process API (no base URL) and an order
    order = make_order(store=store)
    # when
    response = admin_client_member.get(ORDERS_EXPORT)
    # then
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="orders-acme-')
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("Order number")
    assert f"ORD-{order.order_number:06d}" in body or str(order.id) in body


def test_the_real_apis_audit_csv_still_streams(admin_client_member, store):
    make_order(store=store)
    response = admin_client_member.get(AUDIT_EXPORT)
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines()[0].startswith("Changed at,Order number")
    assert len(body.splitlines()) >= 2
