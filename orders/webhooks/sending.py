"""Sending one signed webhook POST: the SSRF check of every address at send time, the connection pinned to
the checked address, both signatures, a bounded read of the answer. Never raises for the receiver's
behaviour: `send` returns what happened. Claiming and recording are in delivery.py; the batch sender
(sender.py) passes a `Connections` per endpoint to keep connections alive between sends.

HTTP/1.1 over the standard library's http.client: a send costs about a quarter of the CPU time it
costs through httpx, which set the batch sender's ceiling on a small machine. Each socket operation
(connect, TLS handshake, write, each read) is bounded by WEBHOOK_TIMEOUT_SECONDS; redirects are never
followed.
"""

import http.client
import select
import ssl
import threading
import time
from dataclasses import dataclass
from functools import cache
from urllib.parse import SplitResult, urlsplit

import httpx
from django.conf import settings

from orders.webhooks.signing import signed_headers
from orders.webhooks.targets import UnsafeTarget, check_url, pinned_request

RESPONSE_EXCERPT = 500
# Read at most this much of a response: enough for the excerpt, bounded against huge bodies.
RESPONSE_READ_LIMIT = 4096
# An idle kept-alive connection is not reused after this long (receivers close theirs after 5–75 s).
KEEPALIVE_SECONDS = 30.0
# A kept-alive connection the receiver closed while it was idle fails at once in one of these ways; the
# request is then sent once more on a new connection.
STALE_CONNECTION_ERRORS = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError)


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    duration_ms: int
    response_body: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class ConnectFailed(OSError):
    """No connection could be made to this address: nothing was sent (the next checked address may
    answer)."""


