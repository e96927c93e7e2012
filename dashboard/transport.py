"""How the dashboard reaches the Orders API: plain HTTP to a remote base URL, or in-process.

Embedded mode (no DASHBOARD_API_BASE_URL) hands each httpx request straight to Django's request handler
in the calling thread. It deliberately is NOT `httpx.WSGITransport` over `WSGIHandler` nor loopback HTTP
(design.md, "How the dashboard reaches the API"):
- WSGIHandler sends `request_started`/`request_finished`, whose `close_old_connections` closes the
  *calling view's* DB connection (inside `atomic` the inner request then fails and the outer
  transaction is lost). `EmbeddedHandler` runs the middleware chain without those signals, as Django's
  own test client does, and releases the response's resources without `response.close()` (which
  would send `request_finished`).
- Loopback HTTP needs a free server worker: under `gunicorn -w 1` it deadlocks until the timeout.
  In-process needs none.
- Streaming responses (the CSV export) are iterated lazily chunk by chunk into an httpx byte stream,
  so memory stays flat for any export size.
Production and the integration tests use this same code path.
"""

from __future__ import annotations

import contextlib
import io
import sys
import threading
from collections.abc import Iterator
from urllib.parse import unquote_to_bytes

import httpx
from django.conf import settings
from django.core.handlers.base import BaseHandler
from django.core.handlers.wsgi import WSGIRequest
from django.http import HttpResponseBase

# The in-process "host". https, so a production SECURE_SSL_REDIRECT does not bounce the call.
EMBEDDED_BASE_URL = "https://orders-api.embedded"


class _InProcessRequest(WSGIRequest):
    # Host validation (ALLOWED_HOSTS) protects against a forged Host header from the network. This
    # request is built by our own code in-process and never had one, so there is nothing to validate.
    def get_host(self) -> str:
        return self._get_raw_host()  # type: ignore[attr-defined]


class EmbeddedHandler(BaseHandler):
    """Django's middleware chain and URL resolver, without the request_started/finished signals."""

    def __init__(self) -> None:
        super().__init__()
        self.load_middleware()

    def __call__(self, environ: dict) -> HttpResponseBase:
        return self.get_response(_InProcessRequest(environ))


_handler: EmbeddedHandler | None = None
_handler_lock = threading.Lock()


def _get_handler() -> EmbeddedHandler:
    global _handler  # noqa: PLW0603 - one middleware chain per process, built on first use
    if _handler is None:
        with _handler_lock:
            if _handler is None:
                _handler = EmbeddedHandler()
    return _handler


def _release(response: HttpResponseBase) -> None:
    """What `response.close()` does, minus the `request_finished` signal (see module docstring)."""
    for closer in response._resource_closers:  # type: ignore[attr-defined]
        # As Django does: a failing closer must not hide the response.
        with contextlib.suppress(Exception):
            closer()
    response._resource_closers.clear()  # type: ignore[attr-defined]


class _DjangoResponseStream(httpx.SyncByteStream):
    """A Django response body as an httpx stream; streaming responses are pulled lazily."""

    def __init__(self, response: HttpResponseBase) -> None:
        self._response = response

    def __iter__(self) -> Iterator[bytes]:
        if getattr(self._response, "streaming", False):
            for chunk in self._response.streaming_content:  # type: ignore[attr-defined]
                if chunk:
                    yield chunk if isinstance(chunk, bytes) else bytes(chunk)
        else:
            yield self._response.content  # type: ignore[attr-defined]

    def close(self) -> None:
        _release(self._response)


def _environ(request: httpx.Request, body: bytes) -> dict:
    raw_path, _, query = request.url.raw_path.partition(b"?")
    environ = {
        "REQUEST_METHOD": request.method,
        # WSGI wants PATH_INFO percent-decoded and as latin-1 "bytes in a str" (PEP 3333).
        "PATH_INFO": unquote_to_bytes(raw_path.decode("ascii")).decode("iso-8859-1"),
        "SCRIPT_NAME": "",
        "QUERY_STRING": query.decode("ascii"),
        "SERVER_NAME": request.url.host,
        "SERVER_PORT": str(request.url.port or (443 if request.url.scheme == "https" else 80)),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "CONTENT_LENGTH": str(len(body)),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": request.url.scheme,
        "wsgi.input": io.BytesIO(body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": True,
        "wsgi.run_once": False,
    }
    for name, value in request.headers.items():
        key = name.upper().replace("-", "_")
        if key == "CONTENT_TYPE":
            environ["CONTENT_TYPE"] = value
        elif key != "CONTENT_LENGTH":
            environ[f"HTTP_{key}"] = value
    return environ


class EmbeddedTransport(httpx.BaseTransport):
    """httpx transport that serves requests with this process's Django (the Orders API URLs)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = _get_handler()(_environ(request, body))
        headers = list(response.items())
        return httpx.Response(
            status_code=response.status_code,
            headers=headers,
            stream=_DjangoResponseStream(response),
            request=request,
        )


def transport_for(base_url: str) -> tuple[str, httpx.BaseTransport | None]:
    """(base URL, transport) for a store connection: in-process when no base URL is configured."""
    base_url = base_url or getattr(settings, "DASHBOARD_API_BASE_URL", "")
    if base_url:
        return base_url, None  # httpx's default HTTP transport
    return EMBEDDED_BASE_URL, EmbeddedTransport()
