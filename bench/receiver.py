"""A fast local webhook receiver for the benchmarks: answers every POST 200 at once and counts them.

    .venv/bin/python bench/receiver.py --port 9911 [--secret whsec_…]

GET /stats answers {"hits": all POSTs, "unique": distinct webhook-id values, "duplicates": hits beyond
the first per webhook-id, "badSignatures": POSTs whose X-Webhook-Signature did not verify (only counted
once a secret is set), "first": and "last": epoch seconds of the first and last POST}.
PUT /secret with the endpoint's secret as the body turns the signature check on.
"""

import argparse
import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class State:
    def __init__(self, secret: str = "") -> None:
        self.lock = threading.Lock()
        self.secret = secret
        self.seen: dict[str, int] = {}
        self.hits = 0
        self.bad = 0
        self.first = 0.0
        self.last = 0.0

    def record(self, event_id: str, body: bytes, signature: str) -> None:
        with self.lock:
            secret = self.secret
        ok = True
        if secret:
            expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            ok = hmac.compare_digest(expected, signature)
        now = time.time()
        with self.lock:
            self.hits += 1
            self.seen[event_id] = self.seen.get(event_id, 0) + 1
            self.bad += 0 if ok else 1
            self.first = self.first or now
            self.last = now

    def stats(self) -> dict:
        with self.lock:
            return {
                "hits": self.hits,
                "unique": len(self.seen),
                "duplicates": self.hits - len(self.seen),
                "badSignatures": self.bad,
                "first": self.first,
                "last": self.last,
            }


def serve(port: int, secret: str = "") -> None:
    state = State(secret)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _reply(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            state.record(
                self.headers.get("webhook-id", ""), body, self.headers.get("X-Webhook-Signature", "")
            )
            self._reply(200, b'{"ok":true}')

        def do_PUT(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with state.lock:
                state.secret = body.decode().strip()
            self._reply(204, b"")

        def do_GET(self):
            self._reply(200, json.dumps(state.stats()).encode())

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=9911)
    parser.add_argument("--secret", default="")
    args = parser.parse_args()
    serve(args.port, args.secret)