@cache
def _ssl_context() -> ssl.SSLContext:
    # The trust store httpx uses (certifi, or SSL_CERT_FILE/SSL_CERT_DIR). Loading the CA bundle costs
    # ~100 ms; one context serves every send (SSLContext is thread-safe).
    return httpx.create_ssl_context()


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to the checked address, with the URL's host name as the server name (SNI) and for the
    certificate check, so the answer of a later DNS lookup cannot redirect the send."""

    def __init__(self, address: str, port: int, *, server_hostname: str, timeout: float):
        super().__init__(address, port, timeout=timeout, context=_ssl_context())
        self.server_hostname = server_hostname

    def connect(self) -> None:
        http.client.HTTPConnection.connect(self)
        self.sock = self._context.wrap_socket(self.sock, server_hostname=self.server_hostname)  # type: ignore[attr-defined]


class Connections:
    """Kept-alive connections of one endpoint, by (scheme, checked address and port, Host). A connection
    is given back only after a complete answer; it is dropped when the receiver closed it meanwhile, or
    after KEEPALIVE_SECONDS unused. Thread-safe."""

    def __init__(self, *, keep: int):
        self.keep = keep
        self._idle: dict[tuple, list[tuple[http.client.HTTPConnection, float]]] = {}
        self._lock = threading.Lock()
        self.last_used = time.monotonic()

    def take(self, key: tuple) -> http.client.HTTPConnection | None:
        now = time.monotonic()
        with self._lock:
            self.last_used = now
            idle = self._idle.get(key, [])
            while idle:
                connection, since = idle.pop()
                if now - since < KEEPALIVE_SECONDS and not _closed_by_peer(connection):
                    return connection
                connection.close()
        return None

    def give_back(self, key: tuple, connection: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.keep:
                idle.append((connection, time.monotonic()))
                return
        connection.close()

    def close(self) -> None:
        with self._lock:
            idle, self._idle = self._idle, {}
        for connections in idle.values():
            for connection, _ in connections:
                connection.close()


def _closed_by_peer(connection: http.client.HTTPConnection) -> bool:
    """An idle connection with something to read has been closed (or spoken on) by the receiver."""
    sock = connection.sock
    return sock is None or bool(select.select([sock], [], [], 0)[0])


def _connect(target: SplitResult, server_hostname: str) -> http.client.HTTPConnection:
    """A new connection to the checked address in `target`. Raises ConnectFailed or TimeoutError."""
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    address = target.hostname or ""
    connection: http.client.HTTPConnection
    if target.scheme == "https":
        connection = PinnedHTTPSConnection(
            address, target.port or 443, server_hostname=server_hostname, timeout=timeout
        )
    else:
        connection = http.client.HTTPConnection(address, target.port or 80, timeout=timeout)
    try:
        connection.connect()
    except TimeoutError:
        connection.close()
        raise
    except OSError as exc:  # refused, unreachable, TLS handshake or certificate check failed
        connection.close()
        raise ConnectFailed(str(exc)) from exc
    return connection


def _exchange(
    connection: http.client.HTTPConnection, path: str, body: bytes, headers: dict
) -> tuple[int, bytes, bool]:
    """(status, the start of the body, whether the whole answer was read so the connection can serve
    again)."""
    connection.request("POST", path, body=body, headers=headers)
    response = connection.getresponse()
    raw = response.read(RESPONSE_READ_LIMIT)
    return response.status, raw, response.isclosed() and not response.will_close


def _post(
    url: str, address, *, body: bytes, headers: dict, connections: Connections | None = None
) -> tuple[int, str]:
    """POST to `url` over a connection to the checked `address`; (status, first 500 chars of the body).
    Without `connections`, a new connection for this send only; with them, a kept-alive one when there
    is one. Raises ConnectFailed, TimeoutError, OSError or http.client.HTTPException."""
    pinned, host_header, extensions = pinned_request(url, address)
    target = urlsplit(pinned)
    path = (target.path or "/") + (f"?{target.query}" if target.query else "")
    key = (target.scheme, target.netloc, host_header["Host"])
    headers = headers | host_header
    connection = connections.take(key) if connections else None
    try:
        if connection is not None:
            try:
                status, raw, reusable = _exchange(connection, path, body, headers)
            except STALE_CONNECTION_ERRORS:
                connection.close()
                connection = None
        if connection is None:
            connection = _connect(target, extensions.get("sni_hostname", ""))
            status, raw, reusable = _exchange(connection, path, body, headers)
    except BaseException:
        if connection is not None:
            connection.close()
        raise
    if connections and reusable:
        connections.give_back(key, connection)
    else:
        connection.close()
    return status, raw.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT]


def send(
    *,
    url: str,
    secret: str,
    event_id: str,
    event_type: str,
    body: bytes,
    connections: Connections | None = None,
) -> SendResult:
    """POST the signed body once. Never raises for the receiver's behaviour; returns what happened.
    `connections`: the endpoint's kept-alive connections (the batch sender's)."""
    try:
        addresses = list(dict.fromkeys(check_url(url)))
    except UnsafeTarget as exc:
        return SendResult(status_code=None, duration_ms=0, response_body="", error=f"Refused: {exc}")
    headers = signed_headers(
        secret=secret, event_id=event_id, event_type=event_type, timestamp=int(time.time()), body=body
    )
    started = time.monotonic()
    status_code: int | None = None
    excerpt = ""
    error = ""
    for index, address in enumerate(addresses):
        try:
            status_code, excerpt = _post(url, address, body=body, headers=headers, connections=connections)
            error = ""
            break
        except ConnectFailed as exc:  # nothing was sent: the next checked address may answer
            error = f"ConnectError: {exc}"[:RESPONSE_EXCERPT]
            if index + 1 < len(addresses):
                continue
        except TimeoutError:
            error = f"Timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s."
        except (OSError, http.client.HTTPException) as exc:
            error = f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT]
        break
    if status_code is not None and not 200 <= status_code < 300:
        error = f"The receiver answered HTTP {status_code}."
    duration_ms = int((time.monotonic() - started) * 1000)
    return SendResult(status_code=status_code, duration_ms=duration_ms, response_body=excerpt, error=error)
