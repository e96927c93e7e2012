"""The in-process transport: no request signals, lazy streaming, the request as Django sees it."""

import httpx
import pytest
from django.core.signals import request_finished, request_started
from django.http import JsonResponse, StreamingHttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from dashboard.transport import EMBEDDED_BASE_URL, EmbeddedTransport

produced: list[int] = []


def stream_view(request):
    def chunks():
        for n in range(5):
            produced.append(n)
            yield f"chunk {n}\n".encode()

    return StreamingHttpResponse(chunks(), content_type="text/plain")


@csrf_exempt  # like the API's views: key-authenticated, no cookies
def echo_view(request, name):
    return JsonResponse(
        {
            "method": request.method,
            "path": request.path,
            "query": request.GET.dict(),
            "key": request.headers.get("X-API-Key"),
            "body": request.body.decode(),
            "secure": request.is_secure(),
        }
    )


urlpatterns = [path("stream/", stream_view), path("echo/<str:name>/", echo_view)]


@pytest.fixture
def http(settings):
    settings.ROOT_URLCONF = __name__
    produced.clear()
    with httpx.Client(base_url=EMBEDDED_BASE_URL, transport=EmbeddedTransport()) as client:
        yield client


def test_streaming_response_is_pulled_lazily(http):
    with http.stream("GET", "/stream/") as response:
        chunks = response.iter_bytes()
        first = next(chunks)
        # then only what was read so far has been produced
        assert first.startswith(b"chunk 0")
        assert len(produced) < 5
        rest = b"".join(chunks)
    assert (first + rest).decode().count("chunk") == 5


def test_no_request_signals_are_sent(http):
    # given receivers that would close the caller's DB connection in real life
    fired = []

    def started(**kwargs):
        fired.append("started")

    def finished(**kwargs):
        fired.append("finished")

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        # when
        http.get("/echo/x/").read()
        with http.stream("GET", "/stream/") as response:
            response.read()
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    # then
    assert fired == []


def test_request_arrives_with_method_path_query_headers_and_body(http):
    response = http.post(
        "/echo/caf%C3%A9/", params={"q": "a b"}, headers={"X-API-Key": "sk_test_x"}, content=b'{"a": 1}'
    )
    assert response.json() == {
        "method": "POST",
        "path": "/echo/café/",
        "query": {"q": "a b"},
        "key": "sk_test_x",
        "body": '{"a": 1}',
        "secure": True,
    }
