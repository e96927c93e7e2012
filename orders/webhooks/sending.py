"""Sending one signed webhook POST: the SSRF check of every address at send time, the connection pinned to
the checked address, both signatures, a bounded read of the answer. Never raises for the receiver's
behaviour: `send` returns what happened. Claiming and recording are in delivery.py; the batch sender
(sender.py) passes its kept-alive per-endpoint clients.
"""

import ssl
import time
from dataclasses import dataclass
from functools import cache

import httpx
from django.conf import settings

from orders.webhooks.signing import signed_headers
from orders.webhooks.targets import UnsafeTarget, check_url, pinned_request

RESPONSE_EXCERPT = 500
# Read at most this much of a response: enough for the excerpt, bounded against huge bodies.
RESPONSE_READ_LIMIT = 4096


@dataclass(frozen=True)
class SendResult:
    status_code: int | None
    duration_ms: int
    response_body: str
    error: str

    @property
    def succeeded(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


# ---- send -------------------------------------------------------------------------------------------


@cache
def _ssl_context() -> ssl.SSLContext:
    # Loading the CA bundle costs ~100 ms; one context serves every send (SSLContext is thread-safe).
    return httpx.create_ssl_context()


def make_client() -> httpx.Client:
    """The HTTP client for one send (tests replace this to use a MockTransport)."""
    return httpx.Client(
        timeout=settings.WEBHOOK_TIMEOUT_SECONDS, follow_redirects=False, verify=_ssl_context()
    )


def _post(
    url: str, address, *, body: bytes, headers: dict, client: httpx.Client | None = None
) -> tuple[int, str]:
    """POST to `url` connecting to the checked `address`; (status, first 500 chars of the body).
    Without `client`, a fresh one (one connection) for this send; with one, its kept-alive connections."""
    if client is None:
        with make_client() as fresh:
            return _post(url, address, body=body, headers=headers, client=fresh)
    target, host_header, extensions = pinned_request(url, address)
    with client.stream(
        "POST", target, content=body, headers=headers | host_header, extensions=extensions
    ) as response:
        raw = b""
        for chunk in response.iter_bytes():
            raw += chunk
            if len(raw) >= RESPONSE_READ_LIMIT:
                break
        return response.status_code, raw.decode("utf-8", errors="replace")[:RESPONSE_EXCERPT]


def send(
    *, url: str, secret: str, event_id: str, event_type: str, body: bytes, client: httpx.Client | None = None
) -> SendResult:
    """POST the signed body once. Never raises for the receiver's behaviour; returns what happened.
    `client`: a long-lived client whose connections are kept alive (the batch sender's, one per endpoint)."""
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
            status_code, excerpt = _post(url, address, body=body, headers=headers, client=client)
            error = ""
            break
        except httpx.ConnectError as exc:  # nothing was sent: the next checked address may answer
            error = f"ConnectError: {exc}"[:RESPONSE_EXCERPT]
            if index + 1 < len(addresses):
                continue
        except httpx.TimeoutException:
            error = f"Timed out after {settings.WEBHOOK_TIMEOUT_SECONDS:g} s."
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:RESPONSE_EXCERPT]
        break
    if status_code is not None and not 200 <= status_code < 300:
        error = f"The receiver answered HTTP {status_code}."
    duration_ms = int((time.monotonic() - started) * 1000)
    return SendResult(status_code=status_code, duration_ms=duration_ms, response_body=excerpt, error=error)
