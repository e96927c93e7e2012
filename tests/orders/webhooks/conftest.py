"""A real HTTP receiver on 127.0.0.1 for delivery tests, and endpoint factories."""

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

import secretbox
from orders.models import WebhookEndpoint
from orders.webhooks.events import REGISTRY
from orders.webhooks.signing import generate_secret


@dataclass
class Hit:
    headers: dict[str, str]
    body: bytes
    path: str = ""


@dataclass
class Receiver:
    """Answers POSTs with the scripted statuses in order, then `default_status`; records every hit."""

    url: str
    script: list[int] = field(default_factory=list)
    default_status: int = 200
    hits: list[Hit] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def next_status(self, hit: Hit) -> int:
        with self.lock:
            self.hits.append(hit)
            return self.script.pop(0) if self.script else self.default_status

    def hits_per_target_and_event(self) -> dict[tuple[str, str], int]:
        with self.lock:
            counts: dict[tuple[str, str], int] = {}
            for hit in self.hits:
                key = (hit.path, hit.headers["webhook-id"])
                counts[key] = counts.get(key, 0) + 1
            return counts


@pytest.fixture
def receiver():
    state: dict[str, Receiver] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hit = Hit(headers={k.lower(): v for k, v in self.headers.items()}, body=body, path=self.path)
            status = state["r"].next_status(hit)
            reply = f'{{"received": true, "status": {status}}}'.encode()
            self.send_response(status)
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


class Blackhole:
    """A receiver that accepts connections and reads what is sent, but never answers (a hung server).
    Counts the connections it accepted and the most it had open at once."""

    def __init__(self):
        self.server = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.server.getsockname()[1]}/hook"
        self.lock = threading.Lock()
        self.accepted = 0
        self.open: set[socket.socket] = set()
        self.most_open = 0
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:  # closed: the test is over
                return
            with self.lock:
                self.accepted += 1
                self.open.add(conn)
                self.most_open = max(self.most_open, len(self.open))
            threading.Thread(target=self._swallow, args=(conn,), daemon=True).start()

    def _swallow(self, conn: socket.socket) -> None:
        """Read until the sender gives up and closes the connection."""
        try:
            while conn.recv(65536):
                pass
        except OSError:
            pass
        with self.lock:
            self.open.discard(conn)
        conn.close()

    def open_now(self) -> int:
        with self.lock:
            return len(self.open)

    def close(self) -> None:
        self.server.close()
        with self.lock:
            for conn in self.open:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)


@pytest.fixture
def blackhole():
    hole = Blackhole()
    yield hole
    hole.close()


def make_endpoint(store, url: str, *, event_types=tuple(REGISTRY), secret: str | None = None, enabled=True):
    """An endpoint written directly (no URL check): returns (endpoint, secret)."""
    secret = secret or generate_secret()
    endpoint = WebhookEndpoint.objects.create(
        store=store,
        url=url,
        event_types=list(event_types),
        enabled=enabled,
        secret_encrypted=secretbox.encrypt(secret, purpose=WebhookEndpoint.ENCRYPTION_PURPOSE),
    )
    return endpoint, secret


@pytest.fixture
def tls_receiver(tmp_path):
    """An https receiver on 127.0.0.1 with a self-signed certificate for `receiver.test`.

    Yields (port, client SSL context trusting that certificate, list of Host headers received)."""
    import datetime
    import ssl

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "receiver.test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("receiver.test")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hosts.append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(cert_path, key_path)
    server.socket = server_context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], ssl.create_default_context(cafile=str(cert_path)), hosts
    server.shutdown()
    server.server_close()
