"""Which URLs a webhook may target (server-side request forgery protection).

Checked at registration and again before every send, because DNS can change in between: a URL must be
https, its host must resolve, and every address it resolves to must be globally routable — private,
link-local (169.254.169.254, the cloud metadata service), loopback, reserved, multicast, shared and
unspecified ranges are refused. With settings.WEBHOOKS_ALLOW_LOOPBACK (development and tests) loopback
addresses, and plain http to them, are allowed; nothing else is.

The send connects to the address that was checked (`pinned_request`), with the original name in the
Host header and as the TLS server name, so a DNS answer that changes between check and connect
(rebinding) cannot redirect it. Redirects are never followed, so a 3xx cannot bounce a send to an
internal address.
"""

import ipaddress
import socket
from urllib.parse import urlsplit, urlunsplit

from django.conf import settings

MAX_URL_LENGTH = 2000
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


class UnsafeTarget(ValueError):
    """The URL may not be used; the message says why, for the API's field error or the attempt log."""


def _resolve(host: str, port: int) -> list[IPAddress]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTarget(f"The host {host} could not be resolved.") from exc
    addresses: list[IPAddress] = []
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%")[0])
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
            address = address.ipv4_mapped
        addresses.append(address)
    return addresses


def check_url(url: str) -> list[IPAddress]:
    """The addresses `url` resolves to; raises UnsafeTarget unless it is a target this deployment may
    call."""
    allow_loopback = bool(settings.WEBHOOKS_ALLOW_LOOPBACK)
    if len(url) > MAX_URL_LENGTH:
        raise UnsafeTarget(f"The URL is longer than {MAX_URL_LENGTH} characters.")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTarget("The URL is not valid.") from exc
    if parts.scheme not in {"https", "http"} or not parts.hostname:
        raise UnsafeTarget("Use an absolute https:// URL.")
    if parts.username or parts.password:
        raise UnsafeTarget("The URL must not contain credentials; authenticate with the signature instead.")
    addresses = _resolve(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    if not addresses:
        raise UnsafeTarget(f"The host {parts.hostname} could not be resolved.")
    all_loopback = all(a.is_loopback for a in addresses)
    if parts.scheme == "http" and not (allow_loopback and all_loopback):
        raise UnsafeTarget("Use https://; plain http is only accepted for loopback addresses in development.")
    for address in addresses:
        if address.is_loopback and allow_loopback:
            continue
        if not address.is_global or address.is_multicast:
            raise UnsafeTarget(
                f"The host {parts.hostname} resolves to {address}, a private, loopback, link-local or "
                "reserved address; use a public address."
            )
    return addresses


def pinned_request(url: str, address: IPAddress) -> tuple[str, dict[str, str], dict[str, str]]:
    """(URL with the host replaced by the checked address, extra headers, httpx request extensions)."""
    parts = urlsplit(url)
    host = f"[{address}]" if address.version == 6 else str(address)
    netloc = f"{host}:{parts.port}" if parts.port else host
    extensions = {"sni_hostname": parts.hostname or ""} if parts.scheme == "https" else {}
    return urlunsplit(parts._replace(netloc=netloc)), {"Host": parts.netloc}, extensions
